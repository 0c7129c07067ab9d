#include "storage/lesion_store.h"

#include <mutex>

#include "base/clock.h"
#include "storage/db.h"

namespace radflow::storage {

namespace {

constexpr const char* kTrackColumns =
    "id, study_uid, prior_study_uid, finding_id, prior_finding_id, tracking_uid, tracking_id,"
    " status, trend, volume_change_pct, diameter_change_mm, doubling_time_days, distance_mm,"
    " interval_days, current_json, prior_json, created_at";

}  // namespace

class LesionStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  Status WriteIdentities(const std::string& study_uid, const std::vector<LesionIdentity>& ids) {
    auto p = writer->Prepare(
        "INSERT INTO lesion_identities (study_uid, finding_id, tracking_uid, tracking_id)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (study_uid, finding_id) DO UPDATE SET"
        " tracking_uid = excluded.tracking_uid, tracking_id = excluded.tracking_id");
    if (!p.ok()) return p.status();
    for (const auto& id : ids) {
      Statement st(p.value());
      st.Bind(1, study_uid).Bind(2, id.finding_id).Bind(3, id.tracking_uid).Bind(4, id.tracking_id);
      Status s;
      st.Step(&s);
      RADFLOW_RETURN_IF_ERROR(s);
    }
    return Status::Ok();
  }
};

LesionStore::LesionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LesionStore::~LesionStore() = default;

Result<std::unique_ptr<LesionStore>> LesionStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"lesion_followups", "lesion_tracks", "lesion_identities"}, "lesion tracking");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<LesionStore>(new LesionStore(std::move(impl)));
}

Status LesionStore::SaveFollowUp(const LesionFollowUpRow& f, const std::vector<LesionTrackRow>& tracks,
                                 const std::vector<LesionIdentity>& identities) {
  if (f.study_uid.empty()) return {ErrorCode::kInvalidArgument, "a follow-up needs its study UID"};
  if (f.state != "ok" && f.state != "failed") {
    return {ErrorCode::kInvalidArgument, "follow-up state must be ok or failed, not " + f.state};
  }
  const int64_t now = f.created_at ? f.created_at : UnixMillis();
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&]() -> Status {
    {
      auto p = impl_->writer->Prepare("DELETE FROM lesion_tracks WHERE study_uid = ?");
      if (!p.ok()) return p.status();
      Statement st(p.value());
      st.Bind(1, f.study_uid);
      Status s;
      st.Step(&s);
      RADFLOW_RETURN_IF_ERROR(s);
    }
    {
      auto p = impl_->writer->Prepare(
          "INSERT INTO lesion_followups (study_uid, prior_study_uid, state, error,"
          " matrix_json, metric, interval_days, sr_series_uid, sr_sop_uid, created_at)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (study_uid) DO UPDATE SET"
          " prior_study_uid = excluded.prior_study_uid, state = excluded.state, error = excluded.error,"
          " matrix_json = excluded.matrix_json, metric = excluded.metric,"
          " interval_days = excluded.interval_days, sr_series_uid = excluded.sr_series_uid,"
          " sr_sop_uid = excluded.sr_sop_uid, created_at = excluded.created_at");
      if (!p.ok()) return p.status();
      Prepared* raw = p.value();
      Statement st(raw);
      st.Bind(1, f.study_uid).Bind(2, f.prior_study_uid).Bind(3, f.state).Bind(4, f.error);
      st.Bind(5, f.matrix_json);
      raw->BindDouble(6, f.metric);
      raw->BindDouble(7, f.interval_days);
      st.Bind(8, f.sr_series_uid).Bind(9, f.sr_sop_uid).Bind(10, now);
      Status s;
      st.Step(&s);
      RADFLOW_RETURN_IF_ERROR(s);
    }
    auto p = impl_->writer->Prepare(
        "INSERT INTO lesion_tracks (study_uid, prior_study_uid, finding_id, prior_finding_id,"
        " tracking_uid, tracking_id, status, trend, volume_change_pct, diameter_change_mm,"
        " doubling_time_days, distance_mm, interval_days, current_json, prior_json, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!p.ok()) return p.status();
    for (const auto& t : tracks) {
      if (t.status != "tracked" && t.status != "new" && t.status != "resolved") {
        return {ErrorCode::kInvalidArgument, "lesion status must be tracked, new or resolved, not " + t.status};
      }
      Prepared* raw = p.value();
      Statement st(raw);
      st.Bind(1, f.study_uid).Bind(2, f.prior_study_uid).Bind(3, t.finding_id).Bind(4, t.prior_finding_id);
      st.Bind(5, t.tracking_uid).Bind(6, t.tracking_id).Bind(7, t.status).Bind(8, t.trend);
      raw->BindDouble(9, t.volume_change_pct);
      raw->BindDouble(10, t.diameter_change_mm);
      if (t.doubling_time_days) {
        raw->BindDouble(11, *t.doubling_time_days);
      } else {
        raw->BindNull(11);
      }
      raw->BindDouble(12, t.distance_mm);
      raw->BindDouble(13, t.interval_days);
      st.Bind(14, t.current_json).Bind(15, t.prior_json).Bind(16, t.created_at ? t.created_at : now);
      Status s;
      st.Step(&s);
      RADFLOW_RETURN_IF_ERROR(s);
    }
    return impl_->WriteIdentities(f.study_uid, identities);
  }, 5);
}

