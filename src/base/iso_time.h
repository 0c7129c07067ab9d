// ISO 8601 / RFC 3339 times in UTC from unix milliseconds: "2024-05-01T12:34:56Z", or with
// milliseconds "2024-05-01T12:34:56.789Z" (xsd:dateTime, FHIR instant, RFC 5424 TIMESTAMP).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "base/civil_date.h"

namespace radflow {

inline std::string FormatIsoUtc(int64_t unix_ms, bool with_millis = false) {
  constexpr int64_t kDayMs = 86'400'000;
  int64_t days = unix_ms / kDayMs;
  int64_t ms_of_day = unix_ms % kDayMs;
  if (ms_of_day < 0) {  // floor division for times before 1970
    ms_of_day += kDayMs;
    --days;
  }
  const CivilDate d = CivilFromDays(days);
  const int secs = static_cast<int>(ms_of_day / 1000);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(d.year), d.month, d.day,
                secs / 3600, secs / 60 % 60, secs % 60);
  std::string out = buf;
  if (with_millis) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms_of_day % 1000));
    out += buf;
  }
  out += 'Z';
  return out;
}

}  // namespace radflow
