#include "storage/workflow_store.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <sstream>

#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace {

// Column order shared by ReadItem and WriteItem.
constexpr const char* kItemColumns =
    "study_uid, patient_id, issuer_of_patient_id, patient_name, birth_date, sex,"
    " accession_number, study_date, study_time, study_description, modalities, body_part,"
    " site, referring_physician, order_priority, state, reopened_from, reader, claimed_at,"
    " claim_expires_at, arrived_at, completed_at, read_started_at, reported_at, ai_flag,"
    " ai_rank, ai_reason, ai_pending, priority_score, priority_reasons, num_series,"
    " num_instances, reason_for_exam";
constexpr int kItemColumnCount = 33;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

WorklistItem ReadItem(const Statement& st, int c = 0) {
  WorklistItem w;
  w.study_uid = st.Text(c + 0);
  w.patient_id = st.Text(c + 1);
  w.issuer_of_patient_id = st.Text(c + 2);
  w.patient_name = st.Text(c + 3);
  w.birth_date = st.Text(c + 4);
  w.sex = st.Text(c + 5);
  w.accession_number = st.Text(c + 6);
  w.study_date = st.Text(c + 7);
  w.study_time = st.Text(c + 8);
  w.study_description = st.Text(c + 9);
  w.modalities = st.Text(c + 10);
  w.body_part = st.Text(c + 11);
  w.site = st.Text(c + 12);
  w.referring_physician = st.Text(c + 13);
  w.order_priority = st.Text(c + 14);
  w.state = st.Text(c + 15);
  w.reopened_from = st.Text(c + 16);
  w.reader = st.Text(c + 17);
  w.claimed_at = st.Int(c + 18);
  w.claim_expires_at = st.Int(c + 19);
  w.arrived_at = st.Int(c + 20);
  w.completed_at = st.Int(c + 21);
  w.read_started_at = st.Int(c + 22);
  w.reported_at = st.Int(c + 23);
  w.ai_flag = st.Text(c + 24);
  w.ai_rank = static_cast<int>(st.Int(c + 25));
  w.ai_reason = st.Text(c + 26);
  w.ai_pending = static_cast<int>(st.Int(c + 27));
  w.priority_score = st.Int(c + 28);
  w.priority_reasons = SplitLines(st.Text(c + 29));
  w.num_series = st.Int(c + 30);
  w.num_instances = st.Int(c + 31);
  w.reason_for_exam = st.Text(c + 32);
  return w;
}

// Binds every column of `w` in kItemColumns order, from parameter `first`.
void BindItem(Statement& st, const WorklistItem& w, int first = 1) {
  int i = first;
  auto text = [&](const std::string& v) { st.Bind(i++, v); };
  auto number = [&](int64_t v) { st.Bind(i++, v); };
  for (const std::string* v : {&w.study_uid, &w.patient_id, &w.issuer_of_patient_id, &w.patient_name,
                               &w.birth_date, &w.sex, &w.accession_number, &w.study_date, &w.study_time,
                               &w.study_description, &w.modalities, &w.body_part, &w.site,
                               &w.referring_physician, &w.order_priority, &w.state, &w.reopened_from,
                               &w.reader}) {
    text(*v);
  }
  for (int64_t v : {w.claimed_at, w.claim_expires_at, w.arrived_at, w.completed_at, w.read_started_at,
                    w.reported_at}) {
    number(v);
  }
  text(w.ai_flag);
  number(w.ai_rank);
  text(w.ai_reason);
  number(w.ai_pending);
  number(w.priority_score);
  text(JoinLines(w.priority_reasons));
  number(w.num_series);
  number(w.num_instances);
  text(w.reason_for_exam);
}

std::string Placeholders(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s;
}

// Writes every column of the row (kItemColumns and patient_name_key), so that the upsert
// leaves the row as a replacement would.
const std::string& UpsertItemSql() {
  static const std::string sql = [] {
    std::string set, cols = std::string(kItemColumns) + ", patient_name_key";
    size_t start = 0;
    while (start < cols.size()) {
      size_t end = cols.find(',', start);
      if (end == std::string::npos) end = cols.size();
      std::string c = cols.substr(start, end - start);
      c.erase(0, c.find_first_not_of(' '));
      if (c != "study_uid") set += (set.empty() ? "" : ", ") + c + " = excluded." + c;
      start = end + 1;
    }
    return "INSERT INTO worklist (" + cols + ") VALUES (" + Placeholders(kItemColumnCount + 1) +
           ") ON CONFLICT (study_uid) DO UPDATE SET " + set;
  }();
  return sql;
}

