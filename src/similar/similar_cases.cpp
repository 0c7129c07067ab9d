#include "similar/similar_cases.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "base/log.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"
#include "query/matching.h"
#include "similar/features.h"
#include "storage/blob_store.h"
#include "storage/index.h"

namespace radflow::similar {

namespace {

struct Item {
  std::string patient_key;
  std::vector<double> raw;
};

struct Partition {
  std::unordered_map<int64_t, Item> items;
  std::unordered_map<std::string, size_t> per_patient;
  Standardiser z;
  size_t fitted_at = 0;  // items when z was fitted
  std::shared_ptr<VectorIndex> index;
};

// Lesions without a patient ID are kept apart by their study.
std::string PatientKey(const storage::LesionFinding& f) {
  return f.patient_id.empty() ? "study:" + f.finding.study_uid : "patient:" + f.patient_id;
}

// The CT series last loaded, reused by the findings of one series.
struct SeriesCache {
  std::string series_uid;
  imaging::ImageVolume volume;
};

}  // namespace

struct SimilarCases::Impl {
  storage::AiAdminStore& store;
  storage::Index& index;
  storage::BlobStore& blobs;
  SimilarOptions options;
  const size_t dim = FeatureNames().size();

  mutable std::shared_mutex mu;  // partitions, item lookups
  std::map<std::string, Partition> partitions;  // app id → lesions
  std::unordered_map<int64_t, std::string> partition_of;  // finding id → app id

  std::mutex sync_mu;  // one writer at a time (the indexer, a query indexing its finding)
  int64_t max_seen = 0;    // findings read up to this id
  int64_t seen_rows = 0;   // rows read with id <= max_seen (lesions or not)

  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool wake = false, stopping = false, started = false;
  std::thread thread;

  Impl(storage::AiAdminStore& s, storage::Index& i, storage::BlobStore& b, SimilarOptions o)
      : store(s), index(i), blobs(b), options(o) {}

  // ---- features ----

  Result<std::vector<double>> Ibsi(const storage::LesionFinding& f, const LesionFacts& facts, SeriesCache& cache) {
    auto seg = index.FindInstance(facts.seg_sop_uid);
    if (!seg.ok()) return seg.status();
    if (!seg->has_value()) return Status(ErrorCode::kNotFound, "SEG " + facts.seg_sop_uid + " is not stored");
    if (cache.series_uid != f.finding.series_uid) {
      cache.series_uid.clear();
      auto located = query::LocateSeries(index, f.finding.series_uid);
      if (!located.ok()) return located.status();
      std::vector<std::string> files;
      for (const auto& l : located.value()) {
        auto path = blobs.LocalPath(l.blob_path);
        if (!path.ok()) return path.status();
        files.push_back(path.value());
      }
      auto loaded = imaging::LoadSeries(files);
      if (!loaded.ok()) return loaded.status();
      cache.volume = std::move(loaded->volume);
      cache.series_uid = f.finding.series_uid;
    }
    auto seg_path = blobs.LocalPath((*seg)->blob_path);
    if (!seg_path.ok()) return seg_path.status();
    auto mask = imaging::ReadSegment(seg_path.value(), std::to_string(facts.segment_number),
                                     cache.volume.geometry());
    if (!mask.ok()) return mask.status();
    return FeaturesFromMask(cache.volume, mask.value(), facts);
  }

  // The finding's cached vector, else computed (and cached).
  Result<storage::FeatureRow> Vector(const storage::LesionFinding& f, const LesionFacts& facts, SeriesCache& cache,
                                     const std::optional<storage::FeatureRow>& cached) {
    if (cached && cached->values.size() == dim) return *cached;
    storage::FeatureRow row;
    row.finding_id = f.finding.id;
    row.feature_set = kFeatureSet;
    const auto t0 = std::chrono::steady_clock::now();
    auto ibsi = Ibsi(f, facts, cache);
    if (ibsi.ok()) {
      row.source = "ibsi";
      row.values = std::move(ibsi.value());
    } else {
      row.source = "measurements";
      row.values = FeaturesFromMeasurements(facts);
      row.error = ibsi.status().ToString();
      log::Warn("similar: finding " + std::to_string(f.finding.id) + ": IBSI features not computed (" + row.error +
                "); using its measurements");
    }
    log::Debug("similar: features of finding " + std::to_string(f.finding.id) + " in " +
               std::to_string(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()) +
               " ms");
    Status saved = store.SaveFeatures(row);
    if (!saved.ok()) return saved;
    return row;
  }

