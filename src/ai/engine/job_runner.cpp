#include "ai/engine/job_runner.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ai/engine/app_objects.h"
#include "ai/engine/worker_process.h"
#include "ai/infer/model_app.h"
#include "ai/results/results.h"
#include "ai/routing.h"
#include "base/clock.h"
#include "imaging/series_volume.h"

namespace radflow::ai {
namespace {

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
bool Wants(const AppManifest& app, const char* output) {
  // No list: everything the app produces.
  return app.outputs.empty() ||
         std::find(app.outputs.begin(), app.outputs.end(), output) != app.outputs.end();
}
WrittenResult ToResult(const WrittenObject& o) {
  return {o.path, o.kind, o.sop_class_uid, o.sop_instance_uid, o.series_instance_uid};
}

Result<AppOutput> Invoke(const AppManifest& app, const AppInput& input) {
  if (app.runner.kind == Runner::Kind::kBuiltin) {
    const BuiltinApp* fn = FindBuiltin(app.runner.builtin);
    if (fn == nullptr) {
      return Status(ErrorCode::kNotFound, "no built-in app '" + app.runner.builtin + "'");
    }
    return (*fn)(input);
  }
  return RunModelApp(input);
}

// JSON has no NaN or infinity (nlohmann would write null): an app's non-finite value is 0.
double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

nlohmann::json CodeJson(const Code& c) {
  return {{"value", c.value}, {"scheme", c.scheme}, {"meaning", c.meaning}};
}
Code CodeFrom(const nlohmann::json& j) {
  return {j.value("value", ""), j.value("scheme", ""), j.value("meaning", "")};
}

// Manifest input "files" (slides, photographs): no volume is loaded; the app reads the
// files and writes its own SEG / SR into <out_dir>/objects, stored as the engine's are.
Result<AppRun> RunFilesApp(const AppManifest& app, const std::vector<std::string>& files, SeriesFacts facts,
                           const std::string& out_dir, Clock::time_point t0) {
  AppRun run;
  AppInput input;
  input.files = files;
  input.manifest = &app;
  input.threads = std::max(1, app.resources.threads);
  // Absolute: an app's paths built from out_dir then mean the same as names relative to it.
  std::error_code ec;
  input.out_dir =
      (std::filesystem::absolute(out_dir.empty() ? "." : out_dir, ec) / "objects").lexically_normal().string();
  std::filesystem::create_directories(input.out_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + input.out_dir + ": " + ec.message());
  const SeriesFacts source = facts;
  input.attributes = std::move(facts);
  run.load_ms = MsSince(t0);

  auto t1 = Clock::now();
  run.app_started_at_ms = UnixMillis();
  auto output = Invoke(app, input);
  run.app_ms = MsSince(t1);
  run.app_finished_at_ms = UnixMillis();
  if (!output.ok()) return output.status();
  AppOutput& out = output.value();
  run.summary = out.summary;

  auto t2 = Clock::now();
  if (!out.segments.empty() || !out.derived.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "a files app returns its SEG and SR as objects, not segments or derived volumes");
  }
  auto objects = CollectAppObjects(out.objects, input.out_dir, source, app, files);
  if (!objects.ok()) return objects.status();
  run.objects = std::move(objects.value());
  const bool stored_seg = std::any_of(run.objects.begin(), run.objects.end(),
                                      [](const WrittenResult& o) { return o.kind == "seg"; });
  if (!stored_seg) {
    for (auto& f : out.findings) f.segment_number = 0;  // no SEG stored to point into
  }
  if (Wants(app, "findings") || Wants(app, "sr")) run.findings = std::move(out.findings);
  run.write_ms = MsSince(t2);
  return run;
}

}  // namespace

