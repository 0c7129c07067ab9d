#include "storage/index.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <tuple>

#include "base/clock.h"
#include "storage/schema_sql.h"
#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace t = dicom::tags;

namespace {

const char* FromClause(ResourceLevel level) {
  switch (level) {
    case ResourceLevel::kPatient: return "patients p";
    case ResourceLevel::kStudy: return "studies s JOIN patients p ON p.id = s.patient_fk";
    case ResourceLevel::kSeries:
      return "series se JOIN studies s ON s.id = se.study_fk"
             " JOIN patients p ON p.id = s.patient_fk";
    case ResourceLevel::kInstance:
      return "instances i JOIN series se ON se.id = i.series_fk"
             " JOIN studies s ON s.id = se.study_fk JOIN patients p ON p.id = s.patient_fk";
  }
  return "";
}

// Conformance problems are stored one per line (migration 013).
std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

// SeriesNumber and InstanceNumber order as integers (SqlCastInteger: '' and text are 0).
std::string OrderClause(Backend b, ResourceLevel level) {
  switch (level) {
    case ResourceLevel::kPatient: return "p.id";
    case ResourceLevel::kStudy: return "s.study_date, s.study_time, s.id";
    case ResourceLevel::kSeries: return SqlCastInteger(b, "se.series_number") + ", se.id";
    case ResourceLevel::kInstance: return SqlCastInteger(b, "i.instance_number") + ", i.id";
  }
  return "";
}

const char* kLocationColumns =
    "s.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, i.transfer_syntax_uid,"
    " i.blob_path, i.blob_size, i.original_transfer_syntax_uid";

InstanceLocation ReadLocation(const Statement& st, int first) {
  InstanceLocation loc;
  loc.study_uid = st.Text(first);
  loc.series_uid = st.Text(first + 1);
  loc.sop_uid = st.Text(first + 2);
  loc.sop_class_uid = st.Text(first + 3);
  loc.transfer_syntax_uid = st.Text(first + 4);
  loc.blob_path = st.Text(first + 5);
  loc.blob_size = static_cast<uint64_t>(st.Int(first + 6));
  loc.original_transfer_syntax_uid = st.Text(first + 7);  // migration 016 (compression)
  return loc;
}

}  // namespace

class Index::Impl {
 public:
  std::string path;
  std::unique_ptr<Db> writer;

  // Group commit (LevelDB's DBImpl::Write): the writer at the front of the queue commits
  // everything queued behind it in one transaction, then wakes the others.
  struct Pending {
    const InstanceEntry* entry;
    bool replace;
    Result<CommitResult> result{CommitResult{}};
    bool done = false;
    std::condition_variable cv;
  };
  std::mutex queue_mu;
  std::deque<Pending*> queue;
  std::mutex write_mu;  // held while the writer connection is in a transaction

  // Select's statements, prepared once per reader connection: the few query shapes a server
  // repeats (a study's row for the access scope and the audit trail, WADO-RS lookups) skip
  // SQLite's parser. Bounded (least recently used goes), as QIDO builds many shapes. Used
  // only by the thread holding the connection's lease; reset after each use (Statement).
  class SelectCache {
   public:
    static constexpr size_t kMax = 16;
    Result<Prepared*> Get(Db& db, const std::string& sql) {
      for (size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].first != sql) continue;
        if (i > 0) std::swap(entries_[i], entries_[i - 1]);  // the frequent ones move forward
        return entries_[i > 0 ? i - 1 : 0].second.get();
      }
      auto p = db.PrepareOnce(sql);
      if (!p.ok()) return p.status();
      if (entries_.size() == kMax) entries_.pop_back();
      entries_.emplace_back(sql, std::move(p.value()));
      return entries_.back().second.get();
    }

   private:
    std::vector<std::pair<std::string, std::unique_ptr<Prepared>>> entries_;
  };
  // A reader connection with its Select statements (declared after db: finalized before the
  // connection closes).
  struct Reader {
    std::unique_ptr<Db> db;
    SelectCache select;
  };

  std::mutex pool_mu;
  std::vector<std::unique_ptr<Reader>> readers;

  struct Lease {
    Lease(Impl* i, std::unique_ptr<Reader> r) : impl(i), reader(std::move(r)), db(reader->db.get()) {}
    Lease(Lease&&) = default;
    Impl* impl;
    std::unique_ptr<Reader> reader;
    Db* db;
    ~Lease() {
      if (reader) {
        std::lock_guard<std::mutex> g(impl->pool_mu);
        impl->readers.push_back(std::move(reader));
      }
    }
  };
  Result<Lease> AcquireReader() {
    {
      std::lock_guard<std::mutex> g(pool_mu);
      if (!readers.empty()) {
        Lease l{this, std::move(readers.back())};
        readers.pop_back();
        return l;
      }
    }
    auto db = OpenDb(path);
    if (!db.ok()) return db.status();
    auto reader = std::make_unique<Reader>();
    reader->db = std::move(db.value());
    return Lease{this, std::move(reader)};
  }

  Status Migrate();
  Result<CommitResult> WriteOne(const InstanceEntry& e, bool replace);
  Status DeleteTx(const std::string& sop_uid, std::string* blob_path);
  Result<std::optional<InstanceLocation>> FindLocation(Db& db, const std::string& sop);
  void CommitBatch(std::vector<Pending*>& batch);
  Result<std::vector<Row>> Select(const Query& q, bool locations_only,
                                  std::vector<InstanceLocation>* locations);
};