  // ---- partitions (called with sync_mu held) ----

  std::shared_ptr<VectorIndex> BuildIndex(const std::vector<std::pair<int64_t, std::vector<double>>>& rows,
                                          Standardiser* z) {
    std::vector<std::vector<double>> raw;
    raw.reserve(rows.size());
    for (const auto& r : rows) raw.push_back(r.second);
    *z = Standardiser::Fit(raw, dim);
    IndexOptions o = options.index;
    o.initial_capacity = std::max(o.initial_capacity, rows.size() * 2);
    auto built = std::make_shared<VectorIndex>(dim, o);
    for (const auto& r : rows) {
      Status s = built->Add(r.first, z->Apply(r.second));
      if (!s.ok()) log::Warn("similar: " + s.ToString());
    }
    return built;
  }

  // Re-fits a partition and swaps in its new index (queries go on with the old one meanwhile).
  void Rebuild(const std::string& app_id) {
    std::vector<std::pair<int64_t, std::vector<double>>> rows;
    {
      std::shared_lock lock(mu);
      for (const auto& [id, item] : partitions.at(app_id).items) rows.emplace_back(id, item.raw);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Standardiser z;
    auto built = BuildIndex(rows, &z);
    std::unique_lock lock(mu);
    Partition& p = partitions[app_id];
    p.z = std::move(z);
    p.index = std::move(built);
    p.fitted_at = rows.size();
  }

  void Add(const storage::LesionFinding& f, const storage::FeatureRow& row) {
    const std::string& app = f.finding.app_id;
    bool rebuild = false;
    {
      std::unique_lock lock(mu);
      Partition& p = partitions[app];
      const std::string key = PatientKey(f);
      auto it = p.items.find(f.finding.id);
      if (it == p.items.end()) {
        ++p.per_patient[key];
      }
      p.items[f.finding.id] = Item{key, row.values};
      partition_of[f.finding.id] = app;
      if (!p.index || p.items.size() >= 2 * std::max<size_t>(1, p.fitted_at)) {
        rebuild = true;
      } else {
        Status s = p.index->Add(f.finding.id, p.z.Apply(row.values));
        if (!s.ok()) log::Warn("similar: " + s.ToString());
      }
    }
    if (rebuild) Rebuild(app);
  }

  void Clear() {
    std::unique_lock lock(mu);
    partitions.clear();
    partition_of.clear();
    max_seen = 0;
    seen_rows = 0;
  }

  bool Indexed(int64_t id) const {
    std::shared_lock lock(mu);
    return partition_of.count(id) != 0;
  }

  // Called with sync_mu held.
  Status SyncLocked() {
    auto count = store.CountFindingsUpTo(max_seen);
    if (!count.ok()) return count.status();
    if (count.value() != seen_rows) {
      log::Info("similar: findings were replaced; rebuilding the index from the feature cache");
      Clear();
    }
    SeriesCache cache;
    bool loaded_partitions = false;
    for (;;) {
      auto rows = store.FindingsAfter(max_seen, static_cast<int>(options.batch));
      if (!rows.ok()) return rows.status();
      if (rows->empty()) break;
      std::vector<std::pair<storage::LesionFinding, LesionFacts>> lesions;
      for (auto& r : rows.value()) {
        LesionFacts facts = ParseLesionFacts(r.finding.volume_ml, r.finding.size_mm, r.finding.details_json);
        if (IsLesion(facts) && !Indexed(r.finding.id)) lesions.emplace_back(std::move(r), facts);
      }
      const int64_t last = rows->back().finding.id;
      const int64_t n = static_cast<int64_t>(rows->size());
      std::vector<int64_t> ids;
      for (const auto& l : lesions) ids.push_back(l.first.finding.id);
      auto cached = store.Features(ids, kFeatureSet);
      if (!cached.ok()) return cached.status();
      std::unordered_map<int64_t, storage::FeatureRow> by_id;
      for (auto& c : cached.value()) by_id[c.finding_id] = std::move(c);
      // Findings of one series one after the other: its CT is loaded once.
      std::stable_sort(lesions.begin(), lesions.end(), [](const auto& a, const auto& b) {
        return a.first.finding.series_uid < b.first.finding.series_uid;
      });
      for (const auto& [f, facts] : lesions) {
        {
          std::lock_guard lock(wake_mu);
          if (stopping) return Status::Ok();
        }
        auto it = by_id.find(f.finding.id);
        auto v = Vector(f, facts, cache,
                        it == by_id.end() ? std::nullopt : std::optional<storage::FeatureRow>(it->second));
        if (!v.ok()) return v.status();
        Add(f, v.value());
        loaded_partitions = true;
      }
      max_seen = last;
      seen_rows += n;
    }
    if (loaded_partitions) log::Debug("similar: " + std::to_string(partition_of.size()) + " lesion(s) indexed");
    return Status::Ok();
  }

  void Loop() {
    for (;;) {
      Status s;
      {
        std::lock_guard lock(sync_mu);
        s = SyncLocked();
      }
      if (!s.ok()) log::Warn("similar: indexing: " + s.ToString());
      std::unique_lock lock(wake_mu);
      wake_cv.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(options.poll_s * 1000)),
                       [&] { return wake || stopping; });
      if (stopping) return;
      wake = false;
    }
  }
};

