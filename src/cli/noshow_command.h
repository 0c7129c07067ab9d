// `radflow noshow …` (issue 14). Owner: see /tmp/contract14.md.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace radflow::cli {

// Adds the subcommand(s) to app; when one is chosen on the command line, its parse callback
// sets run to what main() returns.
void AddNoshowCommands(CLI::App& app, std::function<int()>& run);

}  // namespace radflow::cli
