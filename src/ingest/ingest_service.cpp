#include "ingest/ingest_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "compress/lossless.h"
#include "dicom/conformance.h"
#include "dicom/instance.h"

namespace radflow::ingest {

std::optional<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name) {
  if (name == "keep") return DuplicatePolicy::kKeep;
  if (name == "reject") return DuplicatePolicy::kReject;
  if (name == "replace") return DuplicatePolicy::kReplace;
  return std::nullopt;
}

const char* OutcomeName(StoreOutcome o) {
  switch (o) {
    case StoreOutcome::kStored: return "stored";
    case StoreOutcome::kAlreadyStored: return "already stored";
    case StoreOutcome::kKeptExisting: return "kept existing";
    case StoreOutcome::kReplaced: return "replaced";
  }
  return "";
}

IngestService::IngestService(storage::BlobStore& blobs, storage::Index& index,
                             IngestOptions options)
    : blobs_(blobs), index_(index), options_(options) {
  watcher_ = std::thread([this] { WatchStableSeries(); });
}

IngestService::~IngestService() {
  {
    std::lock_guard<std::mutex> g(stable_mu_);
    stopping_ = true;
  }
  stable_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Result<StoreResult> IngestService::StoreBytes(std::string_view part10, const Origin& origin) {
  auto temp = blobs_.WriteTemp(part10);
  if (!temp.ok()) return temp.status();
  return Store(temp.value(), origin);
}

namespace {

Status CheckExpectations(const dicom::ParsedInstance& p, const Origin& origin) {
  if (!origin.expected_study_instance_uid.empty() &&
      p.study_instance_uid != origin.expected_study_instance_uid) {
    return {ErrorCode::kConflict, "instance belongs to study " + p.study_instance_uid +
                                      ", not to the target study " +
                                      origin.expected_study_instance_uid};
  }
  return Status::Ok();
}

// Gives the temporary file up when it goes out of scope: unlinks it if it was not renamed
// away, closes an unnamed one's descriptor (BlobStore::DiscardTemp).
struct TempGuard {
  const std::string& path;
  ~TempGuard() { storage::BlobStore::DiscardTemp(path); }
};

// The IOD check (PS3.3 Annex A) of a parsed object, from what ParsePart10File recorded
// (no second parse). Its problems are stored with the instance and logged once; they never
// refuse it. The recorded structure is dropped then: the index needs none of it.
std::vector<std::string> ConformanceOf(dicom::ParsedInstance& parsed) {
  auto problems = dicom::CheckConformance(parsed);
  parsed.presence = {};
  return problems;
}

StoreResult ResultFor(const dicom::ParsedInstance& p) {
  StoreResult r;
  r.sop_class_uid = p.sop_class_uid;
  r.sop_instance_uid = p.sop_instance_uid;
  r.study_instance_uid = p.study_instance_uid;
  r.series_instance_uid = p.series_instance_uid;
  return r;
}

}  // namespace

Result<StoreResult> IngestService::Store(const std::string& temp_path, const Origin& origin,
                                         StoreResult* identified) {
  // A new instance takes the fast path. One announced as already stored (modalities retry
  // whole studies) is parsed and compared first, so that a resend writes nothing.
  // No announcement: nothing to go by, be careful.
  std::optional<Result<std::optional<storage::InstanceLocation>>> announced;
  if (!origin.announced_sop_instance_uid.empty()) {
    announced = index_.FindInstance(origin.announced_sop_instance_uid);
    if (announced->ok() && !announced->value().has_value()) {
      return StoreNew(temp_path, origin, identified);
    }
  }

  TempGuard guard{temp_path};
  auto parsed = dicom::ParsePart10File(temp_path);
  if (!parsed.ok()) return parsed.status();
  if (identified) *identified = ResultFor(parsed.value());
  RADFLOW_RETURN_IF_ERROR(CheckExpectations(parsed.value(), origin));
  StoreResult result = ResultFor(parsed.value());
  // The announced UID is almost always the dataset's: its lookup is reused.
  auto existing = announced && origin.announced_sop_instance_uid == parsed->sop_instance_uid
                      ? std::move(*announced)
                      : index_.FindInstance(parsed->sop_instance_uid);
  if (!existing.ok()) return existing.status();
  bool replace = false;
  if (existing.value()) {
    auto resolved = ResolveDuplicate(temp_path, *existing.value(), result);
    if (resolved) return std::move(*resolved);
    replace = true;
  }
  auto problems = ConformanceOf(parsed.value());
  struct stat st {};
  const uint64_t size = ::stat(temp_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  auto blob = blobs_.Commit(temp_path);
  if (!blob.ok()) return blob.status();
  storage::InstanceEntry entry;
  entry.instance = std::move(parsed.value());
  entry.blob_path = blob.value();
  entry.blob_size = size;  // of the temporary file: no second look at the store (S3: a HEAD)
  entry.conformance_problems = std::move(problems);
  return Finish(std::move(entry), replace, result, origin);
}

// A new instance: the blob's bytes are made durable on the sync pool (SyncTempAs: the
// fdatasync of the temporary file; S3: the upload) while this thread parses the file and
// looks it up; PublishAs (rename and directory fsync) runs here. DATA/blobs: the row
// commits, then the rename; a crash in between can leave an index row without its blob
// for an instance that was never acknowledged, which RecoverInterruptedStores removes at
// the next start. Shared storage: the blob at its final name, then the row. The success
// is returned only once both are durable.
Result<StoreResult> IngestService::StoreNew(const std::string& temp_path, const Origin& origin,
                                            StoreResult* identified) {
  // The parse reads the file through a descriptor opened before the rename can happen,
  // by its /proc/self/fd name, which follows the inode wherever the sync pool moves it.
  TempGuard guard{temp_path};
  int fd = ::open(temp_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    return Status(ErrorCode::kIoError, "cannot open " + temp_path);
  }
  const std::string relative = blobs_.NewBlobName();
  // Only the data is synced in parallel; the blob gets its name after its index row is
  // committed, so a crash never leaves a named blob without a row (a row without its blob
  // is removed by the start-up recovery). Shared storage (another node reads the blob as
  // soon as it sees the row) keeps the other order: the blob durable at its final name
  // (S3: the upload's 200), then the row; a crash in between leaves an unacknowledged
  // orphan for `radflow check` (docs/storage-backends.md, "Order of durability").
  const bool blob_first = blobs_.Shared();
  auto pending = sync_pool_.Submit([this, temp_path, relative] { return blobs_.SyncTempAs(temp_path, relative); });
  const std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
  auto parsed = dicom::ParsePart10File(by_fd);
  std::vector<std::string> problems;
  if (parsed.ok()) problems = ConformanceOf(parsed.value());
  ::close(fd);
  if (parsed.ok() && identified) *identified = ResultFor(parsed.value());
  Result<std::optional<storage::InstanceLocation>> existing{std::nullopt};
  if (parsed.ok()) existing = index_.FindInstance(parsed->sop_instance_uid);
  const Status expected = parsed.ok() ? CheckExpectations(parsed.value(), origin) : Status::Ok();

  if (!parsed.ok() || !existing.ok() || existing.value() || !expected.ok()) {
    // Bad input, an index error, or a duplicate after all: settle the blob first.
    Status blob = pending.get();
    if (!blob.ok()) return blob;
    // S3's SyncTempAs stored the object already: a store that stops here drops it.
    struct Drop {
      const storage::BlobStore& blobs;
      const std::string& relative;
      bool armed;
      ~Drop() { if (armed) (void)blobs.Remove(relative); }
    } drop{blobs_, relative, blob_first};
    if (!parsed.ok()) return parsed.status();
    if (!existing.ok()) return existing.status();
    if (!expected.ok()) return expected;
    StoreResult result = ResultFor(parsed.value());
    auto resolved = ResolveDuplicate(temp_path, *existing.value(), result);
    if (resolved) return std::move(*resolved);
    RADFLOW_RETURN_IF_ERROR(blobs_.PublishAs(temp_path, relative));
    drop.armed = false;  // Finish owns it now (Completed removes it on failure)
    storage::InstanceEntry entry;
    entry.instance = std::move(parsed.value());
    entry.blob_path = relative;
    entry.conformance_problems = std::move(problems);
    return Finish(std::move(entry), /*replace=*/true, result, origin);
  }

  StoreResult result = ResultFor(parsed.value());
  storage::InstanceEntry entry;
  entry.instance = std::move(parsed.value());
  entry.blob_path = relative;
  entry.blob_size = static_cast<uint64_t>(st.st_size);
  entry.conformance_problems = std::move(problems);
  if (blob_first) {
    Status blob = pending.get();
    if (blob.ok()) blob = blobs_.PublishAs(temp_path, relative);
    if (!blob.ok()) {
      (void)blobs_.Remove(relative);
      return blob;
    }
    // Completed removes the blob if the row does not commit (or is a concurrent duplicate).
    return Completed(index_.Commit(entry, false), entry, result, origin);
  }
  auto committed = index_.Commit(entry, false);
  Status blob = pending.get();
  const bool inserted = committed.ok() && committed->outcome == storage::Index::Outcome::kInserted;
  if (blob.ok() && inserted) blob = blobs_.PublishAs(temp_path, relative);
  if (!blob.ok()) {
    // No durable blob: the row must go too, and the sender gets the failure.
    if (inserted) (void)index_.DeleteInstance(result.sop_instance_uid);
    (void)blobs_.Remove(relative);
    return blob;
  }
  // Not inserted (an index error, or a concurrent duplicate): the guard drops the file,
  // which is the candidate a concurrent duplicate is compared with.
  return Completed(committed, entry, result, origin, temp_path);
}

std::optional<Result<StoreResult>> IngestService::ResolveDuplicate(
    const std::string& candidate_path, const storage::InstanceLocation& existing,
    StoreResult result) {
  auto existing_path = blobs_.LocalPath(existing.blob_path);  // S3: through the read cache
  auto same = existing_path.ok() ? storage::BlobStore::SameContent(candidate_path, existing_path.value())
                                 : Result<bool>(existing_path.status());
  if (same.ok() && !same.value() && existing.CompressedAtRest()) {
    // Re-encoded by the compactor (docs/compression.md): the same object once decoded.
    same = compress::SameAsCompressed(candidate_path, existing_path.value());
  }
  if (same.ok() && same.value()) {
    result.outcome = StoreOutcome::kAlreadyStored;
    return Result<StoreResult>(result);
  }
  switch (options_.duplicate_policy) {
    case DuplicatePolicy::kKeep:
      log::Warn("keeping stored " + result.sop_instance_uid +
                ": a different object with the same SOP Instance UID was received");
      result.outcome = StoreOutcome::kKeptExisting;
      return Result<StoreResult>(result);
    case DuplicatePolicy::kReject:
      return Result<StoreResult>(Status(
          ErrorCode::kConflict, "a different object with SOP Instance UID " +
                                    result.sop_instance_uid + " is already stored"));
    case DuplicatePolicy::kReplace:
      break;
  }
  return std::nullopt;
}

Result<StoreResult> IngestService::Finish(storage::InstanceEntry entry, bool replace,
                                          StoreResult result, const Origin& origin) {
  if (entry.blob_size == 0) {
    auto size = blobs_.Size(entry.blob_path);
    entry.blob_size = size.ok() ? size.value() : 0;
  }
  return Completed(index_.Commit(entry, replace), entry, result, origin);
}

Result<StoreResult> IngestService::Completed(const Result<storage::Index::CommitResult>& committed,
                                             const storage::InstanceEntry& entry,
                                             StoreResult result, const Origin& origin,
                                             const std::string& candidate_path) {
  if (!committed.ok()) {
    (void)blobs_.Remove(entry.blob_path);  // compensation: no row, no blob
    return committed.status();
  }
  using O = storage::Index::Outcome;
  switch (committed->outcome) {
    case O::kInserted:
      result.outcome = StoreOutcome::kStored;
      break;
    case O::kReplaced:
      result.outcome = StoreOutcome::kReplaced;
      (void)blobs_.Remove(committed->replaced_blob);
      break;
    case O::kDuplicate: {
      // Another writer — another node on a shared index — stored the same SOP Instance UID
      // between our lookup and our commit: settled by the duplicate policy, as if the lookup
      // had found it (identical: kAlreadyStored; different: kKeptExisting or kConflict).
      // Replace cannot take back the other store's acknowledgement: its object stays.
      std::optional<Result<StoreResult>> resolved;
      if (committed->existing) {
        auto candidate = candidate_path.empty() ? blobs_.LocalPath(entry.blob_path)
                                                : Result<std::string>(candidate_path);
        if (candidate.ok()) resolved = ResolveDuplicate(candidate.value(), *committed->existing, result);
      }
      (void)blobs_.Remove(entry.blob_path);
      if (resolved) return std::move(*resolved);
      log::Warn("kept " + result.sop_instance_uid + " as a concurrent store left it");
      result.outcome = StoreOutcome::kKeptExisting;
      return result;
    }
  }
  log::Debug("stored " + result.sop_instance_uid + " from " + origin.detail);
  if (!entry.conformance_problems.empty()) {
    std::string list;
    for (const auto& p : entry.conformance_problems) list += (list.empty() ? "" : "; ") + p;
    log::Warn("stored " + result.sop_instance_uid + " (" + result.sop_class_uid + ") with " +
              std::to_string(entry.conformance_problems.size()) + " conformance problems: " + list);
  }
  Publish({Event::Type::kInstanceStored, result.study_instance_uid, result.series_instance_uid,
           result.sop_instance_uid});
  NoteSeriesActivity(result.study_instance_uid, result.series_instance_uid);
  return result;
}

void IngestService::Subscribe(std::function<void(const Event&)> listener) {
  std::lock_guard<std::mutex> g(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void IngestService::Publish(const Event& e) {
  std::vector<std::function<void(const Event&)>> copy;
  {
    std::lock_guard<std::mutex> g(listeners_mu_);
    copy = listeners_;
  }
  for (auto& l : copy) l(e);
}

void IngestService::NoteSeriesActivity(const std::string& study, const std::string& series) {
  std::lock_guard<std::mutex> g(stable_mu_);
  active_series_[series] = Activity{study, std::chrono::steady_clock::now()};
  stable_cv_.notify_all();
}

bool IngestService::ClaimStable(const Event& e) {
  using C = storage::Index::StableClaim;
  auto claim = index_.ClaimSeriesStable(e.series_instance_uid, options_.stable_after.count());
  int64_t retry_in_ms = 0;
  if (!claim.ok()) {
    // Not fired rather than perhaps fired twice: asked again after another stable_after.
    log::Warn("series stable: claiming " + e.series_instance_uid + ": " + claim.status().ToString());
    retry_in_ms = options_.stable_after.count();
  } else if (claim->claim == C::kClaimed) {
    return true;
  } else if (claim->claim == C::kFiredAlready) {
    log::Debug("series stable: " + e.series_instance_uid + " fired by another node");
    return false;
  } else {
    retry_in_ms = claim->retry_in_ms;  // a younger instance on another node
  }
  // Asked again then, unless an instance here set a later time meanwhile: should the node
  // that stored the younger instance die, this one still fires.
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(retry_in_ms, 1));
  std::lock_guard<std::mutex> g(stable_mu_);
  auto& a = active_series_[e.series_instance_uid];
  if (a.study.empty()) a.study = e.study_instance_uid;
  a.last = std::max(a.last, due - options_.stable_after);
  stable_cv_.notify_all();
  return false;
}

void IngestService::FireStable(const Event& e) {
  if (ClaimStable(e)) Publish(e);
}

void IngestService::StartStableSweep() {
  if (!index_.Shared()) return;  // one node: its timers see every instance
  std::lock_guard<std::mutex> g(stable_mu_);
  sweeping_ = true;
  next_sweep_ = std::chrono::steady_clock::now();
  stable_cv_.notify_all();
}

void IngestService::SweepStableSeries() {
  const int64_t stable_ms = options_.stable_after.count();
  // A live node's timer fires at stable_after; the sweep leaves it one more sweep period
  // (grace) before it takes over, so that it rarely races a timer (the claim decides anyway).
  const int64_t grace_ms = std::max<int64_t>(1000, stable_ms / 2);
  const int64_t now = UnixMillis();
  // The first sweep looks stable_sweep_window back; later ones at the instances that came of
  // age since the last one, less a margin for a store whose row committed later than its
  // stored_at (and for the nodes' clock skew).
  const int64_t margin_ms = std::max<int64_t>(stable_ms, 30000);
  const int64_t since = swept_until_ms_ == 0
                            ? now - static_cast<int64_t>(options_.stable_sweep_window.count())
                            : swept_until_ms_ - stable_ms - grace_ms - margin_ms;
  auto found = index_.SeriesToStabilize(stable_ms + grace_ms, since);
  if (!found.ok()) {
    log::Warn("series stable: sweeping for unfired series: " + found.status().ToString());
    return;  // the same window again next time
  }
  swept_until_ms_ = now;
  for (const auto& s : found.value()) {
    {
      std::lock_guard<std::mutex> g(stable_mu_);
      if (stopping_) return;
      if (active_series_.count(s.series_uid)) continue;  // a timer here fires it
    }
    log::Info("series stable: " + s.series_uid + " not fired by a live node's timer; claiming it");
    FireStable({Event::Type::kSeriesStable, s.study_uid, s.series_uid, ""});
  }
}

void IngestService::WatchStableSeries() {
  const auto sweep_every = std::max<std::chrono::steady_clock::duration>(std::chrono::seconds(1),
                                                                         options_.stable_after / 2);
  std::unique_lock<std::mutex> lock(stable_mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    if (sweeping_ && next_sweep_ <= now) {
      next_sweep_ = now + sweep_every;
      lock.unlock();
      SweepStableSeries();
      lock.lock();
      continue;
    }
    if (active_series_.empty()) {
      if (sweeping_) {
        stable_cv_.wait_until(lock, next_sweep_);
      } else {
        stable_cv_.wait(lock);
      }
      continue;
    }
    auto next = now + options_.stable_after;
    if (sweeping_) next = std::min(next, next_sweep_);
    std::vector<Event> ready;
    for (auto it = active_series_.begin(); it != active_series_.end();) {
      auto due = it->second.last + options_.stable_after;
      if (due <= now) {
        ready.push_back({Event::Type::kSeriesStable, it->second.study, it->first, ""});
        it = active_series_.erase(it);
      } else {
        next = std::min(next, due);
        ++it;
      }
    }
    if (!ready.empty()) {
      lock.unlock();
      for (const auto& e : ready) FireStable(e);
      lock.lock();
      continue;
    }
    stable_cv_.wait_until(lock, next);
  }
}

}  // namespace radflow::ingest
