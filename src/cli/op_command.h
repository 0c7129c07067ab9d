// `radflow op import` (issue 17): fundus photographs wrapped as DICOM Ophthalmic Photography.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace radflow::cli {

// Adds the subcommand(s) to app; when one is chosen on the command line, its parse callback
// sets run to what main() returns.
void AddOpCommands(CLI::App& app, std::function<int()>& run);

}  // namespace radflow::cli
