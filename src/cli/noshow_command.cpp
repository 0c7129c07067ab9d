#include "cli/noshow_command.h"

namespace radflow::cli {
void AddNoshowCommands(CLI::App&, std::function<int()>&) {}  // placeholder (issue 14 scaffold)
}  // namespace radflow::cli
