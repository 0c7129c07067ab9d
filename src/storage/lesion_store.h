// LesionStore: longitudinal lesion tracking in the index database (schema
// 006_lesion_tracks.sql) — a study's follow-up against its prior (registration, state,
// the SR written), one row per tracked / new / resolved lesion, and the tracking identities
// of each study's findings (a lesion keeps one Tracking UID across examinations).
//
// What is matched and how belongs to workflow/lesion_tracking.h and server/lesion_followup:
// this store keeps rows. Two connections: reads never wait for a write. Every write is one
// BEGIN IMMEDIATE transaction with synchronous=FULL. Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct LesionFollowUpRow {
  std::string study_uid, prior_study_uid;
  std::string state = "ok";  // ok | failed
  std::string error;
  std::string matrix_json;   // current → prior, row-major 4×4
  double metric = 0;
  double interval_days = 0;
  std::string sr_series_uid, sr_sop_uid;
  int64_t created_at = 0;    // 0: now
};

struct LesionTrackRow {
  int64_t id = 0;
  std::string study_uid, prior_study_uid;
  int64_t finding_id = 0, prior_finding_id = 0;  // 0: none (resolved / new)
  std::string tracking_uid, tracking_id;
  std::string status;               // tracked | new | resolved
  std::string trend = "unknown";    // growing | stable | shrinking | unknown
  double volume_change_pct = 0, diameter_change_mm = 0;
  std::optional<double> doubling_time_days;
  double distance_mm = 0, interval_days = 0;
  std::string current_json, prior_json;  // the findings as matched (the caller's JSON)
  int64_t created_at = 0;
};

struct LesionIdentity {
  int64_t finding_id = 0;
  std::string tracking_uid, tracking_id;
};

class LesionStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the tables (006_lesion_tracks.sql).
  static Result<std::unique_ptr<LesionStore>> Open(const std::string& index_path);
  ~LesionStore();

  // One transaction: the study's follow-up, its tracks (replacing earlier ones of the
  // study) and the identities of its findings (added to / replacing those stored).
  Status SaveFollowUp(const LesionFollowUpRow& followup, const std::vector<LesionTrackRow>& tracks,
                      const std::vector<LesionIdentity>& identities);
  Result<std::optional<LesionFollowUpRow>> FollowUp(const std::string& study_uid);
  // In insertion order.
  Result<std::vector<LesionTrackRow>> Tracks(const std::string& study_uid);

  // The tracking identities of a study's findings (by finding id).
  Status SaveIdentities(const std::string& study_uid, const std::vector<LesionIdentity>& identities);
  Result<std::vector<LesionIdentity>> Identities(const std::string& study_uid);

 private:
  class Impl;
  explicit LesionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
