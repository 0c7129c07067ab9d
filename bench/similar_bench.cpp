// Similar-case search at 100 000 lesions (docs/similar-cases.md, "Benchmark"): the HNSW
// index radflow serves from (similar::VectorIndex: hnswlib, M 16, ef_construction 200)
// against exact brute-force search in the same run, on synthetic lesion feature vectors
// (similar::SyntheticLesions) z-scored as the server does. Three lesions per patient;
// each query is an indexed lesion, its own patient's lesions excluded, k = 10.
//
//   build/bench/similar_bench [--lesions 100000] [--queries 1000] [--k 10] [--json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "similar/features.h"
#include "similar/synthetic.h"
#include "similar/vector_index.h"

namespace {

using namespace radflow::similar;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(pos), hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

struct Run {
  size_t ef;
  double median_ms, p95_ms, max_ms, recall;
};

}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000, queries = 1000, k = 10;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> size_t { return i + 1 < argc ? std::strtoul(argv[++i], nullptr, 10) : 0; };
    if (a == "--lesions") n = next();
    else if (a == "--queries") queries = next();
    else if (a == "--k") k = next();
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: similar_bench [--lesions N] [--queries N] [--k N] [--json]\n");
      return 2;
    }
  }
  const size_t dim = FeatureNames().size();
  static constexpr size_t kPerPatient = 3;
  auto t0 = Clock::now();
  const auto raw = SyntheticLesions(n, 2026);
  const double generate_ms = Ms(Clock::now() - t0);

  t0 = Clock::now();
  const Standardiser z = Standardiser::Fit(raw, dim);
  std::vector<std::vector<float>> rows(n);
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) rows[i] = z.Apply(raw[i]), ids[i] = int64_t(i);
  IndexOptions options;
  options.initial_capacity = n;
  VectorIndex index(dim, options);
  for (size_t i = 0; i < n; ++i) {
    if (!index.Add(ids[i], rows[i]).ok()) return 1;
  }
  const double build_ms = Ms(Clock::now() - t0);

  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<size_t> qs(queries);
  for (auto& q : qs) q = pick(rng);
  auto keep_for = [&](size_t q) {
    const size_t patient = q / kPerPatient;
    return [patient](int64_t id) { return size_t(id) / kPerPatient != patient; };
  };

  // Exact search, the peer: the same standardised vectors, every one compared.
  std::vector<std::vector<Neighbour>> truth(queries);
  std::vector<double> exact_ms;
  for (size_t i = 0; i < queries; ++i) {
    const auto s = Clock::now();
    truth[i] = ExactSearch(rows, ids, z.Apply(raw[qs[i]]), k, keep_for(qs[i]));
    exact_ms.push_back(Ms(Clock::now() - s));
  }

  std::vector<Run> runs;
  for (size_t ef : {16, 32, 64, 128, 256}) {
    index.SetEfSearch(ef);
    std::vector<double> ms;
    size_t hits = 0;
    for (size_t i = 0; i < queries; ++i) {
      const auto s = Clock::now();
      auto found = index.Search(z.Apply(raw[qs[i]]), k, kPerPatient, keep_for(qs[i]));
      ms.push_back(Ms(Clock::now() - s));
      std::set<int64_t> t;
      for (const auto& x : truth[i]) t.insert(x.id);
      for (const auto& x : found) hits += t.count(x.id);
    }
    runs.push_back({ef, Quantile(ms, 0.5), Quantile(ms, 0.95), *std::max_element(ms.begin(), ms.end()),
                    double(hits) / double(queries * k)});
  }

  if (json) {
    std::printf("{\"lesions\": %zu, \"features\": %zu, \"queries\": %zu, \"k\": %zu, \"generate_ms\": %.1f, "
                "\"build_ms\": %.1f, \"exact\": {\"median_ms\": %.3f, \"p95_ms\": %.3f}, \"hnsw\": [",
                n, dim, queries, k, generate_ms, build_ms, Quantile(exact_ms, 0.5), Quantile(exact_ms, 0.95));
    for (size_t i = 0; i < runs.size(); ++i) {
      std::printf("%s{\"ef\": %zu, \"median_ms\": %.4f, \"p95_ms\": %.4f, \"max_ms\": %.3f, \"recall_at_k\": %.4f}",
                  i ? ", " : "", runs[i].ef, runs[i].median_ms, runs[i].p95_ms, runs[i].max_ms, runs[i].recall);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("%zu synthetic lesions, %zu features, %zu per patient; %zu queries, k = %zu (own patient excluded)\n",
              n, dim, kPerPatient, queries, k);
  std::printf("generate %.0f ms; z-scores + HNSW build (M 16, ef_construction 200): %.0f ms\n", generate_ms,
              build_ms);
  std::printf("%-26s %12s %12s %12s %10s\n", "search", "median ms", "p95 ms", "max ms", "recall@k");
  std::printf("%-26s %12.3f %12.3f %12.3f %10s\n", "exact (brute force)", Quantile(exact_ms, 0.5),
              Quantile(exact_ms, 0.95), *std::max_element(exact_ms.begin(), exact_ms.end()), "1");
  for (const auto& r : runs) {
    std::printf("HNSW ef %-18zu %12.4f %12.4f %12.3f %10.4f%s\n", r.ef, r.median_ms, r.p95_ms, r.max_ms, r.recall,
                r.ef == IndexOptions{}.ef_search ? "  (the server's)" : "");
  }
  return 0;
}
