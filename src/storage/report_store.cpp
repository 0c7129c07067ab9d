#include "storage/report_store.h"

#include <mutex>

#include "base/clock.h"
#include "storage/db.h"

namespace radflow::storage {

namespace {

constexpr const char* kReportColumns =
    "id, study_uid, patient_id, issuer_of_patient_id, accession_number, version, status,"
    " superseded, origin, external_id, template_id, content_json, findings_text,"
    " impression_text, critical_communicated, author, signed_by, signed_at, revision,"
    " sr_series_uid, sr_sop_uid, created_at, updated_at";

constexpr const char* kDecisionColumns =
    "id, finding_id, study_uid, app_id, app_version, report_id, decision, reason, values_json,"
    " sentence, reader, at";

constexpr const char* kOutboxColumns =
    "id, report_id, receiver, control_id, result_status, message, state, attempts,"
    " next_attempt_at, last_error, ack, created_at, sent_at";

constexpr const char* kFollowupColumns =
    "id, report_id, study_uid, patient_id, issuer_of_patient_id, finding, modality, body_region,"
    " interval_min_days, interval_max_days, conditional, text, base_date, due_date, state,"
    " satisfied_by, closed_reason, closed_by, created_at, updated_at";

// PatientID equal; the issuer equal when both have one (as WorkflowStore::SamePatient). Binds
// three parameters: BindSamePatient.
constexpr const char* kSamePatient =
    "patient_id = ? AND (issuer_of_patient_id = '' OR ? = '' OR issuer_of_patient_id = ?)";
void BindSamePatient(Statement& st, int first, const std::string& patient_id, const std::string& issuer) {
  st.Bind(first, patient_id).Bind(first + 1, issuer).Bind(first + 2, issuer);
}

ReportRow ReadReport(const Statement& st) {
  ReportRow r;
  r.id = st.Int(0);
  r.study_uid = st.Text(1);
  r.patient_id = st.Text(2);
  r.issuer_of_patient_id = st.Text(3);
  r.accession_number = st.Text(4);
  r.version = static_cast<int>(st.Int(5));
  r.status = st.Text(6);
  r.superseded = st.Int(7) != 0;
  r.origin = st.Text(8);
  r.external_id = st.Text(9);
  r.template_id = st.Text(10);
  r.content_json = st.Text(11);
  r.findings_text = st.Text(12);
  r.impression_text = st.Text(13);
  r.critical_communicated = st.Text(14);
  r.author = st.Text(15);
  r.signed_by = st.Text(16);
  r.signed_at = st.Int(17);
  r.revision = st.Int(18);
  r.sr_series_uid = st.Text(19);
  r.sr_sop_uid = st.Text(20);
  r.created_at = st.Int(21);
  r.updated_at = st.Int(22);
  return r;
}

DecisionRow ReadDecision(const Statement& st) {
  DecisionRow d;
  d.id = st.Int(0);
  d.finding_id = st.Int(1);
  d.study_uid = st.Text(2);
  d.app_id = st.Text(3);
  d.app_version = st.Text(4);
  d.report_id = st.Int(5);
  d.decision = st.Text(6);
  d.reason = st.Text(7);
  d.values_json = st.Text(8);
  d.sentence = st.Text(9);
  d.reader = st.Text(10);
  d.at = st.Int(11);
  return d;
}

OutboxRow ReadOutbox(const Statement& st) {
  OutboxRow o;
  o.id = st.Int(0);
  o.report_id = st.Int(1);
  o.receiver = st.Text(2);
  o.control_id = st.Text(3);
  o.result_status = st.Text(4);
  o.message = st.Text(5);
  o.state = st.Text(6);
  o.attempts = static_cast<int>(st.Int(7));
  o.next_attempt_at = st.Int(8);
  o.last_error = st.Text(9);
  o.ack = st.Text(10);
  o.created_at = st.Int(11);
  o.sent_at = st.Int(12);
  return o;
}

FollowupRow ReadFollowup(Prepared* raw, const Statement& st) {
  FollowupRow f;
  f.id = st.Int(0);
  f.report_id = st.Int(1);
  f.study_uid = st.Text(2);
  f.patient_id = st.Text(3);
  f.issuer_of_patient_id = st.Text(4);
  f.finding = st.Text(5);
  f.modality = st.Text(6);
  f.body_region = st.Text(7);
  if (!raw->IsNull(8)) f.interval_min_days = static_cast<int>(st.Int(8));
  if (!raw->IsNull(9)) f.interval_max_days = static_cast<int>(st.Int(9));
  f.conditional = st.Int(10) != 0;
  f.text = st.Text(11);
  f.base_date = st.Text(12);
  f.due_date = st.Text(13);
  f.state = st.Text(14);
  f.satisfied_by = st.Text(15);
  f.closed_reason = st.Text(16);
  f.closed_by = st.Text(17);
  f.created_at = st.Int(18);
  f.updated_at = st.Int(19);
  return f;
}

void BindOptional(Prepared* raw, int i, const std::optional<int>& v) {
  if (v) {
    raw->BindInt(i, *v);
  } else {
    raw->BindNull(i);
  }
}

bool IsSigned(const std::string& status) { return status == "preliminary" || status == "final"; }

}  // namespace

class ReportStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  // One statement run to completion on `db` (no rows expected).
  static Status Run(Db& db, const std::string& sql,
                    const std::function<void(Statement&, Prepared*)>& bind) {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st, p.value());
    Status s;
    st.Step(&s);
    return s;
  }

  // Every row of a SELECT on `db`, read with `read`.
  template <typename Row, typename Read>
  static Result<std::vector<Row>> Rows(Db& db, const std::string& sql,
                                       const std::function<void(Statement&, Prepared*)>& bind,
                                       Read read) {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st, p.value());
    Status s;
    std::vector<Row> out;
    while (st.Step(&s)) out.push_back(read(p.value(), st));
    if (!s.ok()) return s;
    return out;
  }

  static Result<std::vector<ReportRow>> Reports(Db& db, const std::string& where,
                                                const std::function<void(Statement&, Prepared*)>& bind) {
    return Rows<ReportRow>(db, std::string("SELECT ") + kReportColumns + " FROM reports WHERE " + where, bind,
                           [](Prepared*, const Statement& st) { return ReadReport(st); });
  }

  static Result<std::optional<ReportRow>> ReportById(Db& db, int64_t id) {
    auto rows = Reports(db, "id = ?", [&](Statement& st, Prepared*) { st.Bind(1, id); });
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<ReportRow>();
    return std::optional<ReportRow>(rows->front());
  }

  static Result<std::optional<FollowupRow>> FollowupById(Db& db, int64_t id) {
    auto rows = Rows<FollowupRow>(db, std::string("SELECT ") + kFollowupColumns + " FROM followups WHERE id = ?",
                                  [&](Statement& st, Prepared*) { st.Bind(1, id); }, ReadFollowup);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<FollowupRow>();
    return std::optional<FollowupRow>(rows->front());
  }

  Result<int64_t> InsertReport(const ReportRow& r) {
    auto p = writer->Prepare(
        "INSERT INTO reports (study_uid, patient_id, issuer_of_patient_id, accession_number, version,"
        " status, superseded, origin, external_id, template_id, content_json, findings_text,"
        " impression_text, critical_communicated, author, signed_by, signed_at, revision,"
        " sr_series_uid, sr_sop_uid, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, r.study_uid).Bind(2, r.patient_id).Bind(3, r.issuer_of_patient_id).Bind(4, r.accession_number);
    st.Bind(5, static_cast<int64_t>(r.version)).Bind(6, r.status).Bind(7, int64_t{r.superseded ? 1 : 0});
    st.Bind(8, r.origin).Bind(9, r.external_id).Bind(10, r.template_id);
    st.Bind(11, r.content_json.empty() ? std::string("{}") : r.content_json);
    st.Bind(12, r.findings_text).Bind(13, r.impression_text).Bind(14, r.critical_communicated);
    st.Bind(15, r.author).Bind(16, r.signed_by).Bind(17, r.signed_at).Bind(18, r.revision);
    st.Bind(19, r.sr_series_uid).Bind(20, r.sr_sop_uid).Bind(21, r.created_at).Bind(22, r.updated_at);
    Status s;
    st.Step(&s);
    RADFLOW_RETURN_IF_ERROR(s);
    return static_cast<int64_t>(writer->LastInsertId());
  }

  Status InsertFollowup(const FollowupRow& f, int64_t report_id, int64_t now) {
    return Run(*writer,
               "INSERT INTO followups (report_id, study_uid, patient_id, issuer_of_patient_id, finding,"
               " modality, body_region, interval_min_days, interval_max_days, conditional, text,"
               " base_date, due_date, state, satisfied_by, closed_reason, closed_by, created_at,"
               " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [&](Statement& st, Prepared* raw) {
                 st.Bind(1, report_id).Bind(2, f.study_uid).Bind(3, f.patient_id).Bind(4, f.issuer_of_patient_id);
                 st.Bind(5, f.finding).Bind(6, f.modality).Bind(7, f.body_region);
                 BindOptional(raw, 8, f.interval_min_days);
                 BindOptional(raw, 9, f.interval_max_days);
                 st.Bind(10, int64_t{f.conditional ? 1 : 0}).Bind(11, f.text).Bind(12, f.base_date);
                 st.Bind(13, f.due_date).Bind(14, f.state.empty() ? std::string("pending") : f.state);
                 st.Bind(15, f.satisfied_by).Bind(16, f.closed_reason).Bind(17, f.closed_by);
                 st.Bind(18, f.created_at ? f.created_at : now).Bind(19, now);
               });
  }

  static Status CheckFollowup(const FollowupRow& f) {
    static const char* kModalities[] = {"CT", "MR", "US", "XR", "MG", "PT", "NM"};
    for (const char* m : kModalities) {
      if (f.modality == m) return Status::Ok();
    }
    return {ErrorCode::kInvalidArgument, "follow-up modality must be CT, MR, US, XR, MG, PT or NM, not '" + f.modality + "'"};
  }
};

