#include "cli/app_command.h"

#include <iomanip>
#include <iostream>

#include "ai/engine/job_runner.h"
#include "ai/manifest.h"
#include "cli/series_arg.h"
#include "server/server.h"

namespace radflow::cli {

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
  std::shared_ptr<void> store;  // keeps the files readable (S3: its read cache) while the app runs
  auto files = SeriesFiles(o.series, o.data, "running on", o.index, o.storage, o.s3_endpoint, &store);
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
