// The reading states of a worklist item and the changes between them (docs/worklist.md):
//
//   unread ──claim──> in_progress ──> preliminary ──> final
//     ^                 │  │ └──release──> unread (or back to preliminary when reopened)
//     │                 │  └────────────────────────> final
//     └── cancelled <───┴── any state but final
//
// Claiming a preliminary item reopens it (in_progress, remembering where it came from).
// Pure functions; the service applies them inside one store transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "storage/workflow_store.h"

namespace radflow::workflow {

bool IsReadingState(const std::string& s);  // unread | in_progress | preliminary | final | cancelled

// Whether `reader` holds the item's claim at now_ms (an expired claim is held by nobody).
bool Holds(const storage::WorklistItem& item, const std::string& reader, int64_t now_ms);
// The holder of an unexpired claim, or "".
std::string Holder(const storage::WorklistItem& item, int64_t now_ms);

// Each edits `item` and returns its audit entry, or fails with kConflict (held by another,
// illegal change; the message names the holder or both states) or kInvalidArgument.
Result<storage::AuditEntry> Claim(storage::WorklistItem& item, const std::string& reader,
                                  int64_t now_ms, int64_t claim_ms);
Result<storage::AuditEntry> Release(storage::WorklistItem& item, const std::string& reader,
                                    int64_t now_ms);
Result<storage::AuditEntry> Heartbeat(storage::WorklistItem& item, const std::string& reader,
                                      int64_t now_ms, int64_t claim_ms);
Result<storage::AuditEntry> ChangeState(storage::WorklistItem& item, const std::string& reader,
                                        const std::string& to, const std::string& note,
                                        int64_t now_ms);
// An expired claim given back by the sweeper (audited as "expired"); nullopt when the
// claim is no longer expired (renewed meanwhile).
std::optional<storage::AuditEntry> Expire(storage::WorklistItem& item, int64_t now_ms);

}  // namespace radflow::workflow