ReportStore::ReportStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReportStore::~ReportStore() = default;

Result<std::unique_ptr<ReportStore>> ReportStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"reports", "finding_decisions", "report_outbox", "followups", "ai_findings"}, "report");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<ReportStore>(new ReportStore(std::move(impl)));
}

// ------------------------------------------------------------------------------ reports

Result<ReportStore::Created> ReportStore::CreateDraft(const ReportRow& draft) {
  if (draft.study_uid.empty()) return {ErrorCode::kInvalidArgument, "a report draft needs its study UID"};
  const int64_t now = draft.created_at ? draft.created_at : UnixMillis();
  Created out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    auto existing = Impl::Reports(*impl_->writer, "study_uid = ? AND origin = 'radflow' ORDER BY version DESC, id DESC",
                                  [&](Statement& st, Prepared*) { st.Bind(1, draft.study_uid); });
    if (!existing.ok()) return existing.status();
    for (const auto& r : existing.value()) {
      if (r.status == "draft") {
        out.report = r;
        return Status::Ok();
      }
    }
    ReportRow row = draft;
    row.version = existing->empty() ? 1 : existing->front().version + 1;
    row.status = "draft";
    row.superseded = false;
    row.origin = "radflow";
    row.revision = 0;
    row.signed_by.clear();
    row.signed_at = 0;
    row.created_at = row.updated_at = now;
    auto id = impl_->InsertReport(row);
    if (!id.ok()) return id.status();
    row.id = id.value();
    out.report = row;
    out.created = true;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<ReportRow>> ReportStore::Get(int64_t id) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::ReportById(*impl_->reader, id);
}

