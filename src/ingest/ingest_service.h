// IngestService: the one chokepoint through which every new instance enters radflow
// (C-STORE, import, STOW-RS, AI app outputs), as Orthanc's ServerContext::Store.
//
// Store(): 1. parse and validate   2. duplicate check (policy)   3. blob: fsync + rename
//          4. index row, group-committed (for a new instance, the blob's data sync runs on
//          a pool thread while 1 and 2 run here; on DATA/blobs its rename follows the row,
//          on shared storage it precedes it: docs/storage-backends.md)
//          5. only once both are durable, success
//          6. InstanceStored event.
// SeriesStable fires once a series has received nothing new for `stable_after` — on a shared
// (PostgreSQL) index once across the nodes: the node whose timer fires claims the firing in
// the index first (Index::ClaimSeriesStable), and only the winner calls the listeners.
// There every node also sweeps the index for series that a node which died mid-series left
// unfired (Index::SeriesToStabilize) and fires them through the same claim.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <optional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "storage/blob_store.h"
#include "storage/index.h"

namespace radflow::ingest {

// What to do with a different object whose SOP Instance UID is already stored.
enum class DuplicatePolicy {
  kKeep,     // keep the stored one, answer success (default, as Orthanc)
  kReject,   // answer a failure (kConflict)
  kReplace,  // store the new one, drop the old one
};
std::optional<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name);

struct Origin {
  enum class Kind { kDimse, kImport, kStowRs, kApp };
  Kind kind = Kind::kImport;
  std::string detail;  // calling AE title, file path, client address, app id
  // The SOP Instance UID the sender announced (C-STORE's AffectedSOPInstanceUID), if any:
  // an instance announced as already stored takes the careful sequential path.
  std::string announced_sop_instance_uid;
  // When set (STOW-RS to /studies/{uid}), an instance of another study is refused.
  std::string expected_study_instance_uid;
};

enum class StoreOutcome {
  kStored,         // new instance
  kAlreadyStored,  // identical bytes were already stored; nothing written
  kKeptExisting,   // different bytes, policy kKeep: the stored instance was kept
  kReplaced,       // different bytes, policy kReplace
};
const char* OutcomeName(StoreOutcome outcome);

struct StoreResult {
  StoreOutcome outcome = StoreOutcome::kStored;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
};

struct Event {
  enum class Type { kInstanceStored, kSeriesStable };
  Type type;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string sop_instance_uid;  // kInstanceStored only
};

struct IngestOptions {
  DuplicatePolicy duplicate_policy = DuplicatePolicy::kKeep;
  std::chrono::milliseconds stable_after{5000};
  // Shared (PostgreSQL) index only: how far back the sweep for series a dead node left
  // unfired looks on a node's first sweep (the AI engine's start-up routing of missed series,
  // EngineOptions::catch_up_hours, uses the same 24 h). The sweep runs every
  // max(1 s, stable_after / 2); later sweeps look only at instances that came of age since.
  std::chrono::milliseconds stable_sweep_window{std::chrono::hours(24)};
};

class IngestService {
 public:
  IngestService(storage::BlobStore& blobs, storage::Index& index, IngestOptions options);
  ~IngestService();  // stops the stable-series watcher

  // A fresh temporary path on the blob store's filesystem for a receiver to write into.
  std::string NewTempPath() const { return blobs_.NewTempPath(); }
  // An unnamed one (BlobStore::NewUnnamedTemp): its holder gives it either to Store or
  // to BlobStore::DiscardTemp, never to both.
  std::string NewUnnamedTemp() const { return blobs_.NewUnnamedTemp(); }

  // Takes ownership of the Part-10 file at temp_path (it is moved or deleted). Returns
  // only once a stored instance is durable. Thread-safe. `identified`, when given, receives
  // the instance's UIDs as soon as it parses, so that a refusal can still name it.
  Result<StoreResult> Store(const std::string& temp_path, const Origin& origin,
                            StoreResult* identified = nullptr);
  // Same, from bytes in memory.
  Result<StoreResult> StoreBytes(std::string_view part10, const Origin& origin);

  // Listeners run on the storing thread (InstanceStored) or the watcher thread
  // (SeriesStable: the timers' and the sweep's); they must be quick and must not call Store.
  void Subscribe(std::function<void(const Event&)> listener);
  // Shared (PostgreSQL) index: starts the sweep for series that no timer of a live node
  // watches (a node died mid-series): every max(1 s, stable_after / 2), first at once. Call
  // it once every SeriesStable listener is subscribed (a series it finds is fired only once,
  // across the nodes). SQLite (one node): does nothing.
  void StartStableSweep();

 private:
  Result<StoreResult> StoreNew(const std::string& temp_path, const Origin& origin,
                               StoreResult* identified);
  // What to do when the SOP Instance UID is already stored: kAlreadyStored or
  // kKeptExisting results, a kConflict error, or nullopt to go on and replace.
  std::optional<Result<StoreResult>> ResolveDuplicate(const std::string& candidate_path,
                                                      const storage::InstanceLocation& existing,
                                                      StoreResult result);
  Result<StoreResult> Finish(storage::InstanceEntry entry, bool replace, StoreResult result,
                             const Origin& origin);
  // Maps an index commit to the caller's result; compensates and publishes events.
  // `candidate_path`: the stored object's file when its blob is not published yet ("": the
  // blob at entry.blob_path), compared with a concurrent duplicate's.
  Result<StoreResult> Completed(const Result<storage::Index::CommitResult>& committed,
                                const storage::InstanceEntry& entry, StoreResult result,
                                const Origin& origin, const std::string& candidate_path = "");
  void Publish(const Event& e);
  void NoteSeriesActivity(const std::string& study, const std::string& series);
  void WatchStableSeries();
  // Claims and, when won, publishes `e` (Index::ClaimSeriesStable): the one firing path of the
  // timers and the sweep. Called on the watcher thread, stable_mu_ not held.
  void FireStable(const Event& e);
  // Shared index: series old enough and not fired, from any node (the timers of a node that
  // died are gone), each given to FireStable unless a timer here still watches it.
  void SweepStableSeries();
  // Whether this node fires the stable event `e` (Index::ClaimSeriesStable: once across the
  // nodes of a shared index; always on SQLite). When not yet, the series is watched again.
  bool ClaimStable(const Event& e);

  storage::BlobStore& blobs_;
  storage::Index& index_;
  IngestOptions options_;
  // Makes blobs durable while the storing thread parses (the fsync and the parse overlap).
  ThreadPool sync_pool_{4};

  std::mutex listeners_mu_;
  std::vector<std::function<void(const Event&)>> listeners_;

  struct Activity {
    std::string study;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex stable_mu_;
  std::condition_variable stable_cv_;
  std::map<std::string, Activity> active_series_;
  bool stopping_ = false;
  // The sweep (shared index only): when next, and the stored_at (unix ms) below which the
  // previous sweeps looked already (0: none yet, the first one looks stable_sweep_window back).
  bool sweeping_ = false;
  std::chrono::steady_clock::time_point next_sweep_{};
  int64_t swept_until_ms_ = 0;
  std::thread watcher_;
};

}  // namespace radflow::ingest
