#include "cli/app_command.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include "ai/engine/job_runner.h"
#include "ai/manifest.h"
#include "dicom/instance.h"
#include "query/matching.h"
#include "server/hub.h"
#include "server/server.h"

namespace radflow::cli {
namespace {

namespace fs = std::filesystem;

int Fail(const Status& st) {
  std::cerr << "radflow: " << st.ToString() << "\n";
  return 1;
}

// A folder's files (recursive, sorted), or a stored series' blobs.
Result<std::vector<std::string>> SeriesFiles(const AppCommandOptions& o) {
  std::error_code ec;
  if (fs::is_directory(o.series, ec)) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(o.series, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file()) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    // A folder may hold more than the series (an RTSTRUCT, other series): the series with
    // the most DICOM files is the one the app runs on.
    std::map<std::string, std::vector<std::string>> by_series;
    for (const auto& f : files) {
      auto parsed = dicom::ParsePart10File(f);
      if (parsed.ok()) by_series[parsed->series_instance_uid].push_back(f);
    }
    if (by_series.empty()) return Status(ErrorCode::kNotFound, "no DICOM files in " + o.series);
    auto best = std::max_element(by_series.begin(), by_series.end(), [](const auto& a, const auto& b) {
      return a.second.size() < b.second.size();
    });
    if (by_series.size() > 1) {
      std::cerr << "radflow: " << by_series.size() << " series in " << o.series << "; running on "
                << best->first << " (" << best->second.size() << " files)\n";
    }
    return best->second;
  }
  if (!fs::exists(o.data + "/index.db", ec)) {
    return Status(ErrorCode::kNotFound, "'" + o.series + "' is neither a folder nor a series in " + o.data);
  }
  if (!dicom::IsValidUid(o.series)) {
    return Status(ErrorCode::kInvalidArgument, "'" + o.series + "' is neither a folder nor a UID");
  }
  auto hub = server::Hub::Open(o.data);
  if (!hub.ok()) return hub.status();
  auto found = query::LocateSeries(*hub.value()->index, o.series);
  if (!found.ok()) return found.status();
  std::vector<std::string> files;
  for (const auto& l : found.value()) files.push_back(hub.value()->blobs->AbsolutePath(l.blob_path));
  return files;
}

}  // namespace

int RunAppList(const AppCommandOptions& o) {
  ai::LoadedApps apps = ai::LoadApps(server::DefaultAppFolders(o.data, o.app_folders));
  std::cout << std::left << std::setw(20) << "ID" << std::setw(10) << "VERSION" << std::setw(26) << "RUNNER"
            << std::setw(9) << "DEFAULT" << "NAME\n";
  for (const auto& m : apps.apps) {
    std::cout << std::setw(20) << m.id << std::setw(10) << m.version << std::setw(26) << ai::RunnerName(m.runner)
              << std::setw(9) << (m.enabled ? "enabled" : "disabled") << m.name << "\n";
  }
  for (const auto& e : apps.errors) std::cerr << "rejected: " << e << "\n";
  return apps.errors.empty() ? 0 : 2;
}

int RunAppRun(const AppCommandOptions& o) {
  ai::LoadedApps apps = ai::LoadApps(server::DefaultAppFolders(o.data, o.app_folders));
  const ai::AppManifest* app = apps.Find(o.app_id);
  if (!app) {
    for (const auto& e : apps.errors) std::cerr << "rejected: " << e << "\n";
    return Fail(Status(ErrorCode::kNotFound, "no app '" + o.app_id + "' (see `radflow app list`)"));
  }
  auto files = SeriesFiles(o);
  if (!files.ok()) return Fail(files.status());
  auto run = ai::RunApp(*app, files.value(), o.out);
  if (!run.ok()) return Fail(run.status());
  if (o.format == "json") {
    std::cout << ai::AppRunToJson(run.value()) << "\n";
    return 0;
  }
  std::cout << app->id << " " << app->version << ": " << run->summary << "\n";
  std::cout << std::fixed << std::setprecision(1) << "load " << run->load_ms << " ms, app " << run->app_ms
            << " ms, writing results " << run->write_ms << " ms\n";
  for (const auto& f : run->findings) {
    std::cout << "finding [" << f.severity << "] " << f.label << " (" << f.type.meaning << ") at ("
              << f.center[0] << ", " << f.center[1] << ", " << f.center[2] << ") mm";
    if (f.volume_ml > 0) std::cout << ", " << f.volume_ml << " mL";
    if (f.size_mm > 0) std::cout << ", " << f.size_mm << " mm";
    std::cout << std::setprecision(2) << ", score " << f.score << std::setprecision(1) << "\n";
  }
  for (const auto& obj : run->objects) std::cout << "wrote " << obj.kind << " " << obj.path << "\n";
  return 0;
}

}  // namespace radflow::cli
