#include "storage/order_store.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace {

using Bind = std::function<void(Statement&)>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// ---- orders: one column list for reading, inserting and writing back.
struct TextColumn {
  const char* name;
  std::string OrderRow::*field;
};
struct IntColumn {
  const char* name;
  int64_t OrderRow::*field;
};
// After kOrderTextFields (order_store.h), in this order.
constexpr TextColumn kTextColumns[] = {
    {"study_uid", &OrderRow::study_uid},
    {"status", &OrderRow::status},
    {"protocol_code", &OrderRow::protocol_code},
    {"protocol_name", &OrderRow::protocol_name},
    {"protocol_reason", &OrderRow::protocol_reason},
    {"protocol_rule", &OrderRow::protocol_rule},
    {"protocol_state", &OrderRow::protocol_state},
    {"protocol_by", &OrderRow::protocol_by},
    {"mpps_uid", &OrderRow::mpps_uid},
    {"linked_study_uid", &OrderRow::linked_study_uid},
    {"source", &OrderRow::source},
    {"worklist_json", &OrderRow::worklist_json},
};
constexpr IntColumn kIntColumns[] = {
    {"scheduled_at", &OrderRow::scheduled_at},       {"booked_at", &OrderRow::booked_at},
    {"performed_start", &OrderRow::performed_start}, {"performed_end", &OrderRow::performed_end},
    {"created_at", &OrderRow::created_at},           {"updated_at", &OrderRow::updated_at},
};
constexpr int kTextCount = static_cast<int>(std::size(kOrderTextFields) + std::size(kTextColumns));
constexpr int kIntCount = static_cast<int>(std::size(kIntColumns));

// "id, <text...>, <int...>, duration_minutes, reminder_sent, noshow_risk"
const std::string& OrderColumns() {
  static const std::string cols = [] {
    std::string s = "id";
    for (const auto& c : kOrderTextFields) s += std::string(", ") + c.name;
    for (const auto& c : kTextColumns) s += std::string(", ") + c.name;
    for (const auto& c : kIntColumns) s += std::string(", ") + c.name;
    return s + ", duration_minutes, reminder_sent, noshow_risk";
  }();
  return cols;
}

OrderRow ReadOrder(const Statement& st, Prepared* raw) {
  OrderRow o;
  o.id = st.Int(0);
  int c = 1;
  for (const auto& t : kOrderTextFields) o.*(t.member) = st.Text(c++);
  for (const auto& t : kTextColumns) o.*(t.field) = st.Text(c++);
  for (const auto& t : kIntColumns) o.*(t.field) = st.Int(c++);
  o.duration_minutes = static_cast<int>(st.Int(c++));
  o.reminder_sent = st.Int(c++) != 0;
  o.noshow_risk = raw->Double(c++);
  return o;
}

// Binds the written columns from index `first`: <text...>, <int...>, duration, reminder,
// risk, patient_name_key. Returns the next free index.
int BindOrder(Statement& st, Prepared* raw, const OrderRow& o, int first) {
  int i = first;
  for (const auto& t : kOrderTextFields) st.Bind(i++, o.*(t.member));
  for (const auto& t : kTextColumns) st.Bind(i++, o.*(t.field));
  for (const auto& t : kIntColumns) st.Bind(i++, o.*(t.field));
  st.Bind(i++, int64_t{o.duration_minutes});
  st.Bind(i++, int64_t{o.reminder_sent ? 1 : 0});
  raw->BindDouble(i++, o.noshow_risk);
  st.Bind(i++, Lower(o.patient_name));
  return i;
}

const std::string& InsertOrderSql() {
  static const std::string sql = [] {
    std::string cols, marks;
    for (const auto& c : kOrderTextFields) cols += std::string(c.name) + ", ";
    for (const auto& c : kTextColumns) cols += std::string(c.name) + ", ";
    for (const auto& c : kIntColumns) cols += std::string(c.name) + ", ";
    cols += "duration_minutes, reminder_sent, noshow_risk, patient_name_key";
    const int n = kTextCount + kIntCount + 4;
    for (int i = 0; i < n; ++i) marks += i ? ", ?" : "?";
    return "INSERT INTO orders (" + cols + ") VALUES (" + marks + ")";
  }();
  return sql;
}

const std::string& UpdateOrderSql() {
  static const std::string sql = [] {
    std::string set;
    for (const auto& c : kOrderTextFields) set += std::string(c.name) + " = ?, ";
    for (const auto& c : kTextColumns) set += std::string(c.name) + " = ?, ";
    for (const auto& c : kIntColumns) set += std::string(c.name) + " = ?, ";
    set += "duration_minutes = ?, reminder_sent = ?, noshow_risk = ?, patient_name_key = ?";
    return "UPDATE orders SET " + set + " WHERE id = ?";
  }();
  return sql;
}