Result<std::vector<ReportRow>> ReportStore::StudyReports(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::Reports(*impl_->reader, "study_uid = ? ORDER BY created_at DESC, id DESC",
                       [&](Statement& st, Prepared*) { st.Bind(1, study_uid); });
}

Result<std::vector<ReportRow>> ReportStore::PatientReports(const std::string& patient_id,
                                                           const std::string& issuer) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::Reports(*impl_->reader, std::string(kSamePatient) + " ORDER BY created_at DESC, id DESC",
                       [&](Statement& st, Prepared*) { BindSamePatient(st, 1, patient_id, issuer); });
}

Result<ReportRow> ReportStore::SaveDraft(int64_t id, int64_t expected_revision, const ReportRow& content) {
  const int64_t now = content.updated_at ? content.updated_at : UnixMillis();
  ReportRow out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    auto row = Impl::ReportById(*impl_->writer, id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return {ErrorCode::kNotFound, "no report " + std::to_string(id)};
    ReportRow r = row->value();
    if (r.status != "draft") {
      return {ErrorCode::kConflict, "report " + std::to_string(id) + " is " + r.status + ", not a draft"};
    }
    if (r.revision != expected_revision) {
      return {ErrorCode::kConflict, "revision " + std::to_string(expected_revision) +
                                        " is stale (stored: " + std::to_string(r.revision) + ")"};
    }
    r.content_json = content.content_json.empty() ? std::string("{}") : content.content_json;
    r.findings_text = content.findings_text;
    r.impression_text = content.impression_text;
    r.critical_communicated = content.critical_communicated;
    if (!content.template_id.empty()) r.template_id = content.template_id;
    if (!content.author.empty() && r.author.empty()) r.author = content.author;
    r.revision += 1;
    r.updated_at = now;
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE reports SET content_json = ?, findings_text = ?, impression_text = ?,"
        " critical_communicated = ?, template_id = ?, author = ?, revision = ?, updated_at = ? WHERE id = ?",
        [&](Statement& st, Prepared*) {
          st.Bind(1, r.content_json).Bind(2, r.findings_text).Bind(3, r.impression_text);
          st.Bind(4, r.critical_communicated).Bind(5, r.template_id).Bind(6, r.author);
          st.Bind(7, r.revision).Bind(8, r.updated_at).Bind(9, id);
        }));
    out = r;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