Status Index::Impl::Migrate() {
  auto current = writer->SchemaVersion();
  if (!current.ok()) return current.status();
  const int version = current.value();
  const bool postgres = writer->backend() == Backend::kPostgres;
  for (const auto& m : kMigrations) {
    if (m.version <= version) continue;
    Status s = writer->Transaction([&] {
      // Several nodes may start at once on one PostgreSQL database: under the lock, the
      // version is read again and a migration another node applied meanwhile is skipped.
      RADFLOW_RETURN_IF_ERROR(writer->LockForMigration());
      auto now = writer->SchemaVersion();
      if (!now.ok()) return now.status();
      if (now.value() >= m.version) return Status::Ok();
      Status st = writer->Exec(postgres ? m.postgres_sql : m.sqlite_sql);
      return st.ok() ? writer->SetSchemaVersion(m.version) : st;
    });
    if (!s.ok()) {
      return Status(ErrorCode::kDatabaseError,
                    "schema migration " + std::to_string(m.version) + " failed: " + s.message());
    }
  }
  return Status::Ok();
}

Result<std::optional<InstanceLocation>> Index::Impl::FindLocation(Db& db,
                                                                  const std::string& sop) {
  auto p = db.Prepare(std::string("SELECT ") + kLocationColumns + " FROM " +
                      FromClause(ResourceLevel::kInstance) + " WHERE i.sop_uid = ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, sop);
  Status status;
  if (st.Step(&status)) return std::optional<InstanceLocation>(ReadLocation(st, 0));
  if (!status.ok()) return status;
  return std::optional<InstanceLocation>();
}

namespace {
// ModalitiesInStudy of the study whose id is the SQL `study_id`: its series' modalities,
// distinct, sorted, '\'-joined (group_concat / string_agg over the sorted subquery).
std::string ModalitiesOfStudy(Backend b, const std::string& study_id) {
  return "(SELECT COALESCE(" + SqlGroupConcat(b, "m", "'\\'") +
         ", '') FROM (SELECT DISTINCT modality AS m FROM series WHERE study_fk = " + study_id +
         " AND modality <> '' ORDER BY m) AS study_modalities)";
}
}  // namespace

// Runs inside the batch transaction. Returns the outcome for this entry.
Result<Index::CommitResult> Index::Impl::WriteOne(const InstanceEntry& e, bool replace) {
  const auto& in = e.instance;
  const auto& a = in.attributes;
  CommitResult out;
  Db& db = *writer;
  Status status;

  auto existing = FindLocation(db, in.sop_instance_uid);
  if (!existing.ok()) return existing.status();
  if (existing.value()) {
    if (!replace) {
      out.outcome = Outcome::kDuplicate;
      out.existing = *existing.value();
      return out;
    }
    RADFLOW_RETURN_IF_ERROR(DeleteTx(in.sop_instance_uid, &out.replaced_blob));
    out.outcome = Outcome::kReplaced;
  }

  auto run = [&](const char* sql, std::initializer_list<std::string> text,
                 std::initializer_list<int64_t> ints = {}) -> Status {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    int i = 1;
    for (const auto& v : text) st.Bind(i++, v);
    for (int64_t v : ints) st.Bind(i++, v);
    Status s;
    while (st.Step(&s)) {
    }
    return s;
  };
  auto lookup = [&](const char* sql, const std::string& key, int64_t* id) -> Status {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, key);
    Status s;
    *id = st.Step(&s) ? st.Int(0) : 0;
    return s;
  };

  // A parent row (patient, study, series) this entry needs and did not find: inserted unless
  // another writer inserted it since the lookup — another radflow node on the same
  // PostgreSQL database, storing the same study at the same time. ON CONFLICT DO NOTHING
  // then waits for that writer's commit and returns no id, and its row is read instead.
  // *created: whether this entry made the row (and so counts it in the parent's counters).
  auto insert_parent = [&](const char* insert, std::initializer_list<std::string> text,
                           std::initializer_list<int64_t> ints, const char* find,
                           const std::string& key, int64_t* id, bool* created) -> Status {
    auto p = db.Prepare(insert);
    if (!p.ok()) return p.status();
    {
      Statement st(p.value());
      int i = 1;
      for (const auto& v : text) st.Bind(i++, v);
      for (int64_t v : ints) st.Bind(i++, v);
      Status s;
      *id = st.Step(&s) ? st.Int(0) : 0;
      RADFLOW_RETURN_IF_ERROR(s);
    }
    *created = *id != 0;
    if (*id == 0) RADFLOW_RETURN_IF_ERROR(lookup(find, key, id));
    if (*id == 0) return Status(ErrorCode::kDatabaseError, "index: no row for " + key);
    return Status::Ok();
  };

  // Rows are locked parent first — the patient's, then the study's, then the series' — and
  // CommitBatch orders a batch by patient, study and series, so that the transactions of
  // several nodes on one PostgreSQL database wait for each other instead of deadlocking.
  // Whoever inserts a series or recomputes ModalitiesInStudy holds the study's row: the
  // recomputation (a statement after the lock) sees every series committed before.
  int64_t patient = 0, study = 0, series = 0;
  bool created = false;
  RADFLOW_RETURN_IF_ERROR(
      lookup("SELECT id FROM patients WHERE patient_id = ?", a.Get(t::kPatientID), &patient));
  if (patient == 0) {
    RADFLOW_RETURN_IF_ERROR(insert_parent(
        "INSERT INTO patients (patient_id, patient_name, birth_date, sex) VALUES (?,?,?,?)"
        " ON CONFLICT (patient_id) DO NOTHING RETURNING id",
        {a.Get(t::kPatientID), a.Get(t::kPatientName), a.Get(t::kPatientBirthDate),
         a.Get(t::kPatientSex)},
        {}, "SELECT id FROM patients WHERE patient_id = ?", a.Get(t::kPatientID), &patient,
        &created));
  }
  RADFLOW_RETURN_IF_ERROR(run(
      "UPDATE patients SET num_instances = num_instances + 1 WHERE id = ?", {}, {patient}));
  RADFLOW_RETURN_IF_ERROR(
      lookup("SELECT id FROM studies WHERE study_uid = ?", in.study_instance_uid, &study));
  if (study == 0) {
    RADFLOW_RETURN_IF_ERROR(insert_parent(
        "INSERT INTO studies (study_uid, study_date, study_time, accession_number, study_id,"
        " study_description, referring_physician, patient_fk) VALUES (?,?,?,?,?,?,?,?)"
        " ON CONFLICT (study_uid) DO NOTHING RETURNING id",
        {in.study_instance_uid, a.Get(t::kStudyDate), a.Get(t::kStudyTime),
         a.Get(t::kAccessionNumber), a.Get(t::kStudyID), a.Get(t::kStudyDescription),
         a.Get(t::kReferringPhysicianName)},
        {patient}, "SELECT id FROM studies WHERE study_uid = ?", in.study_instance_uid, &study,
        &created));
    if (created) {
      RADFLOW_RETURN_IF_ERROR(
          run("UPDATE patients SET num_studies = num_studies + 1 WHERE id = ?", {}, {patient}));
    }
  }
  RADFLOW_RETURN_IF_ERROR(run(
      "UPDATE studies SET num_instances = num_instances + 1 WHERE id = ?", {}, {study}));
  RADFLOW_RETURN_IF_ERROR(
      lookup("SELECT id FROM series WHERE series_uid = ?", in.series_instance_uid, &series));
  if (series == 0) {
    RADFLOW_RETURN_IF_ERROR(insert_parent(
        "INSERT INTO series (series_uid, modality, series_number, series_description,"
        " body_part, series_date, series_time, manufacturer, study_fk)"
        " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (series_uid) DO NOTHING RETURNING id",
        {in.series_instance_uid, a.Get(t::kModality), a.Get(t::kSeriesNumber),
         a.Get(t::kSeriesDescription), a.Get(t::kBodyPartExamined), a.Get(t::kSeriesDate),
         a.Get(t::kSeriesTime), a.Get(t::kManufacturer)},
        {study}, "SELECT id FROM series WHERE series_uid = ?", in.series_instance_uid, &series,
        &created));
    if (created) {
      const std::string series_sql =
          "UPDATE studies SET num_series = num_series + 1, modalities = " +
          ModalitiesOfStudy(db.backend(), "?1") + " WHERE id = ?1";
      RADFLOW_RETURN_IF_ERROR(run(series_sql.c_str(), {}, {study}));
      RADFLOW_RETURN_IF_ERROR(
          run("UPDATE patients SET num_series = num_series + 1 WHERE id = ?", {}, {patient}));
    }
  }
  RADFLOW_RETURN_IF_ERROR(run(
      "UPDATE series SET num_instances = num_instances + 1, updated_at = ?2 WHERE id = ?1", {},
      {series, UnixMillis()}));
  RADFLOW_RETURN_IF_ERROR(run(
      "INSERT INTO instances (sop_uid, sop_class_uid, instance_number, rows, columns,"
      " number_of_frames, transfer_syntax_uid, blob_path, conformance, series_fk, blob_size,"
      " stored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
      {in.sop_instance_uid, in.sop_class_uid, a.Get(t::kInstanceNumber), a.Get(t::kRows),
       a.Get(t::kColumns), a.Get(t::kNumberOfFrames), in.transfer_syntax_uid, e.blob_path,
       JoinLines(e.conformance_problems)},
      {series, static_cast<int64_t>(e.blob_size), UnixMillis()}));
  return out;
}

