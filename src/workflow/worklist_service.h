// WorklistService: keeps the reading worklist up to date and applies readers' actions
// (docs/worklist.md).
//
//   ingest InstanceStored (a study's first) ─> item created (arrived), prefetch of priors
//   ingest SeriesStable                      ─> counts, modalities, completed_at
//   AI job queued / finished                 ─> ai_pending, the most severe finding, score
//   REST claim / release / heartbeat / state ─> reading_state.h rules, in one transaction
//   sweeper (every second)                   ─> expired claims released
// Every change is published on an event feed (server-sent events at
// /api/v1/worklist/events).
//
// The service knows no DICOM and no AI engine: the composition root forwards their
// events and gives it a reader of a series' attributes and a prefetch function.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "storage/workflow_store.h"
#include "workflow/priority.h"
#include "workflow/priors.h"

namespace radflow::storage {
class ClusterBus;
}

namespace radflow::workflow {

struct WorklistEvent {
  uint64_t seq = 0;
  std::string study_uid;
  std::string reason;  // arrived | updated | ai | claimed | released | state | priority
  int64_t at = 0;
};

// Recent events with sequence numbers; waiters wake on a new one (server-sent events).
class EventFeed {
 public:
  void Publish(const std::string& study_uid, const std::string& reason);
  // Several nodes on one index (issue 15, docs/postgresql.md "Several nodes: events and
  // stability"): what Publish appends also goes to `relay` (the composition root sends it on
  // the cluster bus); what another node published is appended with PublishRemote, which
  // relays nothing (no echo between nodes).
  void SetRelay(std::function<void(const std::string& study_uid, const std::string& reason)> relay);
  void PublishRemote(const std::string& study_uid, const std::string& reason);
  // Events after `after` (at most the last 1000 kept); waits up to timeout_ms for one.
  // Empty on timeout or once closed.
  std::vector<WorklistEvent> Wait(uint64_t after, int timeout_ms);
  uint64_t Last() const;
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WorklistEvent> recent_;
  std::function<void(const std::string&, const std::string&)> relay_;
  uint64_t seq_ = 0;
  bool closed_ = false;
};

// The worklist's cluster channel (docs/postgresql.md "Several nodes: events and stability"):
// payload {"study": UID, "reason": ...}.
inline constexpr const char* kWorklistChannel = "radflow_worklist";
// Relays `feed` over `bus` both ways: what this node publishes reaches the other nodes'
// feeds, what they publish arrives here (PublishRemote). Until feed.SetRelay(nullptr) and
// bus.Stop(); both must outlive the relay.
Status RelayOverBus(EventFeed& feed, storage::ClusterBus& bus);

class WorklistService;

// What the reading worklist takes from a study's order (docs/orders.md): the order's
// RequestedProcedurePriority and reason for exam override what the images say.
struct OrderFactsLite {
  std::string priority;  // STAT | HIGH | ROUTINE | MEDIUM | LOW ('' keeps the item's)
  std::string reason;    // reason for exam
};

struct WorklistOptions {
  PriorityRule rule;
  int64_t claim_ms = 20 * 60 * 1000;  // --claim-idle-minutes
  // The attributes of a series' first instance by keyword (IssuerOfPatientID,
  // BodyPartExamined, InstitutionName, RequestedProcedurePriority, ...).
  std::function<Result<std::map<std::string, std::string>>(const std::string& series_uid)> series_facts;
  // Called on its own thread for a newly arrived study; fetches its priors from remote
  // archives (empty: no prefetch).
  std::function<void(WorklistService& service, const storage::WorklistItem& item)> prefetch;
  int64_t sweep_interval_ms = 1000;
  // The order of a study, by its AccessionNumber or StudyInstanceUID (null or nullopt: no
  // order). Asked after each sync of the study and on OnOrderChanged, on the worker thread.
  std::function<std::optional<OrderFactsLite>(const std::string& accession, const std::string& study_uid)>
      order_facts;
  // Called on the worker thread when a study's item is first created and when one of its
  // series is stable (its accession may have changed): exam tracking links the order or lists
  // the study for reconciliation. Must be idempotent.
  std::function<void(const std::string& study_uid, const std::string& accession, const std::string& patient_id,
                     const std::string& patient_name, const std::string& modalities,
                     const std::string& study_date)>
      on_study_arrived;
};

class WorklistService {
 public:
  WorklistService(storage::WorkflowStore& store, WorklistOptions options);
  ~WorklistService();  // Stop()

