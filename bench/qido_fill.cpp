// Bulk fill for the DICOMweb-at-scale benchmark (issue 15, bench/dicomweb_bench.py):
// N studies of realistic synthetic metadata straight into a data directory's index through
// storage::Index::CommitAll (one transaction per batch), so that 1M instances load in
// minutes. `radflow serve --data DIR` then serves them.
//
//   qido_fill --data DIR --studies 100000 [--per-study 10] [--batch 5000] [--tsv FILE]
//             [--pool-studies P] [--index postgresql://…] [--first-study K]
//
// No pixel data is written: each row's blob_path names bench-fill/<SOP UID>, a file that
// does not exist (the index requires unique blob paths; retrieval is not benchmarked on
// these rows; `radflow check` reports them missing). It leaves DIR/clean-shutdown.
// --tsv writes the same rows, one instance a line, for the Orthanc filler
// (dicomweb_bench.py turns them into small DICOM files), so both peers hold the same data.
//
// Deterministic: the same --studies gives the same rows (seeded generator).
// --first-study K writes studies K … K+N-1 of that sequence (with --pool-studies the total),
// so that several processes can fill one PostgreSQL database in parallel: the PostgreSQL
// fill is bound by a round trip per statement (about 3 000 instances/s from one process),
// and the index locks a batch's rows parent first, in order, so concurrent writers wait
// for each other instead of deadlocking.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dicom/tag.h"
#include "storage/index.h"
#include "storage/index_location.h"

namespace {

using radflow::storage::Index;
using radflow::storage::InstanceEntry;
namespace t = radflow::dicom::tags;

// The generator draws this many numbers per study (the loop below), whatever the study:
// --first-study skips to a study by discarding them.
constexpr unsigned long long kDrawsPerStudy = 10;

// Surnames with rough frequencies: a common one (SMITH, ~2%), names that contain it
// (SMITHSON, GOLDSMITH: what `*SMITH*` also finds), accents, hyphens and particles.
struct Weighted {
  const char* name;
  int weight;
};
const Weighted kSurnames[] = {
    {"SMITH", 20},     {"SMITHSON", 2},  {"GOLDSMITH", 2}, {"JOHNSON", 15},  {"WILLIAMS", 14},
    {"BROWN", 12},     {"JONES", 12},    {"GARCIA", 10},   {"MILLER", 10},   {"DAVIS", 9},
    {"RODRIGUEZ", 9},  {"MARTINEZ", 8},  {"HERNANDEZ", 8}, {"LOPEZ", 7},     {"GONZALEZ", 7},
    {"WILSON", 7},     {"ANDERSON", 7},  {"THOMAS", 6},    {"TAYLOR", 6},    {"MOORE", 6},
    {"JACKSON", 6},    {"MARTIN", 6},    {"LEE", 6},       {"PEREZ", 5},     {"THOMPSON", 5},
    {"WHITE", 5},      {"HARRIS", 5},    {"CLARK", 5},     {"LEWIS", 5},     {"ROBINSON", 5},
    {"Müller", 6},     {"Schmidt", 5},   {"Schröder", 3},  {"Weiß", 3},      {"Bäcker", 2},
    {"Dupont", 4},     {"Lefèvre", 3},   {"Bérubé", 2},    {"Nuñez", 3},     {"Peña", 3},
    {"Øster", 2},      {"Åberg", 2},     {"Ólafsson", 2},  {"Dvořák", 2},    {"Łukasiewicz", 2},
    {"van der Berg", 3}, {"de la Cruz", 3}, {"O'Brien", 3}, {"Smith-Jones", 2}, {"MacDonald", 3},
    {"NGUYEN", 6},     {"KIM", 5},       {"PARK", 4},      {"WANG", 5},      {"LI", 5},
    {"Yamada", 2},     {"Tanaka", 2},    {"Suzuki", 2},    {"Papadopoulos", 2}, {"Kowalski", 3},
};
const char* kGiven[] = {"JOHN",   "MARY",   "JAMES", "PATRICIA", "ROBERT", "JENNIFER", "MICHAEL",
                        "LINDA",  "DAVID",  "ELIZABETH", "José", "María", "Jürgen", "Zoë",
                        "François", "Hélène", "Søren", "Ana", "Chloé", "Ivan", "Fatima", "Wei",
                        "Hiroshi", "Aoife", "Noël", "Björn", "Iñigo", "Małgorzata"};
const char* kMiddle[] = {"A", "B", "C", "J", "M", "Q", "Anne", "Lee", "Marie"};
const char* kPrefix[] = {"Mr", "Mrs", "Ms", "Dr"};

struct ModalityInfo {
  const char* modality;
  int weight;
  const char* descriptions[3];
  const char* body_parts[3];
};
const ModalityInfo kModalities[] = {
    {"CT", 25, {"CT HEAD W/O CONTRAST", "CT CHEST ABDOMEN PELVIS", "CTA CHEST"}, {"HEAD", "CHEST", "ABDOMEN"}},
    {"MR", 18, {"MRI BRAIN W/WO", "MR KNEE LEFT", "MR LUMBAR SPINE"}, {"BRAIN", "KNEE", "LSPINE"}},
    {"CR", 15, {"XR CHEST 2 VIEWS", "XR HAND RIGHT", "XR PELVIS"}, {"CHEST", "HAND", "PELVIS"}},
    {"DX", 12, {"DX CHEST PA", "DX FOOT LEFT", "DX SPINE"}, {"CHEST", "FOOT", "SPINE"}},
    {"US", 12, {"US ABDOMEN COMPLETE", "US THYROID", "US OB"}, {"ABDOMEN", "NECK", "PELVIS"}},
    {"MG", 8, {"MAMMO SCREENING BILATERAL", "MAMMO DIAGNOSTIC", "TOMOSYNTHESIS"}, {"BREAST", "BREAST", "BREAST"}},
    {"PT", 5, {"PET/CT WHOLE BODY", "PET FDG ONCO", "PET BRAIN"}, {"WHOLEBODY", "WHOLEBODY", "BRAIN"}},
    {"NM", 5, {"NM BONE SCAN", "NM THYROID", "NM CARDIAC"}, {"WHOLEBODY", "NECK", "HEART"}},
};

template <typename T, size_t N>
const T& PickWeighted(const T (&items)[N], std::mt19937_64& rng) {
  int total = 0;
  for (const auto& i : items) total += i.weight;
  int r = static_cast<int>(rng() % static_cast<uint64_t>(total));
  for (const auto& i : items) {
    if (r < i.weight) return i;
    r -= i.weight;
  }
  return items[0];
}
template <typename T, size_t N>
const T& Pick(const T (&items)[N], std::mt19937_64& rng) {
  return items[rng() % N];
}

std::string Digits(uint64_t v, int width) {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < width) s = "0" + s;
  return s;
}

