// YAML manifests become the JSON tree the one validator reads (ai/manifest_yaml.h).
#include "ai/manifest_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace radflow::ai {
namespace {

using json = nlohmann::json;

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '+' && c != '.' &&
        c != 'e' && c != 'E') {
      return false;
    }
  }
  return true;
}

json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  // "!" is yaml-cpp's tag for a quoted (non-plain) scalar.
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (LooksNumeric(s)) {
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0) return i;
    const double d = std::strtod(s.c_str(), &end);
    if (*end == '\0' && std::isfinite(d)) return d;
  }
  return s;
}

json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& item : node) array.push_back(YamlToJson(item));
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& kv : node) object[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return object;
    }
    default:
      return nullptr;
  }
}
}  // namespace

Result<std::string> YamlToJsonText(const std::string& yaml) {
  try {
    return YamlToJson(YAML::Load(yaml)).dump();
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kInvalidArgument, std::string("invalid YAML: ") + e.what());
  } catch (const json::exception& e) {  // e.g. a string that is not UTF-8
    return Status(ErrorCode::kInvalidArgument, std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace radflow::ai
