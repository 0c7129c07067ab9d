// `radflow worker --hub URL --token FILE|--token-env VAR --apps DIR... [--id NAME]
//  [--lease-seconds N] [--concurrency N] [--poll-seconds S] [--work-dir DIR]`
// (docs/remote-workers.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace radflow::ai::remote {

void AddWorkerCommands(CLI::App& app, std::function<int()>& run_selected);

}  // namespace radflow::ai::remote
