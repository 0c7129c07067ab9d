#include "api/dicom_json.h"

#include <cstdio>
#include <cstdlib>

namespace radflow::api {

std::string TagKey(dicom::Tag tag) {
  char buf[12];
  std::snprintf(buf, sizeof buf, "%04X%04X", dicom::Group(tag), dicom::Element(tag));
  return buf;
}

nlohmann::json AttributeJson(dicom::Tag tag, const std::string& value) {
  const std::string vr = dicom::VrOf(tag);
  nlohmann::json out{{"vr", vr}};
  if (value.empty()) return out;
  nlohmann::json values = nlohmann::json::array();
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i != value.size() && value[i] != '\\') continue;
    std::string v = value.substr(start, i - start);
    start = i + 1;
    if (vr == "PN") {
      // Component groups: Alphabetic=Ideographic=Phonetic (PS3.5 6.2, PS3.18 F.2.2).
      nlohmann::json name = nlohmann::json::object();
      static const char* kGroups[] = {"Alphabetic", "Ideographic", "Phonetic"};
      size_t g = 0, from = 0;
      for (size_t j = 0; j <= v.size() && g < 3; ++j) {
        if (j != v.size() && v[j] != '=') continue;
        if (j > from) name[kGroups[g]] = v.substr(from, j - from);
        ++g;
        from = j + 1;
      }
      values.push_back(name.empty() ? nlohmann::json(nullptr) : name);
    } else if (vr == "IS" || vr == "SS" || vr == "US" || vr == "SL" || vr == "UL" || vr == "SV" || vr == "UV") {
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      values.push_back(end && *end == '\0' && !v.empty() ? nlohmann::json(n) : nlohmann::json(nullptr));
    } else if (vr == "DS" || vr == "FL" || vr == "FD") {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      values.push_back(end && *end == '\0' && !v.empty() ? nlohmann::json(d) : nlohmann::json(nullptr));
    } else {
      values.push_back(v);
    }
  }
  out["Value"] = values;
  return out;
}

nlohmann::json RowJson(const storage::Row& row, const std::set<dicom::Tag>& fields, bool all,
                       const std::string& retrieve_url) {
  nlohmann::json obj = nlohmann::json::object();
  bool non_ascii = false;
  for (const auto& [tag, value] : row.values) {
    if (!all && fields.count(tag) == 0) continue;
    for (unsigned char c : value) non_ascii = non_ascii || c >= 0x80;
    obj[TagKey(tag)] = AttributeJson(tag, value);
  }
  if (non_ascii) obj[TagKey(dicom::tags::kSpecificCharacterSet)] = AttributeJson(dicom::tags::kSpecificCharacterSet, "ISO_IR 192");
  // RetrieveURL (0008,1190) and InstanceAvailability (0008,0056): PS3.18 Table 10.6.3-3.
  obj["00081190"] = {{"vr", "UR"}, {"Value", {retrieve_url}}};
  obj["00080056"] = {{"vr", "CS"}, {"Value", {"ONLINE"}}};
  return obj;
}

}  // namespace radflow::api
