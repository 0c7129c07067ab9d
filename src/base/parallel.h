// Loops shared among a few threads (the apps' per-slice work). Header-only: the bodies are
// lambdas, inlined at each call.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace radflow {

// fn(begin, end) over contiguous parts of [0, n), one part per thread (the calling thread
// takes the first). fn must be safe to run concurrently on disjoint ranges.
template <typename Fn>
void ParallelRanges(size_t n, int threads, Fn&& fn) {
  const size_t parts = std::max<size_t>(1, std::min<size_t>(size_t(std::max(threads, 1)), n));
  if (parts <= 1) {
    if (n > 0) fn(size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  for (size_t p = 1; p < parts; ++p) {
    pool.emplace_back([&, p] { fn(n * p / parts, n * (p + 1) / parts); });
  }
  fn(size_t{0}, n / parts);
  for (auto& t : pool) t.join();
}

// fn(k) for k in [0, n) on up to `threads` threads, the next index handed out on demand
// (for uneven work per index). fn must be safe to run concurrently for distinct k.
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

}  // namespace radflow
