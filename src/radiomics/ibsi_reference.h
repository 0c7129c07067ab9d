// The IBSI chapter 1 reference tables (Zwanenburg et al., Radiology 2020; the z-rad CSV
// export in shared/data/ibsi/ibsi1_reference_values/zrad/) and the one rule radflow uses to
// compare its values with them (docs/ibsi-compliance.md):
//
//   |ours - reference| <= tolerance + half a unit of the last significant digit printed
//
// (0.377 -> 0.0005, 204 -> 0.5, 1.2e3 -> 50, 1490 -> 5). The tables round every value to
// three significant digits; the half unit is that rounding, and there is no other slack. Used by the IBSI tests and by `radflow radiomics
// --reference`, which the compliance script (scripts/ibsi_compliance.py) calls.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::radiomics {

struct IbsiReferenceRow {
  std::string dataset;   // "digital phantom", "configuration B", ...
  std::string family;    // "Morphology", "Diagnostics-initial image", ...
  std::string feature;   // "Compactness 2"
  std::string tag;       // IBSI tag with aggregation suffix: "morph_comp_2", "cm_joint_max_3D_avg"
  std::string printed;   // the reference value as the table prints it
  double value = 0;
  double tolerance = 0;
  bool diagnostic() const { return family.rfind("Diagnostics", 0) == 0; }
};

// Half a unit of the last significant digit of a number as the tables print it (rounded to
// three significant digits): every digit after a decimal point is significant ("0.377" ->
// 0.0005, "0.50" -> 0.005, "1.2e3" -> 50, "3.00E+03" -> 5); an integer is exact to the unit
// up to three digits ("204", "100", "60", "-500" -> 0.5), and beyond three digits its
// trailing zeros are the rounding's ("1490" -> 5, "-1000" -> 5, "18000000" -> 50000); "0"
// is exactly zero (-> 0). None for text that is not a number.
std::optional<double> HalfUnitOfLastDigit(std::string_view printed);

// The largest |ours - reference| the rule accepts: tolerance + HalfUnitOfLastDigit(printed).
double AllowedDeviation(const IbsiReferenceRow& row);
bool WithinIbsiTolerance(double ours, const IbsiReferenceRow& row);

// Rows of a z-rad export with a reference value, in file order (RFC 4180 quoting within a
// line: the tables have no embedded newlines; a leading byte-order mark is skipped). An unreadable file or a header without the
// "reference value", "tolerance" and "tag" columns is an error naming the file.
Result<std::vector<IbsiReferenceRow>> ReadIbsiReferenceTable(const std::string& csv_path);

// The z-rad export for a data set under `data_root` (shared/data): "phantom" or "A".."E".
std::string IbsiReferencePath(const std::string& data_root, const std::string& data_set);
// The name its rows give that data set ("digital phantom", "configuration C"); empty for a
// name that is not one of them.
std::string IbsiDataSetName(std::string_view data_set);

struct IbsiComparison {
  IbsiReferenceRow reference;
  std::optional<double> ours;  // none: radflow gave no value for the tag
  double deviation = 0;        // |ours - reference|
  double allowed = 0;          // AllowedDeviation(reference)
  bool within = false;
};

// Every reference row against `ours` (tag -> value), in the table's order.
std::vector<IbsiComparison> CompareWithIbsi(const std::map<std::string, double>& ours,
                                            const std::vector<IbsiReferenceRow>& table);

}  // namespace radflow::radiomics
