#include "cli/export_command.h"

#include <CLI/CLI.hpp>

namespace radflow::cli {

void AddExportCommands(CLI::App& app, std::function<int()>& run) {
  (void)app;
  (void)run;
}

}  // namespace radflow::cli
