// Where the index lives (docs/postgresql.md): `index` when set (a file or a postgresql:// URI),
// else DATA/index.db. Every server, CLI and library caller derives the location through this,
// so that --index reaches every table.
#pragma once

#include <string>

namespace radflow::storage {

inline std::string IndexLocation(const std::string& data_dir, const std::string& index) {
  return index.empty() ? data_dir + "/index.db" : index;
}

}  // namespace radflow::storage