Result<ReportRow> ReportStore::Sign(const Signature& sig) {
  if (sig.status != "preliminary" && sig.status != "final") {
    return {ErrorCode::kInvalidArgument, "status must be preliminary or final, not '" + sig.status + "'"};
  }
  if (sig.signed_by.empty()) return {ErrorCode::kInvalidArgument, "a signature needs the signing reader"};
  for (const auto& f : sig.followups) RADFLOW_RETURN_IF_ERROR(Impl::CheckFollowup(f));
  const int64_t now = sig.signed_at ? sig.signed_at : UnixMillis();
  ReportRow out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    auto row = Impl::ReportById(*impl_->writer, sig.report_id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return {ErrorCode::kNotFound, "no report " + std::to_string(sig.report_id)};
    ReportRow r = row->value();
    if (r.origin != "radflow") return {ErrorCode::kConflict, "an external report cannot be signed here"};
    if (r.status != sig.expected_status || r.revision != sig.expected_revision) {
      return {ErrorCode::kConflict, "report " + std::to_string(r.id) + " changed while signing (now " + r.status +
                                        ", revision " + std::to_string(r.revision) + ")"};
    }
    if (r.status == "final") return {ErrorCode::kConflict, "report " + std::to_string(r.id) + " is final already"};
    if (r.status == "preliminary" && sig.status == "preliminary") {
      return {ErrorCode::kConflict, "report " + std::to_string(r.id) + " is preliminary already"};
    }
    r.status = sig.status;
    r.signed_by = sig.signed_by;
    r.signed_at = now;
    r.updated_at = now;
    if (r.author.empty()) r.author = sig.signed_by;
    r.sr_series_uid = sig.sr_series_uid;
    r.sr_sop_uid = sig.sr_sop_uid;
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE reports SET status = ?, signed_by = ?, signed_at = ?, updated_at = ?, author = ?,"
        " sr_series_uid = ?, sr_sop_uid = ? WHERE id = ?",
        [&](Statement& st, Prepared*) {
          st.Bind(1, r.status).Bind(2, r.signed_by).Bind(3, r.signed_at).Bind(4, r.updated_at);
          st.Bind(5, r.author).Bind(6, r.sr_series_uid).Bind(7, r.sr_sop_uid).Bind(8, r.id);
        }));
    // Earlier versions are superseded; their pending follow-ups give way to this version's.
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE reports SET superseded = 1, updated_at = ? WHERE study_uid = ? AND origin = 'radflow'"
        " AND version < ? AND superseded = 0",
        [&](Statement& st, Prepared*) {
          st.Bind(1, now).Bind(2, r.study_uid).Bind(3, static_cast<int64_t>(r.version));
        }));
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE followups SET state = 'closed', closed_reason = ?, closed_by = ?, updated_at = ?"
        " WHERE state = 'pending' AND report_id IN (SELECT id FROM reports WHERE study_uid = ?"
        " AND origin = 'radflow' AND version < ?)",
        [&](Statement& st, Prepared*) {
          st.Bind(1, "superseded by version " + std::to_string(r.version)).Bind(2, sig.signed_by).Bind(3, now);
          st.Bind(4, r.study_uid).Bind(5, static_cast<int64_t>(r.version));
        }));
    RADFLOW_RETURN_IF_ERROR(Impl::Run(*impl_->writer, "DELETE FROM followups WHERE report_id = ? AND state = 'pending'",
                                      [&](Statement& st, Prepared*) { st.Bind(1, r.id); }));
    for (const auto& f : sig.followups) RADFLOW_RETURN_IF_ERROR(impl_->InsertFollowup(f, r.id, now));
    for (const auto& o : sig.outbox) {
      RADFLOW_RETURN_IF_ERROR(Impl::Run(
          *impl_->writer,
          "INSERT INTO report_outbox (report_id, receiver, control_id, result_status, message, state,"
          " attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
          [&](Statement& st, Prepared*) {
            st.Bind(1, r.id).Bind(2, o.receiver).Bind(3, o.control_id).Bind(4, o.result_status);
            st.Bind(5, o.message).Bind(6, o.next_attempt_at).Bind(7, now);
          }));
    }
    out = r;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

