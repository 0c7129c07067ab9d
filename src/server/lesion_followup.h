// LesionFollowUp: longitudinal lesion tracking in the running server (docs/worklist.md,
// "Study page"). When a ct-lung-lesions job succeeds on a study whose patient has a relevant
// prior (WorklistService::Priors, most relevant first) with a succeeded ct-lung-lesions job
// of its own, a worker thread
//   1. loads both CT series and registers current → prior (registration::Register, fixed =
//      current); a failure ("no shared anatomy") is recorded as the follow-up's error;
//   2. matches the two jobs' findings (workflow::TrackLesions, interval from the StudyDates);
//      the prior's lesions keep the tracking identities stored for them (by the prior's own
//      follow-up), else get fresh ones, stored for the prior too — so a lesion keeps one
//      Tracking UID across examinations;
//   3. stores a TID 1500 SR with the tracked lesions and their prior comparison in the
//      current study (ingest, Origin kApp; marked routed so that no app runs on it);
//   4. persists the follow-up (storage::LesionStore) and tells the worklist (an "ai" event).
// A later study of the patient whose best prior is the study just processed is followed up
// again (a prior whose job finished after the current one's).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "http/http_server.h"
#include "ingest/ingest_service.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"
#include "storage/lesion_store.h"
#include "workflow/worklist_service.h"

namespace radflow::server {

inline constexpr const char* kLesionApp = "ct-lung-lesions";
// At start-up, the newest succeeded jobs of kLesionApp without a follow-up are queued.
inline constexpr int kCatchUpJobs = 1000;

class LesionFollowUp {
 public:
  struct Deps {
    storage::Index& index;
    storage::BlobStore& blobs;
    ingest::IngestService& ingest;
    storage::JobStore& jobs;
    storage::LesionStore& store;
    workflow::WorklistService& worklist;
    int threads = 2;  // of the registration
  };
  explicit LesionFollowUp(Deps deps);
  ~LesionFollowUp();  // Stop()

  // Starts the worker; queues the recent succeeded ct-lung-lesions jobs whose study has no
  // follow-up yet (stopped between the job and its follow-up).
  void Start();
  // Waits for the follow-up in progress (a registration is not interrupted); drops the rest.
  void Stop();
  // Quick (the JobStore change listener): queues the job for the worker thread.
  void OnJobChanged(int64_t job_id);
  // Waits until every queued job is handled (tests).
  void Flush();

  // GET /api/v1/studies/{uid}/lesions (docs/worklist.md): 404 for an unknown study,
  // state "none" when it has no follow-up.
  http::Response Lesions(const std::string& study_uid);

 private:
  void Work();
  void Handle(int64_t job_id);
  // The study's follow-up against its best prior; false when there is none to make.
  bool FollowUp(const std::string& study_uid);
  std::optional<storage::Job> LatestSucceeded(const std::string& study_uid);

  Deps d_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<int64_t> queue_;
  bool busy_ = false, stopping_ = false, started_ = false;
  std::thread worker_;
};

}  // namespace radflow::server
