#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "base/log.h"
#include "crypto/crypto.h"
#include "objstore/object_blob_store.h"
#include "server/hub.h"
#include "server/server.h"
#include "storage/index_location.h"

namespace fs = std::filesystem;

namespace radflow::server {

std::string ResolveNodeId(const std::string& requested, const std::string& data_dir) {
  if (!requested.empty()) return requested;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "node");
  std::string name;
  for (const char* p = host; *p; ++p) {  // a folder name: keep it to the node-id alphabet
    const char c = *p;
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  }
  std::error_code ec;
  fs::path abs = fs::absolute(data_dir, ec).lexically_normal();
  std::string path = abs.string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return name + "-" + crypto::Sha256Hex(path).substr(0, 8);
}

std::string ResolveNodeId(const ServerConfig& config) { return ResolveNodeId(config.node_id, config.data_dir); }

Result<std::unique_ptr<Hub>> Hub::Open(const std::string& data_dir,
                                       ingest::IngestOptions options, bool owner,
                                       const std::string& index_arg, const BlobLocation& where) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return {ErrorCode::kIoError, "cannot create " + data_dir + ": " + ec.message()};
  auto hub = std::make_unique<Hub>();
  hub->data_dir = data_dir;
  hub->index_location = storage::IndexLocation(data_dir, index_arg);
  objstore::StorageLocation location;
  location.storage = where.storage;
  location.s3_endpoint = where.s3_endpoint;
  location.data_dir = data_dir;
  location.node_id = where.storage.empty() ? "" : ResolveNodeId(where.node_id, data_dir);
  location.owner = owner;
  if (where.storage.rfind("s3://", 0) != 0 && !where.s3_endpoint.empty()) {
    return {ErrorCode::kInvalidArgument, "--s3-endpoint needs --storage s3://BUCKET/PREFIX"};
  }
  auto blobs = objstore::OpenBlobStore(location);
  if (!blobs.ok()) return blobs.status();
  hub->blobs = std::move(blobs.value());
  auto index = storage::Index::Open(hub->index_location);
  if (!index.ok()) return index.status();
  hub->index = std::move(index.value());
  auto jobs = storage::JobStore::Open(hub->index_location);
  if (!jobs.ok()) return jobs.status();
  hub->jobs = std::move(jobs.value());
  hub->ingest = std::make_unique<ingest::IngestService>(*hub->blobs, *hub->index, options);
  return hub;
}

Result<int> RecoverInterruptedStores(Hub& hub) {
  // Shared storage commits the blob before the row: there is nothing to recover, and a row
  // whose blob is not visible here may belong to another node (never remove its rows).
  if (hub.blobs->Shared()) return 0;
  // Ten minutes is far longer than any store is in flight, and short enough to stay cheap.
  constexpr int64_t kWindowMs = 10 * 60 * 1000;
  auto recent = hub.index->LastStored(kWindowMs);
  if (!recent.ok()) return recent.status();
  int removed = 0;
  for (const auto& loc : recent.value()) {
    auto size = hub.blobs->Size(loc.blob_path);
    if (size.ok() && size.value() == loc.blob_size) continue;
    if (!size.ok() && size.status().code() != ErrorCode::kNotFound) return size.status();
    // Never acknowledged: a success is sent only once the blob is durable.
    Status st = hub.index->DeleteInstance(loc.sop_uid);
    if (!st.ok()) return st;
    ++removed;
  }
  if (removed > 0) {
    log::Warn("start-up recovery removed " + std::to_string(removed) +
              " index row(s) of interrupted, unacknowledged stores");
  }
  return removed;
}

namespace {

// A blob this young without a row is a store in flight (its row commits next).
constexpr auto kInFlight = std::chrono::minutes(1);
// A multipart upload this old is a crashed node's: no store takes an hour.
constexpr auto kStaleUpload = std::chrono::hours(1);

// Copies a blob out to a local file (quarantine, or a temporary file for re-ingest).
Status CopyOut(const storage::BlobStore& blobs, const std::string& rel, const std::string& to) {
  auto from = blobs.LocalPath(rel);
  if (!from.ok()) return from.status();
  std::error_code ec;
  fs::copy_file(from.value(), to, fs::copy_options::overwrite_existing, ec);
  if (ec) return {ErrorCode::kIoError, "copy " + rel + " to " + to + ": " + ec.message()};
  return Status::Ok();
}

}  // namespace