Result<ReportRow> ReportStore::CreateAddendum(int64_t id, const std::string& author, int64_t now_ms) {
  const int64_t now = now_ms ? now_ms : UnixMillis();
  ReportRow out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    auto row = Impl::ReportById(*impl_->writer, id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return {ErrorCode::kNotFound, "no report " + std::to_string(id)};
    const ReportRow& r = row->value();
    if (r.origin != "radflow") return {ErrorCode::kConflict, "an external report takes no addendum here"};
    if (!IsSigned(r.status)) {
      return {ErrorCode::kConflict, "report " + std::to_string(id) + " is a draft: edit it instead"};
    }
    auto versions = Impl::Reports(*impl_->writer, "study_uid = ? AND origin = 'radflow' ORDER BY version DESC, id DESC",
                                  [&](Statement& st, Prepared*) { st.Bind(1, r.study_uid); });
    if (!versions.ok()) return versions.status();
    for (const auto& v : versions.value()) {
      if (v.status == "draft") {
        return {ErrorCode::kConflict, "report " + std::to_string(v.id) + " (version " + std::to_string(v.version) +
                                          ") is an open draft of this study already"};
      }
    }
    if (!versions->empty() && versions->front().version != r.version) {
      return {ErrorCode::kConflict, "report " + std::to_string(id) + " is version " + std::to_string(r.version) +
                                        ", not the newest (" + std::to_string(versions->front().version) + ")"};
    }
    ReportRow a = r;
    a.version = r.version + 1;
    a.status = "draft";
    a.superseded = false;
    a.external_id.clear();
    a.author = author.empty() ? r.author : author;
    a.signed_by.clear();
    a.signed_at = 0;
    a.revision = 0;
    a.sr_series_uid.clear();
    a.sr_sop_uid.clear();
    a.created_at = a.updated_at = now;
    auto inserted = impl_->InsertReport(a);
    if (!inserted.ok()) return inserted.status();
    a.id = inserted.value();
    out = a;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

Result<ReportStore::Created> ReportStore::InsertExternal(const ReportRow& report,
                                                         const std::vector<FollowupRow>& followups) {
  if (report.origin != "hl7" && report.origin != "rest") {
    return {ErrorCode::kInvalidArgument, "an external report's origin is hl7 or rest, not '" + report.origin + "'"};
  }
  if (!IsSigned(report.status)) {
    return {ErrorCode::kInvalidArgument, "an external report's status is preliminary or final, not '" + report.status + "'"};
  }
  if (report.patient_id.empty()) return {ErrorCode::kInvalidArgument, "an external report needs the patient's ID"};
  for (const auto& f : followups) RADFLOW_RETURN_IF_ERROR(Impl::CheckFollowup(f));
  const int64_t now = report.created_at ? report.created_at : UnixMillis();
  Created out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    ReportRow row = report;
    row.version = 1;
    if (!report.external_id.empty()) {
      auto earlier = Impl::Reports(*impl_->writer, "origin = ? AND external_id = ? ORDER BY version DESC, id DESC",
                                   [&](Statement& st, Prepared*) { st.Bind(1, report.origin).Bind(2, report.external_id); });
      if (!earlier.ok()) return earlier.status();
      if (!earlier->empty()) {
        const ReportRow& last = earlier->front();
        if (last.status == report.status && last.findings_text == report.findings_text &&
            last.impression_text == report.impression_text) {
          out.report = last;  // the same message again
          return Status::Ok();
        }
        row.version = last.version + 1;
        RADFLOW_RETURN_IF_ERROR(Impl::Run(
            *impl_->writer,
            "UPDATE reports SET superseded = 1, updated_at = ? WHERE origin = ? AND external_id = ? AND superseded = 0",
            [&](Statement& st, Prepared*) { st.Bind(1, now).Bind(2, report.origin).Bind(3, report.external_id); }));
        RADFLOW_RETURN_IF_ERROR(Impl::Run(
            *impl_->writer,
            "UPDATE followups SET state = 'closed', closed_reason = ?, updated_at = ? WHERE state = 'pending'"
            " AND report_id IN (SELECT id FROM reports WHERE origin = ? AND external_id = ?)",
            [&](Statement& st, Prepared*) {
              st.Bind(1, "superseded by version " + std::to_string(row.version)).Bind(2, now);
              st.Bind(3, report.origin).Bind(4, report.external_id);
            }));
      }
    }
    row.superseded = false;
    row.revision = 0;
    row.created_at = row.updated_at = now;
    auto id = impl_->InsertReport(row);
    if (!id.ok()) return id.status();
    row.id = id.value();
    for (const auto& f : followups) RADFLOW_RETURN_IF_ERROR(impl_->InsertFollowup(f, row.id, now));
    out.report = row;
    out.created = true;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

// ---------------------------------------------------------------------------- decisions

Result<DecisionRow> ReportStore::AddDecision(const DecisionRow& decision) {
  if (decision.decision != "accepted" && decision.decision != "edited" && decision.decision != "rejected") {
    return {ErrorCode::kInvalidArgument, "decision must be accepted, edited or rejected, not '" + decision.decision + "'"};
  }
  if (decision.finding_id == 0) return {ErrorCode::kInvalidArgument, "a decision needs its finding"};
  if (decision.study_uid.empty()) return {ErrorCode::kInvalidArgument, "a decision needs its study UID"};
  DecisionRow d = decision;
  if (d.at == 0) d.at = UnixMillis();
  if (d.values_json.empty()) d.values_json = "{}";
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "INSERT INTO finding_decisions (finding_id, study_uid, app_id, app_version, report_id, decision,"
        " reason, values_json, sentence, reader, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st, Prepared*) {
          st.Bind(1, d.finding_id).Bind(2, d.study_uid).Bind(3, d.app_id).Bind(4, d.app_version);
          st.Bind(5, d.report_id).Bind(6, d.decision).Bind(7, d.reason).Bind(8, d.values_json);
          st.Bind(9, d.sentence).Bind(10, d.reader).Bind(11, d.at);
        }));
    d.id = impl_->writer->LastInsertId();
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return d;
}

