#include "cli/deid_command.h"

#include <CLI/CLI.hpp>

namespace radflow::cli {

void AddDeidCommands(CLI::App& app, std::function<int()>& run) {
  (void)app;
  (void)run;
}

}  // namespace radflow::cli
