// Hub: an opened data directory — blob store, index and the ingest chokepoint — shared
// by the server and the offline CLI commands.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "ingest/ingest_service.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"

namespace radflow::server {

struct Hub {
  std::string data_dir;
  std::string index_location;  // IndexLocation(data_dir, index): a file or a postgresql:// URI
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<storage::Index> index;
  std::unique_ptr<ingest::IngestService> ingest;
  std::unique_ptr<storage::JobStore> jobs;  // the AI engine's queue and findings, in index.db

  // DIR/blobs (the Part-10 files) and the index: `index` ("" → DIR/index.db, SQLite; or a
  // postgresql:// URI). `owner`: this process holds the data directory's lock (server,
  // check --repair) and may clean up stale temp files.
  static Result<std::unique_ptr<Hub>> Open(const std::string& data_dir,
                                           ingest::IngestOptions options = {}, bool owner = false,
                                           const std::string& index = "");
};

// Removes index rows whose blob never became durable: a store interrupted by a crash after
// its index commit but before its blob's fsync (never acknowledged). The server runs it at
// start-up after an unclean stop; returns the number of rows removed.
Result<int> RecoverInterruptedStores(Hub& hub);

// `radflow check`: every index row has a readable blob of the recorded size, and every
// blob an index row. With repair, rows without a blob are removed, and orphan blobs are
// re-ingested (a crash between blob and index commit leaves one) or quarantined.
struct CheckReport {
  int64_t rows_checked = 0;
  int64_t blobs_checked = 0;
  std::vector<std::string> problems;  // one line each
  std::vector<std::string> repairs;
};
Result<CheckReport> CheckConsistency(Hub& hub, bool repair);

}  // namespace radflow::server
