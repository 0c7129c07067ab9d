// `radflow register`: a prior CT registered onto the current one (rigid, then affine), the
// transform printed as JSON and written as an ITK .tfm file.
#pragma once

#include <string>

namespace radflow::cli {

struct RegisterCommandOptions {
  std::string data = "./radflow-data";
  std::string index;  // "" → DATA/index.db
  std::string storage, s3_endpoint;  // --storage, --s3-endpoint
  std::string fixed;   // the current series: a folder of DICOM files, or a stored SeriesInstanceUID
  std::string moving;  // the prior series, the same way
  std::string out;     // .tfm file to write; empty: none
  bool rigid_only = false;
  int threads = 0;     // 0: every core
};

// Prints {"matrix": [[4 rows of 4]], "metric", "overlap", "iterations", "stages",
// "transform_file"} on stdout; errors on stderr, exit 1.
int RunRegister(const RegisterCommandOptions& options);

}  // namespace radflow::cli
