// Scheduling analytics (docs/scheduling.md): per scanner (station) and day, what was booked,
// performed, missed and left idle; the week's high-risk appointments with a suggested action.
// Pure functions over the store's order rows.
#pragma once

#include <string>
#include <vector>

#include "storage/order_store.h"

namespace radflow::orders {

struct StationHours {
  std::string station_ae;
  int open_minute = 8 * 60, close_minute = 18 * 60;  // local time, minutes after midnight
};

struct StationDay {
  std::string station_ae;
  std::string date;          // YYYYMMDD, local
  int booked = 0;            // appointments that day (not cancelled)
  int performed = 0;         // completed (or in progress)
  int no_shows = 0;
  int cancelled = 0;
  int open_minutes = 0;      // the station's hours that day
  int booked_minutes = 0;    // sum of booked durations inside the hours
  int performed_minutes = 0; // MPPS start..end where known, else the booked duration
  int idle_minutes = 0;      // open minutes with nothing performed (no-shows count as idle)
  double expected_no_shows = 0;  // sum of risks of that day's appointments
};

struct RiskyAppointment {
  storage::OrderRow order;
  std::string action;        // "reminder call" | "overbook slot" | "confirm by phone"
  std::string why;
};

// Days from `from_ms` (inclusive) to `to_ms` (exclusive), one row per station and day.
// `default_duration` is used for orders without a duration.
std::vector<StationDay> StationDays(const std::vector<storage::OrderRow>& orders,
                                    const std::vector<StationHours>& hours, int64_t from_ms, int64_t to_ms,
                                    int default_duration = 20);

// Scheduled appointments with risk ≥ `threshold`, highest first, each with an action:
// risk ≥ overbook_threshold and no reminder: "overbook slot"; no reminder: "reminder call";
// otherwise "confirm by phone".
std::vector<RiskyAppointment> RiskyAppointments(const std::vector<storage::OrderRow>& orders, double threshold,
                                                double overbook_threshold);

}  // namespace radflow::orders
