// The IBSI chapter 1 reference values (z-rad export: dataset, family, feature, consensus,
// reference value, tolerance, your result, difference, check, tag), for the tests.
#pragma once

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace radflow::testing {

struct IbsiReference {
  double value, tolerance;
};

// Reference values by IBSI tag for configuration `config` (A..E); `diagnostics` selects the
// diagnostic rows, otherwise the features.
inline std::map<std::string, IbsiReference> ReadIbsiReferences(const std::string& data_root,
                                                               char config, bool diagnostics) {
  std::map<std::string, IbsiReference> out;
  std::ifstream in(data_root + "/ibsi/ibsi1_reference_values/zrad/ibsi_1_reference_values_config_" +
                   config + ".csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // RFC 4180 fields: commas inside quotes belong to the field.
    std::vector<std::string> f(1);
    bool quoted = false;
    for (char ch : line) {
      if (ch == '"') quoted = !quoted;
      else if (ch == ',' && !quoted) f.emplace_back();
      else f.back() += ch;
    }
    if (f.size() < 10 || f[4].empty()) continue;
    if ((f[1].rfind("Diagnostics", 0) == 0) != diagnostics) continue;
    try {
      out[f[9]] = {std::stod(f[4]), f[5].empty() ? 0 : std::stod(f[5])};
    } catch (...) {
    }
  }
  return out;
}

// Within tolerance, allowing half a unit in the third significant digit: the export rounds
// reference values to three significant digits.
inline bool WithinIbsiTolerance(double ours, const IbsiReference& ref) {
  return std::abs(ours - ref.value) <= ref.tolerance + 0.005 * std::abs(ref.value) + 1e-9;
}

}  // namespace radflow::testing
