// Running one app on one series, outside the server: the `radflow ai-worker` process the
// engine starts per job, and `radflow app run` (offline, on a folder or a stored series).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ai/app.h"
#include "ai/manifest.h"
#include "base/status.h"

namespace radflow::ai {

struct WrittenResult {
  std::string path;
  std::string kind;  // seg | sr | derived
  std::string sop_class_uid, sop_instance_uid, series_instance_uid;
};

struct AppRun {
  std::string summary;
  std::vector<Finding> findings;
  std::vector<WrittenResult> objects;
  double load_ms = 0;   // series → volume (files apps: reading the first header)
  double app_ms = 0;    // the app itself
  double write_ms = 0;  // SEG / SR / derived objects (files apps: checking the app's own)
  int64_t app_started_at_ms = 0;   // unix ms when the app was called (series loaded)
  int64_t app_finished_at_ms = 0;  // unix ms when the app returned
};

// Loads the series, runs the app (builtin or model), writes the outputs the manifest lists
// into out_dir. Thread count from the manifest's resources. An app whose manifest input is
// "files" gets no volume (LoadSeries is not called): it reads AppInput::files and writes
// its own objects into AppInput::out_dir = <out_dir>/objects; those listed in
// AppOutput::objects become `objects` here (CollectAppObjects, ai/engine/app_objects.h).
Result<AppRun> RunApp(const AppManifest& app, const std::vector<std::string>& files,
                      const std::string& out_dir);

// The worker's protocol: a JSON spec in, a JSON result (result.json in the spec's out_dir)
// out. Spec: {"job_id", "app_id", "app_version", "app_folders": [...], "files": [...],
// "out_dir"}; the worker runs that installed version ("" or absent: the newest).
// Returns the process exit code (0 success; 1 app error, reported in result.json).
int RunWorker(const std::string& spec_path);
// The parent's side of that protocol (the engine, `radflow worker`): writes the spec to
// <out_dir>/job.json and starts `binary ai-worker <out_dir>/job.json` (SpawnWorker: its own
// process group, output into <out_dir>/worker.log).
Result<pid_t> StartWorker(const std::string& binary, int64_t job_id, const AppManifest& app,
                          const std::vector<std::string>& app_folders, const std::vector<std::string>& files,
                          const std::string& out_dir);
// The exited worker's result.json in out_dir; without one, an error saying how `process`
// ("worker") ended (its raw wait status) and the tail of its log.
Result<AppRun> ReadWorkerRun(const std::string& out_dir, int wait_status, const std::string& process);

std::string AppRunToJson(const AppRun& run);
Result<AppRun> AppRunFromJson(const std::string& text);

}  // namespace radflow::ai
