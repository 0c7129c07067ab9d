#include "cli/series_arg.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include "dicom/instance.h"
#include "query/matching.h"
#include "server/hub.h"
#include "storage/db.h"
#include "storage/index_location.h"

namespace radflow::cli {

namespace fs = std::filesystem;

int Fail(const Status& st) {
  std::cerr << "radflow: " << st.ToString() << "\n";
  return 1;
}

Result<std::vector<std::string>> SeriesFiles(const std::string& series, const std::string& data,
                                             const char* verb, const std::string& index,
                                             const std::string& storage, const std::string& s3_endpoint,
                                             std::shared_ptr<void>* keep_open) {
  std::error_code ec;
  if (fs::is_directory(series, ec)) {
    // A folder may hold more than the series (an RTSTRUCT, other series): the series with
    // the most DICOM files is the one meant.
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
      std::cerr << "radflow: " << by_series.size() << " series in " << series << "; " << verb << " "
                << best->first << " (" << best->second.size() << " files)\n";
    }
    std::sort(best->second.begin(), best->second.end());
    return best->second;
  }
  // A PostgreSQL index is always there to ask; an absent SQLite file means no stored series
  // (and opening it would create an empty one).
  const std::string db = storage::IndexLocation(data, index);
  if (!storage::IsPostgresLocation(db) && !fs::exists(db, ec)) {
    return Status(ErrorCode::kNotFound, "'" + series + "' is neither a folder nor a series in " + data);
  }
  if (!dicom::IsValidUid(series)) {
    return Status(ErrorCode::kInvalidArgument, "'" + series + "' is neither a folder nor a series UID");
  }
  auto hub = server::Hub::Open(data, {}, false, index, {storage, s3_endpoint, ""});
  if (!hub.ok()) return hub.status();
  auto found = query::LocateSeries(*hub.value()->index, series);
  if (!found.ok()) return found.status();
  std::vector<std::string> files;
  for (const auto& l : found.value()) {
    auto path = hub.value()->blobs->LocalPath(l.blob_path);
    if (!path.ok()) return path.status();
    files.push_back(path.value());
  }
  if (keep_open) *keep_open = std::shared_ptr<server::Hub>(std::move(hub.value()));
  return files;
}

}  // namespace radflow::cli
