// AuditStore: the search index of the audit log (table audit_records, schema 010_audit.sql;
// docs/audit.md). The log DATA/audit/audit.log is the record; each row here points into it
// (offset, length) and keeps the record's chain hash, so that the newest row is the "head"
// against which a truncated log is detected.
//
// Own connections on index.db: reads never wait for a write. Writes are one BEGIN IMMEDIATE
// transaction (synchronous=FULL). Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct AuditRow {
  int64_t seq = 0;
  int64_t at = 0;            // unix ms
  std::string event;         // radflow's name (audit_event.h): login, query, ...
  std::string event_id;      // the DICOM EventID code value (DCM), e.g. "110114"
  std::string action;        // EventActionCode C | R | U | D | E
  int outcome = 0;           // EventOutcomeIndicator 0 | 4 | 8 | 12
  std::string user, role, source;
  std::string patient_id, patient_name, study_uid;
  std::string detail, interface, failure_reason;
  std::string hash;          // the record's chain hash (hex SHA-256)
  int64_t offset = 0;        // the line's byte offset in audit.log
  int64_t length = 0;        // its length, the newline included
};

struct AuditFilter {
  std::string user;     // exact
  std::string event;    // exact; a comma-separated list matches any
  std::string patient;  // patient_id exact, or a substring of patient_name
  std::string study;    // exact
  int64_t since = 0;    // at >= since (0: any)
  int64_t until = 0;    // at < until (0: any)
  std::string outcome;  // "" | success (0) | failure (not 0)
  int limit = 100;      // newest first; clamped to 1..1000
  int offset = 0;
};

struct AuditPage {
  std::vector<AuditRow> records;
  int64_t total = 0;  // rows matching, before limit and offset
};

class AuditStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks audit_records (010_audit.sql).
  static Result<std::unique_ptr<AuditStore>> Open(const std::string& index_path);
  ~AuditStore();

  // Inserts the rows in one transaction; a seq already present is left as it is (a record
  // indexed by another process that read the same log).
  Status Insert(const std::vector<AuditRow>& rows);
  // InvalidArgument for an outcome other than success | failure.
  Result<AuditPage> Search(const AuditFilter& filter);
  Result<std::optional<AuditRow>> Get(int64_t seq);
  // The row of the highest seq; nullopt when the index is empty.
  Result<std::optional<AuditRow>> Head();

 private:
  class Impl;
  explicit AuditStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