// The default list's states: written exactly as the partial index worklist_open's WHERE,
// so that SQLite can use it.
bool IsOpenStates(std::vector<std::string> states) {
  std::sort(states.begin(), states.end());
  return states == std::vector<std::string>{"in_progress", "preliminary", "unread"};
}

constexpr const char* kSeverityNames[] = {"none", "info", "low", "moderate", "high", "critical"};

}  // namespace

class WorkflowStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  Status Transaction(const std::function<Status()>& fn) { return writer->Transaction(fn, 5); }

  // Reads one item on `db` (its mutex held).
  static Result<std::optional<WorklistItem>> GetOn(Db& db, const std::string& study_uid) {
    auto p = db.Prepare(std::string("SELECT ") + kItemColumns + " FROM worklist WHERE study_uid = ?");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, study_uid);
    Status s;
    std::optional<WorklistItem> out;
    if (st.Step(&s)) out = ReadItem(st);
    if (!s.ok()) return s;
    return out;
  }

  Status Write(const WorklistItem& w) {
    auto p = writer->Prepare(UpsertItemSql());
    if (!p.ok()) return p.status();
    Statement st(p.value());
    BindItem(st, w);
    st.Bind(kItemColumnCount + 1, Lower(w.patient_name));
    Status s;
    st.Step(&s);
    return s;
  }

  Status AddAudit(const AuditEntry& a) {
    auto p = writer->Prepare(
        "INSERT INTO worklist_audit (study_uid, at, reader, action, from_state, to_state, note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, a.study_uid).Bind(2, a.at).Bind(3, a.reader).Bind(4, a.action);
    st.Bind(5, a.from_state).Bind(6, a.to_state).Bind(7, a.note);
    Status s;
    st.Step(&s);
    return s;
  }

  // Refreshes the index-derived columns of `w` from the study, patient and series rows.
  Status SyncOn(const std::string& study_uid, const StudyExtras& extras, int64_t now_ms,
                const std::function<void(WorklistItem&)>& score, Synced& out);

  Result<bool> LoadFromIndex(const std::string& study_uid, WorklistItem& w) {
    auto p = writer->Prepare(
        "SELECT p.patient_id, p.patient_name, p.birth_date, p.sex, s.accession_number,"
        " s.study_date, s.study_time, s.study_description, s.referring_physician, s.modalities,"
        " s.num_series, s.num_instances,"
        " (SELECT body_part FROM series WHERE study_fk = s.id AND body_part != ''"
        "  AND modality NOT IN ('SEG', 'SR', 'KO', 'PR') ORDER BY id LIMIT 1)"
        " FROM studies s JOIN patients p ON p.id = s.patient_fk WHERE s.study_uid = ?");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, study_uid);
    Status s;
    if (!st.Step(&s)) {
      if (!s.ok()) return s;
      return false;
    }
    w.patient_id = st.Text(0);
    w.patient_name = st.Text(1);
    w.birth_date = st.Text(2);
    w.sex = st.Text(3);
    w.accession_number = st.Text(4);
    w.study_date = st.Text(5);
    w.study_time = st.Text(6);
    w.study_description = st.Text(7);
    w.referring_physician = st.Text(8);
    w.modalities = st.Text(9);
    w.num_series = st.Int(10);
    w.num_instances = st.Int(11);
    if (std::string body = st.Text(12); !body.empty()) w.body_part = body;
    return true;
  }
};

WorkflowStore::WorkflowStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkflowStore::~WorkflowStore() = default;

Result<std::unique_ptr<WorkflowStore>> WorkflowStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"worklist", "worklist_audit"}, "worklist");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<WorkflowStore>(new WorkflowStore(std::move(impl)));
}

