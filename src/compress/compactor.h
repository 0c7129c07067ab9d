// The background compactor (compression at rest, issue 15; docs/compression.md): re-encodes
// the stored instances of configured modalities losslessly, after they were acknowledged.
//
// The ingest path is untouched: an instance is acknowledged once what arrived is durable and
// indexed. Later, per instance: encode into a temporary file (CompressLossless proves it
// lossless), fsync, rename into the blob store, point the index row at it in one
// transaction (keeping the arrival syntax), and only then remove the old blob. A crash
// anywhere leaves the row pointing at a complete blob; at worst an unreferenced blob
// remains, which `radflow check` reports (and --repair re-ingests as a duplicate).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "compress/lossless.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/leader.h"

namespace radflow::compress {

struct CompactorOptions {
  std::map<std::string, Codec> modalities;  // modality → codec; empty: the compactor is off
  double idle_seconds = 2;                  // pause when nothing is left to compress
  size_t batch = 32;                        // rows taken from the index per pass
  // Old blobs are removed this long after the index points at the new one, so that a
  // retrieval that located the old blob just before can still read it.
  double old_blob_grace_seconds = 5;
  // Several nodes on one index (issue 15): only the holder of this lock compacts; the
  // others look again every idle_seconds (null: this node alone, always compacts).
  storage::LeaderLock* leader = nullptr;
};

struct CompactorStats {
  int64_t compressed = 0;
  int64_t left_uncompressed = 0;  // looked at, not encodable (log says why)
  int64_t failed = 0;             // errors (I/O, index); retried at the next start
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
};

class Compactor {
 public:
  Compactor(storage::Index& index, storage::BlobStore& blobs, CompactorOptions options);
  ~Compactor();
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // Starts the background thread (nothing when no modality is configured).
  void Start();
  // Ends the thread after the instance in hand; old blobs still waiting are removed.
  void Stop();

  // One pass over up to options.batch rows, on the caller's thread; returns how many rows
  // it looked at (tests and the thread's loop).
  Result<int> RunOnce();
  // Removes the old blobs whose grace period has passed (all of them with `all`).
  void RemoveOldBlobs(bool all);

  CompactorStats stats() const;

 private:
  void Loop();
  Status CompactOne(const storage::InstanceLocation& loc, Codec codec);

  storage::Index& index_;
  storage::BlobStore& blobs_;
  CompactorOptions options_;
  std::map<Codec, std::vector<std::string>> by_codec_;  // the modalities of each codec

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  bool leading_ = false;  // the loop's: whether it held options_.leader last time
  CompactorStats stats_;
  std::set<std::string> failed_;  // SOP UIDs that failed this run: not retried until restart
  std::deque<std::pair<int64_t, std::string>> old_blobs_;  // (removable after, unix ms; path)
};

}  // namespace radflow::compress
