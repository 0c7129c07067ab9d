#include "storage/research_store.h"

#include <algorithm>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "storage/db.h"

namespace radflow::storage {

namespace {

constexpr const char* kCohortColumns =
    "id, name, version, description, criteria_json, created_by, created_at, patients, studies,"
    " series, instances, lesions";

constexpr const char* kExportColumns =
    "id, cohort_name, cohort_version, options, formats, out_dir, status, done, total, error,"
    " manifest_json, created_by, created_at, started_at, finished_at";

using Bind = std::function<void(Statement&)>;

CohortRow ReadCohort(const Statement& st) {
  CohortRow c;
  c.id = st.Int(0);
  c.name = st.Text(1);
  c.version = static_cast<int>(st.Int(2));
  c.description = st.Text(3);
  c.criteria_json = st.Text(4);
  c.created_by = st.Text(5);
  c.created_at = st.Int(6);
  c.counts.patients = st.Int(7);
  c.counts.studies = st.Int(8);
  c.counts.series = st.Int(9);
  c.counts.instances = st.Int(10);
  c.counts.lesions = st.Int(11);
  return c;
}

ExportRow ReadExport(const Statement& st) {
  ExportRow e;
  e.id = st.Int(0);
  e.cohort_name = st.Text(1);
  e.cohort_version = static_cast<int>(st.Int(2));
  e.options = st.Text(3);
  e.formats = st.Text(4);
  e.out_dir = st.Text(5);
  e.status = st.Text(6);
  e.done = st.Int(7);
  e.total = st.Int(8);
  e.error = st.Text(9);
  e.manifest_json = st.Text(10);
  e.created_by = st.Text(11);
  e.created_at = st.Int(12);
  e.started_at = st.Int(13);
  e.finished_at = st.Int(14);
  return e;
}

CohortStudyRow ReadStudy(const Statement& st) {
  CohortStudyRow r;
  r.study_uid = st.Text(0);
  auto series = nlohmann::json::parse(st.Text(1), nullptr, false);
  if (series.is_array()) {
    for (const auto& s : series) {
      if (s.is_string()) r.series_uids.push_back(s.get<std::string>());
    }
  }
  auto findings = nlohmann::json::parse(st.Text(2), nullptr, false);
  if (findings.is_array()) {
    for (const auto& f : findings) {
      if (f.is_number_integer()) r.finding_ids.push_back(f.get<int64_t>());
    }
  }
  return r;
}

template <typename Row, typename Read>
Result<std::vector<Row>> Rows(Db& db, const std::string& sql, const Bind& bind, Read read) {
  auto p = db.Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  bind(st);
  Status s;
  std::vector<Row> out;
  while (st.Step(&s)) out.push_back(read(st));
  if (!s.ok()) return s;
  return out;
}

Status Run(Db& db, const std::string& sql, const Bind& bind) {
  auto p = db.Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  bind(st);
  Status s;
  st.Step(&s);
  return s;
}

}  // namespace

class ResearchStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  Result<std::vector<CohortRow>> Cohorts(Db& db, const std::string& where, const Bind& bind) {
    return Rows<CohortRow>(db, std::string("SELECT ") + kCohortColumns + " FROM cohorts " + where, bind, ReadCohort);
  }
  Result<std::vector<ExportRow>> Exports(Db& db, const std::string& where, const Bind& bind) {
    return Rows<ExportRow>(db, std::string("SELECT ") + kExportColumns + " FROM exports " + where, bind, ReadExport);
  }
};

ResearchStore::ResearchStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResearchStore::~ResearchStore() = default;

Result<std::unique_ptr<ResearchStore>> ResearchStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"cohorts", "cohort_studies", "exports"}, "research");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<ResearchStore>(new ResearchStore(std::move(impl)));
}

// ------------------------------------------------------------------------------ cohorts

