#include "ingest/ingest_service.h"

#include <unistd.h>

#include "base/log.h"
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

Result<StoreResult> IngestService::Store(const std::string& temp_path, const Origin& origin) {
  // Whatever happens below, the temporary file does not outlive this call.
  struct TempGuard {
    std::string path;
    ~TempGuard() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } guard{temp_path};

  auto parsed = dicom::ParsePart10File(temp_path);
  if (!parsed.ok()) return parsed.status();
  StoreResult result;
  result.sop_class_uid = parsed->sop_class_uid;
  result.sop_instance_uid = parsed->sop_instance_uid;
  result.study_instance_uid = parsed->study_instance_uid;
  result.series_instance_uid = parsed->series_instance_uid;

  // Duplicate check before writing anything: a resend of the same object is common
  // (modalities retry whole studies) and must cost one index lookup and one compare.
  auto existing = index_.FindInstance(parsed->sop_instance_uid);
  if (!existing.ok()) return existing.status();
  bool replace = false;
  if (existing.value()) {
    auto same = storage::BlobStore::SameContent(
        temp_path, blobs_.AbsolutePath(existing.value()->blob_path));
    if (same.ok() && same.value()) {
      result.outcome = StoreOutcome::kAlreadyStored;
      return result;
    }
    switch (options_.duplicate_policy) {
      case DuplicatePolicy::kKeep:
        log::Warn("keeping stored " + parsed->sop_instance_uid +
                  ": a different object with the same SOP Instance UID was received");
        result.outcome = StoreOutcome::kKeptExisting;
        return result;
      case DuplicatePolicy::kReject:
        return Status(ErrorCode::kConflict, "a different object with SOP Instance UID " +
                                                parsed->sop_instance_uid + " is already stored");
      case DuplicatePolicy::kReplace:
        replace = true;
        break;
    }
  }

  auto blob = blobs_.Commit(temp_path);
  if (!blob.ok()) return blob.status();
  guard.path.clear();  // renamed away

  storage::InstanceEntry entry;
  entry.instance = std::move(parsed.value());
  entry.blob_path = blob.value();
  {
    std::error_code ec;
    entry.blob_size = std::filesystem::file_size(blobs_.AbsolutePath(entry.blob_path), ec);
  }
  auto committed = index_.Commit(entry, replace);
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
