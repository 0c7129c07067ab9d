#include "ai/remote/remote_worker.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ai/engine/job_runner.h"
#include "ai/engine/worker_process.h"
#include "ai/manifest.h"
#include "ai/remote/hub_client.h"
#include "api/multipart.h"
#include "base/log.h"
#include "oidc/http_client.h"

namespace radflow::ai::remote {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kAcceptDicom = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

std::string JobPath(int64_t id, const std::string& action) {
  return "/api/v1/ai/worker/jobs/" + std::to_string(id) + "/" + action;
}

class Worker {
 public:
  explicit Worker(WorkerOptions o) : o_(std::move(o)), hub_(o_.hub_url, o_.token, o_.ca_file) {}

  int Run() {
    LoadedApps loaded = LoadApps(o_.app_folders);
    for (const auto& e : loaded.errors) log::Warn("worker: manifest rejected: " + e);
    apps_ = std::move(loaded);
    std::set<std::string> ids;
    for (const auto& m : apps_.versions) ids.insert(m.id);
    app_ids_.assign(ids.begin(), ids.end());
    if (app_ids_.empty()) {
      log::Error("worker: no app could be loaded from the --apps folders");
      return 1;
    }
    std::error_code ec;
    fs::create_directories(o_.work_dir, ec);
    if (ec) {
      log::Error("worker: cannot create " + o_.work_dir + ": " + ec.message());
      return 1;
    }
    std::string list;
    for (const auto& id : app_ids_) list += (list.empty() ? "" : ", ") + id;
    log::Info("worker " + o_.id + ": " + std::to_string(app_ids_.size()) + " app(s) (" + list + "), hub " +
              o_.hub_url + ", lease " + std::to_string(static_cast<int>(o_.lease_s)) + " s, " +
              std::to_string(o_.concurrency) + " job(s) at once");
    std::vector<std::thread> slots;
    for (int i = 0; i < std::max(1, o_.concurrency); ++i) slots.emplace_back([this] { Slot(); });
    for (auto& t : slots) t.join();
    log::Info("worker " + o_.id + ": stopped");
    return exit_code_.load();
  }

  void Stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }

