// Wall-clock time as stored in the index and the job queue: unix milliseconds; and the
// current UTC time formatted for DICOM DA / TM / DT values.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace radflow {

inline int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The current UTC time through strftime, e.g. "%Y%m%d" (DA) or "%H%M%S" (TM).
inline std::string UtcNow(const char* strftime_format) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, strftime_format, &tm);
  return buf;
}

}  // namespace radflow
