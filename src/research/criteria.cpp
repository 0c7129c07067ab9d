#include "research/criteria.h"

#include <nlohmann/json.hpp>

#include "research/ibsi_features.h"

namespace radflow::research {

namespace {

using nlohmann::json;

Status Bad(const std::string& field, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, "criteria." + field + ": " + why);
}

std::string TypeName(const json& j) { return j.type_name(); }

// A string or an array of strings; empty strings dropped.
Status StringList(const json& j, const std::string& field, std::vector<std::string>* out) {
  if (j.is_null()) return Status::Ok();
  if (j.is_string()) {
    if (!j.get<std::string>().empty()) out->push_back(j.get<std::string>());
    return Status::Ok();
  }
  if (!j.is_array()) return Bad(field, "expected an array of strings, got " + TypeName(j));
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) return Bad(field + "[" + std::to_string(i) + "]", "expected a string, got " + TypeName(j[i]));
    if (!j[i].get<std::string>().empty()) out->push_back(j[i].get<std::string>());
  }
  return Status::Ok();
}

Status String(const json& j, const std::string& field, std::string* out) {
  if (j.is_null()) return Status::Ok();
  if (!j.is_string()) return Bad(field, "expected a string, got " + TypeName(j));
  *out = j.get<std::string>();
  return Status::Ok();
}

Status Number(const json& j, const std::string& field, std::optional<double>* out) {
  if (j.is_null()) return Status::Ok();
  if (!j.is_number()) return Bad(field, "expected a number, got " + TypeName(j));
  *out = j.get<double>();
  return Status::Ok();
}

// DICOM DA (PS3.5 6.2): YYYYMMDD; "YYYY-MM-DD" is accepted too.
Status Date(const json& j, const std::string& field, std::string* out) {
  std::string s;
  RADFLOW_RETURN_IF_ERROR(String(j, field, &s));
  if (s.empty()) return Status::Ok();
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') s = s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2);
  bool digits = s.size() == 8;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  const int m = digits ? std::stoi(s.substr(4, 2)) : 0, d = digits ? std::stoi(s.substr(6, 2)) : 0;
  if (!digits || m < 1 || m > 12 || d < 1 || d > 31) {
    return Bad(field, "expected a date YYYYMMDD, got '" + j.get<std::string>() + "'");
  }
  *out = s;
  return Status::Ok();
}

Status Range(const std::optional<double>& min, const std::optional<double>& max, const std::string& field) {
  if (min && max && *min > *max) return Bad(field, "min is above max");
  return Status::Ok();
}

Status Keys(const json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* a : allowed) known = known || it.key() == a;
    if (!known) return Bad(where.empty() ? it.key() : where + "." + it.key(), "unknown field");
  }
  return Status::Ok();
}

}  // namespace

int SeverityRank(std::string_view s) {
  if (s == "info") return 1;
  if (s == "low") return 2;
  if (s == "moderate") return 3;
  if (s == "high") return 4;
  if (s == "critical") return 5;
  return 0;
}

