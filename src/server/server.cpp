#include "server/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "ai/engine/engine.h"
#include "api/admin_api.h"
#include "api/ai_api.h"
#include "api/dicomweb.h"
#include "api/ohif.h"
#include "api/orders_api.h"
#include "api/scheduling_api.h"
#include "api/report_api.h"
#include "api/rest_api.h"
#include "api/worklist_api.h"
#include "ai/routing.h"
#include "query/matching.h"
#include "workflow/worklist_service.h"
#include "base/clock.h"
#include "base/log.h"
#include "noshow/noshow.h"
#include "orders/order_service.h"
#include "orders/protocol.h"
#include "orders/scheduling.h"
#include "dimse/dimse_server.h"
#include "http/http_server.h"
#include "server/hub.h"
#include "compress/compactor.h"
#include "server/lesion_followup.h"
#include "server/prefetch.h"
#include "server/security_runtime.h"
#include "reporting/report_service.h"
#include "storage/report_store.h"
#include "similar/similar_cases.h"
#include "storage/ai_admin_store.h"
#include "storage/order_store.h"
#include "storage/cluster_bus.h"
#include "storage/db.h"
#include "storage/leader.h"

namespace radflow::server {

namespace {

// SeriesStable on the cluster bus (docs/postgresql.md "Several nodes: events and
// stability"): the winning node's news for the others' logs; payload {"study", "series"}.
constexpr const char* kSeriesStableChannel = "radflow_series_stable";
std::string SeriesStablePayload(const ingest::Event& e) {
  // dump's replace handler: a malformed UID's bytes that are not UTF-8 do not throw here.
  return nlohmann::json{{"study", e.study_instance_uid}, {"series", e.series_instance_uid}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The orders' clock work (docs/orders.md): every minute, appointments past their slot and
// grace become no-shows; with a model loaded, every hour the scheduled appointments are
// re-scored, and a new one is scored on its own at the next tick (10 s).
class OrderTimer {
 public:
  explicit OrderTimer(orders::OrderService& orders, bool scoring) : orders_(orders), scoring_(scoring) {}
  ~OrderTimer() { Stop(); }
  void Start() { thread_ = std::thread([this] { Run(); }); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // An order changed: a new scheduled appointment without a risk is scored at the next tick
  // (only it: the other appointments' features do not change with a later booking).
  void OnChange(const storage::OrderRow& row) {
    if (!scoring_ || row.status != "scheduled" || row.noshow_risk >= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    unscored_.push_back(row);
  }

 private:
  static constexpr auto kTick = std::chrono::seconds(10);
  static constexpr int64_t kNoShowEveryMs = 60'000;
  static constexpr int64_t kScoreEveryMs = 3'600'000;
  void Run() {
    int64_t last_noshow = 0, last_score = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      const int64_t now = UnixMillis();
      if (now - last_noshow >= kNoShowEveryMs) {
        last_noshow = now;
        auto marked = orders_.MarkNoShows(now);
        if (!marked.ok()) log::Warn("orders: marking no-shows: " + marked.status().ToString());
        else if (*marked > 0) log::Info("orders: " + std::to_string(*marked) + " appointment(s) marked no-show");
      }
      if (scoring_ && now - last_score >= kScoreEveryMs) {
        last_score = now;
        auto scored = orders_.ScoreScheduled(now);
        if (!scored.ok()) log::Warn("orders: no-show scoring: " + scored.status().ToString());
      }
      lock.lock();
      std::vector<storage::OrderRow> fresh;
      fresh.swap(unscored_);
      lock.unlock();
      if (!fresh.empty()) {
        auto scored = orders_.ScoreOrders(fresh, now);
        if (!scored.ok()) log::Warn("orders: no-show scoring: " + scored.status().ToString());
      }
      lock.lock();
      cv_.wait_for(lock, kTick, [this] { return stop_; });
    }
  }
  orders::OrderService& orders_;
  const bool scoring_;
  std::mutex mu_;
  std::vector<storage::OrderRow> unscored_;  // guarded by mu_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The orders' options from the serve flags; errors name the flag and the file.
Result<orders::OrderServiceOptions> OrderOptions(const ServerConfig& config) {
  orders::OrderServiceOptions o;
  if (!config.protocol_rules.empty()) {
    auto rules = orders::LoadProtocolRules(config.protocol_rules);
    if (!rules.ok()) return Status(rules.status().code(), "--protocol-rules: " + rules.status().message());
    o.protocol_rules = std::move(rules.value());
  }
  if (!config.noshow_model.empty()) {
    auto model = noshow::Model::Load(config.noshow_model);
    if (!model.ok()) return Status(model.status().code(), "--noshow-model: " + model.status().message());
    o.noshow_model = std::shared_ptr<const noshow::Model>(std::move(model.value()));
  }
  if (!config.station_hours.empty()) {
    auto hours = orders::LoadStationHours(config.station_hours);
    if (!hours.ok()) return Status(hours.status().code(), "--station-hours: " + hours.status().message());
    o.station_hours = std::move(hours.value());
  }
  if (config.no_show_grace_minutes < 0) {
    return Status(ErrorCode::kInvalidArgument, "--no-show-grace-minutes must be 0 or more");
  }
  o.no_show_grace_minutes = config.no_show_grace_minutes;
  return o;
}

}  // namespace

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
  if (config.dicom_port < 0 || config.dicom_port > 65535) {
    return fail({ErrorCode::kInvalidArgument, "--dicom-port must be 0..65535 (0: off)"});
  }
  if (config.dicom_tls_port < 0 || config.dicom_tls_port > 65535) {
    return fail({ErrorCode::kInvalidArgument, "--dicom-tls-port must be 0..65535 (0: off)"});
  }
  if (config.dicom_port == 0 && config.dicom_tls_port == 0) {
    return fail({ErrorCode::kInvalidArgument, "--dicom-port 0 needs --dicom-tls-port"});
  }
  dimse_config.port = static_cast<uint16_t>(config.dicom_port);
  dimse_config.tls_port = static_cast<uint16_t>(config.dicom_tls_port);
  dimse_config.tls_cert = config.tls_cert;
  dimse_config.tls_key = config.tls_key;
  dimse_config.tls_ca = config.tls_ca;
  dimse_config.accept = config.dicom_accept;
  dimse_config.access_file = config.dicom_access;
  for (const auto& spec : config.modalities) {
    auto ae = dimse::ParseRemoteAe(spec);
    if (!ae.ok()) return fail(ae.status());
    dimse_config.modalities[ae->ae_title] = ae.value();
  }

  Status lock = LockDataDir(config.data_dir);
  if (!lock.ok()) return fail(lock);
  // The blobs: DATA/blobs, or --storage (a shared folder, S3), this node's temporary files
  // in its own folder there (docs/storage-backends.md).
  auto hub = Hub::Open(config.data_dir, options, /*owner=*/true, config.index,
                       BlobLocation{config.storage, config.s3_endpoint, ResolveNodeId(config)});
  if (!hub.ok()) return fail(hub.status());
  Hub& h = *hub.value();
  log::Info("blobs: " + h.blobs->Describe());
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
  ai::EngineOptions ai_options;
  ai_options.app_folders = DefaultAppFolders(config.data_dir, config.app_folders);
  // This node's temporary folder: results are stored through ingest (renamed into a folder
  // store, which rename(2) needs on the same filesystem; uploaded to S3).
  ai_options.work_dir = h.blobs->TempDir() + "/ai-work";
  ai_options.worker_binary = config.worker_binary.empty() ? SelfExecutable() : config.worker_binary;
  // 0: the hub runs no app itself; remote workers take every job (docs/remote-workers.md).
  ai_options.max_running = std::max(0, config.ai_workers);
  ai_options.remote_only_apps = config.ai_remote_only_apps;
  ai_options.max_running_per_app = std::max(1, config.ai_workers_per_app);
  ai_options.retry_backoff_s = std::max(0.0, config.ai_retry_seconds);
  // Among several nodes, this node's jobs carry its id (a lease the others respect).
  if (h.index->Shared()) ai_options.node_id = ResolveNodeId(config);
  // The reading worklist: fed by ingest and AI job events (docs/worklist.md).
  workflow::WorklistOptions wl_options;
  if (!config.worklist_rule.empty()) {
    std::ifstream in(config.worklist_rule);
    if (!in) return fail({ErrorCode::kNotFound, "--worklist-rule: cannot read " + config.worklist_rule});
    std::stringstream text;
    text << in.rdbuf();
    auto rule = workflow::ParsePriorityRule(text.str());
    if (!rule.ok()) return fail({rule.status().code(), config.worklist_rule + ": " + rule.status().message()});
    wl_options.rule = rule.value();
  }
  if (config.claim_idle_minutes <= 0) {
    return fail({ErrorCode::kInvalidArgument, "--claim-idle-minutes must be positive"});
  }
  wl_options.claim_ms = static_cast<int64_t>(config.claim_idle_minutes * 60000);
  wl_options.series_facts = [&h](const std::string& series_uid)
      -> Result<std::map<std::string, std::string>> {
    auto found = query::LocateSeries(*h.index, series_uid);
    if (!found.ok()) return found.status();
    auto first = h.blobs->LocalPath(found->front().blob_path);
    if (!first.ok()) return first.status();
    auto facts = ai::ReadSeriesFacts({first.value()});
    if (!facts.ok()) return facts.status();
    return std::map<std::string, std::string>(facts->begin(), facts->end());
  };
  wl_options.prefetch = MakePrefetch(config, dimse_config);
  // Orders (docs/orders.md): built before the reading worklist, which asks them for a study's
  // priority and reason and tells them of each new study; their changes re-rank its items.
  auto order_options = OrderOptions(config);
  if (!order_options.ok()) return fail(order_options.status());
  auto order_store = storage::OrderStore::Open(IndexLocation(config));
  if (!order_store.ok()) return fail(order_store.status());
  std::atomic<workflow::WorklistService*> worklist_ref{nullptr};
  std::atomic<OrderTimer*> timer_ref{nullptr};
  const bool scoring = order_options->noshow_model != nullptr;
  order_options->on_change = [&worklist_ref, &timer_ref](const storage::OrderRow& o) {
    if (auto* wl = worklist_ref.load()) {
      wl->OnOrderChanged(o.linked_study_uid.empty() ? o.study_uid : o.linked_study_uid);
    }
    if (auto* t = timer_ref.load()) t->OnChange(o);
  };
  orders::OrderService order_service(*order_store.value(), std::move(order_options.value()));
  wl_options.order_facts = [&order_service](const std::string& accession, const std::string& study_uid)
      -> std::optional<workflow::OrderFactsLite> {
    auto f = order_service.FactsFor(accession, study_uid);
    if (!f) return std::nullopt;
    return workflow::OrderFactsLite{f->priority, f->reason};
  };
  wl_options.on_study_arrived = [&order_service](const std::string& uid, const std::string& accession,
                                                 const std::string& patient_id, const std::string& name,
                                                 const std::string& modalities, const std::string& date) {
    Status st = order_service.OnStudyArrived(uid, accession, patient_id, name, modalities, date);
    if (!st.ok()) log::Warn("orders: study " + uid + " arrived: " + st.ToString());
  };
  auto wl_store = storage::WorkflowStore::Open(IndexLocation(config));
  if (!wl_store.ok()) return fail(wl_store.status());
  workflow::WorklistService worklist(*wl_store.value(), wl_options);
  worklist_ref = &worklist;
  OrderTimer order_timer(order_service, scoring);
  timer_ref = &order_timer;
  // Longitudinal lesion tracking: a succeeded ct-lung-lesions job against the best prior's.
  auto lesion_store = storage::LesionStore::Open(IndexLocation(config));
  if (!lesion_store.ok()) return fail(lesion_store.status());
  LesionFollowUp followup({*h.index, *h.blobs, *h.ingest, *h.jobs, *lesion_store.value(), worklist});
  // The app library (pins, audit, AI performance) and similar-case search (docs/app-library.md).
  auto admin_store = storage::AiAdminStore::Open(IndexLocation(config));
  if (!admin_store.ok()) return fail(admin_store.status());
  similar::SimilarCases similar(*admin_store.value(), *h.index, *h.blobs);
  h.jobs->SetChangeListener([&worklist, &followup, &similar](int64_t job_id) {
    // All only queue the id: this runs on the job store's writing thread.
    worklist.OnAiJobChanged(job_id);
    followup.OnJobChanged(job_id);
    similar.OnJobChanged(job_id);
  });
  // Reports: drafts, QA, signing and delivery, external reports, follow-ups (docs/reports.md).
  auto report_store = storage::ReportStore::Open(IndexLocation(config));
  if (!report_store.ok()) return fail(report_store.status());
  if (config.hl7_port < 0 || config.hl7_port > 65535) {
    return fail({ErrorCode::kInvalidArgument, "--hl7-port must be 0..65535"});
  }
  reporting::ReportingOptions report_options;
  report_options.template_folders = DefaultTemplateFolders(config.data_dir, config.template_folders);
  report_options.hl7_receivers = config.hl7_receivers;
  report_options.hl7_address = config.http_address;
  report_options.hl7_port = config.hl7_port;
  report_options.sending_facility = config.ae_title;
  // ADT, ORM and OMI on the same MLLP listener go to the orders (ACK after the write).
  report_options.other_hl7 = [&order_service](const std::string& message) { return order_service.HandleHl7(message); };
  reporting::ReportService reports({*h.index, *h.blobs, *h.ingest, *h.jobs, *lesion_store.value(),
                                    *report_store.value()},
                                   report_options);
  // A signed report moves its study's worklist item to the report's status (the signer
  // claims it first when nobody holds it); a claim held by another reader is left alone.
  reports.SetSignedListener([&worklist](const storage::ReportRow& row, const std::string& reader) {
    if (row.study_uid.empty()) return;
    auto current = worklist.store().Get(row.study_uid);
    if (current.ok() && current->has_value() && current->value().state == row.status) return;  // e.g. an addendum
    auto item = worklist.ChangeState(row.study_uid, reader, row.status, "report " + std::to_string(row.id) + " signed");
    if (!item.ok() && item.status().code() == ErrorCode::kConflict && worklist.Claim(row.study_uid, reader).ok()) {
      item = worklist.ChangeState(row.study_uid, reader, row.status, "report " + std::to_string(row.id) + " signed");
    }
    if (!item.ok()) log::Warn("worklist of " + row.study_uid + " after signing: " + item.status().ToString());
  });
  // Several nodes on one PostgreSQL index (docs/postgresql.md "Several nodes: events and
  // stability"): this node's worklist changes and the series stable here (once across the
  // nodes: Index::ClaimSeriesStable) reach the others over LISTEN/NOTIFY. SQLite: one node,
  // no bus.
  std::shared_ptr<storage::ClusterBus> bus;  // shared: the ingest listener may outlive this scope
  if (h.index->Shared()) {
    auto opened = storage::OpenClusterBus(h.index_location, ResolveNodeId(config));
    if (!opened.ok()) return fail(opened.status());
    bus = std::shared_ptr<storage::ClusterBus>(std::move(opened.value()));
    if (Status relayed = workflow::RelayOverBus(worklist.events(), *bus); !relayed.ok()) return fail(relayed);
    Status subscribed = bus->Subscribe(kSeriesStableChannel, [](const storage::BusMessage& m) {
      auto j = nlohmann::json::parse(m.payload, nullptr, false);
      const auto series = j.is_object() ? j.value("series", std::string()) : std::string();
      if (series.empty()) return log::Warn("series stable: an event from " + m.node_id + " names no series");
      log::Info("series stable: " + series + " (fired by node " + m.node_id + ")");
    });
    if (!subscribed.ok()) return fail(subscribed);
  }
  // The bus's thread calls into the worklist: stopped before the worklist goes, on every path.
  struct BusStop {
    storage::ClusterBus* bus;
    ~BusStop() {
      if (bus) bus->Stop();
    }
  } bus_stop{bus.get()};
  h.ingest->Subscribe([&worklist, &reports, bus](const ingest::Event& e) {
    if (e.type == ingest::Event::Type::kSeriesStable) {
      log::Info("series stable: " + e.series_instance_uid);
      worklist.OnSeriesStable(e.study_instance_uid, e.series_instance_uid);
      reports.OnSeriesStable(e.study_instance_uid, e.series_instance_uid);
      if (bus) {
        Status s = bus->Publish(kSeriesStableChannel, SeriesStablePayload(e));
        if (!s.ok()) log::Warn("series stable: telling the other nodes: " + s.ToString());
      }
    } else {
      worklist.OnInstanceStored(e.study_instance_uid, e.series_instance_uid);
    }
  });
  if (Status started = worklist.Start(); !started.ok()) return fail(started);
  followup.Start();
  if (Status started = reports.Start(); !started.ok()) return fail(started);

  ai::Engine engine(*h.index, *h.blobs, *h.ingest, *h.jobs, ai_options, admin_store.value().get());
  if (Status started = engine.Start(); !started.ok()) return fail(started);
  // Every SeriesStable listener is subscribed: a shared index's sweep for series that a node
  // which died mid-series left unfired may start (docs/scaling.md "A node that dies mid-series").
  h.ingest->StartStableSweep();
  similar.Start();

  // Sign-in, the access rules and the audit trail (docs/access-control.md).
  auto security = SecurityRuntime::Create(config, h);
  if (!security.ok()) return fail(security.status());
  dimse_config.audit = security.value()->AuditSink();

  // Compression at rest (docs/compression.md): acknowledged instances re-encoded in the background.
  auto compress_modalities = compress::ParseCompressSpecs(config.compress);
  if (!compress_modalities.ok()) return fail(compress_modalities.status());
  compress::CompactorOptions compactor_options{compress_modalities.value()};
  std::unique_ptr<storage::LeaderLock> compactor_leader;  // one node at a time compacts
  if (h.index->Shared() && !compactor_options.modalities.empty()) {
    auto leader = storage::LeaderLock::Open(h.index_location, "compactor");
    if (!leader.ok()) return fail(leader.status());
    compactor_leader = std::move(leader.value());
    compactor_options.leader = compactor_leader.get();
  }
  compress::Compactor compactor(*h.index, *h.blobs, compactor_options);
  compactor.Start();

  std::atomic<bool> ready{false};
  http::HttpServer http;
  if (Status installed = security.value()->Install(http); !installed.ok()) return fail(installed);
  api::RegisterRestApi(http, *h.index, ready);
  api::RegisterDicomWeb(http, {h.ingest.get(), h.index.get(), h.blobs.get()});
  api::WorklistApiContext wl_api{&worklist, [&followup](const std::string& study) { return followup.Lesions(study); },
                                 api::ReportStudyRoutes(reports)};
  api::RegisterReportApi(http, reports);
  api::RegisterAiApi(http, engine, api::ConformanceStudyRoutes(*h.index, api::StudyRoutes(wl_api)));
  api::RegisterAdminApi(http, {&engine, admin_store.value().get(), &similar});
  api::RegisterWorklistApi(http, wl_api);
  api::RegisterOrdersApi(http, order_service);
  api::RegisterSchedulingApi(http, order_service);
  api::RegisterWebApp(http, config.app_dir.empty() ? RADFLOW_WEB_APP_DIR : config.app_dir);
  api::RegisterOhif(http, config.web_dir);
  if (Status covered = security.value()->CheckRoutes(http); !covered.ok()) return fail(covered);
  if (config.http_port < 0 || config.http_port > 65535 || config.https_port < 0 || config.https_port > 65535) {
    return fail({ErrorCode::kInvalidArgument, "--http-port and --https-port must be 0..65535 (0: off)"});
  }
  if (config.http_port == 0 && config.https_port == 0) {
    return fail({ErrorCode::kInvalidArgument, "--http-port 0 needs --https-port"});
  }
  Status st;
  if (config.http_port != 0) {
    st = http.Start(config.http_address, static_cast<uint16_t>(config.http_port));
    if (!st.ok()) return fail(st);
  }
  if (config.https_port != 0) {
    if (config.tls_cert.empty() || config.tls_key.empty()) {
      return fail({ErrorCode::kInvalidArgument, "--https-port needs --tls-cert and --tls-key"});
    }
    st = http.StartTls(config.http_address, static_cast<uint16_t>(config.https_port),
                       {config.tls_cert, config.tls_key, config.tls_ca});
    if (!st.ok()) return fail(st);
  }

  dimse::DimseServices dimse_services{h.ingest.get(), h.index.get(), h.blobs.get()};
  dimse_services.orders = &order_service;  // Modality Worklist and MPPS
  dimse::DimseServer dimse(dimse_config, dimse_services);
  st = dimse.Start();
  if (!st.ok()) return fail(st);
  order_timer.Start();
  ready = true;
  log::Info("radflow ready: data " + config.data_dir + ", index " +
            storage::RedactLocation(IndexLocation(config)) + ", AE " + config.ae_title);
  {
    const bool loopback_any = config.http_address == "0.0.0.0" || config.http_address == "::";
    const std::string host = loopback_any ? "127.0.0.1" : config.http_address;
    security.value()->AnnounceSetup(config.http_port != 0
        ? "http://" + host + ":" + std::to_string(http.port())
        : "https://" + host + ":" + std::to_string(http.tls_port()));
  }

  int sig = 0;
  sigwait(&signals, &sig);
  log::Info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  ready = false;
  worklist.events().Close();  // ends the event streams, so that their connections close
  if (bus) bus->Stop();  // no more events from the other nodes
  http.Stop();
  dimse.Stop();
  order_timer.Stop();
  timer_ref = nullptr;
  security.value()->Stop();
  engine.Stop();  // running jobs are re-queued at the next start
  compactor.Stop();  // after the instance in hand; replaced blobs removed
  h.jobs->SetChangeListener(nullptr);
  similar.Stop();
  reports.Stop();
  followup.Stop();
  worklist.Stop();
  worklist_ref = nullptr;
  // Every association has ended: nothing is in flight.
  if (FILE* f = std::fopen(clean_marker.c_str(), "w")) std::fclose(f);
  return 0;
}

std::vector<std::string> DefaultAppFolders(const std::string& data_dir,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> folders;
  const char* env = std::getenv("RADFLOW_APPS_DIR");
  folders.push_back(env != nullptr && *env != 0 ? env : RADFLOW_BUILTIN_APPS_DIR);
  std::error_code ec;
  if (std::filesystem::is_directory(data_dir + "/apps", ec)) folders.push_back(data_dir + "/apps");
  folders.insert(folders.end(), extra.begin(), extra.end());
  return folders;
}

std::vector<std::string> DefaultTemplateFolders(const std::string& data_dir,
                                                const std::vector<std::string>& extra) {
  std::vector<std::string> folders;
  const char* env = std::getenv("RADFLOW_TEMPLATES_DIR");
  folders.push_back(env != nullptr && *env != 0 ? env : RADFLOW_BUILTIN_TEMPLATES_DIR);
  std::error_code ec;
  if (std::filesystem::is_directory(data_dir + "/templates", ec)) folders.push_back(data_dir + "/templates");
  folders.insert(folders.end(), extra.begin(), extra.end());
  return folders;
}

std::string SelfExecutable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("radflow") : p.string();
}

}  // namespace radflow::server