Result<std::optional<LesionFollowUpRow>> LesionStore::FollowUp(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT study_uid, prior_study_uid, state, error, matrix_json, metric, interval_days,"
      " sr_series_uid, sr_sop_uid, created_at FROM lesion_followups WHERE study_uid = ?");
  if (!p.ok()) return p.status();
  Prepared* raw = p.value();
  Statement st(raw);
  st.Bind(1, study_uid);
  Status s;
  std::optional<LesionFollowUpRow> out;
  if (st.Step(&s)) {
    LesionFollowUpRow f;
    f.study_uid = st.Text(0);
    f.prior_study_uid = st.Text(1);
    f.state = st.Text(2);
    f.error = st.Text(3);
    f.matrix_json = st.Text(4);
    f.metric = raw->Double(5);
    f.interval_days = raw->Double(6);
    f.sr_series_uid = st.Text(7);
    f.sr_sop_uid = st.Text(8);
    f.created_at = st.Int(9);
    out = f;
  }
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<LesionTrackRow>> LesionStore::Tracks(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string("SELECT ") + kTrackColumns +
                                  " FROM lesion_tracks WHERE study_uid = ? ORDER BY id");
  if (!p.ok()) return p.status();
  Prepared* raw = p.value();
  Statement st(raw);
  st.Bind(1, study_uid);
  Status s;
  std::vector<LesionTrackRow> out;
  while (st.Step(&s)) {
    LesionTrackRow t;
    t.id = st.Int(0);
    t.study_uid = st.Text(1);
    t.prior_study_uid = st.Text(2);
    t.finding_id = st.Int(3);
    t.prior_finding_id = st.Int(4);
    t.tracking_uid = st.Text(5);
    t.tracking_id = st.Text(6);
    t.status = st.Text(7);
    t.trend = st.Text(8);
    t.volume_change_pct = raw->Double(9);
    t.diameter_change_mm = raw->Double(10);
    if (!raw->IsNull(11)) t.doubling_time_days = raw->Double(11);
    t.distance_mm = raw->Double(12);
    t.interval_days = raw->Double(13);
    t.current_json = st.Text(14);
    t.prior_json = st.Text(15);
    t.created_at = st.Int(16);
    out.push_back(std::move(t));
  }
  if (!s.ok()) return s;
  return out;
}

Status LesionStore::SaveIdentities(const std::string& study_uid, const std::vector<LesionIdentity>& identities) {
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&] { return impl_->WriteIdentities(study_uid, identities); }, 5);
}

Result<std::vector<LesionIdentity>> LesionStore::Identities(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT finding_id, tracking_uid, tracking_id FROM lesion_identities WHERE study_uid = ?"
      " ORDER BY finding_id");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, study_uid);
  Status s;
  std::vector<LesionIdentity> out;
  while (st.Step(&s)) out.push_back({st.Int(0), st.Text(1), st.Text(2)});
  if (!s.ok()) return s;
  return out;
}

}  // namespace radflow::storage
