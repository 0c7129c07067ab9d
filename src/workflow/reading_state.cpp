#include "workflow/reading_state.h"

namespace radflow::workflow {

namespace {

storage::AuditEntry Entry(const storage::WorklistItem& item, const std::string& reader,
                          const std::string& action, const std::string& from, int64_t now_ms,
                          const std::string& note = "") {
  storage::AuditEntry a;
  a.study_uid = item.study_uid;
  a.at = now_ms;
  a.reader = reader;
  a.action = action;
  a.from_state = from;
  a.to_state = item.state;
  a.note = note;
  return a;
}

Status NeedReader(const std::string& reader) {
  if (reader.empty()) {
    return {ErrorCode::kInvalidArgument,
            "a reader is required (a signed-in user)"};
  }
  return Status::Ok();
}

void EndClaim(storage::WorklistItem& item) {
  item.reader.clear();
  item.claimed_at = 0;
  item.claim_expires_at = 0;
  item.reopened_from.clear();
}

Status HeldByAnother(const storage::WorklistItem& item, int64_t now_ms) {
  const std::string holder = Holder(item, now_ms);
  return {ErrorCode::kConflict, "study " + item.study_uid + " is claimed by " + holder};
}

// Ok when `reader` holds the claim; else Conflict naming the holder, or saying nobody does.
Status NeedClaim(const storage::WorklistItem& item, const std::string& reader, int64_t now_ms) {
  if (Holds(item, reader, now_ms)) return Status::Ok();
  if (!Holder(item, now_ms).empty()) return HeldByAnother(item, now_ms);
  return {ErrorCode::kConflict, "study " + item.study_uid + " is not claimed by " + reader};
}

}  // namespace

bool IsReadingState(const std::string& s) {
  return s == "unread" || s == "in_progress" || s == "preliminary" || s == "final" ||
         s == "cancelled";
}

std::string Holder(const storage::WorklistItem& item, int64_t now_ms) {
  if (item.reader.empty() || item.claim_expires_at <= now_ms) return "";
  return item.reader;
}

bool Holds(const storage::WorklistItem& item, const std::string& reader, int64_t now_ms) {
  return !reader.empty() && Holder(item, now_ms) == reader;
}

Result<storage::AuditEntry> Claim(storage::WorklistItem& item, const std::string& reader,
                                  int64_t now_ms, int64_t claim_ms) {
  RADFLOW_RETURN_IF_ERROR(NeedReader(reader));
  const std::string from = item.state;
  const std::string holder = Holder(item, now_ms);
  if (!holder.empty() && holder != reader) return HeldByAnother(item, now_ms);
  if (from == "final" || from == "cancelled") {
    return Status(ErrorCode::kConflict, "study " + item.study_uid + " is " + from + ": it cannot be claimed");
  }
  // (An in_progress item whose claim expired but was not yet swept is taken over as it is.)
  if (from == "preliminary") item.reopened_from = "preliminary";
  item.state = "in_progress";
  item.reader = reader;
  if (holder != reader) item.claimed_at = now_ms;
  item.claim_expires_at = now_ms + claim_ms;
  if (item.read_started_at == 0) item.read_started_at = now_ms;
  return Entry(item, reader, holder == reader ? "renewed" : "claimed", from, now_ms);
}

Result<storage::AuditEntry> Release(storage::WorklistItem& item, const std::string& reader,
                                    int64_t now_ms) {
  RADFLOW_RETURN_IF_ERROR(NeedReader(reader));
  RADFLOW_RETURN_IF_ERROR(NeedClaim(item, reader, now_ms));
  const std::string from = item.state;
  item.state = item.reopened_from.empty() ? "unread" : item.reopened_from;
  EndClaim(item);
  return Entry(item, reader, "released", from, now_ms);
}

Result<storage::AuditEntry> Heartbeat(storage::WorklistItem& item, const std::string& reader,
                                      int64_t now_ms, int64_t claim_ms) {
  RADFLOW_RETURN_IF_ERROR(NeedReader(reader));
  RADFLOW_RETURN_IF_ERROR(NeedClaim(item, reader, now_ms));
  item.claim_expires_at = now_ms + claim_ms;
  return Entry(item, reader, "heartbeat", item.state, now_ms);
}

Result<storage::AuditEntry> ChangeState(storage::WorklistItem& item, const std::string& reader,
                                        const std::string& to, const std::string& note,
                                        int64_t now_ms) {
  RADFLOW_RETURN_IF_ERROR(NeedReader(reader));
  if (!IsReadingState(to)) {
    return Status(ErrorCode::kInvalidArgument,
                  "unknown state '" + to + "' (unread, in_progress, preliminary, final, cancelled)");
  }
  const std::string from = item.state;
  auto illegal = [&] {
    return Status(ErrorCode::kConflict, "illegal state change " + from + " → " + to + " for study " +
                                            item.study_uid);
  };
  if (to == "in_progress") {
    return Status(ErrorCode::kConflict, "illegal state change " + from + " → in_progress for study " +
                                            item.study_uid + ": claim the study instead");
  }
  bool legal = false;
  if (from == "in_progress") legal = to == "preliminary" || to == "final" || to == "unread" || to == "cancelled";
  if (from == "preliminary") legal = to == "final" || to == "cancelled";
  if (from == "unread") legal = to == "cancelled";
  if (from == "cancelled") legal = to == "unread";
  if (!legal) return illegal();
  if (from == "in_progress") {
    // Leaving in_progress needs the claim.
    RADFLOW_RETURN_IF_ERROR(NeedClaim(item, reader, now_ms));
  }
  // A claim on a preliminary or unread item does not exist (claiming makes it in_progress).
  item.state = to == "unread" && !item.reopened_from.empty() ? item.reopened_from : to;
  if (to == "preliminary" || to == "final") item.reported_at = now_ms;
  EndClaim(item);
  return Entry(item, reader, "state", from, now_ms, note);
}

std::optional<storage::AuditEntry> Expire(storage::WorklistItem& item, int64_t now_ms) {
  if (item.reader.empty() || item.claim_expires_at == 0 || item.claim_expires_at > now_ms) {
    return std::nullopt;
  }
  const std::string from = item.state;
  const std::string reader = item.reader;
  if (item.state == "in_progress") item.state = item.reopened_from.empty() ? "unread" : item.reopened_from;
  EndClaim(item);
  return Entry(item, reader, "expired", from, now_ms, "claim idle until expiry");
}

}  // namespace radflow::workflow
