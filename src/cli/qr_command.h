// `radflow qr find` and `radflow qr move`: the Query/Retrieve SCU (dimse/query_scu.h) from
// the command line, for operators checking a remote archive before prefetching from it.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace radflow::cli {

struct QrCommandOptions {
  std::string remote;  // AE=host:port
  std::string aet = "RADFLOW";
  std::string patient, issuer;  // find
  std::string study, dest;      // move
};

struct QrCommand {
  QrCommandOptions options;
  CLI::App* find = nullptr;
  CLI::App* move = nullptr;
};

// Adds `qr find` and `qr move` to `app`; `command` receives the options and must outlive
// the parse.
void AddQrCommand(CLI::App& app, QrCommand* command);

// True when `qr find` or `qr move` was parsed.
bool QrSelected(const QrCommand& command);

// Runs the parsed subcommand; prints JSON on stdout (find: the studies; move: the
// sub-operation counts). Exit code 0, 1 with a message on stderr (bad argument, remote
// unreachable, failure status), or 2 when the move completed with failed sub-operations.
int RunQrCommand(const QrCommand& command);

}  // namespace radflow::cli
