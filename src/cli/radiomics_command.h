// `radflow radiomics`: IBSI features of an ROI, a thin shell over imaging and radiomics.
#pragma once

#include <string>

namespace radflow::cli {

struct RadiomicsOptions {
  std::string image;   // NIfTI file, or a DICOM series folder
  std::string mask;    // NIfTI file, or an RTSTRUCT file
  std::string roi;     // RTSTRUCT ROI name or SEG segment label/number (may be omitted when there is one)
  std::string config = "C";  // A..E, or a JSON file (radiomics/pipeline.h)
  std::string format = "csv";
};

// Prints the features; returns the process exit code (1 with a message on bad input).
int RunRadiomics(const RadiomicsOptions& options);

}  // namespace radflow::cli
