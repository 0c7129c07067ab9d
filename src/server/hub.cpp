#include <filesystem>
#include <set>
#include <system_error>

#include "base/log.h"
#include "server/hub.h"
#include "storage/index_location.h"

namespace fs = std::filesystem;

namespace radflow::server {

Result<std::unique_ptr<Hub>> Hub::Open(const std::string& data_dir,
                                       ingest::IngestOptions options, bool owner,
                                       const std::string& index_arg) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return {ErrorCode::kIoError, "cannot create " + data_dir + ": " + ec.message()};
  auto hub = std::make_unique<Hub>();
  hub->data_dir = data_dir;
  hub->index_location = storage::IndexLocation(data_dir, index_arg);
  auto blobs = storage::BlobStore::Open(data_dir + "/blobs", owner);
  if (!blobs.ok()) return blobs.status();
  hub->blobs = std::make_unique<storage::BlobStore>(std::move(blobs.value()));
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
  // Ten minutes is far longer than any store is in flight, and short enough to stay cheap.
  constexpr int64_t kWindowMs = 10 * 60 * 1000;
  auto recent = hub.index->LastStored(kWindowMs);
  if (!recent.ok()) return recent.status();
  int removed = 0;
  for (const auto& loc : recent.value()) {
    std::error_code ec;
    auto size = fs::file_size(hub.blobs->AbsolutePath(loc.blob_path), ec);
    if (!ec && size == loc.blob_size) continue;
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

Result<CheckReport> CheckConsistency(Hub& hub, bool repair) {
  CheckReport report;
  std::set<std::string> referenced;
  std::vector<storage::InstanceLocation> missing;
  Status st = hub.index->ForEachInstance([&](const storage::InstanceLocation& loc) {
    ++report.rows_checked;
    referenced.insert(loc.blob_path);
    std::error_code ec;
    auto size = fs::file_size(hub.blobs->AbsolutePath(loc.blob_path), ec);
    if (ec) {
      report.problems.push_back("missing blob for instance " + loc.sop_uid + ": " + loc.blob_path);
      missing.push_back(loc);
    } else if (size != loc.blob_size) {
      report.problems.push_back("blob of instance " + loc.sop_uid + " has " +
                                std::to_string(size) + " bytes, index says " +
                                std::to_string(loc.blob_size));
      missing.push_back(loc);
    }
  });
  if (!st.ok()) return st;
  std::vector<std::string> orphans;
  st = hub.blobs->ForEach([&](const std::string& rel, uint64_t) {
    ++report.blobs_checked;
    if (!referenced.count(rel)) {
      report.problems.push_back("blob without index row: " + rel);
      orphans.push_back(rel);
    }
  });
  if (!st.ok()) return st;
  if (!repair) return report;

  for (const auto& loc : missing) {
    Status d = hub.index->DeleteInstance(loc.sop_uid);
    report.repairs.push_back(d.ok() ? "removed index row of " + loc.sop_uid
                                    : "cannot remove row of " + loc.sop_uid + ": " + d.ToString());
  }
  const std::string quarantine = hub.data_dir + "/quarantine";
  for (const auto& rel : orphans) {
    std::string temp = hub.blobs->NewTempPath();
    std::error_code ec;
    fs::copy_file(hub.blobs->AbsolutePath(rel), temp, ec);
    if (ec) {
      report.repairs.push_back("cannot read orphan " + rel + ": " + ec.message());
      continue;
    }
    auto stored = hub.ingest->Store(temp, {ingest::Origin::Kind::kImport, "check --repair", "", ""});
    if (stored.ok()) {
      (void)hub.blobs->Remove(rel);
      report.repairs.push_back("re-indexed orphan " + rel + " as " + stored->sop_instance_uid +
                               " (" + ingest::OutcomeName(stored->outcome) + ")");
    } else {
      fs::create_directories(quarantine, ec);
      fs::rename(hub.blobs->AbsolutePath(rel), quarantine + "/" + fs::path(rel).filename().string(), ec);
      report.repairs.push_back("quarantined unreadable orphan " + rel + ": " +
                               stored.status().message());
    }
  }
  return report;
}

}  // namespace radflow::server
