// What a `--series DIR|UID` style argument names: a folder's DICOM files or a stored series'
// blobs. Shared by `radflow app run` and `radflow register`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::cli {

// A folder: its DICOM files, recursively, sorted; when it holds several series, the one with
// the most files (stderr says which, "<verb> <uid>"). Otherwise a SeriesInstanceUID stored in
// the data directory `data` (its index: `index`, "" → DATA/index.db): its blobs' paths,
// which stay valid while `*keep_open` (the store they were read through) is held: on S3 they
// are in the command's private read cache, removed when the store closes.
Result<std::vector<std::string>> SeriesFiles(const std::string& series, const std::string& data,
                                             const char* verb, const std::string& index = "",
                                             const std::string& storage = "", const std::string& s3_endpoint = "",
                                             std::shared_ptr<void>* keep_open = nullptr);

// "radflow: <status>" on stderr; exit code 1.
int Fail(const Status& status);

}  // namespace radflow::cli
