// The append-only audit log DATA/audit/audit.log (docs/audit.md): one record per line,
//   <hash> <record>\n
// where <record> is a JSON object {"seq","at","at_ms","prev","event",...,"xml"} (the XML
// escaped as a JSON string, so one record is one line) and
//   <hash> = hex(SHA-256(bytes(prev) || <record>)),
// prev being the previous line's <hash> (64 zeros before the first record). Editing,
// removing, reordering or inserting a line breaks the chain at that record.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_event.h"
#include "base/status.h"
#include "storage/audit_store.h"

namespace radflow::audit {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct LogRecord {
  int64_t seq = 0;
  std::string prev;  // hex
  std::string hash;  // hex (set by FormatLine / ParseLine)
  AuditEvent event;  // at_ms set
  std::string event_id, action;
  int outcome = 0;
  std::string xml;
};

// hex(SHA-256(bytes(prev_hex) || record)).
std::string ChainHash(std::string_view prev_hex, std::string_view record);
// The line of `r` (newline included); sets r.hash.
std::string FormatLine(LogRecord& r);
// One line without its newline. InvalidArgument "not a record: ..." when it does not have
// the form; the hash is read, not checked (see HashMatches).
Result<LogRecord> ParseLine(std::string_view line);
// Whether the line's hash is the chain hash of its record given `prev_hex`.
bool HashMatches(std::string_view line, std::string_view prev_hex);

// The index row of a parsed record at (offset, length).
storage::AuditRow ToRow(const LogRecord& r, int64_t offset, int64_t length);

// Calls fn(line, offset) for every complete line of `path` from `offset` on (a last line
// without its newline is passed with torn=true). IoError when the file cannot be read.
Status ForEachLine(const std::string& path, int64_t offset,
                   const std::function<bool(std::string_view line, int64_t offset, bool torn)>& fn);

}  // namespace radflow::audit