Status Index::Impl::DeleteTx(const std::string& sop_uid, std::string* blob_path) {
  Db& db = *writer;
  auto p = db.Prepare(
      "SELECT i.id, i.series_fk, se.study_fk, s.patient_fk, i.blob_path FROM instances i"
      " JOIN series se ON se.id = i.series_fk JOIN studies s ON s.id = se.study_fk"
      " WHERE i.sop_uid = ?");
  if (!p.ok()) return p.status();
  int64_t id, series, study, patient;
  {
    Statement st(p.value());
    st.Bind(1, sop_uid);
    Status s;
    if (!st.Step(&s)) return s.ok() ? Status(ErrorCode::kNotFound, "no instance " + sop_uid) : s;
    id = st.Int(0);
    series = st.Int(1);
    study = st.Int(2);
    patient = st.Int(3);
    if (blob_path) *blob_path = st.Text(4);
  }
  std::string sql =
      // Parent rows first, in WriteOne's order (no deadlock with another node's writes).
      "UPDATE patients SET num_instances = num_instances - 1 WHERE id = " + std::to_string(patient) + ";"
      "UPDATE studies SET num_instances = num_instances - 1 WHERE id = " + std::to_string(study) + ";"
      "UPDATE series SET num_instances = num_instances - 1 WHERE id = " + std::to_string(series) + ";"
      "DELETE FROM instances WHERE id = " + std::to_string(id) + ";"
      "UPDATE studies SET num_series = num_series - 1 WHERE id = " + std::to_string(study) +
      " AND EXISTS (SELECT 1 FROM series WHERE id = " + std::to_string(series) + " AND num_instances = 0);"
      "UPDATE patients SET num_series = num_series - 1 WHERE id = " + std::to_string(patient) +
      " AND EXISTS (SELECT 1 FROM series WHERE id = " + std::to_string(series) + " AND num_instances = 0);"
      "DELETE FROM series WHERE id = " + std::to_string(series) + " AND num_instances = 0;"
      "UPDATE studies SET modalities = " + ModalitiesOfStudy(db.backend(), std::to_string(study)) +
      " WHERE id = " + std::to_string(study) + ";"
      "UPDATE patients SET num_studies = num_studies - 1 WHERE id = " + std::to_string(patient) +
      " AND EXISTS (SELECT 1 FROM studies WHERE id = " + std::to_string(study) + " AND num_series = 0);"
      "DELETE FROM studies WHERE id = " + std::to_string(study) + " AND num_series = 0;"
      "DELETE FROM patients WHERE id = " + std::to_string(patient) + " AND num_studies = 0;";
  return db.Exec(sql);
}