Result<CohortRow> ResearchStore::CreateCohort(const CohortRow& cohort, const std::vector<CohortStudyRow>& studies) {
  if (cohort.name.empty()) return {ErrorCode::kInvalidArgument, "a cohort needs a name"};
  CohortRow out = cohort;
  if (out.created_at == 0) out.created_at = UnixMillis();
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  Status s = db.Transaction([&]() -> Status {
    auto p = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM cohorts WHERE name = ?");
    if (!p.ok()) return p.status();
    {
      Statement st(p.value());
      st.Bind(1, out.name);
      Status step;
      out.version = st.Step(&step) ? static_cast<int>(st.Int(0)) + 1 : 1;
      if (!step.ok()) return step;
    }
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "INSERT INTO cohorts (name, version, description, criteria_json, created_by, created_at, patients,"
        " studies, series, instances, lesions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, out.name).Bind(2, int64_t{out.version}).Bind(3, out.description).Bind(4, out.criteria_json);
          st.Bind(5, out.created_by).Bind(6, out.created_at).Bind(7, out.counts.patients);
          st.Bind(8, out.counts.studies).Bind(9, out.counts.series).Bind(10, out.counts.instances);
          st.Bind(11, out.counts.lesions);
        }));
    out.id = static_cast<int64_t>(db.LastInsertId());
    for (const auto& study : studies) {
      nlohmann::json series = study.series_uids, findings = study.finding_ids;
      RADFLOW_RETURN_IF_ERROR(Run(db,
          "INSERT INTO cohort_studies (cohort_fk, study_uid, series_json, findings_json) VALUES (?, ?, ?, ?)",
          [&](Statement& st) {
            st.Bind(1, out.id).Bind(2, study.study_uid).Bind(3, series.dump()).Bind(4, findings.dump());
          }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<CohortRow>> ResearchStore::LatestCohorts() {
  std::lock_guard lock(impl_->read_mu);
  return impl_->Cohorts(*impl_->reader,
                        "c WHERE version = (SELECT MAX(version) FROM cohorts WHERE name = c.name) ORDER BY name",
                        [](Statement&) {});
}

Result<std::optional<CohortRow>> ResearchStore::Cohort(const std::string& name, int version) {
  std::lock_guard lock(impl_->read_mu);
  auto rows = version > 0
                  ? impl_->Cohorts(*impl_->reader, "WHERE name = ? AND version = ?",
                                   [&](Statement& st) { st.Bind(1, name).Bind(2, int64_t{version}); })
                  : impl_->Cohorts(*impl_->reader, "WHERE name = ? ORDER BY version DESC LIMIT 1",
                                   [&](Statement& st) { st.Bind(1, name); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<CohortRow>();
  return std::optional<CohortRow>(rows->front());
}

Result<std::vector<CohortRow>> ResearchStore::CohortVersions(const std::string& name) {
  std::lock_guard lock(impl_->read_mu);
  return impl_->Cohorts(*impl_->reader, "WHERE name = ? ORDER BY version",
                        [&](Statement& st) { st.Bind(1, name); });
}

Result<std::vector<CohortStudyRow>> ResearchStore::CohortStudies(int64_t cohort_id) {
  std::lock_guard lock(impl_->read_mu);
  // Sorted here rather than by the database: the table has no insertion-order column (SQLite's
  // rowid has no PostgreSQL counterpart), and a text ORDER BY follows the database's collation
  // on PostgreSQL; byte order is the order the selection (research/selection.cpp) writes.
  auto rows = Rows<CohortStudyRow>(*impl_->reader,
                                   "SELECT study_uid, series_json, findings_json FROM cohort_studies WHERE cohort_fk = ?",
                                   [&](Statement& st) { st.Bind(1, cohort_id); }, ReadStudy);
  if (!rows.ok()) return rows.status();
  std::sort(rows->begin(), rows->end(),
            [](const CohortStudyRow& a, const CohortStudyRow& b) { return a.study_uid < b.study_uid; });
  return rows;
}

// ------------------------------------------------------------------------------ exports

Result<int64_t> ResearchStore::InsertExport(const ExportRow& row) {
  const int64_t now = row.created_at ? row.created_at : UnixMillis();
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  int64_t id = 0;
  Status s = db.Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "INSERT INTO exports (cohort_name, cohort_version, options, formats, out_dir, status, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
        [&](Statement& st) {
          st.Bind(1, row.cohort_name).Bind(2, int64_t{row.cohort_version}).Bind(3, row.options);
          st.Bind(4, row.formats).Bind(5, row.out_dir).Bind(6, row.created_by).Bind(7, now);
        }));
    id = static_cast<int64_t>(db.LastInsertId());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::optional<ExportRow>> ResearchStore::Export(int64_t id) {
  std::lock_guard lock(impl_->read_mu);
  auto rows = impl_->Exports(*impl_->reader, "WHERE id = ?", [&](Statement& st) { st.Bind(1, id); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ExportRow>();
  return std::optional<ExportRow>(rows->front());
}

Result<std::vector<ExportRow>> ResearchStore::Exports(int limit) {
  std::lock_guard lock(impl_->read_mu);
  const std::string tail = limit > 0 ? " LIMIT " + std::to_string(limit) : "";
  return impl_->Exports(*impl_->reader, "ORDER BY id DESC" + tail, [](Statement&) {});
}

Result<std::optional<ExportRow>> ResearchStore::NextQueued() {
  std::lock_guard lock(impl_->read_mu);
  auto rows = impl_->Exports(*impl_->reader, "WHERE status = 'queued' ORDER BY id LIMIT 1", [](Statement&) {});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ExportRow>();
  return std::optional<ExportRow>(rows->front());
}

Status ResearchStore::MarkRunning(int64_t id, int64_t now_ms) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return db.Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Run(db, "UPDATE exports SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'",
                                [&](Statement& st) { st.Bind(1, now_ms).Bind(2, id); }));
    if (db.Changes() == 0) {
      return Status(ErrorCode::kConflict, "export " + std::to_string(id) + " is not queued");
    }
    return Status::Ok();
  });
}

Status ResearchStore::SetProgress(int64_t id, int64_t done, int64_t total) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return db.Transaction([&]() -> Status {
    return Run(db, "UPDATE exports SET done = ?, total = ? WHERE id = ?",
               [&](Statement& st) { st.Bind(1, done).Bind(2, total).Bind(3, id); });
  });
}

Status ResearchStore::Finish(int64_t id, bool ok, const std::string& error, const std::string& manifest_json,
                             int64_t now_ms) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  return db.Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE exports SET status = ?, error = ?, manifest_json = ?, finished_at = ? WHERE id = ?",
        [&](Statement& st) {
          st.Bind(1, std::string(ok ? "done" : "failed")).Bind(2, error).Bind(3, manifest_json);
          st.Bind(4, now_ms).Bind(5, id);
        }));
    if (db.Changes() == 0) return Status(ErrorCode::kNotFound, "no export " + std::to_string(id));
    return Status::Ok();
  });
}

Result<int> ResearchStore::FailInterrupted(int64_t now_ms) {
  std::lock_guard lock(impl_->write_mu);
  Db& db = *impl_->writer;
  int changed = 0;
  Status s = db.Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Run(db,
        "UPDATE exports SET status = 'failed', error = 'interrupted by a restart', finished_at = ?"
        " WHERE status = 'running'",
        [&](Statement& st) { st.Bind(1, now_ms); }));
    changed = db.Changes();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return changed;
}

}  // namespace radflow::storage
