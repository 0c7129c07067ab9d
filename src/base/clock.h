// Wall-clock time as stored in the index and the job queue: unix milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace radflow {

inline int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace radflow