void Index::Impl::CommitBatch(std::vector<Pending*>& batch) {
  // Deadlocks between nodes sharing a PostgreSQL database: the batch is run up to 10 times.
  // SQLite: one busy timeout at most, as before (a C-STORE does not wait longer).
  const int kBatchAttempts = writer->backend() == Backend::kPostgres ? 10 : 1;
  // One order of rows for every writer (see WriteOne): by patient, study, series.
  std::vector<Pending*> ordered(batch);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Pending* x, const Pending* y) {
    const auto& a = x->entry->instance;
    const auto& b = y->entry->instance;
    return std::forward_as_tuple(a.attributes.Get(t::kPatientID), a.study_instance_uid,
                                 a.series_instance_uid) <
           std::forward_as_tuple(b.attributes.Get(t::kPatientID), b.study_instance_uid,
                                 b.series_instance_uid);
  });
  Status tx = writer->Transaction([&] {
    for (auto* p : ordered) {
      // A savepoint per entry: one bad row fails only its own writer.
      (void)writer->Exec("SAVEPOINT entry");
      p->result = WriteOne(*p->entry, p->replace);
      if (!writer->InTransaction()) {
        // SQLite rolled the whole transaction back itself (disk full, I/O error, out of
        // memory): nothing of this batch is stored, and a further SAVEPOINT would begin a
        // transaction of its own.
        return p->result.ok() ? Status(ErrorCode::kDatabaseError, "index transaction rolled back")
                              : p->result.status();
      }
      if (!p->result.ok() && p->result.status().code() == ErrorCode::kDatabaseError &&
          writer->LastErrorWasRetryable()) {
        // PostgreSQL chose this transaction as a deadlock's victim (another node's batch
        // locked the same rows in another order): not this entry's fault — the whole batch
        // runs again (Transaction retries it).
        return p->result.status();
      }
      if (!p->result.ok() && writer->LastErrorWasUniqueViolation()) {
        // Another node committed the same SOP Instance UID after our lookup (its insert
        // made ours wait, then fail): once more, which now finds its row — a duplicate for
        // the caller's policy (kDuplicate) or a replacement, not a failure.
        (void)writer->Exec("ROLLBACK TO entry");
        p->result = WriteOne(*p->entry, p->replace);
      }
      (void)writer->Exec(p->result.ok() ? "RELEASE entry" : "ROLLBACK TO entry; RELEASE entry");
    }
    return Status::Ok();
  }, kBatchAttempts);
  if (!tx.ok()) {
    for (auto* p : batch) p->result = tx;  // no BEGIN, or no COMMIT: nothing was stored
  }
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

Result<std::unique_ptr<Index>> Index::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  auto db = OpenDb(path);
  if (!db.ok()) return db.status();
  impl->writer = std::move(db.value());
  RADFLOW_RETURN_IF_ERROR(impl->Migrate());
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

