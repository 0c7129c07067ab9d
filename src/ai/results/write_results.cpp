// WriteResults: an app's output as standard objects (IHE AI Results): SEG, then the SR
// (whose groups reference the SEG's segments), then the derived series.
#include <filesystem>

#include "ai/results/results.h"
#include "ai/results/results_internal.h"

namespace radflow::ai {

Result<std::vector<WrittenObject>> WriteResults(const AppOutput& output, const SourceSeries& source,
                                                const Algorithm& algorithm,
                                                const std::string& out_dir,
                                                int series_number_base, bool measurement_report) {
  using namespace results_internal;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + out_dir + ": " + ec.message());
  // Every object references the same source: its headers are read once.
  auto src = LoadSource(source);
  if (!src.ok()) return src.status();
  std::vector<WrittenObject> written;
  int series_number = series_number_base;
  if (!output.segments.empty()) {
    auto r = WriteSegmentation(output.segments, *src, algorithm, out_dir + "/seg-1.dcm", series_number++);
    if (!r.ok()) return r.status();
    written.push_back(r.value());
  }
  if (measurement_report && (!output.findings.empty() || !output.segments.empty())) {
    std::vector<Finding> findings = output.findings;
    if (findings.empty()) {
      // Segments without findings: one group per segment so the SR indexes them.
      for (size_t i = 0; i < output.segments.size(); ++i) {
        Finding f;
        f.type = output.segments[i].type;
        f.label = output.segments[i].label;
        f.segment_number = static_cast<int>(i + 1);
        findings.push_back(f);
      }
    }
    // The SEG, when there is one, is written[0]: the SR references its segments.
    auto r = WriteMeasurementReport(findings, *src, algorithm, written.empty() ? nullptr : &written.front(),
                                    out_dir + "/sr-1.dcm", series_number++);
    if (!r.ok()) return r.status();
    written.push_back(r.value());
  }
  for (size_t i = 0; i < output.derived.size(); ++i) {
    const std::string dir = out_dir + "/derived-" + std::to_string(i + 1);
    auto r = WriteDerivedSeries(output.derived[i], *src, algorithm, dir, series_number++);
    if (!r.ok()) return r.status();
    written.insert(written.end(), r->begin(), r->end());
  }
  return written;
}

}  // namespace radflow::ai
