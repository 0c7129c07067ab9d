// `--index URI`: where a command finds the index (every table), next to `--data DIR` (the
// blobs, the audit log and the secrets, always node-local). docs/postgresql.md.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace radflow::cli {

inline CLI::Option* AddIndexOption(CLI::App* command, std::string* index) {
  return command->add_option("--index", *index,
                             "the index: an SQLite file or a postgresql:// URI (default: DATA/index.db)");
}

}  // namespace radflow::cli
