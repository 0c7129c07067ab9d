// AuditTrail: every auditable event as a DICOM audit message (PS3.15 A.5, the RFC 3881
// derived schema) in a hash-chained, append-only local log DATA/audit/audit.log, indexed for
// search (storage::AuditStore, table audit_records in index.db), and sent to a syslog
// receiver over TLS (RFC 5425 framing, RFC 5424 header) when configured (docs/audit.md).
//
// Record() only enqueues: a writer thread appends each batch under flock(2) (the server and
// the CLI may append to one log), fsyncs it, then indexes it. A syslog receiver that is down
// never blocks or loses local records: its own bounded queue drops (counted, logged).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "audit/audit_event.h"
#include "base/status.h"
#include "storage/audit_store.h"

namespace radflow::audit {

struct AuditOptions {
  std::string data_dir;    // the log: DATA/audit/audit.log
  std::string db_path;     // the index; "" → DATA/index.db
  std::string syslog;      // "host:port" of an RFC 5425 receiver; "" → none
  std::string syslog_ca;   // PEM file: the receiver's certificate must chain to it (required with syslog)
  std::string source_id = "RADFLOW";  // AuditSourceID and the node's UserID (the AE title)
  size_t syslog_queue = 10000;        // messages waiting for the receiver; more are dropped
};

using AuditRecord = storage::AuditRow;
using AuditQuery = storage::AuditFilter;
using AuditPage = storage::AuditPage;

struct VerifyResult {
  bool ok = true;
  int64_t records = 0;        // records read in chain order before the first bad one (all when ok)
  int64_t first_bad_seq = 0;  // 0 when ok: the seq the first bad record has (or should have had)
  std::string message;        // why ("record 5: hash mismatch (edited)"), or "N records intact"
};

// Reads DATA/audit/audit.log from its start and checks every record's chain link, its seq and
// its hash; then compares the log's last record with the newest one the index knows of
// (`index`: a file or postgresql:// URI; "" → DATA/index.db), so that a truncated tail is
// detected too. Opens nothing for writing.
VerifyResult Verify(const std::string& data_dir, const std::string& index = "");

// "2026-12-07", "2026-12-07T10:00:00Z" (UTC; fractional seconds allowed) or unix ms → unix ms.
Result<int64_t> ParseTime(const std::string& text);
// unix ms → "2026-12-07T10:00:00.123Z".
std::string FormatTime(int64_t unix_ms);

// For a command-line tool: opens the trail on options.data_dir (no syslog), records one event
// (interface "cli", user $USER when empty), waits until it is durable, closes.
Status RecordNow(const AuditOptions& options, AuditEvent event);

class AuditTrail {
 public:
  // Creates DATA/audit/, opens the log and the index (applying the schema migrations when
  // index.db lacks the audit table), indexes records a crash left in the log unindexed, and
  // starts the writer (and the syslog sender when options.syslog is set). InvalidArgument for
  // a bad syslog address or a syslog without a CA file; IoError when the log cannot be opened.
  static Result<std::unique_ptr<AuditTrail>> Open(const AuditOptions& options);
  ~AuditTrail();  // Stop()

  // Enqueues one event (at_ms 0: now). Never blocks on I/O, never throws.
  void Record(AuditEvent event);
  // A sink that records into this trail (for AuthService, DIMSE, the HTTP observer).
  AuditSink Sink();
  // Waits until every event recorded before the call is durable in the log and indexed (or
  // the writer failed on it: the failure is logged and the events stay queued for a retry).
  void Flush();
  // Flushes, gives the syslog sender up to 2 s to drain, stops the threads. Idempotent.
  void Stop();

  // Newest first. Flushes first, so that a search sees what was recorded before it.
  Result<AuditPage> Search(const AuditQuery& query);
  // The DICOM audit message of record `seq` (read back from the log); nullopt when unknown.
  Result<std::optional<std::string>> MessageXml(int64_t seq);
  // Verify(data_dir) after a Flush.
  VerifyResult Verify();

  struct Stats {
    int64_t recorded = 0;        // Record() calls
    int64_t durable = 0;         // records written, fsynced and indexed
    int64_t dropped = 0;         // local queue overflow (the disk failing for long)
    int64_t syslog_sent = 0;
    int64_t syslog_dropped = 0;  // syslog queue overflow
    bool syslog_connected = false;
  };
  Stats stats() const;

 private:
  class Impl;
  explicit AuditTrail(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::audit
