// `radflow import`: files and folders into the hub, through IngestService::Store.
#pragma once

#include <string>
#include <vector>

#include "server/hub.h"

namespace radflow::cli {

struct ImportSummary {
  int stored = 0;
  int already_present = 0;
  int kept_different = 0;  // of already_present: a different object, kept per policy
  std::vector<std::pair<std::string, std::string>> rejected;  // path, reason
};

// Walks the paths recursively and stores every file with `threads` workers (concurrent
// stores share index commits). Shows a progress line on stderr when it is a terminal.
ImportSummary ImportPaths(server::Hub& hub, const std::vector<std::string>& paths, int threads);

}  // namespace radflow::cli
