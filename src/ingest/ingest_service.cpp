#include "ingest/ingest_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
  auto blob = blobs_.Commit(temp_path);
  if (!blob.ok()) return blob.status();
  storage::InstanceEntry entry;
  entry.instance = std::move(parsed.value());
  entry.blob_path = blob.value();
  entry.conformance_problems = std::move(problems);
  return Finish(std::move(entry), replace, result, origin);
}

// A new instance: the blob is made durable on the sync pool (fdatasync, rename, directory
// fsync) while this thread parses the file, looks it up and commits its index row. The
// success is returned only once both are durable. A crash in between can leave an index
// row without its blob for an instance that was never acknowledged; Hub::Open removes
// such rows (RecoverInterruptedStores).
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
  // is removed by the start-up recovery).
  auto pending = sync_pool_.Submit([this, temp_path] { return blobs_.SyncTemp(temp_path); });
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
    if (!parsed.ok()) return parsed.status();
    if (!existing.ok()) return existing.status();
    if (!expected.ok()) return expected;
    StoreResult result = ResultFor(parsed.value());
    auto resolved = ResolveDuplicate(temp_path, *existing.value(), result);
    if (resolved) return std::move(*resolved);
    RADFLOW_RETURN_IF_ERROR(blobs_.PublishAs(temp_path, relative));
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
  // Not inserted (an index error, or a concurrent duplicate): the guard drops the file.
  return Completed(committed, entry, result, origin);
}

std::optional<Result<StoreResult>> IngestService::ResolveDuplicate(
    const std::string& candidate_path, const storage::InstanceLocation& existing,
    StoreResult result) {
  auto same = storage::BlobStore::SameContent(candidate_path,
                                              blobs_.AbsolutePath(existing.blob_path));
  if (same.ok() && !same.value() && existing.CompressedAtRest()) {
    // Re-encoded by the compactor (docs/compression.md): the same object once decoded.
    same = compress::SameAsCompressed(candidate_path, blobs_.AbsolutePath(existing.blob_path));
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
  std::error_code ec;
  entry.blob_size = std::filesystem::file_size(blobs_.AbsolutePath(entry.blob_path), ec);
  return Completed(index_.Commit(entry, replace), entry, result, origin);
}

Result<StoreResult> IngestService::Completed(const Result<storage::Index::CommitResult>& committed,
                                             const storage::InstanceEntry& entry,
                                             StoreResult result, const Origin& origin) {
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
    case O::kDuplicate:
      // Another writer stored the same SOP Instance UID between our lookup and commit.
      (void)blobs_.Remove(entry.blob_path);
      result.outcome = StoreOutcome::kAlreadyStored;
      return result;
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

void IngestService::WatchStableSeries() {
  std::unique_lock<std::mutex> lock(stable_mu_);
  while (!stopping_) {
    if (active_series_.empty()) {
      stable_cv_.wait(lock);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    auto next = now + options_.stable_after;
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
      for (const auto& e : ready) Publish(e);
      lock.lock();
      continue;
    }
    stable_cv_.wait_until(lock, next);
  }
}

}  // namespace radflow::ingest
