// `radflow app list` and `radflow app run`: the AI engine's apps from the command line.
#pragma once

#include <string>
#include <vector>

namespace radflow::cli {

struct AppCommandOptions {
  std::string data = "./radflow-data";
  std::string index;  // "" → DATA/index.db
  std::string storage, s3_endpoint;  // --storage, --s3-endpoint
  std::vector<std::string> app_folders;  // extra folders after the built-in ones
  std::string app_id;
  std::string series;  // a folder of DICOM files, or a stored SeriesInstanceUID
  std::string out = "./radflow-app-out";
  std::string format = "text";  // text | json
};

int RunAppList(const AppCommandOptions& options);
// Runs the app in this process on the series; writes SEG / SR / derived files to --out.
int RunAppRun(const AppCommandOptions& options);

}  // namespace radflow::cli