SimilarCases::SimilarCases(storage::AiAdminStore& store, storage::Index& index, storage::BlobStore& blobs,
                           SimilarOptions options)
    : impl_(std::make_shared<Impl>(store, index, blobs, options)) {}

SimilarCases::~SimilarCases() { Stop(); }

void SimilarCases::Start() {
  std::lock_guard lock(impl_->wake_mu);
  if (impl_->started) return;
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_] { impl->Loop(); });
}

void SimilarCases::Stop() {
  {
    std::lock_guard lock(impl_->wake_mu);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void SimilarCases::OnJobChanged(int64_t) {
  {
    std::lock_guard lock(impl_->wake_mu);
    impl_->wake = true;
  }
  impl_->wake_cv.notify_all();
}

Status SimilarCases::Sync() {
  std::lock_guard lock(impl_->sync_mu);
  return impl_->SyncLocked();
}

size_t SimilarCases::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->partition_of.size();
}

Result<SimilarAnswer> SimilarCases::Query(int64_t finding_id, size_t k) {
  if (k < 1 || k > 100) return Status(ErrorCode::kInvalidArgument, "k: 1..100");
  auto row = impl_->store.Finding(finding_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status(ErrorCode::kNotFound, "no finding " + std::to_string(finding_id));
  const storage::LesionFinding& f = **row;
  const LesionFacts facts = ParseLesionFacts(f.finding.volume_ml, f.finding.size_mm, f.finding.details_json);
  if (!IsLesion(facts)) {
    return Status(ErrorCode::kInvalidArgument, "finding " + std::to_string(finding_id) +
                                                   " is not a lesion (similar cases need a finding outlined in a "
                                                   "SEG with a size)");
  }
  SimilarAnswer answer;
  answer.finding = f;
  if (!impl_->Indexed(finding_id)) {
    // Not indexed yet (its job has just finished): index it now.
    std::lock_guard lock(impl_->sync_mu);
    if (!impl_->Indexed(finding_id)) {
      auto cached = impl_->store.Features({finding_id}, kFeatureSet);
      if (!cached.ok()) return cached.status();
      SeriesCache cache;
      auto v = impl_->Vector(f, facts, cache,
                             cached->empty() ? std::nullopt : std::optional<storage::FeatureRow>(cached->front()));
      if (!v.ok()) return v.status();
      impl_->Add(f, v.value());
    }
  }
  std::vector<Neighbour> found;
  {
    std::shared_lock lock(impl_->mu);
    const Partition& p = impl_->partitions.at(f.finding.app_id);
    const Item& self = p.items.at(finding_id);
    auto cached = impl_->store.Features({finding_id}, kFeatureSet);
    answer.source = cached.ok() && !cached->empty() ? cached->front().source : "";
    answer.values = self.raw;
    answer.indexed = p.items.size();
    auto own = p.per_patient.find(self.patient_key);
    const size_t skip = own == p.per_patient.end() ? 1 : own->second;
    found = p.index->Search(p.z.Apply(self.raw), k, skip, [&](int64_t id) {
      auto it = p.items.find(id);
      return it != p.items.end() && it->second.patient_key != self.patient_key;
    });
  }
  for (const auto& n : found) {
    auto other = impl_->store.Finding(n.id);
    if (!other.ok()) return other.status();
    if (!other->has_value()) continue;  // replaced meanwhile
    SimilarCase c;
    c.finding = std::move(**other);
    c.distance = n.distance;
    auto report = impl_->store.SignedReport(c.finding.finding.study_uid);
    if (!report.ok()) return report.status();
    c.report = std::move(report.value());
    answer.similar.push_back(std::move(c));
  }
  return answer;
}

}  // namespace radflow::similar