Result<Index::CommitResult> Index::Commit(const InstanceEntry& entry, bool replace) {
  Impl& d = *impl_;
  Impl::Pending self;
  self.entry = &entry;
  self.replace = replace;
  std::unique_lock<std::mutex> lock(d.queue_mu);
  d.queue.push_back(&self);
  self.cv.wait(lock, [&] { return self.done || d.queue.front() == &self; });
  if (self.done) return std::move(self.result);

  // This writer leads: take everything queued so far.
  constexpr size_t kMaxBatch = 256;
  std::vector<Impl::Pending*> batch;
  for (auto* p : d.queue) {
    if (batch.size() == kMaxBatch) break;
    batch.push_back(p);
  }
  lock.unlock();
  {
    std::lock_guard<std::mutex> g(d.write_mu);
    d.CommitBatch(batch);
  }
  lock.lock();
  for (auto* p : batch) {
    d.queue.pop_front();
    if (p != &self) {
      p->done = true;
      p->cv.notify_one();
    }
  }
  if (!d.queue.empty()) d.queue.front()->cv.notify_one();
  return std::move(self.result);
}

std::vector<Result<Index::CommitResult>> Index::CommitAll(const std::vector<InstanceEntry>& entries,
                                                          bool replace) {
  Impl& d = *impl_;
  std::vector<Impl::Pending> pending(entries.size());
  std::vector<Impl::Pending*> batch;
  batch.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    pending[i].entry = &entries[i];
    pending[i].replace = replace;
    batch.push_back(&pending[i]);
  }
  {
    // write_mu alone orders this batch with Commit's: their leaders take it too.
    std::lock_guard<std::mutex> g(d.write_mu);
    d.CommitBatch(batch);
  }
  std::vector<Result<CommitResult>> out;
  out.reserve(entries.size());
  for (auto& p : pending) out.push_back(std::move(p.result));
  return out;
}

Result<std::optional<InstanceLocation>> Index::FindInstance(const std::string& sop_uid) {
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  return impl_->FindLocation(*lease.value().db, sop_uid);
}

Result<std::vector<Row>> Index::Impl::Select(const Query& q, bool locations_only,
                                             std::vector<InstanceLocation>* locations) {
  const ResourceLevel level = locations_only ? ResourceLevel::kInstance : q.level;
  std::vector<const IndexedAttribute*> columns;
  std::string sql = "SELECT ";
  if (locations_only) {
    sql += kLocationColumns;
  } else {
    for (const auto& a : IndexedAttributes()) {
      if (a.level > level) continue;
      if (!columns.empty()) sql += ", ";
      sql += a.column;
      columns.push_back(&a);
    }
    if (level == ResourceLevel::kInstance) sql += std::string(", ") + kLocationColumns;
  }
  sql += std::string(" FROM ") + FromClause(level);

  const Backend backend = writer->backend();
  // One condition per constraint, with its parameters (bound in the order the SQL names them).
  struct Term {
    std::string cond;
    std::vector<std::string> params;
    bool on_patient;  // a p.* column
  };
  std::vector<Term> terms;
  for (const auto& c : q.constraints) {
    std::vector<std::string> params;
    const IndexedAttribute* a = FindIndexedAttribute(c.tag);
    if (a == nullptr || a->level > q.level) continue;  // not indexed or below the level
    std::string col = a->column;
    const bool on_patient = col.rfind("p.", 0) == 0;
    std::string cond;
    const bool modalities = c.tag == t::kModalitiesInStudy;
    if (modalities) col = "x.modality";  // matched against the study's series
    if (c.fuzzy && a->kind == ValueKind::kPersonName) {
      cond = "radflow_fuzzy_pn(" + col + ", ?)";
      params.push_back(c.value);
      terms.push_back({cond, std::move(params), on_patient});
      continue;
    }
    switch (c.type) {
      case Constraint::Type::kSingleValue:
        // Person names match without regard to case (PS3.4 C.2.2.2.1, as C-FIND peers
        // expect); the NOCASE / lower() indexes of migration 014 serve it.
        cond = a->kind == ValueKind::kPersonName ? SqlEqualsNoCase(backend, col) : col + " = ?";
        if (a->kind == ValueKind::kComputed && !modalities) cond = "CAST(" + col + " AS TEXT) = ?";
        params.push_back(c.value);
        break;
      case Constraint::Type::kWildcard:
        if (a->kind == ValueKind::kPersonName) {
          cond = SqlWildcardNoCase(backend, col);
          params.push_back(LikePattern(c.value));
        } else {
          cond = SqlWildcard(backend, col);
          params.push_back(WildcardPattern(backend, c.value));
        }
        break;
      case Constraint::Type::kRange:
        cond = "(" + col + " <> ''";
        if (!c.range_lower.empty()) {
          cond += " AND " + col + " >= ?";
          params.push_back(c.range_lower);
        }
        if (!c.range_upper.empty()) {
          cond += " AND " + col + " <= ?";
          params.push_back(c.range_upper);
        }
        cond += ")";
        break;
      case Constraint::Type::kUidList:
        if (c.uids.empty()) continue;
        cond = col + " IN (";
        for (size_t i = 0; i < c.uids.size(); ++i) {
          cond += i ? ",?" : "?";
          params.push_back(c.uids[i]);
        }
        cond += ")";
        break;
    }
    if (modalities) cond = "EXISTS (SELECT 1 FROM series x WHERE x.study_fk = s.id AND " + cond + ")";
    terms.push_back({cond, std::move(params), on_patient});
  }
  const std::string order = " ORDER BY " + OrderClause(backend, level);
  const std::string page = SqlLimitOffset(backend, q.limit, q.offset);
  std::vector<std::string> params;
  // The AND of the terms `keep` accepts; their parameters go to `params` in that order.
  auto conditions = [&](auto keep) {
    std::string out;
    for (auto& term : terms) {
      if (!keep(term)) continue;
      out += (out.empty() ? "" : " AND ") + term.cond;
      params.insert(params.end(), term.params.begin(), term.params.end());
    }
    return out;
  };
  if (level == ResourceLevel::kStudy && !page.empty()) {
    // A page of the study list (QIDO-RS limit/offset, OHIF's list), in two steps
    // (docs/query-plans.md): the page's study ids from the studies table alone, so the rows
    // an OFFSET skips are read from the (study_date, study_time, id) index only, never
    // joined; patient constraints as a set of patient ids (a leading '*' then scans the
    // small patients index once instead of probing a patient per study); then the page's
    // rows, in the same order.
    std::string inner = conditions([](const Term& t) { return !t.on_patient; });
    const std::string patient = conditions([](const Term& t) { return t.on_patient; });
    if (!patient.empty()) {
      inner += (inner.empty() ? "" : " AND ") +
               std::string("s.patient_fk IN (SELECT p.id FROM patients p WHERE ") + patient + ")";
    }
    sql += " WHERE s.id IN (SELECT s.id FROM studies s" + (inner.empty() ? "" : " WHERE " + inner) +
           order + page + ")" + order;
  } else {
    const std::string where = conditions([](const Term&) { return true; });
    sql += (where.empty() ? "" : " WHERE " + where) + order + page;
  }

  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  Db& db = *lease.value().db;
  auto p = lease.value().reader->select.Get(db, sql);
  if (!p.ok()) return p.status();
  std::vector<Row> rows;
  Status status;
  {
    Statement st(p.value());
    for (size_t i = 0; i < params.size(); ++i) st.Bind(static_cast<int>(i + 1), params[i]);
    while (st.Step(&status)) {
      if (locations_only) {
        locations->push_back(ReadLocation(st, 0));
        continue;
      }
      Row row;
      for (size_t i = 0; i < columns.size(); ++i) {
        row.values[columns[i]->tag] = st.Text(static_cast<int>(i));
      }
      if (level == ResourceLevel::kInstance) {
        row.location = ReadLocation(st, static_cast<int>(columns.size()));
      }
      rows.push_back(std::move(row));
    }
  }  // ~Statement resets it for the next use
  if (!status.ok()) return status;
  return rows;
}

