#include "objstore/object_blob_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "base/log.h"
#include "base/random_hex.h"
#include "objstore/blob_backend.h"

namespace fs = std::filesystem;

namespace radflow::objstore {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<std::unique_ptr<ObjectBlobStore>> ObjectBlobStore::Open(S3Config config, std::string prefix,
                                                               ObjectBlobStoreOptions options) {
  if (config.bucket.empty()) return Status(ErrorCode::kInvalidArgument, "object store: no bucket");
  if (config.endpoint.empty()) return Status(ErrorCode::kInvalidArgument, "object store: no endpoint");
  std::error_code ec;
  fs::create_directories(options.temp_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + options.temp_dir + ": " + ec.message());
  // Temporary files of this node only (the folder is node-local): what an earlier crash
  // left was never acknowledged.
  if (options.remove_stale_temp) {  // files, and the private caches of CLI commands that died
    for (const auto& e : fs::directory_iterator(options.temp_dir, ec)) fs::remove_all(e.path(), ec);
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto client = std::make_unique<S3Client>(std::move(config));
  std::unique_ptr<ObjectBlobStore> store(new ObjectBlobStore(std::move(client), std::move(prefix), options));
  // A first request that proves endpoint, bucket and credentials.
  Status probe = store->client_->ListPage(store->prefix_.empty() ? "" : store->prefix_ + "/");
  if (!probe.ok()) return Status(probe.code(), "object store " + store->Describe() + ": " + probe.message());
  ObjectBlobStore* raw = store.get();
  auto cache = ReadCache::Open(
      options.cache_dir, options.cache_bytes,
      [raw](const std::string& relative, const std::string& path) {
        return raw->client_->GetToFile(raw->KeyOf(relative), path);
      },
      options.cache_min_age);
  if (!cache.ok()) return cache.status();
  store->cache_ = std::move(cache.value());
  return store;
}

ObjectBlobStore::~ObjectBlobStore() {
  cache_.reset();
  std::error_code ec;
  if (options_.private_cache) fs::remove_all(options_.cache_dir, ec);
}

std::string ObjectBlobStore::NewTempPath() const { return options_.temp_dir + "/" + RandomHex(24) + ".part"; }

Status ObjectBlobStore::SyncTempAs(const std::string& temp_path, const std::string& relative) const {
  // The acknowledgement waits for this: S3's 200 to PutObject / CompleteMultipartUpload.
  return client_->PutFile(KeyOf(relative), temp_path);
}

Status ObjectBlobStore::PublishAs(const std::string& temp_path, const std::string& relative) const {
  // The object is already stored and durable; keeping its bytes here saves the first
  // read a download. A failure to do so only costs that download.
  if (!cache_->Adopt(relative, temp_path).ok()) storage::BlobStore::DiscardTemp(temp_path);
  return Status::Ok();
}

Result<std::string> ObjectBlobStore::LocalPath(const std::string& relative) const { return cache_->LocalPath(relative); }

Result<std::string> ObjectBlobStore::ReadRange(const std::string& relative, uint64_t offset, uint64_t length) const {
  return client_->GetBytes(KeyOf(relative), ByteRange{offset, length});
}

Result<uint64_t> ObjectBlobStore::Size(const std::string& relative) const {
  // Asked of the bucket, not the cache: a cached copy outlives an object another node (or
  // an operator) removed, and `check` must see that it is gone.
  auto head = client_->Head(KeyOf(relative));
  if (!head.ok()) return head.status();
  return head->size;
}

Status ObjectBlobStore::Remove(const std::string& relative) const {
  cache_->Forget(relative);
  return client_->Delete(KeyOf(relative));
}

Status ObjectBlobStore::List(const std::function<void(const storage::BlobEntry&)>& fn) const {
  const std::string list_prefix = prefix_.empty() ? "" : prefix_ + "/";
  return client_->List(list_prefix, [&](const ObjectInfo& o) {
    storage::BlobEntry e;
    e.relative = o.key.substr(list_prefix.size());
    e.size = o.size;
    // A listing without a usable LastModified counts as old: `check` then reports it.
    e.modified = ParseS3Time(o.last_modified).value_or(std::chrono::system_clock::time_point{});
    fn(e);
  });
}

Result<std::vector<ObjectBlobStore::StaleUpload>> ObjectBlobStore::StaleUploads(std::chrono::seconds older_than) const {
  const std::string list_prefix = prefix_.empty() ? "" : prefix_ + "/";
  auto uploads = client_->ListMultipartUploads(list_prefix);
  if (!uploads.ok()) return uploads.status();
  const auto cutoff = std::chrono::system_clock::now() - older_than;
  std::vector<StaleUpload> out;
  for (const auto& u : uploads.value()) {
    // No Initiated: its age is unknown, so it is not ours to call stale.
    auto initiated = ParseS3Time(u.initiated);
    if (!initiated || *initiated > cutoff) continue;
    out.push_back({u.key.substr(std::min(list_prefix.size(), u.key.size())), u.upload_id, *initiated});
  }
  return out;
}

Status ObjectBlobStore::AbortUpload(const StaleUpload& upload) const {
  return client_->AbortMultipartUpload(KeyOf(upload.relative), upload.upload_id);
}

std::string ObjectBlobStore::Describe() const {
  return "s3://" + client_->config().bucket + (prefix_.empty() ? "" : "/" + prefix_) + " (endpoint " +
         client_->config().endpoint + ", region " + client_->config().region +
         (client_->config().path_style ? ", path-style)" : ", virtual-hosted)");
}

std::optional<std::chrono::system_clock::time_point> ParseS3Time(const std::string& text) {
  // 2026-12-07T23:40:00.000Z (ListObjectsV2, ListMultipartUploads); fractions ignored.
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
  if (text.back() != 'Z') return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

Result<std::unique_ptr<storage::BlobStore>> OpenBlobStore(const StorageLocation& where) {
  if (where.storage.empty()) {
    // This node's own DATA/blobs: the single-node layout, unchanged.
    auto store = storage::FolderBlobStore::Open(where.data_dir + "/blobs", where.owner);
    if (!store.ok()) return store.status();
    return std::unique_ptr<storage::BlobStore>(new storage::FolderBlobStore(std::move(store.value())));
  }
  if (where.storage.rfind("s3://", 0) != 0) {
    // A folder several nodes may share: this node's temporary files in DIR/tmp/<node id>/,
    // and only those are swept.
    if (where.node_id.empty()) {
      return Status(ErrorCode::kInvalidArgument, "--storage " + where.storage + ": no node id");
    }
    auto store = storage::FolderBlobStore::Open(where.storage, where.owner, where.node_id);
    if (!store.ok()) return store.status();
    auto report = CheckSharedRoot(store->root());
    if (!report.ok()) return report.status();
    for (const auto& w : report->warnings) log::Warn(w);
    return std::unique_ptr<storage::BlobStore>(new storage::FolderBlobStore(std::move(store.value())));
  }
  auto parsed = ParseS3Url(where.storage);
  if (!parsed.ok()) return parsed.status();
  S3Config config;
  config.bucket = parsed->first;
  config.region = !Env("AWS_REGION").empty() ? Env("AWS_REGION")
                  : !Env("AWS_DEFAULT_REGION").empty() ? Env("AWS_DEFAULT_REGION")
                                                       : "us-east-1";
  config.endpoint = !where.s3_endpoint.empty() ? where.s3_endpoint : "https://s3." + config.region + ".amazonaws.com";
  config.path_style = Env("RADFLOW_S3_VIRTUAL_HOSTED") != "1";
  auto creds = S3Credentials::FromEnvironment();
  if (!creds.ok()) return creds.status();
  config.credentials = std::move(creds.value());
  ObjectBlobStoreOptions options;
  options.temp_dir = where.data_dir + "/tmp/objstore";
  // The server's cache is DATA/blob-cache; a command beside it (check, import, export …)
  // gets one of its own, which goes when it ends.
  options.private_cache = !where.owner;
  options.cache_dir = where.owner ? where.data_dir + "/blob-cache"
                                  : options.temp_dir + "/cache-" + std::to_string(::getpid());
  options.cache_bytes = where.cache_bytes;
  options.remove_stale_temp = where.owner;
  auto store = ObjectBlobStore::Open(std::move(config), parsed->second, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<storage::BlobStore>(std::move(store.value()));
}

}  // namespace radflow::objstore
