// `radflow audit verify`: the hash chain of DATA/audit/audit.log, read from its start, and
// its end against the newest record the index knows of (docs/audit.md).
#include <filesystem>

#include "audit/audit_log.h"
#include "audit/audit_trail.h"
#include "storage/db.h"
#include "storage/index_location.h"

namespace radflow::audit {

VerifyResult Verify(const std::string& data_dir, const std::string& index) {
  const std::string path = data_dir + "/audit/audit.log";
  const std::string db = storage::IndexLocation(data_dir, index);
  VerifyResult v;
  std::error_code ec;

  // The index's head: where the log must at least reach (absent index: nothing to compare).
  std::optional<storage::AuditRow> head;
  bool have_index = false;
  if (storage::IsPostgresLocation(db) || std::filesystem::exists(db, ec)) {
    auto store = storage::AuditStore::Open(db);
    if (store.ok()) {
      auto h = (*store)->Head();
      if (h.ok()) {
        head = *h;
        have_index = true;
      }
    }
  }

  int64_t expected = 1;
  std::string prev(kGenesisHash);
  std::string head_hash_in_log;
  auto fail = [&](int64_t seq, std::string why) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.message = "record " + std::to_string(seq) + ": " + why;
  };
  if (std::filesystem::exists(path, ec)) {
    Status st = ForEachLine(path, 0, [&](std::string_view line, int64_t offset, bool torn) {
      const std::string at = " (byte " + std::to_string(offset) + ")";
      if (torn) {
        fail(expected, "the last line is incomplete" + at + " (a torn write or a truncated file)");
        return false;
      }
      auto r = ParseLine(line);
      if (!r.ok()) {
        fail(expected, "unreadable, " + r.status().message() + at + " (edited)");
        return false;
      }
      if (r->seq != expected) {
        fail(expected, "found record " + std::to_string(r->seq) + " where " + std::to_string(expected) +
                           " was expected" + at + " (records removed, inserted or reordered)");
        return false;
      }
      if (r->prev != prev) {
        fail(expected, "its previous-record hash does not match record " + std::to_string(expected - 1) + at +
                           " (records removed, inserted or reordered)");
        return false;
      }
      if (!HashMatches(line, prev)) {
        fail(expected, "hash mismatch" + at + " (the record was edited)");
        return false;
      }
      if (head && r->seq == head->seq) head_hash_in_log = r->hash;
      prev = r->hash;
      ++v.records;
      ++expected;
      return true;
    });
    if (!st.ok() && v.ok) {
      v.ok = false;
      v.first_bad_seq = expected;
      v.message = st.message();
    }
  }
  if (!v.ok) return v;

  const int64_t last = expected - 1;
  if (head && head->seq > last) {
    fail(last + 1, "missing: the log ends at record " + std::to_string(last) + " but the index lists records up to " +
                       std::to_string(head->seq) + " (the tail was truncated or the log removed)");
    return v;
  }
  if (head && head_hash_in_log != head->hash) {
    fail(head->seq, "differs from the record the index holds (the log was rewritten)");
    return v;
  }
  v.message = std::to_string(v.records) + " record(s) intact";
  if (!have_index) v.message += " (no index to check the end of the log against)";
  return v;
}

}  // namespace radflow::audit