  // Rescores every item with the rule and starts the worker and sweeper threads. The worker
  // first catches up, in batches of kCatchUpBatch studies a transaction, the studies that
  // need it (StudiesToSync: stored while no server ran), between live inputs; Start does not
  // wait for it (Flush does). docs/worklist.md "Start-up catch-up".
  Status Start();
  static constexpr size_t kCatchUpBatch = 500;
  void Stop();

  // Event inputs (quick: queued for the worker thread).
  void OnInstanceStored(const std::string& study_uid, const std::string& series_uid);
  void OnSeriesStable(const std::string& study_uid, const std::string& series_uid);
  // An AI job was queued or finished (JobStore's change listener: its study is looked up
  // on the worker thread, not on the job store's writer).
  void OnAiJobChanged(int64_t job_id);
  void OnAiStudyChanged(const std::string& study_uid);
  // An order changed (OrderService's on_change): the item of its study re-reads the order's
  // priority and reason (looked up by the item's own accession and UID); quick (queued).
  void OnOrderChanged(const std::string& study_uid);

  // Readers' actions (REST). kNotFound, kConflict, kInvalidArgument as reading_state.h.
  Result<storage::WorklistItem> Claim(const std::string& study_uid, const std::string& reader);
  Result<storage::WorklistItem> Release(const std::string& study_uid, const std::string& reader);
  Result<storage::WorklistItem> Heartbeat(const std::string& study_uid, const std::string& reader);
  Result<storage::WorklistItem> ChangeState(const std::string& study_uid, const std::string& reader,
                                            const std::string& state, const std::string& note);
  Result<storage::WorklistItem> SetOrderPriority(const std::string& study_uid,
                                                 const std::string& reader,
                                                 const std::string& priority);

  Result<std::vector<RankedPrior>> Priors(const std::string& study_uid);
  // A study being retrieved as a prior: when it arrives its item is final (read before),
  // audited as "prefetched", instead of joining the unread list.
  void ExpectPrior(const std::string& study_uid);
  // Waits until every queued input is applied (tests, benchmarks).
  void Flush();

  storage::WorkflowStore& store() { return store_; }
  EventFeed& events() { return events_; }
  const PriorityRule& rule() const { return options_.rule; }
  int64_t claim_ms() const { return options_.claim_ms; }

 private:
  struct Input {
    enum class Kind { kInstance, kStable, kAi, kOrder, kCatchUp } kind;
    std::string study_uid, series_uid;  // kOrder: series_uid holds the accession
    int64_t job_id = 0;  // kAi without a study UID
  };
  void Enqueue(Input input);
  void Work();
  void Sweep();
  void Prefetch();
  void Apply(const Input& input);
  void RefreshAi(const std::string& study_uid);
  // One batch of the start-up catch-up; queues the next behind the live inputs.
  void CatchUp();
  // The order's priority and reason onto the item (order_facts), scored; true when changed.
  bool ApplyOrderFacts(const storage::WorklistItem& item);
  void Arrived(const storage::WorklistItem& item);
  storage::StudyExtras ExtrasOf(const std::string& series_uid, bool complete);
  Result<storage::WorklistItem> Act(const std::string& study_uid, const std::string& reason,
                                    const storage::WorkflowStore::Change& change);

  storage::WorkflowStore& store_;
  WorklistOptions options_;
  EventFeed events_;

  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;  // cv_: the sweeper, the prefetcher, stopping
  std::condition_variable input_cv_;       // the worker: a new input
  std::deque<Input> inputs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::set<std::string> known_;            // studies with an item (the worker thread's)
  // The start-up catch-up (the worker thread's).
  std::vector<std::string> catch_up_;
  size_t catch_up_next_ = 0;
  bool catch_up_listed_ = false;
  std::chrono::steady_clock::time_point catch_up_started_;
  std::set<std::string> expected_priors_;  // under mu_
  std::deque<storage::WorklistItem> prefetch_queue_;
  std::thread worker_, sweeper_, prefetcher_;
};

}  // namespace radflow::workflow
