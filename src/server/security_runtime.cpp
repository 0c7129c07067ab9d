#include "server/security_runtime.h"

#include <algorithm>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "access/request_checks.h"
#include "access/route_rules.h"
#include "api/audit_api.h"
#include "api/auth_api.h"
#include "api/oidc_api.h"
#include "api/research_api.h"
#include "audit/audit_trail.h"
#include "oidc/oidc.h"
#include "research/research.h"
#include "base/log.h"
#include "dicom/tag.h"
#include "security/auth_service.h"
#include "server/hub.h"
#include "server/server.h"
#include "storage/job_store.h"

namespace radflow::server {

namespace {

using ordered_json = nlohmann::ordered_json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The scope checks answered from the index and the job store.
class HubLookup : public access::ScopeLookup {
 public:
  explicit HubLookup(Hub& hub) : hub_(hub) {}
  Result<std::optional<std::string>> ReferringPhysicianOf(const std::string& study_uid) override {
    auto row = StudyRow(study_uid);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return std::optional<std::string>();
    auto it = row->value().values.find(dicom::tags::kReferringPhysicianName);
    return std::optional<std::string>(it == row->value().values.end() ? "" : it->second);
  }
  Result<bool> SeriesHasActiveJob(const std::string& series_uid) override {
    for (auto state : {storage::JobState::kQueued, storage::JobState::kRunning}) {
      storage::JobFilter f;
      f.state = state;
      f.series_uid = series_uid;
      f.limit = 1;
      auto jobs = hub_.jobs->List(f);
      if (!jobs.ok()) return jobs.status();
      if (!jobs->empty()) return true;
    }
    return false;
  }
  Result<std::optional<storage::Row>> StudyRow(const std::string& study_uid) {
    if (study_uid.empty()) return std::optional<storage::Row>();
    storage::Query q;
    q.level = storage::ResourceLevel::kStudy;
    storage::Constraint c;
    c.tag = dicom::tags::kStudyInstanceUID;
    c.type = storage::Constraint::Type::kUidList;
    c.uids = {study_uid};
    q.constraints.push_back(c);
    q.limit = 1;
    auto rows = hub_.index->Find(q);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<storage::Row>();
    return std::optional<storage::Row>(rows->front());
  }
  // The study of a series ("" when unknown).
  std::string StudyOfSeries(const std::string& series_uid) {
    storage::Query q;
    q.level = storage::ResourceLevel::kSeries;
    storage::Constraint c;
    c.tag = dicom::tags::kSeriesInstanceUID;
    c.type = storage::Constraint::Type::kUidList;
    c.uids = {series_uid};
    q.constraints.push_back(c);
    q.limit = 1;
    auto rows = hub_.index->Find(q);
    if (!rows.ok() || rows->empty()) return "";
    auto it = rows->front().values.find(dicom::tags::kStudyInstanceUID);
    return it == rows->front().values.end() ? "" : it->second;
  }

 private:
  Hub& hub_;
};

// What the guard decided about the request being handled on this thread (the observer runs on
// the same connection thread right after the handler).
struct GuardNote {
  const http::Request* request = nullptr;
  const access::RouteRule* rule = nullptr;
  std::map<std::string, std::string> captures;
  bool denied = false;
  bool credential_presented = false;
  std::string reason;
};
thread_local GuardNote t_note;

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

http::Response Unauthenticated(const http::Request& req, const std::string& reason, bool credential) {
  if (access::IsBrowserNavigation(req.method, req.Header("accept"), req.Header("sec-fetch-mode"))) {
    http::Response res;
    res.status = 302;
    res.body = "";
    // Back to this page after the sign-in: a path on this site only (no "//host" or scheme).
    std::string next = req.target.empty() ? req.path : req.target;
    if (next.empty() || next[0] != '/' || next.rfind("//", 0) == 0 || next.rfind("/\\", 0) == 0) next = "/";
    res.headers.emplace_back("Location", "/login?next=" + UrlEncode(next));
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }
  http::Response res = http::Response::Json(
      ordered_json{{"error", reason}, {"code", "unauthenticated"}}.dump(), 401);
  std::string challenge = "Bearer realm=\"radflow\"";
  if (credential) {
    // RFC 6750 3.1: the credential was refused.
    std::string desc = reason;
    std::replace(desc.begin(), desc.end(), '"', '\'');
    challenge += ", error=\"invalid_token\", error_description=\"" + desc + "\"";
  }
  res.headers.emplace_back("WWW-Authenticate", challenge);
  return res;
}

http::Response Forbidden(const std::string& reason) {
  return http::Response::Json(ordered_json{{"error", reason}, {"code", "forbidden"}}.dump(), 403);
}

}  // namespace

struct SecurityRuntime::State {
  explicit State(Hub& h) : hub(h), lookup(h) {}
  Hub& hub;
  std::string data_dir;
  HubLookup lookup;
  std::unique_ptr<audit::AuditTrail> trail;
  std::unique_ptr<oidc::OidcProvider> oidc;
  std::unique_ptr<security::AuthService> auth;
  std::unique_ptr<research::ResearchService> research;
  std::unique_ptr<access::AuditCoalescer> coalescer;
  std::string app_dir;
  const http::HttpServer* http = nullptr;

