#include "cli/register_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include "dicom/instance.h"
#include "imaging/series_volume.h"
#include "query/matching.h"
#include "registration/registration.h"
#include "server/hub.h"

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

int Fail(const Status& st) {
  std::cerr << "radflow: " << st.ToString() << "\n";
  return 1;
}

// A folder's DICOM files (recursive; the series with the most files when it holds several),
// or a stored series' blobs — as `radflow app run --series` resolves them.
Result<std::vector<std::string>> SeriesFiles(const std::string& series, const std::string& data) {
  std::error_code ec;
  if (fs::is_directory(series, ec)) {
    std::map<std::string, std::vector<std::string>> by_series;
    for (auto it = fs::recursive_directory_iterator(series, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      auto parsed = dicom::ParsePart10File(it->path().string());
      if (parsed.ok()) by_series[parsed->series_instance_uid].push_back(it->path().string());
    }
    if (by_series.empty()) return Status(ErrorCode::kNotFound, "no DICOM files in " + series);
    auto best = std::max_element(by_series.begin(), by_series.end(),
                                 [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
    if (by_series.size() > 1) {
      std::cerr << "radflow: " << by_series.size() << " series in " << series << "; registering " << best->first
                << " (" << best->second.size() << " files)\n";
    }
    std::sort(best->second.begin(), best->second.end());
    return best->second;
  }
  if (!fs::exists(data + "/index.db", ec)) {
    return Status(ErrorCode::kNotFound, "'" + series + "' is neither a folder nor a series in " + data);
  }
  if (!dicom::IsValidUid(series)) {
    return Status(ErrorCode::kInvalidArgument, "'" + series + "' is neither a folder nor a UID");
  }
  auto hub = server::Hub::Open(data);
  if (!hub.ok()) return hub.status();
  auto found = query::LocateSeries(*hub.value()->index, series);
  if (!found.ok()) return found.status();
  std::vector<std::string> files;
  for (const auto& l : found.value()) files.push_back(hub.value()->blobs->AbsolutePath(l.blob_path));
  return files;
}

Result<imaging::ImageVolume> LoadVolume(const std::string& series, const std::string& data) {
  auto files = SeriesFiles(series, data);
  if (!files.ok()) return files.status();
  auto loaded = imaging::LoadSeries(files.value());
  if (!loaded.ok()) return Status(loaded.status().code(), series + ": " + loaded.status().message());
  return std::move(loaded->volume);
}

}  // namespace

int RunRegister(const RegisterCommandOptions& o) {
  auto fixed = LoadVolume(o.fixed, o.data);
  if (!fixed.ok()) return Fail(fixed.status());
  auto moving = LoadVolume(o.moving, o.data);
  if (!moving.ok()) return Fail(moving.status());
  registration::Options options;
  options.affine = !o.rigid_only;
  options.threads = o.threads;
  auto r = registration::Register(fixed.value(), moving.value(), options);
  if (!r.ok()) return Fail(r.status());
  if (!o.out.empty()) {
    Status written = registration::WriteTransformFile(r.value(), o.out);
    if (!written.ok()) return Fail(written);
  }
  nlohmann::json matrix = nlohmann::json::array();
  for (int row = 0; row < 4; ++row) {
    matrix.push_back({r->matrix[4 * row], r->matrix[4 * row + 1], r->matrix[4 * row + 2], r->matrix[4 * row + 3]});
  }
  nlohmann::ordered_json out = {{"matrix", matrix},
                        {"metric", r->metric},
                        {"overlap", r->overlap},
                        {"iterations", r->iterations},
                        {"stages", r->stages},
                        {"transform_file", o.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.out)}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace radflow::cli