// One study's sync inside the caller's transaction (write_mu held). NotFound when the index
// lacks the study.
Status WorkflowStore::Impl::SyncOn(const std::string& study_uid, const StudyExtras& extras, int64_t now_ms,
                                   const std::function<void(WorklistItem&)>& score, Synced& out) {
  auto existing = GetOn(*writer, study_uid);
  if (!existing.ok()) return existing.status();
  out.created = !existing->has_value();
  WorklistItem w = existing->value_or(WorklistItem{});
  if (out.created) {
    w.study_uid = study_uid;
    w.arrived_at = now_ms;
  }
  auto found = LoadFromIndex(study_uid, w);
  if (!found.ok()) return found.status();
  if (!found.value()) return {ErrorCode::kNotFound, "no study " + study_uid + " in the index"};
  if (!extras.issuer_of_patient_id.empty()) w.issuer_of_patient_id = extras.issuer_of_patient_id;
  if (!extras.body_part.empty() && w.body_part.empty()) w.body_part = extras.body_part;
  if (!extras.site.empty()) w.site = extras.site;
  // A priority set through the API is kept over the images' attribute.
  if (!extras.order_priority.empty() && w.order_priority.empty()) {
    w.order_priority = extras.order_priority;
  }
  if (extras.complete) w.completed_at = now_ms;
  if (score) score(w);
  RADFLOW_RETURN_IF_ERROR(Write(w));
  if (out.created) {
    AuditEntry a;
    a.study_uid = study_uid;
    a.at = now_ms;
    a.action = "arrived";
    a.to_state = w.state;
    RADFLOW_RETURN_IF_ERROR(AddAudit(a));
  }
  out.item = std::move(w);
  return Status::Ok();
}

