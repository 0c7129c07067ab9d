#include "apps/test_apps.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "ai/app.h"
#include "ai/codes.h"
#include "ai/manifest.h"
#include "ai/results/results.h"
#include "imaging/resample.h"

namespace radflow::apps {
namespace {

// HU > 300 ("dense structures"): one segment, one finding per component of at least 1 mL.
Result<ai::AppOutput> Threshold(const ai::AppInput& in) {
  ai::AppOutput out;
  imaging::Mask mask(in.image.geometry(), 0);
  for (size_t v = 0; v < mask.data().size(); ++v) mask.data()[v] = in.image.data()[v] > 300 ? 1 : 0;
  auto components = imaging::ConnectedComponents(mask, 26);
  if (!components.ok()) return components.status();
  const auto& g = in.image.geometry();
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  const ai::Code dense{"272673000", "SCT", "Bone structure"};
  out.segments.push_back({"dense", ai::codes::kAnatomicalStructure, dense, mask});
  const auto& labels = components->labels.data();
  std::vector<double> count(components->sizes.size() + 1, 0), sx(count), sy(count), sz(count);
  for (size_t k = 0, v = 0; k < g.size[2]; ++k) {
    for (size_t j = 0; j < g.size[1]; ++j) {
      for (size_t i = 0; i < g.size[0]; ++i, ++v) {
        int l = labels[v];
        if (l <= 0) continue;
        count[l] += 1;
        sx[l] += i;
        sy[l] += j;
        sz[l] += k;
      }
    }
  }
  for (size_t l = 1; l < count.size(); ++l) {
    double ml = count[l] * voxel_ml;
    if (ml < 1.0) continue;
    ai::Finding f;
    f.type = dense;
    f.label = "dense structure " + std::to_string(out.findings.size() + 1);
    f.center = g.IndexToPoint(sx[l] / count[l], sy[l] / count[l], sz[l] / count[l]);
    f.volume_ml = ml;
    f.score = 1;
    f.segment_number = 1;
    f.measurements.push_back({ai::codes::kVolume, ml, ai::codes::kMl});
    out.findings.push_back(std::move(f));
  }
  out.summary = std::to_string(out.findings.size()) + " dense structure(s) >= 1 mL";
  return out;
}

// Manifest input "files" (slides, photographs): no volume is given; the app writes its own
// TID 1500 SR into out_dir (one finding: the number of files) and returns it as an object.
Result<ai::AppOutput> FilesReport(const ai::AppInput& in) {
  if (in.image.data().size() > 0) return Status(ErrorCode::kInternal, "test-files: got a volume");
  if (in.files.empty() || in.out_dir.empty()) return Status(ErrorCode::kInvalidArgument, "test-files: no files or out_dir");
  auto sop_class = in.attributes.find("SOPClassUID");
  ai::AppOutput out;
  ai::Finding f;
  f.type = {"363679005", "SCT", "Imaging procedure"};
  f.label = "files of the series";
  f.score = 1;
  f.measurements.push_back({{"246205007", "SCT", "Quantity"}, static_cast<double>(in.files.size()), ai::codes::kNoUnit});
  out.findings.push_back(f);
  const ai::Algorithm algorithm{in.manifest->id, in.manifest->name, in.manifest->version, in.manifest->vendor};
  auto sr = ai::WriteMeasurementReport(out.findings, ai::SourceSeries{in.files}, algorithm, nullptr,
                                       in.out_dir + "/report.dcm", 9100);
  if (!sr.ok()) return sr.status();
  out.objects.push_back({"report.dcm", "sr"});  // relative: against out_dir
  auto image_type = in.attributes.find("ImageType");  // the first file's (routing's view)
  out.summary = std::to_string(in.files.size()) + " file(s) of " +
                (sop_class == in.attributes.end() ? std::string("?") : sop_class->second) + ", first " +
                (image_type == in.attributes.end() ? std::string("?") : image_type->second) + ", no volume loaded";
  return out;
}

// A string setting of the manifest's settings (compact JSON text: {"gate":"..."}); "" when absent.
std::string Setting(const ai::AppInput& in, const std::string& name) {
  const std::string& settings = in.manifest->settings_json;
  const std::string key = "\"" + name + "\":\"";
  const size_t at = settings.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return settings.substr(from, settings.find('"', from) - from);
}

// settings {"gate": PATH}: waits (at most 60 s) until PATH exists, then runs as test-files.
// A test holds the job running while it stores more of the series.
Result<ai::AppOutput> FilesGated(const ai::AppInput& in) {
  const std::string gate = Setting(in, "gate");
  if (gate.empty()) return Status(ErrorCode::kInvalidArgument, "test-files-gated: no settings.gate");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(gate)) {
    if (std::chrono::steady_clock::now() > deadline) return Status(ErrorCode::kUnavailable, "test-files-gated: gate never opened");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return FilesReport(in);
}

// test-files with its SR's SOP Instance UID set to settings.uid, or to the source's (the
// first file's) without it: as a buggy app would write it. The job must fail, naming it.
Result<ai::AppOutput> FilesFixedUid(const ai::AppInput& in) {
  auto out = FilesReport(in);
  if (!out.ok()) return out;
  std::string uid = Setting(in, "uid");
  if (uid.empty()) {
    auto sop = in.attributes.find("SOPInstanceUID");
    if (sop != in.attributes.end()) uid = sop->second;
  }
  // dcmodify (DCMTK's CLI) rewrites the one attribute.
  const std::string cmd = "dcmodify -nb -m 'SOPInstanceUID=" + uid + "' '" + in.out_dir + "/report.dcm' >/dev/null 2>&1";
  if (uid.empty() || std::system(cmd.c_str()) != 0) return Status(ErrorCode::kInternal, "test-files-fixed-uid: dcmodify failed");
  return out;
}

// A files app that names an object outside its folder: the job must fail, naming it.
Result<ai::AppOutput> FilesEscape(const ai::AppInput& in) {
  ai::AppOutput out;
  out.objects.push_back({in.files.front(), "sr"});
  return out;
}

}  // namespace

void RegisterTestApps() {
  ai::RegisterBuiltin("test-fail", [](const ai::AppInput&) -> Result<ai::AppOutput> {
    return Status(ErrorCode::kInternal, "test-fail: deliberate failure");
  });
  ai::RegisterBuiltin("test-hang", [](const ai::AppInput&) -> Result<ai::AppOutput> {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));
  });
  ai::RegisterBuiltin("test-crash", [](const ai::AppInput&) -> Result<ai::AppOutput> { std::abort(); });
  ai::RegisterBuiltin("test-threshold", Threshold);
  // test-threshold after 4 s: long enough for the remote-worker test to kill its worker
  // mid-job (tests/integration/test_remote_workers.py).
  ai::RegisterBuiltin("test-slow-threshold", [](const ai::AppInput& in) -> Result<ai::AppOutput> {
    std::this_thread::sleep_for(std::chrono::seconds(4));
    return Threshold(in);
  });
  ai::RegisterBuiltin("test-files", FilesReport);
  ai::RegisterBuiltin("test-files-escape", FilesEscape);
  ai::RegisterBuiltin("test-files-gated", FilesGated);
  ai::RegisterBuiltin("test-files-fixed-uid", FilesFixedUid);
}

}  // namespace radflow::apps