Result<std::vector<Row>> Index::Find(const Query& query) {
  return impl_->Select(query, false, nullptr);
}

Result<std::vector<InstanceLocation>> Index::Locate(const Query& query) {
  std::vector<InstanceLocation> out;
  auto r = impl_->Select(query, true, &out);
  if (!r.ok()) return r.status();
  return out;
}

Result<std::vector<InstanceConformance>> Index::Conformance(const std::string& study_uid) {
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  Db& db = *lease.value().db;
  std::vector<InstanceConformance> out;
  Status status;
  {
    auto p = db.Prepare("SELECT se.series_uid, i.sop_uid, i.sop_class_uid, i.conformance FROM " +
                        std::string(FromClause(ResourceLevel::kInstance)) +
                        " WHERE s.study_uid = ? ORDER BY " +
                        OrderClause(db.backend(), ResourceLevel::kSeries) + ", " +
                        OrderClause(db.backend(), ResourceLevel::kInstance));
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, study_uid);
    while (st.Step(&status)) {
      InstanceConformance c{st.Text(0), st.Text(1), st.Text(2), {}};
      const std::string text = st.Text(3);
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) c.problems.push_back(text.substr(start, end - start));
        start = end + 1;
      }
      out.push_back(std::move(c));
    }
  }
  if (!status.ok()) return status;
  if (out.empty()) return Status(ErrorCode::kNotFound, "no study " + study_uid);
  return out;
}

Result<IndexStats> Index::Stats() {
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  auto p = lease.value().db->Prepare(
      "SELECT (SELECT COUNT(*) FROM patients), (SELECT COUNT(*) FROM studies),"
      " (SELECT COUNT(*) FROM series), (SELECT COUNT(*) FROM instances),"
      " (SELECT COALESCE(SUM(blob_size), 0) FROM instances)");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  Status status;
  IndexStats s;
  if (st.Step(&status)) {
    s.patients = st.Int(0);
    s.studies = st.Int(1);
    s.series = st.Int(2);
    s.instances = st.Int(3);
    s.bytes = st.Int(4);
  }
  if (!status.ok()) return status;
  return s;
}

Status Index::DeleteInstance(const std::string& sop_uid) {
  std::lock_guard<std::mutex> g(impl_->write_mu);
  return impl_->writer->Transaction([&] { return impl_->DeleteTx(sop_uid, nullptr); });
}

