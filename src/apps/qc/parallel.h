// Slices shared among worker threads (internal to the qc apps).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace radflow::apps::qc {

// Calls fn(k) for k in [0, n) on up to `threads` threads (dynamic: next index on demand),
// and fn must be safe to run concurrently for distinct k.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn&& fn) {
  const size_t workers = std::min<size_t>(std::max(threads, 1), std::max<size_t>(n, 1));
  if (workers <= 1) {
    for (size_t k = 0; k < n; ++k) fn(k);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next++; k < n; k = next++) fn(k);
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// Pixels of a window half-width `mm` at spacing `spacing_mm` (at least 1).
inline int HalfWindowPixels(double mm, double spacing_mm) {
  return std::max(1, static_cast<int>(mm / spacing_mm + 0.5));
}

}  // namespace radflow::apps::qc