Result<AppRun> RunApp(const AppManifest& app, const std::vector<std::string>& files,
                      const std::string& out_dir) {
  if (files.empty()) return Status(ErrorCode::kInvalidArgument, "the series has no instances");
  AppRun run;
  auto t0 = Clock::now();
  auto facts = ReadSeriesFacts(files);
  if (!facts.ok()) return facts.status();
  if (app.input == "files") return RunFilesApp(app, files, std::move(facts.value()), out_dir, t0);
  auto series = imaging::LoadSeries(files);
  if (!series.ok()) return Status(series.status().code(), "loading the series: " + series.status().message());
  AppInput input;
  input.image = std::move(series->volume);
  input.report = series->report;
  input.files = files;
  input.attributes = std::move(facts.value());
  input.manifest = &app;
  input.threads = std::max(1, app.resources.threads);
  run.load_ms = MsSince(t0);

  auto t1 = Clock::now();
  run.app_started_at_ms = UnixMillis();
  auto output = Invoke(app, input);
  run.app_ms = MsSince(t1);
  run.app_finished_at_ms = UnixMillis();
  if (!output.ok()) return output.status();
  AppOutput& out = output.value();
  run.summary = out.summary;
  // A volume app's results are written by the engine (segments, derived, findings → SR).
  if (!out.objects.empty()) {
    return Status(ErrorCode::kInvalidArgument, "the app returned objects: objects need input 'files'");
  }

  auto t2 = Clock::now();
  // What the manifest does not list is not written.
  if (!Wants(app, "seg")) {
    out.segments.clear();
    for (auto& f : out.findings) f.segment_number = 0;
  }
  if (!Wants(app, "derived")) out.derived.clear();
  auto written = WriteResults(out, SourceSeries{files}, Algorithm{app.id, app.name, app.version, app.vendor},
                              out_dir, 9000, Wants(app, "sr"));
  if (!written.ok()) {
    return Status(written.status().code(), "writing the results: " + written.status().message());
  }
  for (const auto& o : written.value()) run.objects.push_back(ToResult(o));
  if (Wants(app, "findings") || Wants(app, "sr")) run.findings = std::move(out.findings);
  run.write_ms = MsSince(t2);
  return run;
}

std::string AppRunToJson(const AppRun& run) {
  nlohmann::json j;
  j["ok"] = true;
  j["summary"] = run.summary;
  j["load_ms"] = run.load_ms;
  j["app_ms"] = run.app_ms;
  j["write_ms"] = run.write_ms;
  j["app_started_at_ms"] = run.app_started_at_ms;
  j["app_finished_at_ms"] = run.app_finished_at_ms;
  j["objects"] = nlohmann::json::array();
  for (const auto& o : run.objects) {
    j["objects"].push_back({{"path", o.path}, {"kind", o.kind}, {"sop_class_uid", o.sop_class_uid},
                            {"sop_instance_uid", o.sop_instance_uid},
                            {"series_instance_uid", o.series_instance_uid}});
  }
  j["findings"] = nlohmann::json::array();
  for (const auto& f : run.findings) {
    nlohmann::json m = nlohmann::json::array();
    for (const auto& x : f.measurements) {
      m.push_back({{"name", CodeJson(x.name)}, {"value", Finite(x.value)}, {"unit", CodeJson(x.unit)}});
    }
    j["findings"].push_back({{"type", CodeJson(f.type)}, {"label", f.label},
                             {"center", {Finite(f.center[0]), Finite(f.center[1]), Finite(f.center[2])}},
                             {"size_mm", Finite(f.size_mm)}, {"volume_ml", Finite(f.volume_ml)},
                             {"score", Finite(f.score)}, {"severity", f.severity},
                             {"segment_number", f.segment_number}, {"measurements", m}});
  }
  return j.dump();
}

