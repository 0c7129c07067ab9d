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

// Where the blobs live (--storage, --s3-endpoint, --node-id; docs/storage-backends.md):
// storage "" → DATA/blobs (this node's alone); a folder several nodes share; s3://BUCKET/PREFIX.
struct BlobLocation {
  std::string storage;
  std::string s3_endpoint;
  std::string node_id;  // "" → ResolveNodeId("", data_dir)
};

// This node's name among several on one index and one blob store: `requested` when given,
// else hostname + "-" + the first 8 hex digits of SHA-256 of the absolute --data path
// (stable across restarts; two data directories on one host get two names).
std::string ResolveNodeId(const std::string& requested, const std::string& data_dir);
struct ServerConfig;
std::string ResolveNodeId(const ServerConfig& config);  // config.node_id, config.data_dir

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
  // `where`: the blobs elsewhere (a shared folder, S3), temporary files and the read cache
  // staying under DIR.
  static Result<std::unique_ptr<Hub>> Open(const std::string& data_dir,
                                           ingest::IngestOptions options = {}, bool owner = false,
                                           const std::string& index = "", const BlobLocation& where = {});
};

// Removes index rows whose blob never became durable: a store interrupted by a crash after
// its index commit but before its blob's fsync (never acknowledged). The server runs it at
// start-up after an unclean stop; returns the number of rows removed. On shared storage it
// does nothing (returns 0): there the blob is durable before its row, and a row whose blob
// this node cannot see yet may be another node's store in flight.
Result<int> RecoverInterruptedStores(Hub& hub);

// `radflow check`: every index row has a readable blob of the recorded size, and every
// blob an index row. With repair, rows without a blob are removed, and orphan blobs are
// re-ingested (a crash between blob and index commit leaves one) or quarantined. A blob
// younger than a minute without a row is another node's store in flight: a note, not a
// problem. On S3, multipart uploads older than an hour (a node crashed mid-upload) are
// problems, aborted with repair.
struct CheckReport {
  int64_t rows_checked = 0;
  int64_t blobs_checked = 0;
  std::vector<std::string> problems;  // one line each
  std::vector<std::string> repairs;
  std::vector<std::string> notes;     // not problems
};
Result<CheckReport> CheckConsistency(Hub& hub, bool repair);

}  // namespace radflow::server
