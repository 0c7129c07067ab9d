// `radflow radiomics`: IBSI features of an ROI, a thin shell over imaging and radiomics.
#pragma once

#include <string>

namespace radflow::cli {

struct RadiomicsOptions {
  std::string image;   // NIfTI file, or a DICOM series folder
  std::string mask;    // NIfTI file, or an RTSTRUCT file
  std::string roi;     // RTSTRUCT ROI name or SEG segment label/number (may be omitted when there is one)
  std::string config;  // required: A..E, phantom, or a JSON file (radiomics/pipeline.h)
  bool diagnostics = false;  // also every IBSI diagnostic value (radiomics::IbsiDiagnostics)
  std::string reference;     // a z-rad reference table to compare with (radiomics/ibsi_reference.h)
  std::string format = "csv";
};

// Prints the features (CSV `tag,value`, or JSON {"features", "diagnostics", "comparison"});
// with a reference, each row also carries the reference, its tolerance, the allowed
// deviation of the IBSI rule, the deviation and within = yes|no|missing, and a summary line
// goes to stderr (a report: exit 0). Returns the exit code (1 with a message on bad input,
// e.g. configuration A..E on an image without plausible CT intensities).
int RunRadiomics(const RadiomicsOptions& options);

}  // namespace radflow::cli