Result<std::vector<DecisionRow>> ReportStore::CurrentDecisions(const std::string& study_uid, int64_t as_of) {
  std::lock_guard lock(impl_->read_mu);
  const int64_t until = as_of > 0 ? as_of : INT64_MAX;
  // The newest row of each finding (highest id among those recorded up to `until`).
  return Impl::Rows<DecisionRow>(
      *impl_->reader,
      std::string("SELECT ") + kDecisionColumns +
          " FROM finding_decisions WHERE id IN (SELECT MAX(id) FROM finding_decisions"
          " WHERE study_uid = ? AND at <= ? GROUP BY finding_id) ORDER BY finding_id",
      [&](Statement& st, Prepared*) { st.Bind(1, study_uid).Bind(2, until); },
      [](Prepared*, const Statement& st) { return ReadDecision(st); });
}

Result<std::vector<DecisionRow>> ReportStore::Decisions(const DecisionFilter& f) {
  // Parameters in the order of their clauses (plain `?`: docs/postgresql.md "Portable SQL").
  std::string sql = std::string("SELECT ") + kDecisionColumns + " FROM finding_decisions WHERE TRUE";
  if (!f.study_uid.empty()) sql += " AND study_uid = ?";
  if (!f.app_id.empty()) sql += " AND app_id = ?";
  if (!f.reader.empty()) sql += " AND reader = ?";
  if (f.finding_id != 0) sql += " AND finding_id = ?";
  if (f.since > 0) sql += " AND at >= ?";
  sql += " ORDER BY at DESC, id DESC";
  if (f.limit > 0) sql += " LIMIT ?";
  std::lock_guard lock(impl_->read_mu);
  return Impl::Rows<DecisionRow>(
      *impl_->reader, sql,
      [&](Statement& st, Prepared*) {
        int i = 1;
        if (!f.study_uid.empty()) st.Bind(i++, f.study_uid);
        if (!f.app_id.empty()) st.Bind(i++, f.app_id);
        if (!f.reader.empty()) st.Bind(i++, f.reader);
        if (f.finding_id != 0) st.Bind(i++, f.finding_id);
        if (f.since > 0) st.Bind(i++, f.since);
        if (f.limit > 0) st.Bind(i++, static_cast<int64_t>(f.limit));
      },
      [](Prepared*, const Statement& st) { return ReadDecision(st); });
}