PatientRow ReadPatient(const Statement& st) {
  PatientRow p;
  p.patient_id = st.Text(0);
  p.issuer_of_patient_id = st.Text(1);
  p.patient_name = st.Text(2);
  p.birth_date = st.Text(3);
  p.sex = st.Text(4);
  p.address = st.Text(5);
  p.phone = st.Text(6);
  p.merged_into = st.Text(7);
  p.created_at = st.Int(8);
  p.updated_at = st.Int(9);
  return p;
}
// Every column is written, so the upsert leaves the row as a replacement would.
constexpr const char* kUpsertPatientSql =
    "INSERT INTO order_patients (patient_id, issuer_of_patient_id, patient_name, birth_date, sex,"
    " address, phone, merged_into, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (patient_id, issuer_of_patient_id) DO UPDATE SET patient_name = excluded.patient_name,"
    " birth_date = excluded.birth_date, sex = excluded.sex, address = excluded.address,"
    " phone = excluded.phone, merged_into = excluded.merged_into, created_at = excluded.created_at,"
    " updated_at = excluded.updated_at";

constexpr const char* kPatientColumns =
    "patient_id, issuer_of_patient_id, patient_name, birth_date, sex, address, phone, merged_into,"
    " created_at, updated_at";

constexpr const char* kMppsColumns =
    "sop_instance_uid, status, calling_ae, station_ae, modality, study_uid, accession_number,"
    " patient_id, order_id, started_at, ended_at, dataset_json, created_at, updated_at";
MppsRow ReadMpps(const Statement& st) {
  MppsRow m;
  m.sop_instance_uid = st.Text(0);
  m.status = st.Text(1);
  m.calling_ae = st.Text(2);
  m.station_ae = st.Text(3);
  m.modality = st.Text(4);
  m.study_uid = st.Text(5);
  m.accession_number = st.Text(6);
  m.patient_id = st.Text(7);
  m.order_id = st.Int(8);
  m.started_at = st.Int(9);
  m.ended_at = st.Int(10);
  m.dataset_json = st.Text(11);
  m.created_at = st.Int(12);
  m.updated_at = st.Int(13);
  return m;
}

constexpr const char* kUnmatchedColumns =
    "study_uid, accession_number, patient_id, patient_name, modalities, study_date, arrived_at,"
    " resolved_by, resolved_order_id";
UnmatchedStudyRow ReadUnmatched(const Statement& st) {
  UnmatchedStudyRow u;
  u.study_uid = st.Text(0);
  u.accession_number = st.Text(1);
  u.patient_id = st.Text(2);
  u.patient_name = st.Text(3);
  u.modalities = st.Text(4);
  u.study_date = st.Text(5);
  u.arrived_at = st.Int(6);
  u.resolved_by = st.Text(7);
  u.resolved_order_id = st.Int(8);
  return u;
}

OrderAuditRow ReadAudit(const Statement& st) {
  OrderAuditRow a;
  a.id = st.Int(0);
  a.order_id = st.Int(1);
  a.at = st.Int(2);
  a.user = st.Text(3);
  a.action = st.Text(4);
  a.note = st.Text(5);
  return a;
}

template <typename Row, typename Read>
Result<std::vector<Row>> Rows(Db& db, const std::string& sql, const Bind& bind, Read read) {
  auto p = db.Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  bind(st);
  Status s;
  std::vector<Row> out;
  while (st.Step(&s)) out.push_back(read(st, p.value()));
  if (!s.ok()) return s;
  return out;
}

// Runs one statement; `changes` (optional) receives the rows it changed.
Status Run(Db& db, const std::string& sql, const Bind& bind, int* changes = nullptr) {
  auto p = db.Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  bind(st);
  Status s;
  st.Step(&s);
  if (changes) *changes = db.Changes();
  return s;
}

Result<int64_t> Scalar(Db& db, const std::string& sql, const Bind& bind) {
  auto p = db.Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  bind(st);
  Status s;
  int64_t v = st.Step(&s) ? st.Int(0) : 0;
  if (!s.ok()) return s;
  return v;
}

// A failed write that broke a UNIQUE constraint, named for the caller (kConflict). SQLite names
// the column ("orders.placer_order_number"), PostgreSQL the index ("orders_placer"): both
// contain the words matched here.
Status Conflict(Db& db, const Status& failed, const OrderRow& o) {
  if (!db.LastErrorWasUniqueViolation()) return failed;
  const std::string msg = db.LastErrorMessage();
  if (msg.find("placer") != std::string::npos) {
    return {ErrorCode::kConflict, "placer order number '" + o.placer_order_number + "' is taken by another order"};
  }
  if (msg.find("accession") != std::string::npos) {
    return {ErrorCode::kConflict, "accession number '" + o.accession_number + "' is taken by another order"};
  }
  if (msg.find("study") != std::string::npos) {
    return {ErrorCode::kConflict, "StudyInstanceUID '" + o.study_uid + "' is taken by another order"};
  }
  return {ErrorCode::kConflict, "order violates a constraint: " + msg};
}

