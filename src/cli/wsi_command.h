// `radflow wsi import` (issue 17): vendor slides (OpenSlide) into DICOM WSI.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace radflow::cli {

// Adds the subcommand(s) to app; when one is chosen on the command line, its parse callback
// sets run to what main() returns.
void AddWsiCommands(CLI::App& app, std::function<int()>& run);

}  // namespace radflow::cli
