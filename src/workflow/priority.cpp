#include "workflow/priority.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace radflow::workflow {

namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

const char* const kSeverities[] = {"info", "low", "moderate", "high", "critical"};

}  // namespace

std::string NormaliseOrderPriority(const std::string& value) {
  std::string v = Upper(value);
  v.erase(0, v.find_first_not_of(' '));
  v.erase(v.find_last_not_of(' ') + 1);
  if (v == "URGENT") return "HIGH";
  for (const char* known : {"STAT", "HIGH", "ROUTINE", "MEDIUM", "LOW"}) {
    if (v == known) return v;
  }
  return "";
}

Result<PriorityRule> ParsePriorityRule(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "priority rule: not a JSON object");
  }
  PriorityRule rule;
  for (const auto& [key, value] : j.items()) {
    if (key == "default_order") {
      if (!value.is_number_integer()) {
        return Status(ErrorCode::kInvalidArgument, "priority rule: default_order: expected an integer");
      }
      rule.default_order = value.get<int>();
    } else if (key == "order" || key == "ai") {
      if (!value.is_object()) {
        return Status(ErrorCode::kInvalidArgument, "priority rule: " + key + ": expected an object");
      }
      for (const auto& [name, weight] : value.items()) {
        const std::string field = "priority rule: " + key + "." + name;
        if (!weight.is_number_integer()) {
          return Status(ErrorCode::kInvalidArgument, field + ": expected an integer");
        }
        if (key == "order") {
          if (NormaliseOrderPriority(name) != Upper(name)) {
            return Status(ErrorCode::kInvalidArgument,
                          field + ": not a RequestedProcedurePriority (STAT, HIGH, ROUTINE, MEDIUM, LOW)");
          }
          rule.order[Upper(name)] = weight.get<int>();
        } else {
          if (std::find(std::begin(kSeverities), std::end(kSeverities), name) == std::end(kSeverities)) {
            return Status(ErrorCode::kInvalidArgument,
                          field + ": not a severity (info, low, moderate, high, critical)");
          }
          rule.ai[name] = weight.get<int>();
        }
      }
    } else {
      return Status(ErrorCode::kInvalidArgument, "priority rule: unknown field '" + key + "'");
    }
  }
  return rule;
}

std::string PriorityRuleJson(const PriorityRule& rule) {
  nlohmann::json j{{"order", rule.order}, {"default_order", rule.default_order}, {"ai", rule.ai}};
  j["formula"] = "priority_score = order[order_priority] + ai[most severe finding]; ties: longest waiting first";
  return j.dump();
}

std::string AiReason(const storage::StudyAi& ai) {
  std::string out = ai.label;
  if (!ai.app_id.empty()) out += (out.empty() ? "" : ", ") + ai.app_id;
  if (!ai.app_version.empty()) out += " " + ai.app_version;
  return out;
}

void Score(const PriorityRule& rule, storage::WorklistItem& item) {
  item.priority_reasons.clear();
  int score = rule.default_order;
  if (auto it = rule.order.find(item.order_priority); it != rule.order.end()) score = it->second;
  if (score != rule.default_order || !item.order_priority.empty()) {
    if (score > 0) item.priority_reasons.push_back("↑ " + item.order_priority + " order");
    if (score < 0) item.priority_reasons.push_back("↓ " + item.order_priority + " order");
  }
  if (item.ai_rank > 0) {
    auto it = rule.ai.find(item.ai_flag);
    const int weight = it != rule.ai.end() ? it->second : 0;
    score += weight;
    if (weight != 0) {
      item.priority_reasons.insert(item.priority_reasons.begin(),
                                   std::string(weight > 0 ? "↑ " : "↓ ") + item.ai_flag +
                                       (item.ai_reason.empty() ? "" : ": " + item.ai_reason));
    }
  }
  item.priority_score = score;
}

}  // namespace radflow::workflow