Result<Criteria> ParseCriteria(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status(ErrorCode::kInvalidArgument, "criteria: not valid JSON");
  if (j.is_null()) return Criteria{};
  if (!j.is_object()) return Status(ErrorCode::kInvalidArgument, "criteria: expected an object, got " + TypeName(j));
  RADFLOW_RETURN_IF_ERROR(Keys(j, "", {"modality", "body_part", "study_date_from", "study_date_to", "manufacturer",
                                       "model", "finding", "features"}));
  Criteria c;
  auto get = [&](const char* key) -> const json& {
    static const json kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
  };
  RADFLOW_RETURN_IF_ERROR(StringList(get("modality"), "modality", &c.modality));
  RADFLOW_RETURN_IF_ERROR(StringList(get("body_part"), "body_part", &c.body_part));
  RADFLOW_RETURN_IF_ERROR(Date(get("study_date_from"), "study_date_from", &c.study_date_from));
  RADFLOW_RETURN_IF_ERROR(Date(get("study_date_to"), "study_date_to", &c.study_date_to));
  if (!c.study_date_from.empty() && !c.study_date_to.empty() && c.study_date_from > c.study_date_to) {
    return Bad("study_date_from", "is after study_date_to");
  }
  RADFLOW_RETURN_IF_ERROR(String(get("manufacturer"), "manufacturer", &c.manufacturer));
  RADFLOW_RETURN_IF_ERROR(String(get("model"), "model", &c.model));
  if (const json& f = get("finding"); !f.is_null()) {
    if (!f.is_object()) return Bad("finding", "expected an object, got " + TypeName(f));
    RADFLOW_RETURN_IF_ERROR(Keys(f, "finding", {"type", "min_size_mm", "max_size_mm", "severity"}));
    FindingCriteria fc;
    auto fget = [&](const char* key) -> const json& {
      static const json kNull;
      auto it = f.find(key);
      return it == f.end() ? kNull : *it;
    };
    RADFLOW_RETURN_IF_ERROR(String(fget("type"), "finding.type", &fc.type));
    RADFLOW_RETURN_IF_ERROR(Number(fget("min_size_mm"), "finding.min_size_mm", &fc.min_size_mm));
    RADFLOW_RETURN_IF_ERROR(Number(fget("max_size_mm"), "finding.max_size_mm", &fc.max_size_mm));
    RADFLOW_RETURN_IF_ERROR(Range(fc.min_size_mm, fc.max_size_mm, "finding.min_size_mm"));
    RADFLOW_RETURN_IF_ERROR(String(fget("severity"), "finding.severity", &fc.severity));
    if (!fc.severity.empty() && SeverityRank(fc.severity) == 0) {
      return Bad("finding.severity", "'" + fc.severity + "' is not one of info, low, moderate, high, critical");
    }
    c.finding = fc;
  }
  if (const json& fs = get("features"); !fs.is_null()) {
    if (!fs.is_array()) return Bad("features", "expected an array, got " + TypeName(fs));
    for (size_t i = 0; i < fs.size(); ++i) {
      const std::string field = "features[" + std::to_string(i) + "]";
      const json& f = fs[i];
      if (!f.is_object()) return Bad(field, "expected an object, got " + TypeName(f));
      RADFLOW_RETURN_IF_ERROR(Keys(f, field, {"name", "min", "max"}));
      FeatureRange r;
      if (!f.contains("name")) return Bad(field + ".name", "missing");
      RADFLOW_RETURN_IF_ERROR(String(f["name"], field + ".name", &r.name));
      if (!IsIbsiFeature(r.name)) {
        std::string names;
        for (const auto& n : IbsiFeatureNames()) names += (names.empty() ? "" : ", ") + n;
        return Bad(field + ".name", "unknown feature '" + r.name + "' (known: " + names + ")");
      }
      if (f.contains("min")) RADFLOW_RETURN_IF_ERROR(Number(f["min"], field + ".min", &r.min));
      if (f.contains("max")) RADFLOW_RETURN_IF_ERROR(Number(f["max"], field + ".max", &r.max));
      RADFLOW_RETURN_IF_ERROR(Range(r.min, r.max, field));
      c.features.push_back(std::move(r));
    }
  }
  return c;
}

std::string CriteriaJson(const Criteria& c) {
  json j = json::object();
  if (!c.modality.empty()) j["modality"] = c.modality;
  if (!c.body_part.empty()) j["body_part"] = c.body_part;
  if (!c.study_date_from.empty()) j["study_date_from"] = c.study_date_from;
  if (!c.study_date_to.empty()) j["study_date_to"] = c.study_date_to;
  if (!c.manufacturer.empty()) j["manufacturer"] = c.manufacturer;
  if (!c.model.empty()) j["model"] = c.model;
  if (c.finding && !c.finding->empty()) {
    json f = json::object();
    if (!c.finding->type.empty()) f["type"] = c.finding->type;
    if (c.finding->min_size_mm) f["min_size_mm"] = *c.finding->min_size_mm;
    if (c.finding->max_size_mm) f["max_size_mm"] = *c.finding->max_size_mm;
    if (!c.finding->severity.empty()) f["severity"] = c.finding->severity;
    j["finding"] = f;
  }
  if (!c.features.empty()) {
    json fs = json::array();
    for (const auto& r : c.features) {
      json f{{"name", r.name}};
      if (r.min) f["min"] = *r.min;
      if (r.max) f["max"] = *r.max;
      fs.push_back(f);
    }
    j["features"] = fs;
  }
  return j.dump();
}

}  // namespace radflow::research