Result<CheckReport> CheckConsistency(Hub& hub, bool repair) {
  CheckReport report;
  struct Row {
    std::string sop_uid;
    uint64_t size = 0;
    bool seen = false;
  };
  // Rows first, then the listing: a store that lands in between (blob, then row on shared
  // storage) shows as a young blob without a row, never as a row without its blob.
  std::map<std::string, Row> rows;
  Status st = hub.index->ForEachInstance([&](const storage::InstanceLocation& loc) {
    ++report.rows_checked;
    rows[loc.blob_path] = Row{loc.sop_uid, loc.blob_size, false};
  });
  if (!st.ok()) return st;
  std::vector<std::pair<std::string, std::string>> bad_rows;  // blob path, sop uid
  std::vector<std::string> orphans;
  int64_t in_flight = 0;
  // On shared storage a young blob without a row is another node's store in flight (blob
  // first, then row). DATA/blobs is this node's alone: every orphan is reported, as before.
  const bool shared = hub.blobs->Shared();
  const auto young = std::chrono::system_clock::now() - kInFlight;
  st = hub.blobs->List([&](const storage::BlobEntry& e) {
    ++report.blobs_checked;
    auto it = rows.find(e.relative);
    if (it == rows.end()) {
      if (shared && e.modified > young) {
        ++in_flight;
        return;
      }
      orphans.push_back(e.relative);  // reported below, once the rows are read again
      return;
    }
    it->second.seen = true;
    if (e.size != it->second.size) {
      report.problems.push_back("blob of instance " + it->second.sop_uid + " has " + std::to_string(e.size) +
                                " bytes, index says " + std::to_string(it->second.size));
      bad_rows.emplace_back(e.relative, it->second.sop_uid);
    }
  });
  if (!st.ok()) return st;
  if (!orphans.empty()) {
    // A row that committed after the first read (a store slower than kInFlight, one on
    // DATA/blobs's blob-first paths, a compactor's new blob) names what looked like an
    // orphan: read the rows again, so that --repair never re-ingests and removes a blob a
    // row names. Only when there are orphans; one more walk of the index.
    std::set<std::string> named;
    const std::set<std::string> candidates(orphans.begin(), orphans.end());
    st = hub.index->ForEachInstance([&](const storage::InstanceLocation& loc) {
      if (candidates.count(loc.blob_path)) named.insert(loc.blob_path);
    });
    if (!st.ok()) return st;
    std::erase_if(orphans, [&](const std::string& rel) { return named.count(rel) > 0; });
    for (const auto& rel : orphans) {
      report.problems.push_back("orphan (an interrupted store, never acknowledged): " + rel);
    }
  }
  for (const auto& [path, row] : rows) {
    if (row.seen) continue;
    // Not listed: ask once more (a listing can miss what changed while it ran).
    auto size = hub.blobs->Size(path);
    if (size.ok() && size.value() == row.size) continue;
    if (!size.ok() && size.status().code() != ErrorCode::kNotFound) return size.status();
    auto still = hub.index->FindInstance(row.sop_uid);  // removed or replaced meanwhile?
    if (still.ok() && (!still.value() || still.value()->blob_path != path)) continue;
    report.problems.push_back(size.ok() ? "blob of instance " + row.sop_uid + " has " + std::to_string(size.value()) +
                                              " bytes, index says " + std::to_string(row.size)
                                        : "missing blob for instance " + row.sop_uid + ": " + path);
    bad_rows.emplace_back(path, row.sop_uid);
  }
  if (in_flight > 0) {
    report.notes.push_back(std::to_string(in_flight) +
                           " blob(s) younger than a minute without an index row: stores in flight "
                           "(here or on another node), not a problem");
  }
  std::vector<objstore::ObjectBlobStore::StaleUpload> stale;
  if (const auto* s3 = dynamic_cast<const objstore::ObjectBlobStore*>(hub.blobs.get())) {
    auto uploads = s3->StaleUploads(std::chrono::duration_cast<std::chrono::seconds>(kStaleUpload));
    if (!uploads.ok()) return uploads.status();
    for (const auto& u : uploads.value()) {
      report.problems.push_back("stale multipart upload (older than an hour, a node stopped mid-upload): " +
                                u.relative + " upload " + u.upload_id);
      stale.push_back(u);
    }
  }
  if (!repair) return report;

  for (const auto& [path, sop] : bad_rows) {
    Status d = hub.index->DeleteInstance(sop);
    report.repairs.push_back(d.ok() ? "removed index row of " + sop
                                    : "cannot remove row of " + sop + ": " + d.ToString());
  }
  const std::string quarantine = hub.data_dir + "/quarantine";
  for (const auto& rel : orphans) {
    std::string temp = hub.blobs->NewTempPath();
    if (Status copied = CopyOut(*hub.blobs, rel, temp); !copied.ok()) {
      storage::BlobStore::DiscardTemp(temp);
      report.repairs.push_back("cannot read orphan " + rel + ": " + copied.message());
      continue;
    }
    auto stored = hub.ingest->Store(temp, {ingest::Origin::Kind::kImport, "check --repair", "", ""});
    if (stored.ok()) {
      // Already stored (or kept) under this very name: a row named it after all; it stays.
      auto now = hub.index->FindInstance(stored->sop_instance_uid);
      if (now.ok() && now.value() && now.value()->blob_path == rel) {
        report.repairs.push_back("orphan " + rel + " is indexed as " + stored->sop_instance_uid + " meanwhile: kept");
        continue;
      }
      (void)hub.blobs->Remove(rel);
      report.repairs.push_back("re-indexed orphan " + rel + " as " + stored->sop_instance_uid +
                               " (" + ingest::OutcomeName(stored->outcome) + ")");
      continue;
    }
    std::error_code ec;
    fs::create_directories(quarantine, ec);
    const std::string to = quarantine + "/" + fs::path(rel).filename().string();
    Status kept = CopyOut(*hub.blobs, rel, to);
    if (kept.ok()) (void)hub.blobs->Remove(rel);
    report.repairs.push_back(kept.ok() ? "quarantined unreadable orphan " + rel + " (" + to + "): " +
                                             stored.status().message()
                                       : "cannot quarantine orphan " + rel + ": " + kept.message());
  }
  if (const auto* s3 = dynamic_cast<const objstore::ObjectBlobStore*>(hub.blobs.get())) {
    for (const auto& u : stale) {
      Status a = s3->AbortUpload(u);
      report.repairs.push_back(a.ok() ? "aborted multipart upload " + u.upload_id + " of " + u.relative
                                      : "cannot abort upload " + u.upload_id + ": " + a.ToString());
    }
  }
  return report;
}

}  // namespace radflow::server
