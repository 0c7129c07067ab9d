// Similar cases at reading time (docs/similar-cases.md): for a lesion finding, the most
// similar indexed lesions of other patients, with their studies' signed reports.
//
//   finding rows (ai_findings) ─> lesion? (similar/features.h IsLesion)
//     ─> feature vector: cached (similar_features, 008_similar.sql), else computed from the
//        finding's SEG segment on its CT series (IBSI), else from its measurements
//     ─> one partition per app id (a nodule is compared with nodules, a bleed with bleeds):
//        z-scores fitted on the partition, an HNSW index (similar/vector_index.h)
//   Query ─> k nearest, the query patient's own lesions excluded, + the signed reports.
//
// The index lives in memory and is rebuilt from the cache at start; new findings are added
// by a background thread woken by job changes (OnJobChanged) and every poll interval; a
// query for a finding not yet indexed indexes it first. A partition's z-scores are refitted
// (its index rebuilt off-line and swapped in) whenever it has doubled since the last fit.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "similar/vector_index.h"
#include "storage/ai_admin_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
}  // namespace radflow::storage

namespace radflow::similar {

struct SimilarOptions {
  IndexOptions index;
  size_t batch = 200;   // findings read per step of the indexer
  double poll_s = 30;   // the indexer also looks for new findings this often
};

struct SimilarCase {
  storage::LesionFinding finding;
  double distance = 0;  // Euclidean distance of the z-scored vectors
  std::optional<storage::SignedReportRow> report;
};

struct SimilarAnswer {
  storage::LesionFinding finding;
  std::string source;          // the query's features: ibsi | measurements
  std::vector<double> values;  // its raw feature values (FeatureNames order; NaN: missing)
  size_t indexed = 0;          // lesions in its partition
  std::vector<SimilarCase> similar;
};

class SimilarCases {
 public:
  SimilarCases(storage::AiAdminStore& store, storage::Index& index, storage::BlobStore& blobs,
               SimilarOptions options = {});
  ~SimilarCases();  // Stop()

  void Start();  // the indexer thread: a first Sync, then on job changes and every poll_s
  void Stop();
  // Called by the job store's listener: only wakes the indexer.
  void OnJobChanged(int64_t job_id);

  // Indexes every finding not indexed yet (blocking); a finding row deleted since (a job's
  // findings replaced) makes it start over from the cache.
  Status Sync();

  // NotFound for an unknown finding; InvalidArgument when it is not a lesion. k in 1..100.
  Result<SimilarAnswer> Query(int64_t finding_id, size_t k);

  size_t size() const;  // lesions indexed, all partitions

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace radflow::similar
