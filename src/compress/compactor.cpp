#include "compress/compactor.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "base/log.h"

namespace radflow::compress {

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Compactor::Compactor(storage::Index& index, storage::BlobStore& blobs, CompactorOptions options)
    : index_(index), blobs_(blobs), options_(std::move(options)) {
  for (const auto& [modality, codec] : options_.modalities) by_codec_[codec].push_back(modality);
}

Compactor::~Compactor() { Stop(); }

void Compactor::Start() {
  if (by_codec_.empty() || thread_.joinable()) return;
  std::string what;
  for (const auto& [m, c] : options_.modalities) what += (what.empty() ? "" : ", ") + m + "=" + CodecName(c);
  log::Info("compression at rest on: " + what);
  thread_ = std::thread([this] { Loop(); });
}

void Compactor::Stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  RemoveOldBlobs(true);
}

CompactorStats Compactor::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

void Compactor::Loop() {
  // Background work: below the receivers and the HTTP workers in the scheduler's eyes
  // (Linux: a thread's nice value is its own), so ingest latency does not pay for it.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  while (true) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stop_) return;
    }
    RemoveOldBlobs(false);
    const bool leading = options_.leader == nullptr || options_.leader->Hold();
    if (options_.leader != nullptr && leading != leading_) {
      log::Info(leading ? "compactor: this node compacts (leader)" : "compactor: another node compacts");
      leading_ = leading;
    }
    auto n = leading ? RunOnce() : Result<int>(0);
    if (!n.ok()) log::Warn("compactor: " + n.status().ToString());
    if (!n.ok() || n.value() == 0) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(options_.idle_seconds * 1000)),
                   [this] { return stop_; });
    }
  }
}

Result<int> Compactor::RunOnce() {
  // Rows that failed this run stay '' in the index; take enough to get past them.
  size_t skip;
  {
    std::lock_guard<std::mutex> g(mu_);
    skip = failed_.size();
  }
  int looked = 0;
  for (const auto& [codec, modalities] : by_codec_) {
    auto rows = index_.ListUncompressed(modalities, options_.batch + skip);
    if (!rows.ok()) return rows.status();
    for (const auto& loc : rows.value()) {
      {
        std::lock_guard<std::mutex> g(mu_);
        if (stop_) return looked;
        if (failed_.count(loc.sop_uid)) continue;
      }
      Status s = CompactOne(loc, codec);
      ++looked;
      if (!s.ok()) {
        log::Warn("compactor: " + loc.sop_uid + ": " + s.ToString() + " (retried at the next start)");
        std::lock_guard<std::mutex> g(mu_);
        stats_.failed++;
        failed_.insert(loc.sop_uid);
      }
    }
  }
  return looked;
}

Status Compactor::CompactOne(const storage::InstanceLocation& loc, Codec codec) {
  auto local = blobs_.LocalPath(loc.blob_path);
  if (!local.ok()) return local.status();
  const std::string& source = local.value();
  const std::string temp = blobs_.NewTempPath();
  auto done = CompressLossless(source, codec, temp);
  if (!done.ok()) {
    storage::BlobStore::DiscardTemp(temp);
    if (done.status().code() != ErrorCode::kUnsupported) return done.status();
    // Looked at for good: the reason is in the log, the row is not picked again.
    log::Info("compactor: " + loc.sop_uid + " left as stored: " + done.status().message());
    RADFLOW_RETURN_IF_ERROR(index_.MarkLeftUncompressed(loc.sop_uid, loc.blob_path));
    std::lock_guard<std::mutex> g(mu_);
    stats_.left_uncompressed++;
    return Status::Ok();
  }
  // Durable before the index may name it: data, then the name and its directory.
  const std::string name = blobs_.NewBlobName();
  Status st = blobs_.SyncTempAs(temp, name);
  if (st.ok()) st = blobs_.PublishAs(temp, name);
  if (!st.ok()) {
    storage::BlobStore::DiscardTemp(temp);
    return st;
  }
  storage::BlobStore::DiscardTemp(temp);
  auto replaced = index_.ReplaceBlob(loc.sop_uid, loc.blob_path, name, done->transfer_syntax_uid, done->size);
  if (!replaced.ok() || !replaced.value()) {
    // Deleted or replaced meanwhile (or the update failed): the new blob is nobody's.
    (void)blobs_.Remove(name);
    if (!replaced.ok()) return replaced.status();
    return Status::Ok();
  }
  std::lock_guard<std::mutex> g(mu_);
  stats_.compressed++;
  stats_.bytes_before += static_cast<int64_t>(done->original_size);
  stats_.bytes_after += static_cast<int64_t>(done->size);
  old_blobs_.emplace_back(NowMs() + static_cast<int64_t>(options_.old_blob_grace_seconds * 1000), loc.blob_path);
  if (stats_.compressed % 100 == 0) {
    log::Info("compactor: " + std::to_string(stats_.compressed) + " instances compressed, " +
              std::to_string(stats_.bytes_before) + " -> " + std::to_string(stats_.bytes_after) + " bytes");
  }
  return Status::Ok();
}

void Compactor::RemoveOldBlobs(bool all) {
  std::vector<std::string> due;
  {
    std::lock_guard<std::mutex> g(mu_);
    const int64_t now = NowMs();
    while (!old_blobs_.empty() && (all || old_blobs_.front().first <= now)) {
      due.push_back(old_blobs_.front().second);
      old_blobs_.pop_front();
    }
  }
  for (const auto& rel : due) {
    Status s = blobs_.Remove(rel);
    if (!s.ok()) log::Warn("compactor: cannot remove the replaced blob " + rel + ": " + s.ToString());
  }
}

}  // namespace radflow::compress
