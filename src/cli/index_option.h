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

// `--storage DIR|s3://BUCKET/PREFIX` and `--s3-endpoint URL`: where the blobs live when
// not in DATA/blobs (docs/storage-backends.md). S3 credentials come from the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION …), never from the command line.
inline void AddStorageOptions(CLI::App* command, std::string* storage, std::string* s3_endpoint) {
  command->add_option("--storage", *storage,
                      "the blobs: a folder several nodes share, or s3://BUCKET/PREFIX (default: DATA/blobs)");
  command->add_option("--s3-endpoint", *s3_endpoint,
                      "the S3-compatible endpoint, http(s)://host:port (default: AWS's for AWS_REGION)");
}

}  // namespace radflow::cli
