// Similar-case search at 100 000 lesions (docs/similar-cases.md, "Benchmark"): the HNSW
// index radflow serves from (similar::VectorIndex: hnswlib, M 16, ef_construction 200)
// against exact brute-force search in the same run, on synthetic lesion feature vectors
// (similar::SyntheticLesions) z-scored as the server does. Three lesions per patient;
// each query is an indexed lesion, its own patient's lesions excluded, k = 10.
//
//   build/bench/similar_bench [--lesions 100000] [--queries 1000] [--k 10] [--json] [--service]
//
// --service also measures the server's whole query path (similar::SimilarCases::Query:
// the finding's row, the search, each similar case's row and signed report) on an
// index.db holding the same lesions as findings with cached feature vectors, and the time
// the server takes to load them into its index at start.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "similar/features.h"
#include "similar/similar_cases.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"
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

// The lesions as ct-lung-lesions findings (id = lesion index + 1) of patients P<i/3> (one
// study each, with a signed report) with their feature vectors cached, in one transaction.
bool FillDatabase(const std::string& path, const std::vector<std::vector<double>>& raw, size_t per_patient) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  auto exec = [&](const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; };
  bool ok = exec("BEGIN");
  sqlite3_stmt *pat, *study, *finding, *feat, *report;
  sqlite3_prepare_v2(db, "INSERT INTO patients (id, patient_id) VALUES (?, ?)", -1, &pat, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO studies (id, patient_fk, study_uid, study_date) VALUES (?, ?, ?, '20240101')",
                     -1, &study, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO ai_findings (id, job_fk, app_id, study_uid, series_uid, type_code, label, size_mm,"
                     " volume_ml, details_json, created_at) VALUES (?, 1, 'ct-lung-lesions', ?, ?, '27925004^SCT',"
                     " 'nodule', ?, ?, '{\"segmentation\":{\"sop_uid\":\"1.2.3\",\"segment_number\":1}}', 1)",
                     -1, &finding, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO similar_features (finding_id, feature_set, source, values_text, computed_at)"
                         " VALUES (?, ?, 'ibsi', ?, 1)", -1, &feat, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO reports (study_uid, status, impression_text, signed_at, created_at, updated_at)"
                         " VALUES (?, 'final', 'Solid nodule.', 1, 1, 1)", -1, &report, nullptr);
  auto step = [&](sqlite3_stmt* st) {
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
  };
  for (size_t i = 0; i < raw.size() && ok; ++i) {
    const int64_t patient = int64_t(i / per_patient) + 1;
    const std::string uid = "2.25." + std::to_string(patient);
    if (i % per_patient == 0) {
      sqlite3_bind_int64(pat, 1, patient);
      std::string pid = "P";
      pid += std::to_string(patient);
      sqlite3_bind_text(pat, 2, pid.c_str(), -1, SQLITE_TRANSIENT);
      step(pat);
      sqlite3_bind_int64(study, 1, patient);
      sqlite3_bind_int64(study, 2, patient);
      sqlite3_bind_text(study, 3, uid.c_str(), -1, SQLITE_TRANSIENT);
      step(study);
      sqlite3_bind_text(report, 1, uid.c_str(), -1, SQLITE_TRANSIENT);
      step(report);
    }
    sqlite3_bind_int64(finding, 1, int64_t(i) + 1);
    sqlite3_bind_text(finding, 2, uid.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(finding, 3, (uid + ".1").c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(finding, 4, std::exp(raw[i][1]) * std::sqrt(5.0) / 2);
    sqlite3_bind_double(finding, 5, std::exp(raw[i][0]));
    step(finding);
    std::string values;
    char buf[32];
    for (size_t d = 0; d < raw[i].size(); ++d) {
      std::snprintf(buf, sizeof buf, "%s%.17g", d ? "," : "", raw[i][d]);
      values += buf;
    }
    sqlite3_bind_int64(feat, 1, int64_t(i) + 1);
    sqlite3_bind_text(feat, 2, kFeatureSet, -1, SQLITE_STATIC);
    sqlite3_bind_text(feat, 3, values.c_str(), -1, SQLITE_TRANSIENT);
    step(feat);
  }
  for (auto* st : {pat, study, finding, feat, report}) sqlite3_finalize(st);
  ok = ok && exec("COMMIT");
  sqlite3_close(db);
  return ok;
}

struct Run {
  size_t ef;
  double median_ms, p95_ms, max_ms, recall;
};

}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000, queries = 1000, k = 10;
  bool json = false, service = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> size_t { return i + 1 < argc ? std::strtoul(argv[++i], nullptr, 10) : 0; };
    if (a == "--lesions") n = next();
    else if (a == "--queries") queries = next();
    else if (a == "--k") k = next();
    else if (a == "--json") json = true;
    else if (a == "--service") service = true;
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

  // The server's query path on an index.db of the same lesions.
  double load_ms = 0, svc_median = 0, svc_p95 = 0;
  size_t svc_first_same = 0;
  if (service) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("radflow_similar_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string path = (dir / "index.db").string();
    {
      auto idx = radflow::storage::Index::Open(path);
      if (!idx.ok() || !FillDatabase(path, raw, kPerPatient)) {
        std::fprintf(stderr, "cannot fill %s\n", path.c_str());
        return 1;
      }
    }
    auto idx = radflow::storage::Index::Open(path);
    auto blobs = radflow::storage::BlobStore::Open((dir / "blobs").string());
    auto store = radflow::storage::AiAdminStore::Open(path);
    if (!idx.ok() || !blobs.ok() || !store.ok()) return 1;
    SimilarCases similar(**store, **idx, *blobs);
    t0 = Clock::now();
    if (!similar.Sync().ok()) return 1;
    load_ms = Ms(Clock::now() - t0);
    std::vector<double> ms;
    for (size_t i = 0; i < queries; ++i) {
      const auto s = Clock::now();
      auto answer = similar.Query(int64_t(qs[i]) + 1, k);
      ms.push_back(Ms(Clock::now() - s));
      if (!answer.ok() || answer->similar.size() != k) return 1;
      // The same first case as the exact search (ids are lesion index + 1).
      svc_first_same += answer->similar[0].finding.finding.id == truth[i][0].id + 1;
    }
    svc_median = Quantile(ms, 0.5);
    svc_p95 = Quantile(ms, 0.95);
    fs::remove_all(dir);
  }

  if (json) {
    std::printf("{\"lesions\": %zu, \"features\": %zu, \"queries\": %zu, \"k\": %zu, \"generate_ms\": %.1f, "
                "\"build_ms\": %.1f, \"exact\": {\"median_ms\": %.3f, \"p95_ms\": %.3f}, \"hnsw\": [",
                n, dim, queries, k, generate_ms, build_ms, Quantile(exact_ms, 0.5), Quantile(exact_ms, 0.95));
    for (size_t i = 0; i < runs.size(); ++i) {
      std::printf("%s{\"ef\": %zu, \"median_ms\": %.4f, \"p95_ms\": %.4f, \"max_ms\": %.3f, \"recall_at_k\": %.4f}",
                  i ? ", " : "", runs[i].ef, runs[i].median_ms, runs[i].p95_ms, runs[i].max_ms, runs[i].recall);
    }
    std::printf("]");
    if (service) {
      std::printf(", \"service\": {\"load_ms\": %.1f, \"median_ms\": %.3f, \"p95_ms\": %.3f, "
                  "\"first_as_exact\": %.4f}", load_ms, svc_median, svc_p95, double(svc_first_same) / double(queries));
    }
    std::printf("}\n");
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
  if (service) {
    std::printf("server path (SimilarCases::Query: rows, search, 10 cases + reports from index.db): median %.3f ms,"
                " p95 %.3f ms; first case as exact search's: %.4f; loading %zu cached vectors at start: %.0f ms\n",
                svc_median, svc_p95, double(svc_first_same) / double(queries), n, load_ms);
  }
  return 0;
}