  std::optional<http::Response> Guard(http::Request& req);
  void Observe(const http::Request& req, const http::Response& res);
  void Record(audit::AuditEvent e) {
    if (trail) trail->Record(std::move(e));
  }
};

std::optional<http::Response> SecurityRuntime::State::Guard(http::Request& req) {
  t_note = GuardNote{};
  t_note.request = &req;
  req.identity = http::Identity{};
  auto match = access::FindRule(req.method, req.path);
  const bool is_public = match && match->rule->is_public;
  if (match) {
    t_note.rule = match->rule;
    t_note.captures = match->captures;
  }

  access::Caller caller;
  const bool has_credential = !req.Header("authorization").empty() ||
                              !security::AuthService::SessionCookieValue(req).empty();
  t_note.credential_presented = has_credential;
  if (has_credential) {
    auto id = auth->Authenticate(req);
    if (id.ok()) {
      req.identity = id.value();
      caller = access::Caller{true, req.identity.user, req.identity.role, req.identity.referring_name};
    } else if (!is_public) {
      t_note.denied = true;
      t_note.reason = id.status().message();
      // A valid credential without a radflow role is refused (403); a provider that cannot
      // be asked is the server's trouble (503); anything else is a bad credential (401).
      if (id.status().code() == ErrorCode::kPermissionDenied) return Forbidden(id.status().message());
      if (id.status().code() != ErrorCode::kUnauthenticated) return http::Response::Error(id.status());
      return Unauthenticated(req, id.status().message(), true);
    }
  }
  // The row found above, not looked up a second time.
  auto d = access::AuthorizeMatch(caller, req.method, req.path, req.query, lookup, std::move(match));
  switch (d.outcome) {
    case access::Decision::Outcome::kAllow:
      break;
    case access::Decision::Outcome::kUnauthenticated:
      t_note.denied = true;
      t_note.reason = d.reason;
      return Unauthenticated(req, d.reason, false);
    case access::Decision::Outcome::kForbidden:
      t_note.denied = true;
      t_note.reason = d.reason;
      return Forbidden(d.reason);
    case access::Decision::Outcome::kError:
      t_note.denied = true;
      t_note.reason = d.reason;
      return http::Response::Error(Status(ErrorCode::kInternal, d.reason));
  }
  // CSRF: an unsafe request riding on the browser's cookie (or signing in) must come from
  // this site's own pages (Origin, RFC 6454; Sec-Fetch-Site, Fetch Metadata).
  const bool unsafe = req.method == "POST" || req.method == "PUT" || req.method == "DELETE";
  const bool by_cookie = req.identity.method == "session" || req.identity.method == "oidc-session";
  if (unsafe && (by_cookie || is_public)) {
    const std::string& origin = req.Header("origin");
    const std::string& site = req.Header("sec-fetch-site");
    if ((!origin.empty() && !access::OriginMatchesHost(origin, req.Header("host"))) || site == "cross-site") {
      t_note.denied = true;
      t_note.reason = "cross-site request refused (Origin " + (origin.empty() ? site : origin) +
                      " does not match Host " + req.Header("host") + ")";
      return Forbidden(t_note.reason);
    }
  }
  if (!d.force_query.empty() || !d.erase_query.empty()) {
    for (const std::string& key : d.erase_query) {
      for (auto it = req.query.begin(); it != req.query.end();) {
        it = Lower(it->first) == Lower(key) ? req.query.erase(it) : std::next(it);
      }
    }
    for (auto& [k, v] : d.force_query) req.query.emplace(k, v);
  }
  return std::nullopt;
}

void SecurityRuntime::State::Observe(const http::Request& req, const http::Response& res) {
  if (!coalescer) return;
  GuardNote note = t_note.request == &req ? std::move(t_note) : GuardNote{};
  t_note = GuardNote{};
  if (!note.rule) {
    auto m = access::FindRule(req.method, req.path);
    if (m) {
      note.rule = m->rule;
      note.captures = m->captures;
    }
  }
  std::string event = note.rule ? std::string(note.rule->audit) : "";
  if (note.denied) {
    // A refused credential or role: the route's event as a failure, else a security alert.
    // An anonymous request without any credential is not an event (the sign-in page).
    if (res.status == 401 && !note.credential_presented) return;
    if (event.empty()) event = "security-alert";
  }
  if (event.empty()) return;
  audit::AuditEvent e;
  e.event = event;
  e.success = res.status < 400;
  if (!e.success) {
    e.failure_reason = note.denied ? note.reason : ("HTTP " + std::to_string(res.status));
    if (!note.denied && res.content_type.rfind("application/json", 0) == 0 && res.body.size() < 4096) {
      auto j = ordered_json::parse(res.body, nullptr, false);
      if (j.is_object() && j.contains("error") && j["error"].is_string()) e.failure_reason = j["error"];
    }
  }
  e.user = req.identity.user;
  e.role = req.identity.role;
  e.source = req.remote_address;
  e.interface = "http";
  e.detail = req.method + " " + req.path;
  auto study = note.captures.find("study");
  if (study != note.captures.end()) {
    e.study_uid = study->second;
  } else if (auto series = note.captures.find("series"); series != note.captures.end()) {
    e.study_uid = lookup.StudyOfSeries(series->second);
  } else {
    for (const char* key : {"StudyInstanceUID", "0020000D", "study", "study_uid"}) {
      auto q = req.query.find(key);
      if (q != req.query.end()) {
        e.study_uid = q->second;
        break;
      }
    }
  }
  // A repeat within the coalescer's window is only counted: no patient lookup for it (the
  // window keeps the patient of its first event; the key names the study).
  if (coalescer->AddRepeat(e)) return;
  if (!e.study_uid.empty()) {
    auto row = lookup.StudyRow(e.study_uid);
    if (row.ok() && row->has_value()) {
      const auto& v = row->value().values;
      if (auto it = v.find(dicom::tags::kPatientID); it != v.end()) e.patient_id = it->second;
      if (auto it = v.find(dicom::tags::kPatientName); it != v.end()) e.patient_name = it->second;
    }
  }
  coalescer->Add(std::move(e));
}

SecurityRuntime::SecurityRuntime(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<SecurityRuntime>> SecurityRuntime::Create(const ServerConfig& config, Hub& hub) {
  auto state = std::make_unique<State>(hub);
  state->data_dir = config.data_dir;
  audit::AuditOptions audit_options;
  audit_options.data_dir = config.data_dir;
  audit_options.db_path = IndexLocation(config);
  audit_options.syslog = config.audit_syslog;
  audit_options.syslog_ca = config.audit_syslog_ca;
  audit_options.source_id = config.ae_title;
  auto trail = audit::AuditTrail::Open(audit_options);
  if (!trail.ok()) return trail.status();
  state->trail = std::move(trail.value());
  audit::AuditSink sink = state->trail->Sink();

  // OpenID Connect (docs/oidc.md): always constructed (its routes answer "not configured"
  // when off); bearer JWTs are verified only when an issuer is set.
  oidc::OidcConfig oidc_config;
  oidc_config.issuer = config.oidc_issuer;
  oidc_config.client_id = config.oidc_client_id;
  oidc_config.client_secret = config.oidc_client_secret;
  oidc_config.audience = config.oidc_audience;
  oidc_config.role_claim = config.oidc_role_claim;
  oidc_config.clock_skew_s = config.oidc_clock_skew_s;
  oidc_config.public_url = config.public_url;
  state->oidc = std::make_unique<oidc::OidcProvider>(oidc_config);
  if (state->oidc->enabled()) {
    if (Status found = state->oidc->Discover(); !found.ok()) {
      log::Warn("OpenID provider " + config.oidc_issuer + " not reachable yet: " + found.ToString());
    }
  }

  security::AuthOptions auth_options;
  auth_options.db_path = IndexLocation(config);
  auth_options.lockout_failures = config.lockout_failures;
  auth_options.lockout_minutes = config.lockout_minutes;
  auth_options.audit = sink;
  if (state->oidc->enabled()) {
    oidc::OidcProvider* provider = state->oidc.get();
    auth_options.bearer_verifier = [provider](const std::string& jwt) { return provider->VerifyBearer(jwt); };
  }
  auto auth = security::AuthService::Open(std::move(auth_options));
  if (!auth.ok()) return auth.status();
  state->auth = std::move(auth.value());

  // The research hub (docs/research.md).
  research::ResearchConfig research_config;
  research_config.data_dir = config.data_dir;
  research_config.index = IndexLocation(config);
  research_config.audit = sink;
  auto research = research::ResearchService::Open(*hub.index, *hub.blobs, research_config);
  if (!research.ok()) return research.status();
  state->research = std::move(research.value());
  state->research->Start();
  state->app_dir = config.app_dir.empty() ? RADFLOW_WEB_APP_DIR : config.app_dir;
  state->coalescer = std::make_unique<access::AuditCoalescer>(sink);
  return std::unique_ptr<SecurityRuntime>(new SecurityRuntime(std::move(state)));
}

SecurityRuntime::~SecurityRuntime() { Stop(); }

Status SecurityRuntime::Install(http::HttpServer& http) {
  State* s = state_.get();
  s->http = &http;
  api::AuthApiOptions auth_api;
  auth_api.oidc_enabled = s->oidc->enabled();
  api::RegisterAuthApi(http, *s->auth, s->app_dir, auth_api);
  api::RegisterOidcApi(http, *s->oidc, *s->auth);
  api::RegisterAuditApi(http, *s->trail);
  api::RegisterResearchApi(http, *s->research);
  http.Route("GET", "/api/v1/admin/routes", [s](const http::Request&) {
    auto out = ordered_json::parse(access::RulesJson());
    ordered_json registered = ordered_json::array();
    for (const auto& r : s->http->Routes()) {
      auto covered = access::CoveringRule({r.method, r.path, r.prefix});
      registered.push_back({{"method", r.method},
                            {"path", r.path},
                            {"prefix", r.prefix},
                            {"covered_by", covered ? ordered_json(std::string(*covered)) : ordered_json()}});
    }
    out["registered"] = registered;
    return http::Response::Json(out.dump());
  });
  http.SetGuard([s](http::Request& req) { return s->Guard(req); });
  http.SetObserver([s](const http::Request& req, const http::Response& res) { s->Observe(req, res); });
  return Status::Ok();
}

Status SecurityRuntime::CheckRoutes(const http::HttpServer& http) const {
  std::vector<std::string> missing;
  for (const auto& r : http.Routes()) {
    if (!access::CoveringRule({r.method, r.path, r.prefix})) {
      missing.push_back((r.method.empty() ? std::string("*") : r.method) + " " + r.path + (r.prefix ? "*" : ""));
    }
  }
  if (missing.empty()) return Status::Ok();
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return {ErrorCode::kInternal,
          "route(s) without an access rule (add a row to src/access/route_rules.cpp): " + list};
}

void SecurityRuntime::AnnounceSetup(const std::string& base_url) {
  auto has = state_->auth->HasUsers();
  if (!has.ok()) {
    log::Warn("cannot tell whether an account exists: " + has.status().ToString());
    return;
  }
  if (has.value()) return;
  auto token = state_->auth->CreateSetupToken();
  if (!token.ok()) {
    log::Warn("no set-up token: " + token.status().ToString());
    return;
  }
  const std::string line = "radflow: no account yet — create the first administrator at " + base_url +
                           "/setup?token=" + token.value() + " (valid once, 15 minutes, from this machine only)";
  log::Info(line);
  std::cout << line << std::endl;
}

audit::AuditSink SecurityRuntime::AuditSink() {
  if (!state_->trail) return [](const audit::AuditEvent&) {};
  return state_->trail->Sink();
}

void SecurityRuntime::Stop() {
  if (!state_) return;
  if (state_->research) state_->research->Stop();
  if (state_->coalescer) state_->coalescer->Stop();
  if (state_->trail) state_->trail->Stop();
}

}  // namespace radflow::server
