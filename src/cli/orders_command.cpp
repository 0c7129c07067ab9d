#include "cli/orders_command.h"

namespace radflow::cli {
void AddOrdersCommands(CLI::App&, std::function<int()>&) {}  // placeholder (issue 14 scaffold)
}  // namespace radflow::cli