Status WriteAudit(Db& db, const OrderAuditRow& a) {
  return Run(db, "INSERT INTO order_audit (order_id, at, \"user\", action, note) VALUES (?, ?, ?, ?, ?)",
             [&](Statement& st) { st.Bind(1, a.order_id).Bind(2, a.at).Bind(3, a.user).Bind(4, a.action).Bind(5, a.note); });
}

// The WHERE clause and its binder for a filter (shared by ListOrders and CountOrders).
std::pair<std::string, Bind> Where(const OrderFilter& f) {
  std::vector<std::string> clauses;
  std::vector<std::string> texts;  // bound in clause order; ints after a marker
  struct Arg {
    bool is_int;
    std::string text;
    int64_t value;
  };
  std::vector<Arg> args;
  if (!f.statuses.empty()) {
    std::string in;
    for (const auto& s : f.statuses) {
      in += in.empty() ? "?" : ", ?";
      args.push_back({false, s, 0});
    }
    clauses.push_back("status IN (" + in + ")");
  }
  auto text_eq = [&](const char* col, const std::string& v) {
    if (v.empty()) return;
    clauses.push_back(std::string(col) + " = ?");
    args.push_back({false, v, 0});
  };
  text_eq("station_ae", f.station_ae);
  text_eq("modality", f.modality);
  text_eq("patient_id", f.patient_id);
  text_eq("accession_number", f.accession_number);
  if (!f.patient_name_prefix.empty()) {
    clauses.push_back("substr(patient_name_key, 1, ?) = ?");
    const std::string key = Lower(f.patient_name_prefix);
    args.push_back({true, "", static_cast<int64_t>(key.size())});
    args.push_back({false, key, 0});
  }
  if (f.from_ms) {
    clauses.push_back("scheduled_at >= ?");
    args.push_back({true, "", f.from_ms});
  }
  if (f.to_ms) {
    clauses.push_back("scheduled_at < ?");
    args.push_back({true, "", f.to_ms});
  }
  std::string where;
  for (const auto& c : clauses) where += (where.empty() ? " WHERE " : " AND ") + c;
  return {where, [args](Statement& st) {
            int i = 1;
            for (const auto& a : args) {
              if (a.is_int) st.Bind(i++, a.value);
              else st.Bind(i++, a.text);
            }
          }};
}

}  // namespace

class OrderStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  Status Transaction(const std::function<Status()>& fn) { return writer->Transaction(fn, 5); }

  Result<std::vector<OrderRow>> Orders(Db& db, const std::string& tail, const Bind& bind) {
    return Rows<OrderRow>(db, "SELECT " + OrderColumns() + " FROM orders " + tail, bind, ReadOrder);
  }
  Result<std::optional<OrderRow>> One(Db& db, const std::string& tail, const Bind& bind) {
    auto rows = Orders(db, tail + " LIMIT 1", bind);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<OrderRow>();
    return std::optional<OrderRow>(rows->front());
  }
  Status WriteOrder(Db& db, const OrderRow& o) {
    auto p = db.Prepare(UpdateOrderSql());
    if (!p.ok()) return p.status();
    Statement st(p.value());
    const int next = BindOrder(st, p.value(), o, 1);
    st.Bind(next, o.id);
    Status s;
    st.Step(&s);
    if (!s.ok()) return Conflict(db, s, o);
    return Status::Ok();
  }
};

OrderStore::OrderStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OrderStore::~OrderStore() = default;

Result<std::unique_ptr<OrderStore>> OrderStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"order_patients", "orders", "order_audit", "mpps", "unmatched_studies"}, "orders");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<OrderStore>(new OrderStore(std::move(impl)));
}

void OrderStore::SetStudyUidRoot(const std::string& root) {
  std::lock_guard lock(impl_->write_mu);
  uid_root_ = root;
}

// ------------------------------------------------------------------------------ patients

