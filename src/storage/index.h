// Index: the SQLite database of patients, studies, series and instances.
//
// Thread-safe. Writes go through Commit(), which batches concurrent writers into one
// transaction and one WAL sync (group commit, as LevelDB batches its log writes): a
// writer returns only once its row is durable. Reads use a pool of connections and run
// concurrently with writes (WAL).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/model.h"

namespace radflow::storage {

class Index {
 public:
  enum class Outcome {
    kInserted,   // new instance row
    kReplaced,   // replaced the row of the same SOP Instance UID (replaced_blob is set)
    kDuplicate,  // a row with this SOP Instance UID exists and was kept (existing is set)
  };
  struct CommitResult {
    Outcome outcome = Outcome::kInserted;
    std::optional<InstanceLocation> existing;  // kDuplicate
    std::string replaced_blob;                 // kReplaced
  };

  // Opens or creates the database and applies the numbered schema migrations.
  static Result<std::unique_ptr<Index>> Open(const std::string& path);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Durably records one instance (and its patient/study/series). With replace=false an
  // existing row for the SOP Instance UID is kept and reported as kDuplicate.
  Result<CommitResult> Commit(const InstanceEntry& entry, bool replace);
  // Records `entries` in one transaction, each outcome as Commit gives it (bulk loads:
  // bench/qido_fill.cpp). A failed transaction fails every entry.
  std::vector<Result<CommitResult>> CommitAll(const std::vector<InstanceEntry>& entries,
                                              bool replace);

  Result<std::optional<InstanceLocation>> FindInstance(const std::string& sop_uid);
  // Matching resources at query.level, with every indexed attribute of that level and above.
  Result<std::vector<Row>> Find(const Query& query);
  // The instances under every resource that matches the query (C-MOVE, C-GET, WADO-RS).
  Result<std::vector<InstanceLocation>> Locate(const Query& query);
  Result<IndexStats> Stats();
  // Removes an instance row, its now-empty parents, and fixes the counters.
  Status DeleteInstance(const std::string& sop_uid);
  // Every instance of the study with its conformance problems (empty when none were
  // found), in series and instance order. kNotFound when the study is not stored.
  Result<std::vector<InstanceConformance>> Conformance(const std::string& study_uid);
  Status ForEachInstance(const std::function<void(const InstanceLocation&)>& fn);
  // Instances stored within `window_ms` before the most recently stored one: the only rows
  // an interrupted store can have left without a durable blob.
  Result<std::vector<InstanceLocation>> LastStored(int64_t window_ms);

  // SeriesStable once across nodes (issue 15; docs/postgresql.md "Several nodes: events and
  // stability"): the claim a node's stable-series timer makes before it fires. kClaimed when
  // this node won (the series' newest instance, any node's, is at least stable_after_ms old
  // and it was not fired for its current instances yet: one statement, so two nodes cannot
  // both win); kFiredAlready when another node fired it (or the series is gone); kNotYet
  // when an instance stored since (on another node) is younger: retry_in_ms says when to
  // ask again. SQLite (one node): always kClaimed, without SQL.
  enum class StableClaim { kClaimed, kFiredAlready, kNotYet };
  struct StableClaimResult {
    StableClaim claim = StableClaim::kClaimed;
    int64_t retry_in_ms = 0;
  };
  Result<StableClaimResult> ClaimSeriesStable(const std::string& series_uid, int64_t stable_after_ms);
  // The survivors' sweep (IngestService; a node that died mid-series left no timer): series
  // whose newest instance (any node's) has stored_at in (since_ms, now - min_age_ms], no
  // instance younger than that, and that were not fired for that newest instance yet (as
  // series_stable records it, the claim's terms; a deletion alone does not count). Each is
  // then claimed through ClaimSeriesStable. One statement (migration 018's index).
  // SQLite (one node): always empty, without SQL.
  struct SeriesRef {
    std::string study_uid;
    std::string series_uid;
  };
  Result<std::vector<SeriesRef>> SeriesToStabilize(int64_t min_age_ms, int64_t since_ms);
  // Whether several nodes may share this index (PostgreSQL).
  bool Shared() const;

  // Benchmark support: inserts synthetic rows (no blobs) in large transactions.
  Status BulkFillSynthetic(int instances);

  // Lossless compression at rest (issue 15, docs/compression.md; src/compress/).
  // Up to `limit` instances of the given modalities the compactor has not looked at yet
  // (original_transfer_syntax_uid ''), stored in Implicit or Explicit VR Little Endian,
  // oldest first.
  Result<std::vector<InstanceLocation>> ListUncompressed(const std::vector<std::string>& modalities,
                                                         size_t limit);
  // Points the row at the re-encoded blob in one transaction, keeping the syntax it arrived
  // in. Returns false (and changes nothing) when the row no longer has `expected_old_blob`
  // (deleted or replaced meanwhile): the caller then removes the new blob.
  Result<bool> ReplaceBlob(const std::string& sop_uid, const std::string& expected_old_blob,
                           const std::string& new_blob, const std::string& new_transfer_syntax,
                           uint64_t new_size);
  // Marks the row as looked at and left uncompressed (original = stored syntax), so that the
  // compactor does not pick it again.
  Status MarkLeftUncompressed(const std::string& sop_uid, const std::string& expected_blob);

 private:
  class Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
