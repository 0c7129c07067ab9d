// DICOM audit messages (PS3.15 A.5, the schema derived from RFC 3881) for radflow's audit
// events, and the one table that maps each event to its DICOM codes (docs/audit.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_event.h"
#include "crypto/crypto.h"

namespace radflow::audit {

// How the participants of a message are laid out.
enum class MessageShape {
  kPlain,             // requestor + radflow (RoleIDCode 110150 Application)
  kTransferOut,       // radflow is the source (110153), the requestor the destination (110152)
  kTransferIn,        // the requestor is the source (110153), radflow the destination (110152)
  kQuery,             // plain + a Query participant object (110181 SOP Class UID)
};

struct EventCodes {
  std::string_view event;           // radflow's name (audit_event.h)
  std::string_view event_id;        // EventID, DCM (CID 400 Audit Event ID)
  std::string_view event_name;      // its code meaning
  std::string_view action;          // EventActionCode
  std::string_view type_code;       // EventTypeCode (DCM), "" none
  std::string_view type_name;
  MessageShape shape = MessageShape::kPlain;
  int failure_outcome = 4;          // EventOutcomeIndicator when the event failed
  int data_life_cycle = 0;          // ParticipantObjectDataLifeCycle of the study, 0 none
};

// Every known event, in table order.
const std::vector<EventCodes>& EventTable();
// The row of `event`; unknown names map to 110100 Application Activity (and are logged once).
const EventCodes& CodesFor(std::string_view event);
// 0 on success; on failure the row's failure_outcome (login-failed always fails).
int OutcomeOf(const AuditEvent& event);

// What the message says about the reporting node (radflow itself).
struct NodeInfo {
  std::string source_id = "RADFLOW";  // AuditSourceID; the node's UserID (the AE title)
  std::string host;                   // NetworkAccessPointID of the node (machine name)
  std::string process_id;             // AlternativeUserID of the node
};

// The AuditMessage XML of one event (event.at_ms must be set), on one line: no XML
// declaration, control characters replaced by spaces, invalid UTF-8 by '?'.
std::string BuildAuditMessage(const AuditEvent& event, const NodeInfo& node);

// Text made safe for XML: valid UTF-8, no control characters, at most max_bytes.
std::string CleanText(std::string_view text, size_t max_bytes = 4096);

// RFC 4648 §4 base64 (how ParticipantObjectQuery carries the request).
using crypto::Base64;

}  // namespace radflow::audit