// Days since 1970-01-01 → YYYYMMDD (civil-from-days, proleptic Gregorian).
std::string DateOf(int64_t days) {
  days += 719468;
  const int64_t era = days / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return Digits(y, 4) + Digits(m, 2) + Digits(d, 2);
}

struct Patient {
  std::string id, name, birth, sex;
};

// A patient's attributes from its number alone: every study of a patient agrees.
Patient MakePatient(uint64_t n) {
  std::mt19937_64 rng(n * 0x9E3779B97F4A7C15ull + 15);
  Patient p;
  p.id = "PID" + Digits(n, 7);
  const std::string surname = PickWeighted(kSurnames, rng).name;
  std::string name = surname + "^" + Pick(kGiven, rng);
  const uint64_t shape = rng() % 10;
  if (shape < 3) name += std::string("^") + Pick(kMiddle, rng);  // family^given^middle
  if (shape == 3) name += std::string("^^") + Pick(kPrefix, rng);  // with a prefix
  if (shape == 4 && (surname == "Yamada" || surname == "Tanaka" || surname == "Suzuki")) {
    name += "=山田^太郎";  // an ideographic group (PS3.5 6.2.1)
  }
  p.name = name;
  p.birth = DateOf(-20000 + static_cast<int64_t>(rng() % 30000));  // 1915 … 1997
  p.sex = rng() % 2 ? "F" : "M";
  return p;
}

