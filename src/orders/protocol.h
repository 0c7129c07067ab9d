// Protocol selection (docs/protocols.md): the imaging protocol proposed for an order from its
// requested procedure and reason for exam, by a rule set in a configurable file
// (config/protocols.json by default; `--protocol-rules FILE`). Pure functions; the first
// rule that matches wins, and the proposal names the rule and why it matched.
//
// Every phrase list entry is a phrase of whole words ("ct head"), or alternatives separated
// by '|' ("ct|cta|computed tomography"); a word ending in '*' matches by prefix ("fractur*").
// Texts and phrases are compared after Normalize(): lower case, accents folded, punctuation
// as word breaks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/order_store.h"

namespace radflow::orders {

struct ProtocolRule {
  std::string id;                      // "ct-head-stroke"
  std::string protocol_code, protocol_name;  // "CTHEAD-NC", "CT head without contrast"
  std::string modality;                // the order's modality must equal it ('' any; "CR|DX": either)
  std::vector<std::string> procedure_any;    // words/phrases, any in the procedure text or code
  std::vector<std::string> reason_any;       // any in the reason for exam ('' list: no constraint)
  std::vector<std::string> reason_none;      // none of these in the reason (e.g. "contrast allergy")
  std::string body_part;               // BodyPartExamined the protocol implies
  int duration_minutes = 0;            // the slot the protocol needs
  std::string contrast;                // "none" | "iv" | "oral" | "iv+oral"
  // Added by the protocol module (docs/protocols.md):
  std::vector<std::string> procedure_all;    // every entry must match the procedure (AND of ORs)
  std::vector<std::string> procedure_none;   // none of these in the procedure
  std::string note;                    // free text: where the rule comes from (ACR AC, ...)
};

struct ProtocolRules {
  int version = 1;
  std::vector<ProtocolRule> rules;
};

struct ProtocolProposal {
  bool found = false;
  std::string rule_id, protocol_code, protocol_name, body_part, contrast;
  int duration_minutes = 0;
  std::string reason;  // "procedure 'CT HEAD' and reason 'stroke' (rule ct-head-stroke)"
};

// Parses the JSON rule file; errors name the rule index and field.
Result<ProtocolRules> ParseProtocolRules(const std::string& json);
Result<ProtocolRules> LoadProtocolRules(const std::string& path);
// The rules shipped with radflow (config/protocols.json, compiled in).
const ProtocolRules& DefaultProtocolRules();
// The compiled-in text of config/protocols.json (what DefaultProtocolRules parsed).
std::string_view DefaultProtocolRulesJson();

// One rule per protocol_code, the first that names it, in rule order: the protocols a
// technologist may change a proposal to (GET /api/v1/protocols).
std::vector<ProtocolRule> ProtocolChoices(const ProtocolRules& rules);

// Case-insensitive, accent- and punctuation-tolerant matching on whole words/phrases.
ProtocolProposal ProposeProtocol(const ProtocolRules& rules, const storage::OrderRow& order);

// The text form the matcher compares: lower-case ASCII words separated by one space
// (Latin-1 accents folded: "Hémorragie" -> "hemorragie"; other bytes and punctuation break words).
std::string NormalizeProtocolText(std::string_view text);

}  // namespace radflow::orders