Result<std::optional<std::string>> ReportStore::StudyOfFinding(int64_t finding_id) {
  std::lock_guard lock(impl_->read_mu);
  auto rows = Impl::Rows<std::string>(
      *impl_->reader, "SELECT study_uid FROM ai_findings WHERE id = ?",
      [&](Statement& st, Prepared*) { st.Bind(1, finding_id); },
      [](Prepared*, const Statement& st) { return st.Text(0); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front());
}

// ------------------------------------------------------------------------------- outbox

Result<std::vector<OutboxRow>> ReportStore::Outbox(int64_t report_id) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::Rows<OutboxRow>(
      *impl_->reader, std::string("SELECT ") + kOutboxColumns + " FROM report_outbox WHERE report_id = ? ORDER BY id",
      [&](Statement& st, Prepared*) { st.Bind(1, report_id); },
      [](Prepared*, const Statement& st) { return ReadOutbox(st); });
}

Result<std::vector<OutboxRow>> ReportStore::DueOutbox(int64_t now_ms) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::Rows<OutboxRow>(
      *impl_->reader,
      std::string("SELECT ") + kOutboxColumns +
          " FROM report_outbox WHERE id IN (SELECT MIN(id) FROM report_outbox WHERE state = 'pending'"
          " GROUP BY receiver) AND next_attempt_at <= ? ORDER BY id",
      [&](Statement& st, Prepared*) { st.Bind(1, now_ms); },
      [](Prepared*, const Statement& st) { return ReadOutbox(st); });
}

Result<std::optional<int64_t>> ReportStore::NextOutboxAttempt() {
  std::lock_guard lock(impl_->read_mu);
  auto rows = Impl::Rows<std::optional<int64_t>>(
      *impl_->reader,
      "SELECT MIN(next_attempt_at) FROM report_outbox WHERE id IN (SELECT MIN(id) FROM report_outbox"
      " WHERE state = 'pending' GROUP BY receiver)",
      [](Statement&, Prepared*) {},
      [](Prepared* raw, const Statement& st) {
        return raw->IsNull(0) ? std::optional<int64_t>() : std::optional<int64_t>(st.Int(0));
      });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<int64_t>();
  return rows->front();
}

Status ReportStore::OutboxSent(int64_t id, const std::string& ack, int64_t now_ms) {
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&] {
    return Impl::Run(*impl_->writer,
                     "UPDATE report_outbox SET state = 'sent', attempts = attempts + 1, ack = ?, sent_at = ?,"
                     " last_error = '' WHERE id = ?",
                     [&](Statement& st, Prepared*) { st.Bind(1, ack).Bind(2, now_ms).Bind(3, id); });
  }, 5);
}

Status ReportStore::OutboxFailed(int64_t id, const std::string& error, const std::string& ack,
                                 int64_t next_attempt_at, bool give_up) {
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&] {
    return Impl::Run(*impl_->writer,
                     "UPDATE report_outbox SET state = ?, attempts = attempts + 1, last_error = ?, ack = ?,"
                     " next_attempt_at = ? WHERE id = ?",
                     [&](Statement& st, Prepared*) {
                       st.Bind(1, std::string(give_up ? "failed" : "pending")).Bind(2, error).Bind(3, ack);
                       st.Bind(4, next_attempt_at).Bind(5, id);
                     });
  }, 5);
}

// ---------------------------------------------------------------------------- follow-ups