int Usage() {
  std::fprintf(stderr,
               "usage: qido_fill --data DIR --studies N [--per-study 10] [--batch 5000]"
               " [--tsv FILE] [--pool-studies P] [--index URI] [--first-study K]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, tsv_path, index_location;
  long studies = 0, per_study = 10, batch_size = 5000, pool = 0, first = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const char* v = argv[++i];
    if (a == "--data") data = v;
    else if (a == "--studies") studies = std::atol(v);
    else if (a == "--per-study") per_study = std::atol(v);
    else if (a == "--batch") batch_size = std::atol(v);
    else if (a == "--tsv") tsv_path = v;
    else if (a == "--pool-studies") pool = std::atol(v);
    else if (a == "--index") index_location = v;  // postgresql://… (default DIR/index.db)
    else if (a == "--first-study") first = std::atol(v);
    else return Usage();
  }
  if (data.empty() || studies <= 0 || per_study <= 0 || batch_size <= 0 || first < 0) return Usage();
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    std::fprintf(stderr, "qido_fill: cannot create %s: %s\n", data.c_str(), ec.message().c_str());
    return 1;
  }
  auto index = Index::Open(radflow::storage::IndexLocation(data, index_location));
  if (!index.ok()) {
    std::fprintf(stderr, "qido_fill: %s\n", index.status().message().c_str());
    return 1;
  }
  std::ofstream tsv;
  if (!tsv_path.empty()) tsv.open(tsv_path);

  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(1015);
  // 2.5 studies per patient on average, over --pool-studies (default --studies): the first
  // K studies of a fill with a given pool are the same whatever --studies is.
  if (pool <= 0) pool = first + studies;
  rng.discard(static_cast<unsigned long long>(first) * kDrawsPerStudy);
  const uint64_t patients = std::max<uint64_t>(1, static_cast<uint64_t>(pool) * 2 / 5);
  const int64_t first_day = 12784;  // 2005-01-01
  const int64_t span_days = 7670;   // … 2025-12-31
  const std::string root = "1.2.826.0.1.3680043.10.1015";
  std::vector<InstanceEntry> batch;
  long instances = 0;
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    auto results = index.value()->CommitAll(batch, false);
    for (const auto& r : results) {
      if (!r.ok()) {
        std::fprintf(stderr, "qido_fill: %s\n", r.status().message().c_str());
        return false;
      }
    }
    batch.clear();
    return true;
  };
  for (long s = first; s < first + studies; ++s) {
    const Patient p = MakePatient(rng() % patients);
    const ModalityInfo& m = PickWeighted(kModalities, rng);
    const int variant = static_cast<int>(rng() % 3);
    const std::string study_uid = root + ".1." + std::to_string(s + 1);
    const std::string date = DateOf(first_day + static_cast<int64_t>(rng() % span_days));
    const std::string time = Digits(7 + rng() % 12, 2) + Digits(rng() % 60, 2) + Digits(rng() % 60, 2);
    const std::string accession = "A" + Digits(static_cast<uint64_t>(s) + 1, 9);
    const std::string referring = std::string(Pick(kSurnames, rng).name) + "^" + Pick(kGiven, rng);
    // 1 to 3 series sharing the study's instances; PET studies get a CT series too.
    const int series_count = static_cast<int>(1 + rng() % 3);
    for (long k = 0; k < per_study; ++k) {
      const int series = static_cast<int>(k % series_count);
      const std::string modality = (std::strcmp(m.modality, "PT") == 0 && series == 1) ? "CT" : m.modality;
      InstanceEntry e;
      auto& in = e.instance;
      in.study_instance_uid = study_uid;
      in.series_instance_uid = root + ".2." + std::to_string(s + 1) + "." + std::to_string(series + 1);
      in.sop_instance_uid = root + ".3." + std::to_string(s + 1) + "." + std::to_string(k + 1);
      in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
      in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
      auto& a = in.attributes;
      a.Set(t::kPatientID, p.id);
      a.Set(t::kPatientName, p.name);
      a.Set(t::kPatientBirthDate, p.birth);
      a.Set(t::kPatientSex, p.sex);
      a.Set(t::kStudyDate, date);
      a.Set(t::kStudyTime, time);
      a.Set(t::kAccessionNumber, accession);
      a.Set(t::kStudyID, std::to_string(s + 1));
      a.Set(t::kStudyDescription, m.descriptions[variant]);
      a.Set(t::kReferringPhysicianName, referring);
      a.Set(t::kModality, modality);
      a.Set(t::kSeriesNumber, std::to_string(series + 1));
      a.Set(t::kSeriesDescription, std::string(m.descriptions[variant]) + " " + std::to_string(series + 1));
      a.Set(t::kBodyPartExamined, m.body_parts[variant]);
      a.Set(t::kSeriesDate, date);
      a.Set(t::kSeriesTime, time);
      a.Set(t::kManufacturer, "BENCH");
      a.Set(t::kInstanceNumber, std::to_string(k / series_count + 1));
      a.Set(t::kRows, "512");
      a.Set(t::kColumns, "512");
      e.blob_path = "bench-fill/" + in.sop_instance_uid;
      e.blob_size = 0;
      if (tsv.is_open()) {
        tsv << p.id << '\t' << p.name << '\t' << p.birth << '\t' << p.sex << '\t' << study_uid << '\t'
            << date << '\t' << time << '\t' << accession << '\t' << m.descriptions[variant] << '\t'
            << referring << '\t' << in.series_instance_uid << '\t' << modality << '\t' << (series + 1)
            << '\t' << in.sop_instance_uid << '\t' << a.Get(t::kInstanceNumber) << '\n';
      }
      batch.push_back(std::move(e));
      ++instances;
      if (static_cast<long>(batch.size()) >= batch_size && !flush()) return 1;
    }
  }
  if (!flush()) return 1;
  // Every row is committed: a clean stop as `radflow serve` leaves one. Without the marker,
  // serve's start-up recovery would take the newest rows (their blobs are absent) for
  // interrupted stores and delete them.
  { std::ofstream marker(data + "/clean-shutdown"); }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"studies\": %ld, \"instances\": %ld, \"patients_max\": %llu, \"seconds\": %.1f,"
              " \"instances_per_s\": %.0f}\n",
              studies, instances, static_cast<unsigned long long>(patients), secs, instances / secs);
  return 0;
}
