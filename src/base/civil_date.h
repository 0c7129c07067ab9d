// Civil (proleptic Gregorian) dates as days since 1970-01-01, through C++20 <chrono>: one
// place for the date arithmetic of follow-up due dates and ISO weeks.
#pragma once

#include <chrono>
#include <cstdint>

namespace radflow {

struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1, day = 1;
};

// Days since 1970-01-01 of a date (which the caller has checked is valid).
inline int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days(year(static_cast<int>(y)) / month(m) / day(d)).time_since_epoch().count();
}

// True for an existing calendar date (no 2023-02-29).
inline bool IsCivilDate(int64_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return (year(static_cast<int>(y)) / month(m) / day(d)).ok();
}

inline CivilDate CivilFromDays(int64_t days) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days(std::chrono::days(days))};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day())};
}

}  // namespace radflow
