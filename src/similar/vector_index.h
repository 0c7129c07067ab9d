// Nearest-neighbour search over standardised feature vectors: an HNSW graph (hnswlib,
// Malkov & Yashunin, IEEE TPAMI 2020; Debian libhnswlib-dev, kept inside the .cpp) with
// the L2 metric, and the exact brute-force search it is measured against.
//
// Thread-safety: VectorIndex is safe to share; Add/Remove take an exclusive lock, Search a
// lock of its own (hnswlib counts metrics in mutable members), so searches run one at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"

namespace radflow::similar {

// z-scores: z = (x − mean) / sd per feature, fitted on the vectors indexed (population SD;
// an SD below 1e-9 counts as 1, so a constant feature adds nothing). A NaN (a feature the
// lesion lacks) is left out of the fit and becomes z = 0, the mean.
struct Standardiser {
  std::vector<double> mean, sd;
  static Standardiser Fit(const std::vector<std::vector<double>>& rows, size_t dim);
  std::vector<float> Apply(const std::vector<double>& row) const;
};

struct Neighbour {
  int64_t id = 0;
  double distance = 0;  // Euclidean, in standardised units
};

struct IndexOptions {
  size_t m = 16;                 // HNSW M: links per node (2·M on the base layer)
  size_t ef_construction = 200;  // candidate list while inserting
  size_t ef_search = 64;         // candidate list while searching (at least k)
  size_t initial_capacity = 1024;  // grows by doubling
  size_t seed = 100;
};

class VectorIndex {
 public:
  VectorIndex(size_t dim, IndexOptions options = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Adds (or replaces) the vector of `id` (>= 0). InvalidArgument for a wrong dimension.
  Status Add(int64_t id, const std::vector<float>& v);
  void Remove(int64_t id);  // no-op for an unknown id
  size_t size() const;      // vectors indexed (removed ones not counted)
  void SetEfSearch(size_t ef);  // the search list length from now on (benchmarks)
  size_t dim() const { return dim_; }

  // The k nearest for which keep(id) is true, nearest first. HNSW is approximate: the graph
  // is searched for k + `skip` candidates (skip: how many keep() may reject — the caller
  // knows, e.g. the query patient's own lesions) with a list of max(ef_search, that).
  std::vector<Neighbour> Search(const std::vector<float>& q, size_t k, size_t skip,
                                const std::function<bool(int64_t)>& keep) const;

 private:
  struct Impl;
  size_t dim_;
  std::unique_ptr<Impl> impl_;
};

// Exact k nearest of `q` among rows (ids[i] is the id of rows[i]), brute force.
std::vector<Neighbour> ExactSearch(const std::vector<std::vector<float>>& rows, const std::vector<int64_t>& ids,
                                   const std::vector<float>& q, size_t k,
                                   const std::function<bool(int64_t)>& keep);

}  // namespace radflow::similar
