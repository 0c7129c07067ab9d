// Scheduling analytics (docs/scheduling.md): per scanner (station) and day, what was booked,
// performed, missed and left idle; the week's high-risk appointments with a suggested action.
// Pure functions over the store's order rows. Days are the hub's local days (process TZ),
// like the DICOM DA of the Modality Worklist (PS3.4 K.6.1.2.2: SPS Start Date is local).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/order_store.h"

namespace radflow::orders {

struct StationHours {
  std::string station_ae;
  int open_minute = 8 * 60, close_minute = 18 * 60;  // local time, minutes after midnight
  // Added by E: the weekdays it is open, bit d for tm_wday d (0 Sunday … 6 Saturday); all by default.
  unsigned weekdays = 0x7F;
  bool OpenOn(int tm_wday) const { return (weekdays >> tm_wday) & 1u; }
};

struct StationDay {
  std::string station_ae;
  std::string date;          // YYYYMMDD, local
  int booked = 0;            // appointments that day (not cancelled)
  int performed = 0;         // completed, in progress, or with its study arrived
  int no_shows = 0;
  int cancelled = 0;
  int open_minutes = 0;      // the station's hours that day
  int booked_minutes = 0;    // booked time inside the hours (overlaps counted once)
  int performed_minutes = 0; // MPPS start..end where known, else the booked duration
  int idle_minutes = 0;      // open minutes past at now_ms with nothing performed (no-shows count as idle)
  double expected_no_shows = 0;  // sum of risks of that day's appointments
  // Added by E: what a manager also reads off a day.
  int pending = 0;           // booked, not yet performed nor missed (scheduled, arrived)
  int discontinued = 0;      // started and stopped (MPPS DISCONTINUED)
  int unbooked_minutes = 0;  // open minutes with no appointment (room to book)
  int no_show_minutes = 0;   // booked minutes lost to no-shows
  int scored = 0;            // appointments with a no-show risk (expected_no_shows sums these)
  int64_t day_start_ms = 0;  // local midnight (unix ms)
  int elapsed_minutes = 0;   // open minutes already past at `now_ms` (idle counts only these)
};

struct RiskyAppointment {
  storage::OrderRow order;
  std::string action;        // "reminder call" | "overbook slot" | "confirm by phone"
  std::string why;
};

// Days from `from_ms` (inclusive) to `to_ms` (exclusive), one row per station and day.
// `default_duration` is used for orders without a duration. Stations are those of `hours`
// and of the orders; a station without hours is open 08:00-18:00. An order without a
// station counts under "UNASSIGNED". Rows sorted by station, then date. Idle time is counted
// up to `now_ms` only (the default: every day is over): a day still to come is not idle.
std::vector<StationDay> StationDays(const std::vector<storage::OrderRow>& orders,
                                    const std::vector<StationHours>& hours, int64_t from_ms, int64_t to_ms,
                                    int default_duration = 20, int64_t now_ms = INT64_MAX);

// Scheduled appointments with risk ≥ `threshold`, highest first, each with an action:
// risk ≥ overbook_threshold and no reminder: "overbook slot"; no reminder: "reminder call";
// otherwise "confirm by phone".
std::vector<RiskyAppointment> RiskyAppointments(const std::vector<storage::OrderRow>& orders, double threshold,
                                                double overbook_threshold);

// ---- Added by E
inline constexpr const char* kUnassignedStation = "UNASSIGNED";

// Station hours, the --station-hours FILE: [{"station_ae":"CT1","open":"08:00","close":"18:00",
// "days":["Mon","Tue","Wed","Thu","Fri"]}] ("days" optional: every day). InvalidArgument naming
// the entry and field (bad time, close not after open, duplicate AE, unknown day).
Result<std::vector<StationHours>> ParseStationHours(const std::string& json);
Result<std::vector<StationHours>> LoadStationHours(const std::string& path);
// "HH:MM" from minutes after midnight, and back (-1: not a time).
std::string FormatMinute(int minute);
int ParseMinute(const std::string& hhmm);
// "Mon,Tue,..." of a weekday mask (the days a station is open).
std::string FormatWeekdays(unsigned weekdays);
// The local midnight at or before `unix_ms`, and the local midnight `days` days later
// (DST-safe: through mktime).
int64_t LocalDayStart(int64_t unix_ms);
int64_t AddLocalDays(int64_t day_start_ms, int days);
// The instant of local wall-clock time `minute` (after midnight) on the day starting at `day_start_ms`.
int64_t LocalWallClock(int64_t day_start_ms, int minute);

}  // namespace radflow::orders