Result<AppRun> AppRunFromJson(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.value("ok", false)) {
      return Status(ErrorCode::kInternal, j.value("error", std::string("the app failed")));
    }
    AppRun run;
    run.summary = j.value("summary", "");
    run.load_ms = j.value("load_ms", 0.0);
    run.app_ms = j.value("app_ms", 0.0);
    run.write_ms = j.value("write_ms", 0.0);
    run.app_started_at_ms = j.value("app_started_at_ms", int64_t{0});
    run.app_finished_at_ms = j.value("app_finished_at_ms", int64_t{0});
    for (const auto& o : j.at("objects")) {
      run.objects.push_back({o.at("path"), o.at("kind"), o.at("sop_class_uid"),
                             o.at("sop_instance_uid"), o.at("series_instance_uid")});
    }
    for (const auto& f : j.at("findings")) {
      Finding x;
      x.type = CodeFrom(f.at("type"));
      x.label = f.value("label", "");
      auto c = f.at("center");
      x.center = {c.at(0).get<double>(), c.at(1).get<double>(), c.at(2).get<double>()};
      x.size_mm = f.value("size_mm", 0.0);
      x.volume_ml = f.value("volume_ml", 0.0);
      x.score = f.value("score", 0.0);
      x.severity = f.value("severity", "info");
      x.segment_number = f.value("segment_number", 0);
      for (const auto& m : f.at("measurements")) {
        x.measurements.push_back({CodeFrom(m.at("name")), m.at("value").get<double>(),
                                  CodeFrom(m.at("unit"))});
      }
      run.findings.push_back(std::move(x));
    }
    return run;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("unreadable worker result: ") + e.what());
  }
}

int RunWorker(const std::string& spec_path) {
  std::string out_dir;
  auto report = [&](const Status& s) {
    nlohmann::json j{{"ok", false}, {"error", s.ToString()}};
    std::cerr << "radflow ai-worker: " << s.ToString() << "\n";  // into worker.log
    if (!out_dir.empty()) std::ofstream(out_dir + "/result.json") << j.dump();
    return 1;
  };
  nlohmann::json spec;
  try {
    std::ifstream in(spec_path);
    spec = nlohmann::json::parse(in);
    out_dir = spec.at("out_dir").get<std::string>();
  } catch (const std::exception& e) {
    return report(Status(ErrorCode::kInvalidArgument, std::string("bad job spec: ") + e.what()));
  }
  std::vector<std::string> folders = spec.value("app_folders", std::vector<std::string>{});
  std::string app_id = spec.value("app_id", "");
  std::string version = spec.value("app_version", "");  // "" (an older spec): the newest
  LoadedApps apps = LoadApps(folders);
  const AppManifest* app = version.empty() ? apps.Find(app_id) : apps.Find(app_id, version);
  if (!app) {
    return report(Status(ErrorCode::kNotFound, "app '" + app_id + "'" +
                                                   (version.empty() ? "" : " version " + version) +
                                                   " is not (or no longer) loadable"));
  }
  auto run = RunApp(*app, spec.value("files", std::vector<std::string>{}), out_dir);
  if (!run.ok()) return report(run.status());
  std::ofstream(out_dir + "/result.json") << AppRunToJson(run.value());
  return 0;
}

Result<pid_t> StartWorker(const std::string& binary, int64_t job_id, const AppManifest& app,
                          const std::vector<std::string>& app_folders, const std::vector<std::string>& files,
                          const std::string& out_dir) {
  nlohmann::json spec{{"job_id", job_id}, {"app_id", app.id}, {"app_version", app.version},
                      {"app_folders", app_folders}, {"files", files}, {"out_dir", out_dir}};
  const std::string spec_path = out_dir + "/job.json";
  std::ofstream(spec_path) << spec.dump();
  return SpawnWorker({binary, "ai-worker", spec_path}, out_dir + "/worker.log");
}

Result<AppRun> ReadWorkerRun(const std::string& out_dir, int wait_status, const std::string& process) {
  std::string text;
  {
    std::ifstream in(out_dir + "/result.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (!text.empty()) return AppRunFromJson(text);
  std::string error = process + " " + DescribeWaitStatus(wait_status);
  const std::string tail = LogTail(out_dir + "/worker.log", 600);
  if (!tail.empty()) error += "; log: " + tail;
  return Status(ErrorCode::kInternal, error);
}

}  // namespace radflow::ai
