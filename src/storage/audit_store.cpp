#include "storage/audit_store.h"

#include <algorithm>
#include <mutex>
#include <variant>

#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace {

constexpr const char* kColumns =
    "seq, at, event, event_id, action, outcome, \"user\", role, source, patient_id, patient_name,"
    " study_uid, detail, interface, failure_reason, hash, \"offset\", length";

AuditRow ReadRow(const Statement& st) {
  AuditRow r;
  r.seq = st.Int(0);
  r.at = st.Int(1);
  r.event = st.Text(2);
  r.event_id = st.Text(3);
  r.action = st.Text(4);
  r.outcome = static_cast<int>(st.Int(5));
  r.user = st.Text(6);
  r.role = st.Text(7);
  r.source = st.Text(8);
  r.patient_id = st.Text(9);
  r.patient_name = st.Text(10);
  r.study_uid = st.Text(11);
  r.detail = st.Text(12);
  r.interface = st.Text(13);
  r.failure_reason = st.Text(14);
  r.hash = st.Text(15);
  r.offset = st.Int(16);
  r.length = st.Int(17);
  return r;
}

// A WHERE clause and its bound values (all text or int64), built from a filter.
struct Where {
  std::string sql = "TRUE";
  std::vector<std::variant<std::string, int64_t>> values;
  void Add(const std::string& clause) { sql += " AND " + clause; }
};

void BindAll(Prepared* raw, const Where& w, int first = 1) {
  int i = first;
  for (const auto& v : w.values) {
    if (std::holds_alternative<int64_t>(v)) {
      raw->BindInt(i++, std::get<int64_t>(v));
    } else {
      const auto& s = std::get<std::string>(v);
      raw->BindText(i++, s);
    }
  }
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

}  // namespace

class AuditStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;
};

AuditStore::AuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditStore::~AuditStore() = default;

Result<std::unique_ptr<AuditStore>> AuditStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"audit_records"}, "audit");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<AuditStore>(new AuditStore(std::move(impl)));
}

Status AuditStore::Insert(const std::vector<AuditRow>& rows) {
  if (rows.empty()) return Status::Ok();
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return db.Transaction(
      [&]() -> Status {
        auto p = db.Prepare(
            std::string("INSERT INTO audit_records (") + kColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
        if (!p.ok()) return p.status();
        for (const auto& r : rows) {
          Statement st(p.value());
          st.Bind(1, r.seq).Bind(2, r.at).Bind(3, r.event).Bind(4, r.event_id).Bind(5, r.action);
          st.Bind(6, int64_t{r.outcome}).Bind(7, r.user).Bind(8, r.role).Bind(9, r.source);
          st.Bind(10, r.patient_id).Bind(11, r.patient_name).Bind(12, r.study_uid);
          st.Bind(13, r.detail).Bind(14, r.interface).Bind(15, r.failure_reason).Bind(16, r.hash);
          st.Bind(17, r.offset).Bind(18, r.length);
          Status s;
          st.Step(&s);
          if (!s.ok()) return s;
        }
        return Status::Ok();
      },
      5);
}

Result<AuditPage> AuditStore::Search(const AuditFilter& f) {
  Where w;
  if (!f.user.empty()) {
    w.Add("\"user\" = ?");
    w.values.emplace_back(f.user);
  }
  if (!f.event.empty()) {
    auto events = SplitList(f.event);
    std::string in;
    for (const auto& e : events) {
      in += in.empty() ? "?" : ", ?";
      w.values.emplace_back(e);
    }
    if (!in.empty()) w.Add("event IN (" + in + ")");
  }
  if (!f.patient.empty()) {
    // PatientID exactly, or a piece of the name regardless of ASCII case (LIKE's wildcards in
    // the text escaped).
    std::string like;
    for (char c : f.patient) {
      if (c == '%' || c == '_' || c == '\\') like += '\\';
      like += c;
    }
    w.Add("(patient_id = ? OR " + SqlWildcardNoCase(impl_->reader->backend(), "patient_name") + ")");
    w.values.emplace_back(f.patient);
    w.values.emplace_back("%" + like + "%");
  }
  if (!f.study.empty()) {
    w.Add("study_uid = ?");
    w.values.emplace_back(f.study);
  }
  if (f.since > 0) {
    w.Add("at >= ?");
    w.values.emplace_back(f.since);
  }
  if (f.until > 0) {
    w.Add("at < ?");
    w.values.emplace_back(f.until);
  }
  if (f.outcome == "success") {
    w.Add("outcome = 0");
  } else if (f.outcome == "failure") {
    w.Add("outcome <> 0");
  } else if (!f.outcome.empty()) {
    return {ErrorCode::kInvalidArgument, "outcome must be success or failure, not '" + f.outcome + "'"};
  }
  const int64_t limit = std::clamp(f.limit, 1, 1000);
  const int64_t offset = std::max(f.offset, 0);

  std::lock_guard lock(impl_->read_mu);
  Db& db = *impl_->reader;
  AuditPage page;
  // One read transaction: the count and the page see the same rows (PostgreSQL: one snapshot
  // for both statements needs REPEATABLE READ; READ COMMITTED takes one per statement).
  RADFLOW_RETURN_IF_ERROR(db.Exec(db.backend() == Backend::kPostgres
                                      ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                      : "BEGIN"));
  auto finish = [&](Status s) -> Status {
    (void)db.Exec("COMMIT");
    return s;
  };
  {
    auto p = db.Prepare("SELECT count(*) FROM audit_records WHERE " + w.sql);
    if (!p.ok()) return finish(p.status());
    Statement st(p.value());
    BindAll(p.value(), w);
    Status s;
    if (st.Step(&s)) page.total = st.Int(0);
    if (!s.ok()) return finish(s);
  }
  {
    auto p = db.Prepare(std::string("SELECT ") + kColumns + " FROM audit_records WHERE " + w.sql +
                        " ORDER BY seq DESC LIMIT ? OFFSET ?");
    if (!p.ok()) return finish(p.status());
    Statement st(p.value());
    BindAll(p.value(), w);
    const int n = static_cast<int>(w.values.size());
    p.value()->BindInt(n + 1, limit);
    p.value()->BindInt(n + 2, offset);
    Status s;
    while (st.Step(&s)) page.records.push_back(ReadRow(st));
    if (!s.ok()) return finish(s);
  }
  RADFLOW_RETURN_IF_ERROR(finish(Status::Ok()));
  return page;
}

Result<std::optional<AuditRow>> AuditStore::Get(int64_t seq) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string("SELECT ") + kColumns + " FROM audit_records WHERE seq = ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, seq);
  Status s;
  if (st.Step(&s)) return std::optional<AuditRow>(ReadRow(st));
  if (!s.ok()) return s;
  return std::optional<AuditRow>();
}

Result<std::optional<AuditRow>> AuditStore::Head() {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string("SELECT ") + kColumns +
                                  " FROM audit_records ORDER BY seq DESC LIMIT 1");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  Status s;
  if (st.Step(&s)) return std::optional<AuditRow>(ReadRow(st));
  if (!s.ok()) return s;
  return std::optional<AuditRow>();
}

}  // namespace radflow::storage