Status Index::ForEachInstance(const std::function<void(const InstanceLocation&)>& fn) {
  Query q;
  q.level = ResourceLevel::kInstance;
  auto locs = Locate(q);
  if (!locs.ok()) return locs.status();
  for (const auto& l : locs.value()) fn(l);
  return Status::Ok();
}

Result<std::vector<InstanceLocation>> Index::LastStored(int64_t window_ms) {
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  auto p = lease.value().db->Prepare(
      std::string("SELECT ") + kLocationColumns + " FROM " +
      FromClause(ResourceLevel::kInstance) +
      " WHERE i.stored_at >= (SELECT COALESCE(MAX(stored_at), 0) FROM instances) - ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, window_ms);
  std::vector<InstanceLocation> out;
  Status status;
  while (st.Step(&status)) out.push_back(ReadLocation(st, 0));
  if (!status.ok()) return status;
  return out;
}

bool Index::Shared() const { return impl_->writer->backend() == Backend::kPostgres; }

Result<Index::StableClaimResult> Index::ClaimSeriesStable(const std::string& series_uid,
                                                          int64_t stable_after_ms) {
  if (!Shared()) return StableClaimResult{};
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  Db& db = *lease.value().db;
  const int64_t now = UnixMillis();
  // The newest instance of the series, whichever node stored it.
  constexpr const char* kNewest = "(SELECT MAX(i.stored_at) FROM instances i WHERE i.series_fk = se.id)";
  // A second node claiming at the same moment waits for the first one's row (the primary
  // key) and then finds the WHERE of DO UPDATE false: no row returned, not fired twice.
  auto p = db.Prepare(
      std::string("INSERT INTO series_stable (series_uid, study_uid, fired_for, last_stored_at,"
                  " fired_count, fired_at) SELECT se.series_uid, st.study_uid, se.num_instances, ") +
      kNewest + ", 1, CAST(?3 AS BIGINT) FROM series se JOIN studies st ON st.id = se.study_fk"
      " WHERE se.series_uid = ?1 AND " + kNewest + " <= CAST(?3 AS BIGINT) - CAST(?2 AS BIGINT)"
      " ON CONFLICT (series_uid) DO UPDATE SET study_uid = excluded.study_uid,"
      " fired_for = excluded.fired_for, last_stored_at = excluded.last_stored_at,"
      " fired_count = series_stable.fired_count + 1, fired_at = excluded.fired_at"
      " WHERE (series_stable.fired_for <> excluded.fired_for"
      " OR series_stable.last_stored_at < excluded.last_stored_at)"
      // A claimant whose snapshot predates an instance the row already fired for (it read
      // before that commit, the winner after) is stale, not new: it must not fire again.
      " AND series_stable.last_stored_at <= excluded.last_stored_at RETURNING fired_count");
  if (!p.ok()) return p.status();
  {
    Statement st(p.value());
    st.Bind(1, series_uid).Bind(2, stable_after_ms).Bind(3, now);
    Status s;
    const bool won = st.Step(&s);
    if (!s.ok()) return s;
    if (won) return StableClaimResult{};
  }
  // Lost: fired already, or an instance younger than stable_after arrived (at another
  // node, whose own timer fires later; asking again covers that node's crash).
  auto q = db.Prepare(std::string("SELECT ") + kNewest + " FROM series se WHERE se.series_uid = ?");
  if (!q.ok()) return q.status();
  Statement st(q.value());
  st.Bind(1, series_uid);
  Status s;
  const bool found = st.Step(&s);
  if (!s.ok()) return s;
  StableClaimResult out{StableClaim::kFiredAlready, 0};
  if (found && !st.IsNull(0) && st.Int(0) > now - stable_after_ms) {
    out.claim = StableClaim::kNotYet;
    out.retry_in_ms = st.Int(0) + stable_after_ms - now;
  }
  return out;
}

Result<std::vector<Index::SeriesRef>> Index::SeriesToStabilize(int64_t min_age_ms,
                                                               int64_t since_ms) {
  std::vector<SeriesRef> out;
  if (!Shared()) return out;
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  // m: the newest instance per series within the window (a range of instances_stored_at);
  // NOT EXISTS drops a series with a younger instance (a seek on instances(series_fk,
  // stored_at)); series_stable says whether it fired for that instance already.
  auto p = lease.value().db->Prepare(
      "SELECT st.study_uid, se.series_uid FROM (SELECT series_fk, MAX(stored_at) AS newest"
      " FROM instances WHERE stored_at > CAST(?1 AS BIGINT) AND stored_at <= CAST(?2 AS BIGINT)"
      " GROUP BY series_fk) m JOIN series se ON se.id = m.series_fk"
      " JOIN studies st ON st.id = se.study_fk"
      " LEFT JOIN series_stable ss ON ss.series_uid = se.series_uid"
      " WHERE NOT EXISTS (SELECT 1 FROM instances y WHERE y.series_fk = m.series_fk"
      " AND y.stored_at > CAST(?2 AS BIGINT))"
      " AND (ss.series_uid IS NULL OR ss.last_stored_at < m.newest"
      " OR (ss.fired_for < se.num_instances AND ss.last_stored_at <= m.newest))"
      " ORDER BY m.newest");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, since_ms).Bind(2, UnixMillis() - min_age_ms);
  Status status;
  while (st.Step(&status)) out.push_back({st.Text(0), st.Text(1)});
  if (!status.ok()) return status;
  return out;
}

