#include "cli/audit_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

#include "audit/audit_trail.h"
#include "base/log.h"
#include "cli/index_option.h"
#include "storage/db.h"
#include "storage/index_location.h"

namespace radflow::cli {

namespace {

struct AuditCliOptions {
  std::string data;
  std::string index;  // "" → DATA/index.db
  std::string user, event, patient, study, since, until, outcome;
  int limit = 50;
  std::string format = "text";
};

int Fail(const std::string& message) {
  std::cerr << "radflow audit: " << message << "\n";
  return 2;
}

bool CheckData(const std::string& data) {
  std::error_code ec;
  return std::filesystem::is_directory(data, ec);
}

// exit 0: intact; 1: broken (the first bad record and why); 2: could not check.
int RunVerify(const AuditCliOptions& o) {
  if (!CheckData(o.data)) return Fail("--data " + o.data + " is not a directory");
  const audit::VerifyResult v = audit::Verify(o.data, o.index);
  if (o.format == "json") {
    std::cout << nlohmann::json{{"ok", v.ok}, {"records", v.records}, {"first_bad_seq", v.first_bad_seq},
                                {"message", v.message}}
                     .dump()
              << "\n";
  } else if (v.ok) {
    std::cout << "audit log intact: " << v.message << "\n";
  } else {
    std::cout << "audit log BROKEN at record " << v.first_bad_seq << ": " << v.message << " (" << v.records
              << " record(s) before it are intact)\n";
  }
  return v.ok ? 0 : 1;
}

int RunSearch(const AuditCliOptions& o) {
  if (!CheckData(o.data)) return Fail("--data " + o.data + " is not a directory");
  if (o.format != "json" && o.format != "text") return Fail("--format must be json or text, not '" + o.format + "'");
  if (o.limit < 1 || o.limit > 1000) return Fail("--limit must be from 1 to 1000");
  audit::AuditQuery q;
  q.user = o.user;
  q.event = o.event;
  q.patient = o.patient;
  q.study = o.study;
  q.outcome = o.outcome;
  q.limit = o.limit;
  for (auto [flag, text, slot] : {std::tuple{"--since", &o.since, &q.since}, std::tuple{"--until", &o.until, &q.until}}) {
    if (text->empty()) continue;
    auto t = audit::ParseTime(*text);
    if (!t.ok()) return Fail(std::string(flag) + ": " + t.status().message());
    *slot = t.value();
  }
  const std::string db = storage::IndexLocation(o.data, o.index);
  // An SQLite file is checked first: opening a missing one would create an empty database.
  if (!storage::IsPostgresLocation(db) && !std::filesystem::exists(db)) {
    return Fail("no index database " + db);
  }
  auto store = storage::AuditStore::Open(db);
  if (!store.ok()) return Fail(store.status().message());
  auto page = (*store)->Search(q);
  if (!page.ok()) return Fail(page.status().message());
  // Reading the audit log is itself audited (PS3.15 A.5.3.2 Audit Log Used).
  audit::AuditEvent used;
  used.event = "audit-log-used";
  used.detail = "radflow audit search";
  audit::AuditOptions options;
  options.data_dir = o.data;
  options.db_path = db;
  if (Status st = audit::RecordNow(options, used); !st.ok()) {
    std::cerr << "radflow audit: warning: " << st.message() << "\n";
  }
  if (o.format == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& r : page->records) {
      list.push_back({{"seq", r.seq}, {"at", audit::FormatTime(r.at)}, {"event", r.event},
                      {"event_id", r.event_id}, {"action", r.action},
                      {"outcome", r.outcome == 0 ? "success" : "failure"}, {"failure_reason", r.failure_reason},
                      {"user", r.user}, {"role", r.role}, {"source", r.source}, {"patient_id", r.patient_id},
                      {"patient_name", r.patient_name}, {"study_uid", r.study_uid}, {"detail", r.detail},
                      {"interface", r.interface}});
    }
    std::cout << nlohmann::ordered_json{{"records", list}, {"total", page->total}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& r : page->records) {
    std::cout << r.seq << "  " << audit::FormatTime(r.at) << "  " << r.event << " (" << r.event_id << ")  "
              << (r.outcome == 0 ? "ok" : "FAILED") << "  " << (r.user.empty() ? "-" : r.user);
    if (!r.role.empty()) std::cout << "/" << r.role;
    std::cout << "  " << (r.source.empty() ? "-" : r.source);
    if (!r.patient_id.empty()) std::cout << "  patient " << r.patient_id;
    if (!r.study_uid.empty()) std::cout << "  study " << r.study_uid;
    if (!r.detail.empty()) std::cout << "  " << r.detail;
    if (!r.failure_reason.empty()) std::cout << "  (" << r.failure_reason << ")";
    std::cout << "\n";
  }
  std::cout << page->records.size() << " of " << page->total << " record(s)\n";
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<AuditCliOptions>();
  auto* audit = app.add_subcommand("audit", "the audit trail (docs/audit.md)");
  audit->require_subcommand(1);

  auto* verify = audit->add_subcommand("verify", "check the audit log's hash chain (exit 1 when broken)");
  verify->add_option("--data", o->data, "data directory")->required();
  AddIndexOption(verify, &o->index);
  verify->add_option("--format", o->format, "text | json")->capture_default_str();
  verify->callback([o, &run] { run = [o] { return RunVerify(*o); }; });

  auto* search = audit->add_subcommand("search", "search the audit trail, newest first");
  search->add_option("--data", o->data, "data directory")->required();
  AddIndexOption(search, &o->index);
  search->add_option("--user", o->user, "user name (exact)");
  search->add_option("--event", o->event, "event name(s), comma-separated (login, query, retrieve, ...)");
  search->add_option("--patient", o->patient, "patient ID, or part of the patient's name");
  search->add_option("--study", o->study, "Study Instance UID");
  search->add_option("--since", o->since, "from (YYYY-MM-DD, ISO 8601 UTC or unix ms)");
  search->add_option("--until", o->until, "before (same forms)");
  search->add_option("--outcome", o->outcome, "success | failure");
  search->add_option("--limit", o->limit, "at most this many records")->capture_default_str();
  search->add_option("--format", o->format, "text | json")->capture_default_str();
  search->callback([o, &run] { run = [o] { return RunSearch(*o); }; });
}

}  // namespace radflow::cli