 private:
  // Waits `seconds` unless the worker stops meanwhile.
  void Sleep(double seconds) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)), [this] { return stopping_.load(); });
  }

  void Slot() {
    double backoff = o_.poll_s;
    while (!stopping_) {
      auto reply = hub_.PostJson("/api/v1/ai/worker/claim", {{"worker", o_.id},
                                                             {"apps", app_ids_},
                                                             {"lease_seconds", o_.lease_s},
                                                             {"max_jobs", 1}});
      if (!reply.ok()) {
        log::Warn("worker: claiming from the hub: " + reply.status().ToString());
        Sleep(backoff);
        backoff = std::min(30.0, backoff * 2);
        continue;
      }
      if (reply->status == 401 || reply->status == 403) {
        log::Error("worker: the hub refused this worker's credentials (HTTP " + std::to_string(reply->status) +
                   "): " + reply->ErrorText() + " — a worker needs an API token of an ai-service account");
        exit_code_ = 2;
        Stop();
        return;
      }
      if (reply->status != 200) {
        log::Warn("worker: claim answered HTTP " + std::to_string(reply->status) + ": " + reply->ErrorText());
        Sleep(backoff);
        backoff = std::min(30.0, backoff * 2);
        continue;
      }
      backoff = o_.poll_s;
      auto body = json::parse(reply->body, nullptr, false);
      if (body.is_discarded() || !body.contains("jobs") || !body["jobs"].is_array()) {
        log::Warn("worker: unreadable claim answer: " + reply->body.substr(0, 200));
        Sleep(backoff);
        continue;
      }
      if (body["jobs"].empty()) {
        Sleep(o_.poll_s);
        continue;
      }
      for (const auto& job : body["jobs"]) RunJob(job);
    }
  }

  // The lease of one job, renewed on its own thread while the job runs.
  struct Lease {
    std::atomic<bool> lost{false}, cancel{false}, done{false};
    std::atomic<pid_t> child{0};
    std::mutex mu;
    std::condition_variable cv;
    std::thread thread;
  };

  void Renew(int64_t id, Lease& lease) {
    const double every = std::max(0.5, o_.lease_s / 3);
    std::unique_lock lock(lease.mu);
    while (!lease.done) {
      lease.cv.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(every * 1000)),
                        [&] { return lease.done.load(); });
      if (lease.done) break;
      lock.unlock();
      auto r = hub_.PostJson(JobPath(id, "renew"), {{"worker", o_.id}, {"lease_seconds", o_.lease_s}});
      lock.lock();
      if (!r.ok()) {
        log::Warn("worker: renewing the lease of job " + std::to_string(id) + ": " + r.status().ToString());
        continue;  // the lease may still hold: the next renewal tries again
      }
      if (r->status == 409 || r->status == 404) {
        log::Warn("worker: lost job " + std::to_string(id) + ": " + r->ErrorText());
        lease.lost = true;
      } else if (r->status == 200) {
        auto j = json::parse(r->body, nullptr, false);
        if (!j.is_discarded() && j.value("cancel_requested", false)) lease.cancel = true;
      }
      if (lease.lost || lease.cancel) {
        if (pid_t pid = lease.child.load(); pid > 0) KillWorker(pid);
      }
    }
  }

  // Reports the end of an attempt; a refusal (the lease is gone) is only logged.
  void Report(int64_t id, const std::string& action, json body) {
    body["worker"] = o_.id;
    auto r = hub_.PostJson(JobPath(id, action), body);
    if (!r.ok()) {
      log::Warn("worker: reporting job " + std::to_string(id) + " " + action + ": " + r.status().ToString() +
                " (the lease will expire and the hub re-queue it)");
    } else if (r->status != 200) {
      log::Warn("worker: job " + std::to_string(id) + " " + action + " refused (HTTP " + std::to_string(r->status) +
                "): " + r->ErrorText());
    }
  }

  void Fail(int64_t id, const std::string& error, bool give_back = false, bool retry = true) {
    log::Warn("worker: job " + std::to_string(id) + (give_back ? " given back: " : " failed: ") + error);
    Report(id, "fail", {{"error", error}, {"give_back", give_back}, {"retry", retry}});
  }

  // The series into <dir>/in, one file per part.
  Result<std::vector<std::string>> Fetch(const std::string& study, const std::string& series, const std::string& dir) {
    std::vector<std::string> files;
    std::ofstream out;
    std::string current;
    HubClient::PartSink sink;
    sink.begin = [&](const std::map<std::string, std::string>&) -> Status {
      char name[32];
      std::snprintf(name, sizeof name, "/%06zu.dcm", files.size());
      current = dir + name;
      out.open(current, std::ios::binary | std::ios::trunc);
      if (!out) return Status(ErrorCode::kIoError, "cannot create " + current);
      return Status::Ok();
    };
    sink.data = [&](std::string_view data) -> Status {
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      return out ? Status::Ok() : Status(ErrorCode::kIoError, "writing " + current + " failed");
    };
    sink.end = [&]() -> Status {
      out.close();
      if (!out) return Status(ErrorCode::kIoError, "writing " + current + " failed");
      files.push_back(current);
      return Status::Ok();
    };
    auto r = hub_.GetMultipart("/dicom-web/studies/" + oidc::UrlEncode(study) + "/series/" + oidc::UrlEncode(series),
                               kAcceptDicom, sink);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return Status(ErrorCode::kUnavailable, "WADO-RS of series " + series + " answered HTTP " +
                                                 std::to_string(r->status) + ": " + r->ErrorText());
    }
    if (files.empty()) return Status(ErrorCode::kNotFound, "WADO-RS returned no instance of series " + series);
    return files;
  }

  // The result objects by STOW-RS into the job's study (one request).
  Status Stow(const std::string& study, const AppRun& run) {
    const std::string boundary = api::NewBoundary();
    std::string body;
    for (const auto& o : run.objects) {
      std::ifstream in(o.path, std::ios::binary);
      if (!in) return Status(ErrorCode::kIoError, "cannot read the app's result " + o.path);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      body += api::PartHeader(boundary, "application/dicom", bytes.size());
      body += bytes;
      body += "\r\n";
    }
    body += api::CloseDelimiter(boundary);
    auto r = hub_.Post("/dicom-web/studies/" + oidc::UrlEncode(study),
                       "multipart/related; type=\"application/dicom\"; boundary=" + boundary, body);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return Status(ErrorCode::kUnavailable,
                    "STOW-RS of the results answered HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 400));
    }
    return Status::Ok();
  }

  void RunJob(const json& job) {
    const int64_t id = job.value("id", int64_t{0});
    const std::string app_id = job.value("app_id", ""), version = job.value("app_version", "");
    const std::string study = job.value("study_uid", ""), series = job.value("series_uid", "");
    const int attempt = job.value("attempts", 0);
    log::Info("worker: job " + std::to_string(id) + " (" + app_id + ") on series " + series + ", attempt " +
              std::to_string(attempt));
    const AppManifest* app = version.empty() ? apps_.Find(app_id) : apps_.Find(app_id, version);
    if (app == nullptr && (app = apps_.Find(app_id)) != nullptr) {
      log::Warn("worker: job " + std::to_string(id) + " was queued for " + app_id + " " + version +
                ", not installed here; running " + app->version);
    }
    if (app == nullptr) return Fail(id, "app " + app_id + " is not installed on worker " + o_.id, true);

    const std::string dir = o_.work_dir + "/job-" + std::to_string(id) + "-" + std::to_string(attempt);
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir + "/in", ec);
    if (ec) return Fail(id, "cannot create " + dir + ": " + ec.message(), true);

    Lease lease;
    lease.thread = std::thread([&] { Renew(id, lease); });
    auto finish = [&] {
      {
        std::lock_guard lock(lease.mu);
        lease.done = true;
      }
      lease.cv.notify_all();
      lease.thread.join();
      std::error_code rm;
      fs::remove_all(dir, rm);
    };

    auto files = Fetch(study, series, dir + "/in");
    if (lease.lost) return finish();
    if (stopping_) {
      Fail(id, "the worker is stopping", true);
      return finish();
    }
    if (!files.ok()) {
      Fail(id, "fetching the series: " + files.status().message());
      return finish();
    }

    // The app, as the hub runs it: `radflow ai-worker SPEC` in its own process group.
    auto pid = StartWorker(o_.binary, id, *app, o_.app_folders, files.value(), dir);
    if (!pid.ok()) {
      Fail(id, "cannot start the app's process: " + pid.status().message(), true);
      return finish();
    }
    lease.child = pid.value();
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(
                                                   static_cast<int64_t>(std::max(0.1, app->timeout_s) * 1000));
    bool timed_out = false, killed = false;
    int status = 0;
    while (!TryReapWorker(pid.value(), &status)) {
      if (!killed && (stopping_ || lease.lost || lease.cancel || SteadyClock::now() > deadline)) {
        timed_out = SteadyClock::now() > deadline && !stopping_ && !lease.lost && !lease.cancel;
        KillWorker(pid.value());
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    lease.child = 0;
    if (lease.lost) {
      log::Warn("worker: job " + std::to_string(id) + ": its lease was lost; the app's results are discarded");
      return finish();
    }
    if (stopping_) {
      Fail(id, "the worker is stopping (the app was stopped)", true);
      return finish();
    }
    if (lease.cancel) {
      Fail(id, "cancelled while running", false, false);
      return finish();
    }
    if (timed_out) {
      Fail(id, "timed out after " + std::to_string(static_cast<int>(std::ceil(app->timeout_s))) +
                   " s (the app's process was killed)");
      return finish();
    }
    auto run = ReadWorkerRun(dir, status, "the app's process");
    if (!run.ok()) {
      Fail(id, run.status().message());
      return finish();
    }

    // Announce the result series (never routed to apps) and check the lease right before
    // storing: a worker that lost its job stores nothing.
    json series_list = json::array();
    {
      std::set<std::string> seen;
      for (const auto& o : run->objects) {
        if (seen.insert(o.series_instance_uid).second) series_list.push_back(o.series_instance_uid);
      }
    }
    auto renewed = hub_.PostJson(JobPath(id, "renew"),
                                 {{"worker", o_.id}, {"lease_seconds", o_.lease_s}, {"result_series", series_list}});
    if (!renewed.ok() || renewed->status != 200) {
      log::Warn("worker: job " + std::to_string(id) + ": the hub did not renew the lease before storing (" +
                (renewed.ok() ? "HTTP " + std::to_string(renewed->status) + ": " + renewed->ErrorText()
                              : renewed.status().ToString()) + "); results discarded");
      return finish();
    }
    if (!run->objects.empty()) {
      Status stored = Stow(study, run.value());
      if (!stored.ok()) {
        // Some objects may be in: a retry would store them again.
        Fail(id, "storing the results: " + stored.message(), false, false);
        return finish();
      }
    }
    json result = json::parse(AppRunToJson(run.value()));
    for (auto& o : result["objects"]) o.erase("path");  // the worker's paths mean nothing to the hub
    result.erase("ok");
    auto done = hub_.PostJson(JobPath(id, "complete"), {{"worker", o_.id}, {"run", result}});
    if (!done.ok()) {
      log::Warn("worker: completing job " + std::to_string(id) + ": " + done.status().ToString());
    } else if (done->status != 200) {
      log::Warn("worker: job " + std::to_string(id) + " complete refused (HTTP " + std::to_string(done->status) +
                "): " + done->ErrorText());
      if (done->status == 400) Fail(id, "the hub refused the results: " + done->ErrorText(), false, false);
    } else {
      log::Info("worker: job " + std::to_string(id) + " (" + app_id + ") done: " + run->summary);
    }
    finish();
  }

  WorkerOptions o_;
  HubClient hub_;
  LoadedApps apps_;
  std::vector<std::string> app_ids_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> exit_code_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace

int RunRemoteWorker(const WorkerOptions& options) {
  // SIGTERM / SIGINT are taken by one thread (sigwait); every other thread, and so the
  // app processes' parent, has them blocked (SpawnWorker unblocks them in the child).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  Worker worker(options);
  std::thread signals([&worker, stop_signals] {
    int sig = 0;
    if (sigwait(&stop_signals, &sig) == 0) {
      log::Info(std::string("worker: ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                ": stopping; running jobs are given back");
      worker.Stop();
    }
  });
  signals.detach();  // it ends with the process when no signal comes (a refused token)
  return worker.Run();
}

}  // namespace radflow::ai::remote
