// The worklist's priority rule, in one place (docs/worklist.md, "The priority rule"):
//   priority_score = order weight (RequestedProcedurePriority, PS3.3 C.4.11) + AI weight
//   (the study's most severe finding). Ties: the longest waiting first (the list's order).
// Pure functions; the rule is configurable (JSON, `--worklist-rule FILE`).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/workflow_store.h"

namespace radflow::workflow {

struct PriorityRule {
  // Order priorities, upper case; a missing or unknown value weighs `default_order`.
  std::map<std::string, int> order{{"STAT", 500}, {"HIGH", 200}, {"ROUTINE", 0},
                                   {"MEDIUM", 0}, {"LOW", -50}};
  int default_order = 0;
  // Finding severities (info | low | moderate | high | critical).
  std::map<std::string, int> ai{{"critical", 1000}, {"high", 300}, {"moderate", 100},
                                {"low", 0}, {"info", 0}};
};

// Parses the JSON form ({"order": {...}, "default_order": n, "ai": {...}}); errors name
// the field. Keys left out keep their defaults.
Result<PriorityRule> ParsePriorityRule(const std::string& json);
std::string PriorityRuleJson(const PriorityRule& rule);

// Sets item.priority_score and item.priority_reasons from the item's order priority and
// AI fields (ai_flag, ai_reason). Reasons read like "↑ critical: suspected haemorrhage
// 12.0 mL, 14 mm, ct-head-bleed 1.0" and "↑ STAT order".
void Score(const PriorityRule& rule, storage::WorklistItem& item);

// The reason text of a study's AI state: "<label>, <app> <version>".
std::string AiReason(const storage::StudyAi& ai);

// DICOM's RequestedProcedurePriority values (PS3.3 C.4.11 defines STAT, HIGH, ROUTINE,
// MEDIUM, LOW); "URGENT" is read as HIGH. Upper-cases; "" for anything else.
std::string NormaliseOrderPriority(const std::string& value);

}  // namespace radflow::workflow
