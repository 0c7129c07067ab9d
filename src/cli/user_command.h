// `radflow user add|list|set|disable|unlock` and `radflow token create|list|revoke` (issue 18;
// docs/authentication.md): local accounts and API tokens in DATA/index.db. They do not take
// DATA/radflow.lock, so they work while a server runs on the same folder (SQLite WAL).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace radflow::cli {

// Adds the subcommand(s) to app; when one is chosen on the command line, its parse callback
// sets run to what main() returns.
void AddUserCommands(CLI::App& app, std::function<int()>& run);

}  // namespace radflow::cli