Result<WorkflowStore::Synced> WorkflowStore::SyncStudy(
    const std::string& study_uid, const StudyExtras& extras, int64_t now_ms,
    const std::function<void(WorklistItem&)>& score) {
  std::lock_guard lock(impl_->write_mu);
  Synced out;
  Status s = impl_->Transaction([&]() -> Status { return impl_->SyncOn(study_uid, extras, now_ms, score, out); });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<WorkflowStore::Synced>> WorkflowStore::SyncStudies(
    const std::vector<std::string>& study_uids, int64_t now_ms, const std::function<void(WorklistItem&)>& score) {
  std::lock_guard lock(impl_->write_mu);
  std::vector<Synced> out;
  Status s = impl_->Transaction([&]() -> Status {
    out.clear();  // a retried transaction starts over
    for (const auto& study : study_uids) {
      Synced one;
      Status synced = impl_->SyncOn(study, {}, now_ms, score, one);
      if (synced.code() == ErrorCode::kNotFound) continue;  // deleted meanwhile
      RADFLOW_RETURN_IF_ERROR(synced);
      out.push_back(std::move(one));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<WorklistItem>> WorkflowStore::Get(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::GetOn(*impl_->reader, study_uid);
}

Result<WorklistPage> WorkflowStore::List(const WorklistFilter& f) {
  const Backend b = impl_->reader->backend();
  std::string where;
  std::vector<std::string> args;
  auto add = [&](const std::string& clause) { where += (where.empty() ? " WHERE " : " AND ") + clause; };
  if (!f.states.empty()) {
    if (IsOpenStates(f.states)) {
      add("state IN ('unread', 'in_progress', 'preliminary')");
    } else {
      add("state IN (" + Placeholders(static_cast<int>(f.states.size())) + ")");
      args.insert(args.end(), f.states.begin(), f.states.end());
    }
  }
  if (!f.modality.empty()) {
    // ModalitiesInStudy is '\'-joined: match a whole value.
    add(SqlLikeNoCase(b, "('\\' || modalities || '\\')", '!'));
    args.push_back("%\\" + f.modality + "\\%");
  }
  if (!f.body_part.empty()) {
    add(SqlEqualsNoCase(b, "body_part"));
    args.push_back(f.body_part);
  }
  if (!f.priorities.empty()) {
    add("order_priority IN (" + Placeholders(static_cast<int>(f.priorities.size())) + ")");
    args.insert(args.end(), f.priorities.begin(), f.priorities.end());
  }
  if (f.ai_none) add("ai_rank = 0");
  if (f.min_ai_rank > 0) add("ai_rank >= " + std::to_string(f.min_ai_rank));
  if (!f.date_from.empty()) {
    add("study_date >= ?");
    args.push_back(f.date_from);
  }
  if (!f.date_to.empty()) {
    add("study_date <= ?");
    args.push_back(f.date_to);
  }
  auto escape_like = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '%' || c == '_' || c == '!') out += '!';
      out += c;
    }
    return out;
  };
  if (!f.patient.empty()) {
    // A name prefix as a range, so that the index on patient_name_key serves it.
    std::string lo = Lower(f.patient), hi = lo;
    hi.back() = static_cast<char>(static_cast<unsigned char>(hi.back()) + 1);
    const std::string key = SqlBytewise(b, "patient_name_key");
    add("(patient_id = ? OR (" + key + " >= ? AND " + key + " < ?))");
    args.push_back(f.patient);
    args.push_back(lo);
    args.push_back(hi);  // UTF-8 never holds 0xFF: the increment cannot overflow
  }
  if (!f.site.empty()) {
    add(SqlLikeNoCase(b, "site", '!'));  // a prefix, regardless of ASCII case
    args.push_back(escape_like(f.site) + "%");
  }
  if (!f.reader.empty()) {
    add("reader = ?");
    args.push_back(f.reader);
  }
  std::string order;
  switch (f.sort) {
    case WorklistFilter::Sort::kPriority: order = " ORDER BY priority_score DESC, arrived_at"; break;
    case WorklistFilter::Sort::kWaiting: order = " ORDER BY arrived_at"; break;
    case WorklistFilter::Sort::kArrived: order = " ORDER BY arrived_at DESC"; break;
    case WorklistFilter::Sort::kStudyDate: order = " ORDER BY study_date DESC, study_time DESC"; break;
  }
  const int limit = std::clamp(f.limit, 1, 1000);
  const int offset = std::max(0, f.offset);

  std::lock_guard lock(impl_->read_mu);
  Db& db = *impl_->reader;
  WorklistPage page;
  Status s;
  {
    auto p = db.Prepare("SELECT COUNT(*) FROM worklist" + where);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    for (size_t i = 0; i < args.size(); ++i) st.Bind(static_cast<int>(i + 1), args[i]);
    if (st.Step(&s)) page.total = st.Int(0);
    if (!s.ok()) return s;
  }
  // Paging values are bound, not written into the SQL: each distinct text would be another
  // statement in the connection's cache.
  auto p = db.Prepare(std::string("SELECT ") + kItemColumns + " FROM worklist" + where + order +
                      " LIMIT ? OFFSET ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  for (size_t i = 0; i < args.size(); ++i) st.Bind(static_cast<int>(i + 1), args[i]);
  st.Bind(static_cast<int>(args.size() + 1), int64_t{limit}).Bind(static_cast<int>(args.size() + 2), int64_t{offset});
  while (st.Step(&s)) page.items.push_back(ReadItem(st));
  if (!s.ok()) return s;
  return page;
}

Result<std::vector<AuditEntry>> WorkflowStore::Audit(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT id, study_uid, at, reader, action, from_state, to_state, note FROM worklist_audit"
      " WHERE study_uid = ? ORDER BY id");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, study_uid);
  Status s;
  std::vector<AuditEntry> out;
  while (st.Step(&s)) {
    out.push_back({st.Int(0), st.Text(1), st.Int(2), st.Text(3), st.Text(4), st.Text(5),
                   st.Text(6), st.Text(7)});
  }
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<WorklistItem>> WorkflowStore::SamePatient(const std::string& patient_id,
                                                             const std::string& issuer) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string("SELECT ") + kItemColumns +
                                  " FROM worklist WHERE patient_id = ?"
                                  " AND (? = '' OR issuer_of_patient_id = ''"
                                  " OR issuer_of_patient_id = ?)"
                                  " ORDER BY study_date DESC, study_time DESC");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, patient_id).Bind(2, issuer).Bind(3, issuer);
  Status s;
  std::vector<WorklistItem> out;
  while (st.Step(&s)) out.push_back(ReadItem(st));
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::string>> WorkflowStore::ExpiredClaims(int64_t now_ms) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT study_uid FROM worklist WHERE claim_expires_at > 0 AND claim_expires_at < ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, now_ms);
  Status s;
  std::vector<std::string> out;
  while (st.Step(&s)) out.push_back(st.Text(0));
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::string>> WorkflowStore::StudiesToSync() {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT s.study_uid FROM studies s LEFT JOIN worklist w ON w.study_uid = s.study_uid"
      " WHERE w.study_uid IS NULL OR w.num_instances != s.num_instances OR w.num_series != s.num_series"
      " OR w.modalities != s.modalities ORDER BY s.id");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  Status s;
  std::vector<std::string> out;
  while (st.Step(&s)) out.push_back(st.Text(0));
  if (!s.ok()) return s;
  return out;
}

