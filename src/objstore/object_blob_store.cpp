#include "objstore/object_blob_store.h"

#include <cstdlib>
#include <filesystem>

#include "base/random_hex.h"

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
  for (const auto& e : fs::directory_iterator(options.temp_dir, ec)) fs::remove(e.path(), ec);
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

std::string ObjectBlobStore::NewTempPath() const { return options_.temp_dir + "/" + RandomHex(24) + ".part"; }

std::string ObjectBlobStore::NewBlobName() const {
  // The filesystem backend's names: an index moves between backends unchanged.
  std::string name = RandomHex(32);
  return name.substr(0, 2) + "/" + name + ".dcm";
}

Status ObjectBlobStore::SyncTempAs(const std::string& temp_path, const std::string& relative) {
  // The acknowledgement waits for this: S3's 200 to PutObject / CompleteMultipartUpload.
  return client_->PutFile(KeyOf(relative), temp_path);
}

Status ObjectBlobStore::PublishAs(const std::string& temp_path, const std::string& relative) {
  // The object is already stored and durable; keeping its bytes here saves the first
  // read a download. A failure to do so only costs that download.
  if (!cache_->Adopt(relative, temp_path).ok()) storage::BlobStore::DiscardTemp(temp_path);
  return Status::Ok();
}

Result<std::string> ObjectBlobStore::LocalPath(const std::string& relative) { return cache_->LocalPath(relative); }

Result<std::string> ObjectBlobStore::ReadRange(const std::string& relative, uint64_t offset, uint64_t length) const {
  return client_->GetBytes(KeyOf(relative), ByteRange{offset, length});
}

Status ObjectBlobStore::Remove(const std::string& relative) {
  cache_->Forget(relative);
  return client_->Delete(KeyOf(relative));
}

Status ObjectBlobStore::ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const {
  const std::string list_prefix = prefix_.empty() ? "" : prefix_ + "/";
  return client_->List(list_prefix, [&](const ObjectInfo& o) { fn(o.key.substr(list_prefix.size()), o.size); });
}

std::string ObjectBlobStore::Describe() const {
  return "s3://" + client_->config().bucket + (prefix_.empty() ? "" : "/" + prefix_) + " (endpoint " +
         client_->config().endpoint + ", region " + client_->config().region +
         (client_->config().path_style ? ", path-style)" : ", virtual-hosted)");
}

Result<std::unique_ptr<BlobBackend>> OpenBlobBackend(const StorageLocation& where) {
  if (where.storage.rfind("s3://", 0) != 0) {
    // A --storage folder may be shared by several nodes: no stale-temp sweep here, which
    // would remove another node's in-flight temporary files (/tmp/h19/requests.md, H7).
    auto store = storage::BlobStore::Open(where.storage, /*remove_stale_temp=*/false);
    if (!store.ok()) return store.status();
    auto report = CheckSharedRoot(store->root());
    if (!report.ok()) return report.status();
    return std::unique_ptr<BlobBackend>(new FileBlobBackend(std::move(store.value())));
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
  options.cache_dir = where.data_dir + "/blob-cache";
  options.cache_bytes = where.cache_bytes;
  auto store = ObjectBlobStore::Open(std::move(config), parsed->second, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<BlobBackend>(std::move(store.value()));
}

}  // namespace radflow::objstore
