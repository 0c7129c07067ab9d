#include "radiomics/ibsi_reference.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <algorithm>

namespace radflow::radiomics {

std::optional<double> HalfUnitOfLastDigit(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  int exponent = 0;
  if (const auto e = s.find_first_of("eE"); e != std::string_view::npos) {
    const std::string exp(s.substr(e + 1));
    size_t used = 0;
    try {
      exponent = std::stoi(exp, &used);
    } catch (...) {
      return std::nullopt;
    }
    if (used != exp.size()) return std::nullopt;
    s = s.substr(0, e);
  }
  int digits = 0, decimals = 0, trailing_zeros = 0, nonzero = 0;
  bool point = false;
  for (char c : s) {
    if (c == '.' && !point) {
      point = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
      if (point) ++decimals;
      trailing_zeros = c == '0' ? trailing_zeros + 1 : 0;
      nonzero += c != '0';
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0) return std::nullopt;
  if (point) return 0.5 * std::pow(10.0, exponent - decimals);
  // An integer. The tables round to three significant digits and print integers in full, so
  // in an integer of more than three digits the zeros after the third digit are the
  // rounding's (1490 is 1.49e3: half a unit of the tens), while 60, 100 or 204 are exact to
  // the unit. A printed 0 is exactly zero: any other value rounds to a non-zero digit.
  if (nonzero == 0) return 0.0;
  const int rounded_away = std::min(trailing_zeros, std::max(0, digits - 3));
  return 0.5 * std::pow(10.0, exponent + rounded_away);
}

double AllowedDeviation(const IbsiReferenceRow& row) {
  return row.tolerance + HalfUnitOfLastDigit(row.printed).value_or(0);
}

bool WithinIbsiTolerance(double ours, const IbsiReferenceRow& row) {
  // The subtraction is in binary floating point: its rounding (a few units in the last
  // place of the operands) is allowed so that 0.3775 against 0.377 + 0.0005 passes. That is
  // the arithmetic's error, about 1e-16 of the value, not slack.
  const double rounding = 4 * std::numeric_limits<double>::epsilon() * std::max(std::abs(ours), std::abs(row.value));
  return std::isfinite(ours) && std::abs(ours - row.value) <= AllowedDeviation(row) + rounding;
}

namespace {

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> f(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (ch == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        f.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (ch == ',' && !quoted) {
      f.emplace_back();
    } else {
      f.back() += ch;
    }
  }
  return f;
}

}  // namespace

Result<std::vector<IbsiReferenceRow>> ReadIbsiReferenceTable(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kNotFound, "cannot read the IBSI reference table " + path);
  std::string line;
  std::getline(in, line);
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = SplitCsv(line);
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const int c_dataset = column("dataset"), c_family = column("family"), c_feature = column("feature"),
            c_value = column("reference value"), c_tolerance = column("tolerance"), c_tag = column("tag");
  if (c_value < 0 || c_tolerance < 0 || c_tag < 0) {
    return Status(ErrorCode::kInvalidArgument,
                  path + " is not an IBSI reference table (z-rad export): it needs the columns "
                         "'reference value', 'tolerance' and 'tag'");
  }
  std::vector<IbsiReferenceRow> rows;
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = SplitCsv(line);
    auto at = [&](int c) { return c >= 0 && c < static_cast<int>(f.size()) ? f[c] : std::string(); };
    IbsiReferenceRow row;
    row.printed = at(c_value);
    row.tag = at(c_tag);
    if (row.printed.empty() || row.tag.empty()) continue;  // features without a reference value
    row.dataset = at(c_dataset);
    row.family = at(c_family);
    row.feature = at(c_feature);
    try {
      row.value = std::stod(row.printed);
      const std::string tol = at(c_tolerance);
      row.tolerance = tol.empty() ? 0 : std::stod(tol);
    } catch (const std::exception&) {
      return Status(ErrorCode::kInvalidArgument,
                    path + " line " + std::to_string(number) + ": the reference value or tolerance is not a number");
    }
    if (!HalfUnitOfLastDigit(row.printed)) {
      return Status(ErrorCode::kInvalidArgument,
                    path + " line " + std::to_string(number) + ": '" + row.printed + "' is not a plain number");
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string IbsiReferencePath(const std::string& data_root, const std::string& data_set) {
  const std::string dir = data_root + "/ibsi/ibsi1_reference_values/zrad/ibsi_1_reference_values_";
  if (data_set == "phantom") return dir + "digital_phantom.csv";
  return dir + "config_" + data_set + ".csv";
}

std::string IbsiDataSetName(std::string_view data_set) {
  if (data_set == "phantom") return "digital phantom";
  if (data_set.size() == 1 && data_set[0] >= 'A' && data_set[0] <= 'E') return "configuration " + std::string(data_set);
  return "";
}

std::vector<IbsiComparison> CompareWithIbsi(const std::map<std::string, double>& ours,
                                            const std::vector<IbsiReferenceRow>& table) {
  std::vector<IbsiComparison> out;
  out.reserve(table.size());
  for (const auto& row : table) {
    IbsiComparison c;
    c.reference = row;
    c.allowed = AllowedDeviation(row);
    if (auto it = ours.find(row.tag); it != ours.end()) {
      c.ours = it->second;
      c.deviation = std::abs(it->second - row.value);
      c.within = WithinIbsiTolerance(it->second, row);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace radflow::radiomics