Result<std::vector<FollowupRow>> ReportStore::Followups(const FollowupFilter& f) {
  // Parameters in the order of their clauses (plain `?`: docs/postgresql.md "Portable SQL").
  std::string sql = std::string("SELECT ") + kFollowupColumns + " FROM followups WHERE TRUE";
  const bool by_state = f.state == "pending" || f.state == "satisfied" || f.state == "closed";
  if (f.state == "overdue") {
    sql += " AND state = 'pending' AND due_date != '' AND due_date < ?";
  } else if (by_state) {
    sql += " AND state = ?";
  } else if (!f.state.empty()) {
    return {ErrorCode::kInvalidArgument, "state: '" + f.state + "' is not pending, overdue, satisfied or closed"};
  }
  if (!f.patient_id.empty()) sql += std::string(" AND ") + kSamePatient;
  sql += " ORDER BY CASE WHEN due_date = '' THEN 1 ELSE 0 END, due_date, id";
  if (f.limit > 0) sql += " LIMIT ?";
  std::lock_guard lock(impl_->read_mu);
  return Impl::Rows<FollowupRow>(
      *impl_->reader, sql,
      [&](Statement& st, Prepared*) {
        int i = 1;
        if (f.state == "overdue") st.Bind(i++, f.today);
        if (by_state) st.Bind(i++, f.state);
        if (!f.patient_id.empty()) {
          BindSamePatient(st, i, f.patient_id, f.issuer_of_patient_id);
          i += 3;
        }
        if (f.limit > 0) st.Bind(i++, static_cast<int64_t>(f.limit));
      },
      ReadFollowup);
}

Result<std::optional<FollowupRow>> ReportStore::Followup(int64_t id) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::FollowupById(*impl_->reader, id);
}

Result<std::vector<FollowupRow>> ReportStore::PendingFollowups(const std::string& patient_id,
                                                               const std::string& issuer) {
  std::lock_guard lock(impl_->read_mu);
  return Impl::Rows<FollowupRow>(
      *impl_->reader,
      std::string("SELECT ") + kFollowupColumns + " FROM followups WHERE state = 'pending' AND " + kSamePatient +
          " ORDER BY id",
      [&](Statement& st, Prepared*) { BindSamePatient(st, 1, patient_id, issuer); }, ReadFollowup);
}

Result<std::vector<FollowupRow>> ReportStore::SatisfyFollowups(const std::vector<int64_t>& ids,
                                                               const std::string& study_uid, int64_t now_ms) {
  std::vector<FollowupRow> out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    for (int64_t id : ids) {
      auto row = Impl::FollowupById(*impl_->writer, id);
      if (!row.ok()) return row.status();
      if (!row->has_value() || row->value().state != "pending") continue;
      RADFLOW_RETURN_IF_ERROR(Impl::Run(
          *impl_->writer, "UPDATE followups SET state = 'satisfied', satisfied_by = ?, updated_at = ? WHERE id = ?",
          [&](Statement& st, Prepared*) { st.Bind(1, study_uid).Bind(2, now_ms).Bind(3, id); }));
      FollowupRow f = row->value();
      f.state = "satisfied";
      f.satisfied_by = study_uid;
      f.updated_at = now_ms;
      out.push_back(std::move(f));
    }
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

Result<FollowupRow> ReportStore::CloseFollowup(int64_t id, const std::string& reason, const std::string& by,
                                               int64_t now_ms) {
  if (reason.empty()) return {ErrorCode::kInvalidArgument, "reason: closing a follow-up needs a reason"};
  FollowupRow out;
  std::lock_guard lock(impl_->write_mu);
  Status s = impl_->writer->Transaction([&]() -> Status {
    auto row = Impl::FollowupById(*impl_->writer, id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return {ErrorCode::kNotFound, "no follow-up " + std::to_string(id)};
    if (row->value().state != "pending") {
      return {ErrorCode::kConflict, "follow-up " + std::to_string(id) + " is " + row->value().state + ", not pending"};
    }
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE followups SET state = 'closed', closed_reason = ?, closed_by = ?, updated_at = ? WHERE id = ?",
        [&](Statement& st, Prepared*) { st.Bind(1, reason).Bind(2, by).Bind(3, now_ms).Bind(4, id); }));
    out = row->value();
    out.state = "closed";
    out.closed_reason = reason;
    out.closed_by = by;
    out.updated_at = now_ms;
    return Status::Ok();
  }, 5);
  if (!s.ok()) return s;
  return out;
}

}  // namespace radflow::storage
