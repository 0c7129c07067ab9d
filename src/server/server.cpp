#include "server/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "api/dicomweb.h"
#include "api/ohif.h"
#include "api/rest_api.h"
#include "base/log.h"
#include "dimse/dimse_server.h"
#include "http/http_server.h"
#include "server/hub.h"

namespace radflow::server {

Status LockDataDir(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  std::string path = data_dir + "/radflow.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return {ErrorCode::kIoError, "cannot open " + path + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return {ErrorCode::kUnavailable,
            "data directory " + data_dir + " is in use by another radflow server"};
  }
  return Status::Ok();  // held until the process exits
}

int RunServer(const ServerConfig& config) {
  // Block the stop signals before any thread starts, then wait for them on this thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [](const Status& st) {
    log::Error(st.ToString());
    return 1;
  };
  ingest::IngestOptions options;
  auto policy = ingest::ParseDuplicatePolicy(config.duplicate_policy);
  if (!policy) {
    return fail({ErrorCode::kInvalidArgument,
                 "--duplicate-policy must be keep, reject or replace"});
  }
  options.duplicate_policy = *policy;
  options.stable_after = std::chrono::milliseconds(static_cast<int64_t>(config.stable_seconds * 1000));

  dimse::DimseConfig dimse_config;
  dimse_config.ae_title = config.ae_title;
  if (config.dicom_port <= 0 || config.dicom_port > 65535) {
    return fail({ErrorCode::kInvalidArgument, "--dicom-port must be 1..65535"});
  }
  dimse_config.port = static_cast<uint16_t>(config.dicom_port);
  for (const auto& spec : config.modalities) {
    auto ae = dimse::ParseRemoteAe(spec);
    if (!ae.ok()) return fail(ae.status());
    dimse_config.modalities[ae->ae_title] = ae.value();
  }

  Status lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return fail(lock);
  auto hub = Hub::Open(config.data_dir, options);
  if (!hub.ok()) return fail(hub.status());
  Hub& h = *hub.value();
  // A clean stop leaves this marker; without it, stores may have been interrupted.
  const std::string clean_marker = config.data_dir + "/clean-shutdown";
  std::error_code ec;
  if (!std::filesystem::exists(clean_marker, ec)) {
    auto recovered = RecoverInterruptedStores(h);
    if (!recovered.ok()) return fail(recovered.status());
  }
  std::filesystem::remove(clean_marker, ec);
  // The removal must be durable before the first store, or a crash could bring it back.
  if (Status synced = storage::BlobStore::SyncDirectory(config.data_dir); !synced.ok()) {
    return fail(synced);
  }
  h.ingest->Subscribe([](const ingest::Event& e) {
    if (e.type == ingest::Event::Type::kSeriesStable) {
      log::Info("series stable: " + e.series_instance_uid);
    }
  });

  std::atomic<bool> ready{false};
  http::HttpServer http;
  api::RegisterRestApi(http, *h.index, ready);
  api::RegisterDicomWeb(http, {h.ingest.get(), h.index.get(), h.blobs.get()});
  api::RegisterWebUi(http);
  api::RegisterOhif(http, config.web_dir);
  Status st = http.Start(config.http_address, static_cast<uint16_t>(config.http_port));
  if (!st.ok()) return fail(st);

  dimse::DimseServer dimse(dimse_config, {h.ingest.get(), h.index.get(), h.blobs.get()});
  st = dimse.Start();
  if (!st.ok()) return fail(st);
  ready = true;
  log::Info("radflow ready: data " + config.data_dir + ", AE " + config.ae_title);

  int sig = 0;
  sigwait(&signals, &sig);
  log::Info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  ready = false;
  http.Stop();
  dimse.Stop();
  // Every association has ended: nothing is in flight.
  if (FILE* f = std::fopen(clean_marker.c_str(), "w")) std::fclose(f);
  return 0;
}

}  // namespace radflow::server
