// Internal to the manifest parser: YAML text → JSON text, so that JSON and YAML manifests
// share one validator. Plain scalars follow the YAML 1.2 core schema (true/false, null, ~,
// integers, floats); quoted scalars stay strings, so `version: "1.0"` is the text 1.0.
#pragma once

#include <string>

#include "base/status.h"

namespace radflow::ai {

// kInvalidArgument "invalid YAML: <yaml-cpp's message>" when the text does not parse.
Result<std::string> YamlToJsonText(const std::string& yaml);

}  // namespace radflow::ai