Result<PatientRow> OrderStore::UpsertPatient(const PatientRow& patient, int64_t now_ms) {
  if (patient.patient_id.empty()) return {ErrorCode::kInvalidArgument, "a patient needs a PatientID"};
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  PatientRow out;
  Status s = impl_->Transaction([&]() -> Status {
    auto existing = Rows<PatientRow>(db,
        std::string("SELECT ") + kPatientColumns + " FROM order_patients WHERE patient_id = ? AND issuer_of_patient_id = ?",
        [&](Statement& st) { st.Bind(1, patient.patient_id).Bind(2, patient.issuer_of_patient_id); },
        [](const Statement& st, Prepared*) { return ReadPatient(st); });
    if (!existing.ok()) return existing.status();
    if (existing->empty()) {
      out = patient;
      out.created_at = now_ms;
    } else {
      out = existing->front();
      auto take = [](std::string& into, const std::string& v) {
        if (!v.empty()) into = v;
      };
      take(out.patient_name, patient.patient_name);
      take(out.birth_date, patient.birth_date);
      take(out.sex, patient.sex);
      take(out.address, patient.address);
      take(out.phone, patient.phone);
      take(out.merged_into, patient.merged_into);
    }
    out.updated_at = now_ms;
    return Run(db,
        kUpsertPatientSql,
        [&](Statement& st) {
          st.Bind(1, out.patient_id).Bind(2, out.issuer_of_patient_id).Bind(3, out.patient_name);
          st.Bind(4, out.birth_date).Bind(5, out.sex).Bind(6, out.address).Bind(7, out.phone);
          st.Bind(8, out.merged_into).Bind(9, out.created_at).Bind(10, out.updated_at);
        });
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<PatientRow>> OrderStore::GetPatient(const std::string& patient_id, const std::string& issuer) {
  std::lock_guard lock(impl_->read_mu);
  auto rows = Rows<PatientRow>(*impl_->reader,
      std::string("SELECT ") + kPatientColumns + " FROM order_patients WHERE patient_id = ? AND issuer_of_patient_id = ?",
      [&](Statement& st) { st.Bind(1, patient_id).Bind(2, issuer); },
      [](const Statement& st, Prepared*) { return ReadPatient(st); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<PatientRow>();
  return std::optional<PatientRow>(rows->front());
}

Result<OrderStore::MergeResult> OrderStore::MergePatient(const std::string& from_id, const std::string& from_issuer,
                                                         const std::string& to_id, const std::string& to_issuer,
                                                         const std::string& user, int64_t now_ms) {
  if (from_id.empty() || to_id.empty()) {
    return {ErrorCode::kInvalidArgument, "a merge needs both PatientIDs"};
  }
  if (from_id == to_id && from_issuer == to_issuer) {
    return {ErrorCode::kInvalidArgument, "a patient cannot be merged into itself (" + from_id + ")"};
  }
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  MergeResult result;
  Status s = impl_->Transaction([&]() -> Status {
    auto read_patient = [&](const std::string& id, const std::string& issuer) -> Result<std::optional<PatientRow>> {
      auto rows = Rows<PatientRow>(db,
          std::string("SELECT ") + kPatientColumns + " FROM order_patients WHERE patient_id = ? AND issuer_of_patient_id = ?",
          [&](Statement& st) { st.Bind(1, id).Bind(2, issuer); },
          [](const Statement& st, Prepared*) { return ReadPatient(st); });
      if (!rows.ok()) return rows.status();
      if (rows->empty()) return std::optional<PatientRow>();
      return std::optional<PatientRow>(rows->front());
    };
    auto from = read_patient(from_id, from_issuer);
    if (!from.ok()) return from.status();
    auto to = read_patient(to_id, to_issuer);
    if (!to.ok()) return to.status();
    PatientRow survivor;
    if (to->has_value()) {
      survivor = **to;
      if (from->has_value()) {
        // What the survivor's registration lacks, the merged record had.
        for (auto f : {&PatientRow::patient_name, &PatientRow::birth_date, &PatientRow::sex, &PatientRow::address,
                       &PatientRow::phone}) {
          if ((survivor.*f).empty()) survivor.*f = (**from).*f;
        }
      }
    } else {
      // The surviving patient takes the demographics of the one merged away.
      if (from->has_value()) survivor = **from;
      survivor.patient_id = to_id;
      survivor.issuer_of_patient_id = to_issuer;
      survivor.merged_into.clear();
      survivor.created_at = now_ms;
    }
    survivor.updated_at = now_ms;
    RADFLOW_RETURN_IF_ERROR(Run(db,
        kUpsertPatientSql,
        [&](Statement& st) {
          st.Bind(1, survivor.patient_id).Bind(2, survivor.issuer_of_patient_id).Bind(3, survivor.patient_name);
          st.Bind(4, survivor.birth_date).Bind(5, survivor.sex).Bind(6, survivor.address).Bind(7, survivor.phone);
          st.Bind(8, survivor.merged_into).Bind(9, survivor.created_at).Bind(10, survivor.updated_at);
        }));
    if (from->has_value()) {
      RADFLOW_RETURN_IF_ERROR(Run(db,
          "UPDATE order_patients SET merged_into = ?, updated_at = ? WHERE patient_id = ? AND issuer_of_patient_id = ?",
          [&](Statement& st) { st.Bind(1, to_id).Bind(2, now_ms).Bind(3, from_id).Bind(4, from_issuer); }));
    } else {
      RADFLOW_RETURN_IF_ERROR(Run(db,
          "INSERT INTO order_patients (patient_id, issuer_of_patient_id, merged_into, created_at, updated_at)"
          " VALUES (?, ?, ?, ?, ?)",
          [&](Statement& st) { st.Bind(1, from_id).Bind(2, from_issuer).Bind(3, to_id).Bind(4, now_ms).Bind(5, now_ms); }));
    }

    // Orders: each moves with an audit row.
    auto moved = Rows<int64_t>(db, "SELECT id FROM orders WHERE patient_id = ? AND issuer_of_patient_id = ?",
                               [&](Statement& st) { st.Bind(1, from_id).Bind(2, from_issuer); },
                               [](const Statement& st, Prepared*) { return st.Int(0); });
    if (!moved.ok()) return moved.status();
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE orders SET patient_id = ?, issuer_of_patient_id = ?, patient_name = ?, patient_name_key = ?,"
        " birth_date = CASE WHEN ? != '' THEN ? ELSE birth_date END, sex = CASE WHEN ? != '' THEN ? ELSE sex END,"
        " updated_at = ? WHERE patient_id = ? AND issuer_of_patient_id = ?",
        [&](Statement& st) {
          st.Bind(1, to_id).Bind(2, to_issuer).Bind(3, survivor.patient_name).Bind(4, Lower(survivor.patient_name));
          st.Bind(5, survivor.birth_date).Bind(6, survivor.birth_date).Bind(7, survivor.sex).Bind(8, survivor.sex);
          st.Bind(9, now_ms).Bind(10, from_id).Bind(11, from_issuer);
        }));
    for (int64_t id : *moved) {
      RADFLOW_RETURN_IF_ERROR(WriteAudit(db, {0, id, now_ms, user, "merged",
                                              "patient " + from_id + " merged into " + to_id + " (ADT^A40)"}));
    }
    result.orders = static_cast<int>(moved->size());

    // MPPS, reconciliation and the reading worklist carry the PatientID too.
    RADFLOW_RETURN_IF_ERROR(Run(db, "UPDATE mpps SET patient_id = ? WHERE patient_id = ?",
                                [&](Statement& st) { st.Bind(1, to_id).Bind(2, from_id); }));
    RADFLOW_RETURN_IF_ERROR(Run(db, "UPDATE unmatched_studies SET patient_id = ?, patient_name = ? WHERE patient_id = ?",
                                [&](Statement& st) { st.Bind(1, to_id).Bind(2, survivor.patient_name).Bind(3, from_id); }));
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "INSERT INTO worklist_audit (study_uid, at, reader, action, note)"
        " SELECT study_uid, ?, ?, 'merged', ? FROM worklist WHERE patient_id = ?",
        [&](Statement& st) {
          st.Bind(1, now_ms).Bind(2, user).Bind(3, "patient " + from_id + " merged into " + to_id).Bind(4, from_id);
        }));
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE worklist SET patient_id = ?, issuer_of_patient_id = ?,"
        " patient_name = CASE WHEN ? != '' THEN ? ELSE patient_name END,"
        " patient_name_key = CASE WHEN ? != '' THEN lower(?) ELSE patient_name_key END WHERE patient_id = ?",
        [&](Statement& st) {
          st.Bind(1, to_id).Bind(2, to_issuer).Bind(3, survivor.patient_name).Bind(4, survivor.patient_name);
          st.Bind(5, survivor.patient_name).Bind(6, survivor.patient_name).Bind(7, from_id);
        }));

    // Index studies move to the surviving patient's row in `patients` (the files keep the
    // PatientID in their header; docs/orders.md).
    auto from_fk = Scalar(db, "SELECT COALESCE((SELECT id FROM patients WHERE patient_id = ?), 0)",
                          [&](Statement& st) { st.Bind(1, from_id); });
    if (!from_fk.ok()) return from_fk.status();
    if (*from_fk != 0) {
      auto to_fk = Scalar(db, "SELECT COALESCE((SELECT id FROM patients WHERE patient_id = ?), 0)",
                          [&](Statement& st) { st.Bind(1, to_id); });
      if (!to_fk.ok()) return to_fk.status();
      int64_t target = *to_fk;
      if (target == 0) {
        RADFLOW_RETURN_IF_ERROR(Run(db,
            "INSERT INTO patients (patient_id, patient_name, birth_date, sex)"
            " SELECT ?, CASE WHEN ? != '' THEN ? ELSE patient_name END,"
            " CASE WHEN ? != '' THEN ? ELSE birth_date END, CASE WHEN ? != '' THEN ? ELSE sex END"
            " FROM patients WHERE id = ?",
            [&](Statement& st) {
              st.Bind(1, to_id).Bind(2, survivor.patient_name).Bind(3, survivor.patient_name);
              st.Bind(4, survivor.birth_date).Bind(5, survivor.birth_date).Bind(6, survivor.sex);
              st.Bind(7, survivor.sex).Bind(8, *from_fk);
            }));
        target = static_cast<int64_t>(db.LastInsertId());
      }
      int studies = 0;
      RADFLOW_RETURN_IF_ERROR(Run(db, "UPDATE studies SET patient_fk = ? WHERE patient_fk = ?",
                                  [&](Statement& st) { st.Bind(1, target).Bind(2, *from_fk); }, &studies));
      result.studies = studies;
      RADFLOW_RETURN_IF_ERROR(Run(db,
          "UPDATE patients SET num_studies = patients.num_studies + f.s, num_series = patients.num_series + f.se,"
          " num_instances = patients.num_instances + f.i"
          " FROM (SELECT num_studies AS s, num_series AS se, num_instances AS i FROM patients WHERE id = ?) AS f"
          " WHERE patients.id = ?",
          [&](Statement& st) { st.Bind(1, *from_fk).Bind(2, target); }));
      RADFLOW_RETURN_IF_ERROR(Run(db, "DELETE FROM patients WHERE id = ?",
                                  [&](Statement& st) { st.Bind(1, *from_fk); }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

// ------------------------------------------------------------------------------ orders

Result<OrderRow> OrderStore::InsertOrder(const OrderRow& order, const std::string& user, int64_t now_ms) {
  OrderRow out = order;
  out.id = 0;
  if (out.created_at == 0) out.created_at = now_ms;
  out.updated_at = now_ms;
  if (out.priority.empty()) out.priority = "ROUTINE";
  if (out.status.empty()) out.status = "scheduled";
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  const bool make_uid = out.study_uid.empty();
  // A placeholder unique until the id is known (the column is UNIQUE NOT NULL).
  if (make_uid) out.study_uid = "pending:" + std::to_string(now_ms) + ":" + out.placer_order_number + ":" + out.accession_number;
  Status s = impl_->Transaction([&]() -> Status {
    auto p = db.Prepare(InsertOrderSql());
    if (!p.ok()) return p.status();
    {
      Statement st(p.value());
      BindOrder(st, p.value(), out, 1);
      Status step;
      st.Step(&step);
      if (!step.ok()) return Conflict(db, step, out);
    }
    out.id = static_cast<int64_t>(db.LastInsertId());
    bool changed = false;
    if (make_uid) {
      // <uid_root>.<order id>.<ms time> (PS3.5 9.1: at most 64 characters).
      out.study_uid = uid_root_ + "." + std::to_string(out.id) + "." + std::to_string(now_ms);
      changed = true;
    }
    if (out.requested_procedure_id.empty()) {
      out.requested_procedure_id = out.accession_number.empty() ? std::to_string(out.id) : out.accession_number;
      changed = true;
    }
    if (out.procedure_step_id.empty()) {
      out.procedure_step_id = "SPS" + std::to_string(out.id);
      changed = true;
    }
    if (changed) RADFLOW_RETURN_IF_ERROR(impl_->WriteOrder(db, out));
    return WriteAudit(db, {0, out.id, now_ms, user, "created", out.source.empty() ? "" : "source " + out.source});
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<OrderRow>> OrderStore::GetOrder(int64_t id) {
  std::lock_guard lock(impl_->read_mu);
  return impl_->One(*impl_->reader, "WHERE id = ?", [&](Statement& st) { st.Bind(1, id); });
}

Result<std::optional<OrderRow>> OrderStore::FindByPlacer(const std::string& placer_order_number) {
  if (placer_order_number.empty()) return std::optional<OrderRow>();
  std::lock_guard lock(impl_->read_mu);
  return impl_->One(*impl_->reader, "WHERE placer_order_number = ?",
                    [&](Statement& st) { st.Bind(1, placer_order_number); });
}

Result<std::optional<OrderRow>> OrderStore::FindByAccession(const std::string& accession_number) {
  if (accession_number.empty()) return std::optional<OrderRow>();
  std::lock_guard lock(impl_->read_mu);
  return impl_->One(*impl_->reader, "WHERE accession_number = ?",
                    [&](Statement& st) { st.Bind(1, accession_number); });
}

Result<std::optional<OrderRow>> OrderStore::FindByFiller(const std::string& filler_order_number) {
  if (filler_order_number.empty()) return std::optional<OrderRow>();
  std::lock_guard lock(impl_->read_mu);
  return impl_->One(*impl_->reader, "WHERE filler_order_number = ? ORDER BY id",
                    [&](Statement& st) { st.Bind(1, filler_order_number); });
}

Result<std::optional<OrderRow>> OrderStore::FindByStudyUid(const std::string& study_uid) {
  if (study_uid.empty()) return std::optional<OrderRow>();
  std::lock_guard lock(impl_->read_mu);
  auto own = impl_->One(*impl_->reader, "WHERE study_uid = ?", [&](Statement& st) { st.Bind(1, study_uid); });
  if (!own.ok() || own->has_value()) return own;
  return impl_->One(*impl_->reader, "WHERE linked_study_uid = ? ORDER BY id",
                    [&](Statement& st) { st.Bind(1, study_uid); });
}

Result<std::vector<OrderRow>> OrderStore::ListOrders(const OrderFilter& filter) {
  auto [where, bind] = Where(filter);
  const int offset = std::max(0, filter.offset);
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->PrepareOnce("SELECT " + OrderColumns() + " FROM orders" + where +
                                      " ORDER BY scheduled_at, id" +
                                      SqlLimitOffset(impl_->reader->backend(), filter.limit, offset));
  if (!p.ok()) return p.status();
  std::vector<OrderRow> out;
  Status s;
  {
    Statement st(p.value().get());
    bind(st);
    while (st.Step(&s)) out.push_back(ReadOrder(st, p.value().get()));
  }
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> OrderStore::CountOrders(const OrderFilter& filter) {
  auto [where, bind] = Where(filter);
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->PrepareOnce("SELECT COUNT(*) FROM orders" + where);
  if (!p.ok()) return p.status();
  int64_t n = 0;
  Status s;
  {
    Statement st(p.value().get());
    bind(st);
    if (st.Step(&s)) n = st.Int(0);
  }
  if (!s.ok()) return s;
  return n;
}

Result<OrderRow> OrderStore::MutateOrder(int64_t id, const OrderChange& change) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  OrderRow row;
  Status s = impl_->Transaction([&]() -> Status {
    auto found = impl_->One(db, "WHERE id = ?", [&](Statement& st) { st.Bind(1, id); });
    if (!found.ok()) return found.status();
    if (!found->has_value()) return {ErrorCode::kNotFound, "no order " + std::to_string(id)};
    row = **found;
    const OrderRow before = row;
    auto audit = change(row);
    if (!audit.ok()) return audit.status();
    row.id = id;  // the id is not the change's to make
    if (audit->has_value()) {
      OrderAuditRow a = **audit;
      a.order_id = id;
      if (a.at == 0) a.at = row.updated_at;
      RADFLOW_RETURN_IF_ERROR(WriteAudit(db, a));
    } else if (row == before) {
      return Status::Ok();  // nothing changed: no write (the commit stays read-only)
    }
    return impl_->WriteOrder(db, row);
  });
  if (!s.ok()) return s;
  return row;
}

Result<std::vector<OrderAuditRow>> OrderStore::OrderAudit(int64_t order_id) {
  std::lock_guard lock(impl_->read_mu);
  return Rows<OrderAuditRow>(*impl_->reader,
                             "SELECT id, order_id, at, \"user\", action, note FROM order_audit WHERE order_id = ? ORDER BY id",
                             [&](Statement& st) { st.Bind(1, order_id); },
                             [](const Statement& st, Prepared*) { return ReadAudit(st); });
}

Result<AttendanceHistory> OrderStore::History(const std::string& patient_id, int64_t before_ms) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT COALESCE(SUM(CASE WHEN status = 'completed' OR performed_start > 0 OR linked_study_uid != ''"
      "   THEN 1 ELSE 0 END), 0),"
      " COALESCE(SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END), 0),"
      " COALESCE(MAX(CASE WHEN status = 'no_show' OR status = 'completed' OR performed_start > 0"
      "   OR linked_study_uid != '' THEN scheduled_at END), 0)"
      " FROM orders WHERE patient_id = ? AND scheduled_at < ? AND status != 'cancelled'");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, patient_id).Bind(2, before_ms);
  Status s;
  AttendanceHistory h;
  if (st.Step(&s)) {
    h.attended = static_cast<int>(st.Int(0));
    h.no_shows = static_cast<int>(st.Int(1));
    h.last_at = st.Int(2);
  }
  if (!s.ok()) return s;
  return h;
}

// ------------------------------------------------------------------------------ MPPS

Status OrderStore::InsertMpps(const MppsRow& m) {
  if (m.sop_instance_uid.empty()) return {ErrorCode::kInvalidArgument, "an MPPS needs its SOP Instance UID"};
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return impl_->Transaction([&]() -> Status {
    Status s = Run(db,
        std::string("INSERT INTO mpps (") + kMppsColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, m.sop_instance_uid).Bind(2, m.status).Bind(3, m.calling_ae).Bind(4, m.station_ae);
          st.Bind(5, m.modality).Bind(6, m.study_uid).Bind(7, m.accession_number).Bind(8, m.patient_id);
          st.Bind(9, m.order_id).Bind(10, m.started_at).Bind(11, m.ended_at).Bind(12, m.dataset_json);
          st.Bind(13, m.created_at).Bind(14, m.updated_at);
        });
    if (!s.ok() && db.LastErrorWasUniqueViolation()) {
      return {ErrorCode::kConflict, "MPPS instance " + m.sop_instance_uid + " exists (PS3.4 F.7.2.1.1)"};
    }
    return s;
  });
}

Result<std::optional<MppsRow>> OrderStore::GetMpps(const std::string& sop_instance_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto rows = Rows<MppsRow>(*impl_->reader,
                            std::string("SELECT ") + kMppsColumns + " FROM mpps WHERE sop_instance_uid = ?",
                            [&](Statement& st) { st.Bind(1, sop_instance_uid); },
                            [](const Statement& st, Prepared*) { return ReadMpps(st); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<MppsRow>();
  return std::optional<MppsRow>(rows->front());
}

Status OrderStore::UpdateMpps(const MppsRow& m) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return impl_->Transaction([&]() -> Status {
    int changes = 0;
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE mpps SET status = ?, calling_ae = ?, station_ae = ?, modality = ?, study_uid = ?,"
        " accession_number = ?, patient_id = ?, order_id = ?, started_at = ?, ended_at = ?, dataset_json = ?,"
        " updated_at = ? WHERE sop_instance_uid = ?",
        [&](Statement& st) {
          st.Bind(1, m.status).Bind(2, m.calling_ae).Bind(3, m.station_ae).Bind(4, m.modality);
          st.Bind(5, m.study_uid).Bind(6, m.accession_number).Bind(7, m.patient_id).Bind(8, m.order_id);
          st.Bind(9, m.started_at).Bind(10, m.ended_at).Bind(11, m.dataset_json).Bind(12, m.updated_at);
          st.Bind(13, m.sop_instance_uid);
        },
        &changes));
    if (changes == 0) return {ErrorCode::kNotFound, "no MPPS instance " + m.sop_instance_uid};
    return Status::Ok();
  });
}

// ------------------------------------------------------------------------------ reconciliation

Status OrderStore::AddUnmatched(const UnmatchedStudyRow& u) {
  if (u.study_uid.empty()) return {ErrorCode::kInvalidArgument, "an unmatched study needs its StudyInstanceUID"};
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return impl_->Transaction([&]() -> Status {
    return Run(db,
        std::string("INSERT INTO unmatched_studies (") + kUnmatchedColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [&](Statement& st) {
          st.Bind(1, u.study_uid).Bind(2, u.accession_number).Bind(3, u.patient_id).Bind(4, u.patient_name);
          st.Bind(5, u.modalities).Bind(6, u.study_date).Bind(7, u.arrived_at).Bind(8, u.resolved_by);
          st.Bind(9, u.resolved_order_id);
        });
  });
}

Result<std::vector<UnmatchedStudyRow>> OrderStore::ListUnmatched(bool include_resolved) {
  std::lock_guard lock(impl_->read_mu);
  return Rows<UnmatchedStudyRow>(*impl_->reader,
      std::string("SELECT ") + kUnmatchedColumns + " FROM unmatched_studies" +
          (include_resolved ? "" : " WHERE resolved_by = ''") + " ORDER BY arrived_at, study_uid",
      [](Statement&) {}, [](const Statement& st, Prepared*) { return ReadUnmatched(st); });
}

Result<std::vector<UnmatchedStudyRow>> OrderStore::OpenUnmatchedByAccession(const std::string& accession_number) {
  if (accession_number.empty()) return std::vector<UnmatchedStudyRow>();
  std::lock_guard lock(impl_->read_mu);
  return Rows<UnmatchedStudyRow>(*impl_->reader,
      std::string("SELECT ") + kUnmatchedColumns +
          " FROM unmatched_studies WHERE accession_number = ? AND resolved_by = '' ORDER BY arrived_at, study_uid",
      [&](Statement& st) { st.Bind(1, accession_number); },
      [](const Statement& st, Prepared*) { return ReadUnmatched(st); });
}

Status OrderStore::ResolveUnmatched(const std::string& study_uid, int64_t order_id, const std::string& user,
                                    int64_t now_ms) {
  const std::string by = user.empty() ? "system" : user;
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return impl_->Transaction([&]() -> Status {
    int changes = 0;
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE unmatched_studies SET resolved_by = ?, resolved_order_id = ?, resolved_at = ?"
        " WHERE study_uid = ? AND resolved_by = ''",
        [&](Statement& st) { st.Bind(1, by).Bind(2, order_id).Bind(3, now_ms).Bind(4, study_uid); }, &changes));
    if (changes == 0) {
      return {ErrorCode::kNotFound, "study " + study_uid + " is not open on the reconciliation list"};
    }
    return Status::Ok();
  });
}

}  // namespace radflow::storage
