#include "similar/vector_index.h"

#include <algorithm>
#include <cmath>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <hnswlib/hnswlib.h>
#pragma GCC diagnostic pop

namespace radflow::similar {

Standardiser Standardiser::Fit(const std::vector<std::vector<double>>& rows, size_t dim) {
  Standardiser s;
  s.mean.assign(dim, 0);
  s.sd.assign(dim, 1);
  for (size_t d = 0; d < dim; ++d) {
    double sum = 0, sum2 = 0;
    size_t n = 0;
    for (const auto& r : rows) {
      if (d >= r.size() || std::isnan(r[d])) continue;
      sum += r[d];
      ++n;
    }
    if (n == 0) continue;
    const double mean = sum / static_cast<double>(n);
    for (const auto& r : rows) {
      if (d >= r.size() || std::isnan(r[d])) continue;
      sum2 += (r[d] - mean) * (r[d] - mean);
    }
    const double sd = std::sqrt(sum2 / static_cast<double>(n));
    s.mean[d] = mean;
    s.sd[d] = sd < 1e-9 ? 1.0 : sd;
  }
  return s;
}

std::vector<float> Standardiser::Apply(const std::vector<double>& row) const {
  std::vector<float> z(mean.size(), 0.f);
  for (size_t d = 0; d < mean.size() && d < row.size(); ++d) {
    if (!std::isnan(row[d])) z[d] = static_cast<float>((row[d] - mean[d]) / sd[d]);
  }
  return z;
}

struct VectorIndex::Impl {
  IndexOptions options;
  hnswlib::L2Space space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  size_t capacity = 0;
  std::unordered_map<int64_t, bool> live;  // id → indexed (false: removed)
  size_t live_count = 0;
  mutable std::shared_mutex mu;
  mutable std::mutex search_mu;

  Impl(size_t dim, IndexOptions o) : options(o), space(dim) {
    capacity = std::max<size_t>(16, options.initial_capacity);
    graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, capacity, options.m, options.ef_construction,
                                                              options.seed);
    graph->setEf(options.ef_search);
  }
};

VectorIndex::VectorIndex(size_t dim, IndexOptions options)
    : dim_(dim), impl_(std::make_unique<Impl>(dim, options)) {}
VectorIndex::~VectorIndex() = default;

Status VectorIndex::Add(int64_t id, const std::vector<float>& v) {
  if (v.size() != dim_) {
    return Status(ErrorCode::kInvalidArgument,
                  "vector of " + std::to_string(v.size()) + " features, the index has " + std::to_string(dim_));
  }
  if (id < 0) return Status(ErrorCode::kInvalidArgument, "negative id " + std::to_string(id));
  std::unique_lock lock(impl_->mu);
  std::lock_guard search(impl_->search_mu);
  try {
    auto it = impl_->live.find(id);
    if (it == impl_->live.end() && impl_->graph->cur_element_count >= impl_->capacity) {
      impl_->capacity *= 2;
      impl_->graph->resizeIndex(impl_->capacity);
    }
    impl_->graph->addPoint(v.data(), static_cast<hnswlib::labeltype>(id));  // replaces a known id
    if (it == impl_->live.end() || !it->second) ++impl_->live_count;
    impl_->live[id] = true;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("vector index: ") + e.what());
  }
  return Status::Ok();
}

void VectorIndex::Remove(int64_t id) {
  std::unique_lock lock(impl_->mu);
  std::lock_guard search(impl_->search_mu);
  auto it = impl_->live.find(id);
  if (it == impl_->live.end() || !it->second) return;
  try {
    impl_->graph->markDelete(static_cast<hnswlib::labeltype>(id));
  } catch (const std::exception&) {
    return;
  }
  it->second = false;
  --impl_->live_count;
}

void VectorIndex::SetEfSearch(size_t ef) {
  std::unique_lock lock(impl_->mu);
  std::lock_guard search(impl_->search_mu);
  impl_->options.ef_search = ef;
  impl_->graph->setEf(ef);
}

size_t VectorIndex::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->live_count;
}

std::vector<Neighbour> VectorIndex::Search(const std::vector<float>& q, size_t k, size_t skip,
                                           const std::function<bool(int64_t)>& keep) const {
  std::vector<Neighbour> out;
  if (q.size() != dim_ || k == 0) return out;
  std::shared_lock lock(impl_->mu);
  std::lock_guard search(impl_->search_mu);
  const size_t want = std::min(impl_->live_count, k + skip);
  if (want == 0) return out;
  std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
  try {
    found = impl_->graph->searchKnn(q.data(), want);  // farthest first
  } catch (const std::exception&) {
    return out;
  }
  std::vector<Neighbour> all;
  while (!found.empty()) {
    all.push_back({static_cast<int64_t>(found.top().second), std::sqrt(static_cast<double>(found.top().first))});
    found.pop();
  }
  std::reverse(all.begin(), all.end());
  for (const auto& n : all) {
    if (keep && !keep(n.id)) continue;
    out.push_back(n);
    if (out.size() == k) break;
  }
  return out;
}

std::vector<Neighbour> ExactSearch(const std::vector<std::vector<float>>& rows, const std::vector<int64_t>& ids,
                                   const std::vector<float>& q, size_t k,
                                   const std::function<bool(int64_t)>& keep) {
  std::vector<std::pair<float, size_t>> d;
  d.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (keep && !keep(ids[i])) continue;
    float s = 0;
    for (size_t j = 0; j < q.size() && j < rows[i].size(); ++j) {
      const float x = rows[i][j] - q[j];
      s += x * x;
    }
    d.emplace_back(s, i);
  }
  const size_t n = std::min(k, d.size());
  std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n), d.end());
  std::vector<Neighbour> out;
  for (size_t i = 0; i < n; ++i) out.push_back({ids[d[i].second], std::sqrt(static_cast<double>(d[i].first))});
  return out;
}

}  // namespace radflow::similar