Result<StudyAi> WorkflowStore::ReadStudyAi(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  StudyAi ai;
  Status s;
  {
    auto p = impl_->reader->Prepare(
        "SELECT COUNT(*) FROM ai_jobs WHERE study_uid = ? AND state IN ('queued', 'running')");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, study_uid);
    if (st.Step(&s)) ai.pending = static_cast<int>(st.Int(0));
    if (!s.ok()) return s;
  }
  // The most severe finding of the study's latest successful job per app and series (a
  // rerun replaces what the earlier job found).
  auto p = impl_->reader->Prepare(
      "SELECT f.severity, CASE f.label WHEN '' THEN f.type_meaning ELSE f.label END,"
      " f.volume_ml, f.app_id, j.app_version,"
      " CASE f.severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'moderate' THEN 3"
      "  WHEN 'low' THEN 2 ELSE 1 END AS rank"
      " FROM ai_findings f JOIN ai_jobs j ON j.id = f.job_fk"
      " WHERE f.study_uid = ? AND j.state = 'succeeded' AND j.id = (SELECT MAX(id) FROM ai_jobs"
      "  WHERE app_id = j.app_id AND series_uid = j.series_uid AND state = 'succeeded')"
      " ORDER BY rank DESC, f.score DESC, f.volume_ml DESC, f.id LIMIT 1");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, study_uid);
  if (st.Step(&s)) {
    ai.rank = static_cast<int>(st.Int(5));
    ai.flag = kSeverityNames[std::clamp(ai.rank, 0, 5)];
    ai.label = st.Text(1);
    ai.volume_ml = p.value()->Double(2);
    ai.app_id = st.Text(3);
    ai.app_version = st.Text(4);
  }
  if (!s.ok()) return s;
  return ai;
}

Result<std::string> WorkflowStore::StudyOfJob(int64_t job_id) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare("SELECT study_uid FROM ai_jobs WHERE id = ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, job_id);
  Status s;
  std::string study = st.Step(&s) ? st.Text(0) : "";
  if (!s.ok()) return s;
  return study;
}

Result<std::vector<StudySeries>> WorkflowStore::SeriesOf(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  const Backend b = impl_->reader->backend();
  auto p = impl_->reader->Prepare(
      "SELECT se.series_uid, se.modality, se.series_number, se.series_description, se.body_part,"
      " se.num_instances, (SELECT sop_uid FROM instances WHERE series_fk = se.id"
      "  ORDER BY " + SqlCastInteger(b, "instance_number") + ", id LIMIT 1)"
      " FROM series se JOIN studies s ON s.id = se.study_fk WHERE s.study_uid = ?"
      " ORDER BY " + SqlCastInteger(b, "se.series_number") + ", se.id");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, study_uid);
  Status s;
  std::vector<StudySeries> out;
  while (st.Step(&s)) {
    out.push_back({st.Text(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5), st.Text(6)});
  }
  if (!s.ok()) return s;
  return out;
}

Result<WorklistItem> WorkflowStore::Mutate(const std::string& study_uid, const Change& change) {
  std::lock_guard lock(impl_->write_mu);
  WorklistItem out;
  Status s = impl_->Transaction([&]() -> Status {
    auto existing = Impl::GetOn(*impl_->writer, study_uid);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) return {ErrorCode::kNotFound, "no worklist item for study " + study_uid};
    WorklistItem w = existing->value();
    auto audit = change(w);
    if (!audit.ok()) return audit.status();
    w.study_uid = study_uid;
    if (w == existing->value() && !audit->has_value()) {
      out = std::move(w);
      return Status::Ok();  // nothing to write (an AI refresh that changed nothing)
    }
    RADFLOW_RETURN_IF_ERROR(impl_->Write(w));
    if (audit->has_value()) {
      AuditEntry a = std::move(audit->value());
      a.study_uid = study_uid;
      RADFLOW_RETURN_IF_ERROR(impl_->AddAudit(a));
    }
    out = std::move(w);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status WorkflowStore::RescoreAll(const std::function<void(WorklistItem&)>& rescore) {
  std::lock_guard lock(impl_->write_mu);
  return impl_->Transaction([&]() -> Status {
    std::vector<WorklistItem> items;
    {
      auto p = impl_->writer->Prepare(std::string("SELECT ") + kItemColumns + " FROM worklist");
      if (!p.ok()) return p.status();
      Statement st(p.value());
      Status s;
      while (st.Step(&s)) items.push_back(ReadItem(st));
      if (!s.ok()) return s;
    }
    for (auto& w : items) {
      const WorklistItem before = w;
      rescore(w);
      if (!(w == before)) RADFLOW_RETURN_IF_ERROR(impl_->Write(w));
    }
    return Status::Ok();
  });
}

}  // namespace radflow::storage
