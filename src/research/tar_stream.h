// A folder as a POSIX tar (pax) stream produced piece by piece, for the export download:
// libarchive writes into a small buffer that the HTTP layer sends as chunks, so that an
// export is never held in memory whole. libarchive stays inside tar_stream.cpp.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace radflow::research {

class TarStream {
 public:
  // Every regular file under `folder` (sorted), named `prefix`/<relative path> in the archive.
  static Result<std::unique_ptr<TarStream>> Open(const std::string& folder, const std::string& prefix);
  ~TarStream();

  // Appends the next piece of the archive (about 256 KiB) to `chunk`; false once the archive
  // is complete (then `chunk` may still hold its last piece) or on an error (error() says).
  bool Next(std::string& chunk);
  const Status& error() const;

 private:
  struct Impl;
  explicit TarStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::research