Status Index::BulkFillSynthetic(int instances) {
  std::lock_guard<std::mutex> g(impl_->write_mu);
  constexpr int kPerSeries = 100;
  constexpr int kPerTransaction = 10000;
  const std::string root = "2.25.99" + std::to_string(UnixMillis() % 1000000000);
  for (int done = 0; done < instances;) {
    Status tx = impl_->writer->Transaction([&] {
      for (int k = 0; k < kPerTransaction && done < instances; ++k, ++done) {
        const int series = done / kPerSeries;
        InstanceEntry e;
        auto& in = e.instance;
        in.study_instance_uid = root + ".1." + std::to_string(series);
        in.series_instance_uid = root + ".2." + std::to_string(series);
        in.sop_instance_uid = root + ".3." + std::to_string(done);
        in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
        in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
        in.attributes.Set(t::kPatientID, "SYNTH" + std::to_string(series % 1000));
        in.attributes.Set(t::kPatientName, "Synthetic^Patient" + std::to_string(series % 1000));
        in.attributes.Set(t::kModality, "CT");
        in.attributes.Set(t::kStudyDate, "20200101");
        in.attributes.Set(t::kInstanceNumber, std::to_string(done % kPerSeries + 1));
        e.blob_path = "synthetic/" + in.sop_instance_uid;
        e.blob_size = 0;
        auto r = impl_->WriteOne(e, false);
        if (!r.ok()) return r.status();
      }
      return Status::Ok();
    });
    RADFLOW_RETURN_IF_ERROR(tx);
  }
  return Status::Ok();
}

// --- Lossless compression at rest (issue 15, owner: compression; docs/compression.md) ---
// Kept together at the end of the file: the compactor's pick and its index update.

Result<std::vector<InstanceLocation>> Index::ListUncompressed(const std::vector<std::string>& modalities,
                                                              size_t limit) {
  std::vector<InstanceLocation> out;
  if (modalities.empty() || limit == 0) return out;
  std::string in_list;
  for (size_t i = 0; i < modalities.size(); ++i) in_list += i ? ",?" : "?";
  // Only the two native little-endian syntaxes: the retrieval path re-creates them exactly
  // (pixel::TranscodeToUncompressed); any other arrival syntax is left as it is.
  const std::string sql = std::string("SELECT ") + kLocationColumns + " FROM " +
                          FromClause(ResourceLevel::kInstance) +
                          " WHERE i.original_transfer_syntax_uid = ''"
                          " AND i.transfer_syntax_uid IN ('1.2.840.10008.1.2', '1.2.840.10008.1.2.1')"
                          " AND se.modality IN (" + in_list + ") ORDER BY i.id LIMIT ?";
  auto lease = impl_->AcquireReader();
  if (!lease.ok()) return lease.status();
  auto p = lease.value().db->Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  int i = 1;
  for (const auto& m : modalities) st.Bind(i++, m);
  st.Bind(i, static_cast<int64_t>(limit));
  Status status;
  while (st.Step(&status)) out.push_back(ReadLocation(st, 0));
  if (!status.ok()) return status;
  return out;
}

Result<bool> Index::ReplaceBlob(const std::string& sop_uid, const std::string& expected_old_blob,
                                const std::string& new_blob, const std::string& new_transfer_syntax,
                                uint64_t new_size) {
  std::lock_guard<std::mutex> g(impl_->write_mu);
  Db& db = *impl_->writer;
  bool replaced = false;
  Status s = db.Transaction([&] {
    replaced = false;
    // The original syntax is the one stored until now; the row must still be the one the
    // compactor read (same blob, not looked at), or a concurrent replace/delete wins.
    auto p = db.Prepare(
        "UPDATE instances SET original_transfer_syntax_uid = transfer_syntax_uid,"
        " transfer_syntax_uid = ?, blob_path = ?, blob_size = ?"
        " WHERE sop_uid = ? AND blob_path = ? AND original_transfer_syntax_uid = ''");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, new_transfer_syntax);
    st.Bind(2, new_blob);
    st.Bind(3, static_cast<int64_t>(new_size));
    st.Bind(4, sop_uid);
    st.Bind(5, expected_old_blob);
    Status step;
    while (st.Step(&step)) {
    }
    if (!step.ok()) return step;
    replaced = db.Changes() == 1;
    return Status::Ok();
  }, 3);
  if (!s.ok()) return s;
  return replaced;
}

Status Index::MarkLeftUncompressed(const std::string& sop_uid, const std::string& expected_blob) {
  std::lock_guard<std::mutex> g(impl_->write_mu);
  Db& db = *impl_->writer;
  return db.Transaction([&] {
    auto p = db.Prepare(
        "UPDATE instances SET original_transfer_syntax_uid = transfer_syntax_uid"
        " WHERE sop_uid = ? AND blob_path = ? AND original_transfer_syntax_uid = ''");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, sop_uid);
    st.Bind(2, expected_blob);
    Status step;
    while (st.Step(&step)) {
    }
    return step;
  }, 3);
}

}  // namespace radflow::storage
