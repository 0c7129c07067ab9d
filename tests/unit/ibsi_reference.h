// The IBSI chapter 1 reference values for the tests, by tag: the rows of
// radiomics/ibsi_reference.h (the one tolerance rule) for PAT1 configuration A..E.
#pragma once

#include <map>
#include <string>

#include "radiomics/ibsi_reference.h"

namespace radflow::testing {

using IbsiReference = radiomics::IbsiReferenceRow;

// Reference rows by IBSI tag for configuration `config` (A..E); `diagnostics` selects the
// diagnostic rows, otherwise the features. Empty when the table cannot be read.
inline std::map<std::string, IbsiReference> ReadIbsiReferences(const std::string& data_root,
                                                               char config, bool diagnostics) {
  std::map<std::string, IbsiReference> out;
  auto rows = radiomics::ReadIbsiReferenceTable(radiomics::IbsiReferencePath(data_root, std::string(1, config)));
  if (!rows.ok()) return out;
  for (auto& r : rows.value()) {
    if (r.diagnostic() == diagnostics) out[r.tag] = r;
  }
  return out;
}

using radiomics::WithinIbsiTolerance;

}  // namespace radflow::testing
