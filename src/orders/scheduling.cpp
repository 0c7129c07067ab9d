// Scheduling analytics (docs/scheduling.md). Pure: every figure is computed from the order
// rows handed in; intervals are clipped to the station's opening hours of that day.
#include "orders/scheduling.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace radflow::orders {

namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr const char* kWeekdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

int LocalWeekday(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_wday;
}

using Interval = std::pair<int64_t, int64_t>;  // [start, end) ms

// Total length in minutes of the union of `v` clipped to [lo, hi).
int UnionMinutes(std::vector<Interval> v, int64_t lo, int64_t hi) {
  for (auto& [a, b] : v) {
    a = std::max(a, lo);
    b = std::min(b, hi);
  }
  std::erase_if(v, [](const Interval& i) { return i.second <= i.first; });
  std::sort(v.begin(), v.end());
  int64_t total = 0, cur_a = 0, cur_b = 0;
  bool open = false;
  for (const auto& [a, b] : v) {
    if (open && a <= cur_b) {
      cur_b = std::max(cur_b, b);
      continue;
    }
    if (open) total += cur_b - cur_a;
    cur_a = a;
    cur_b = b;
    open = true;
  }
  if (open) total += cur_b - cur_a;
  return static_cast<int>(total / kMinuteMs);
}

std::string LocalDate(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

// Performed: the modality reported it (MPPS in progress / completed) or its images arrived.
bool Performed(const storage::OrderRow& o) {
  return o.status == "completed" || o.status == "in_progress" ||
         (!o.linked_study_uid.empty() && o.status != "cancelled" && o.status != "no_show" &&
          o.status != "discontinued");
}

std::string Percent(double risk) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", risk * 100);
  return buf;
}

}  // namespace

int64_t LocalDayStart(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

int64_t AddLocalDays(int64_t day_start_ms, int days) {
  std::time_t t = static_cast<std::time_t>(day_start_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_mday += days;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

int64_t LocalWallClock(int64_t day_start_ms, int minute) {
  std::time_t t = static_cast<std::time_t>(day_start_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_hour = 0;
  tm.tm_min = minute;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

std::string FormatMinute(int minute) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

int ParseMinute(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (int i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return -1;
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

Result<std::vector<StationHours>> ParseStationHours(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status(ErrorCode::kInvalidArgument, "station hours: not valid JSON");
  if (!j.is_array()) return Status(ErrorCode::kInvalidArgument, "station hours: expected an array of {station_ae, open, close}");
  std::vector<StationHours> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    const std::string where = "station hours[" + std::to_string(i) + "]";
    if (!e.is_object()) return Status(ErrorCode::kInvalidArgument, where + ": expected an object");
    StationHours h;
    auto str = [&](const char* key) -> std::string {
      auto it = e.find(key);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    h.station_ae = str("station_ae");
    if (h.station_ae.empty() || h.station_ae.size() > 16)
      return Status(ErrorCode::kInvalidArgument, where + ".station_ae: an AE title of 1-16 characters is required");
    if (!seen.insert(h.station_ae).second)
      return Status(ErrorCode::kInvalidArgument, where + ".station_ae: " + h.station_ae + " is listed twice");
    const std::string open = e.contains("open") ? str("open") : "08:00";
    const std::string close = e.contains("close") ? str("close") : "18:00";
    h.open_minute = ParseMinute(open);
    h.close_minute = ParseMinute(close);
    if (h.open_minute < 0) return Status(ErrorCode::kInvalidArgument, where + ".open: expected HH:MM, got '" + open + "'");
    if (h.close_minute < 0)
      return Status(ErrorCode::kInvalidArgument, where + ".close: expected HH:MM, got '" + close + "'");
    if (h.close_minute <= h.open_minute)
      return Status(ErrorCode::kInvalidArgument, where + ".close: " + close + " is not after open " + open);
    if (auto d = e.find("days"); d != e.end()) {
      if (!d->is_array()) return Status(ErrorCode::kInvalidArgument, where + ".days: expected an array like [\"Mon\",\"Tue\"]");
      h.weekdays = 0;
      for (const auto& day : *d) {
        int w = -1;
        for (int k = 0; k < 7; ++k)
          if (day.is_string() && day.get<std::string>() == kWeekdays[k]) w = k;
        if (w < 0)
          return Status(ErrorCode::kInvalidArgument, where + ".days: " + day.dump() + " is not one of Sun Mon Tue Wed Thu Fri Sat");
        h.weekdays |= 1u << w;
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::string FormatWeekdays(unsigned weekdays) {
  std::string out;
  for (int k : {1, 2, 3, 4, 5, 6, 0}) {
    if (!((weekdays >> k) & 1u)) continue;
    if (!out.empty()) out += ',';
    out += kWeekdays[k];
  }
  return out;
}

Result<std::vector<StationHours>> LoadStationHours(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "station hours: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseStationHours(ss.str());
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

std::vector<StationDay> StationDays(const std::vector<storage::OrderRow>& orders,
                                    const std::vector<StationHours>& hours, int64_t from_ms, int64_t to_ms,
                                    int default_duration, int64_t now_ms) {
  std::vector<StationDay> out;
  if (to_ms <= from_ms) return out;
  if (default_duration <= 0) default_duration = 20;
  std::map<std::string, StationHours> by_station;
  for (const auto& h : hours) by_station[h.station_ae] = h;
  std::map<std::string, std::vector<const storage::OrderRow*>> orders_of;
  for (const auto& o : orders) {
    if (o.scheduled_at < from_ms || o.scheduled_at >= to_ms) continue;
    const std::string st = o.station_ae.empty() ? kUnassignedStation : o.station_ae;
    orders_of[st].push_back(&o);
    if (!by_station.count(st)) by_station[st] = StationHours{st};
  }
  std::vector<int64_t> starts;
  for (int64_t d = LocalDayStart(from_ms); d < to_ms; d = AddLocalDays(d, 1)) starts.push_back(d);
  for (const auto& [st, h] : by_station) {
    const auto& list = orders_of[st];
    for (int64_t day : starts) {
      const int64_t next = AddLocalDays(day, 1);
      StationDay sd;
      sd.station_ae = st;
      sd.date = LocalDate(day);
      sd.day_start_ms = day;
      // Opening hours are local wall-clock times of that day (mktime handles DST days).
      const int64_t open_at = std::min(next, LocalWallClock(day, h.open_minute));
      // A day the station is closed has no hours: what happened anyway is counted, not its minutes.
      const int64_t close_at = h.OpenOn(LocalWeekday(day))
                                   ? std::max(open_at, std::min(next, LocalWallClock(day, h.close_minute)))
                                   : open_at;
      sd.open_minutes = static_cast<int>((close_at - open_at) / kMinuteMs);
      std::vector<Interval> booked, performed, missed;
      for (const auto* o : list) {
        if (o->scheduled_at < day || o->scheduled_at >= next) continue;
        const int64_t slot_end = o->scheduled_at + (o->duration_minutes > 0 ? o->duration_minutes : default_duration) * kMinuteMs;
        if (o->status == "cancelled") {
          ++sd.cancelled;
          continue;
        }
        ++sd.booked;
        booked.emplace_back(o->scheduled_at, slot_end);
        if (o->noshow_risk >= 0) {
          sd.expected_no_shows += o->noshow_risk;
          ++sd.scored;
        }
        if (o->status == "no_show") {
          ++sd.no_shows;
          missed.emplace_back(o->scheduled_at, slot_end);
        } else if (o->status == "discontinued") {
          ++sd.discontinued;
          if (o->performed_start > 0 && o->performed_end > o->performed_start)
            performed.emplace_back(o->performed_start, o->performed_end);
        } else if (Performed(*o)) {
          ++sd.performed;
          if (o->performed_start > 0 && o->performed_end > o->performed_start)
            performed.emplace_back(o->performed_start, o->performed_end);
          else if (o->performed_start > 0)
            performed.emplace_back(o->performed_start, o->performed_start + (slot_end - o->scheduled_at));
          else
            performed.emplace_back(o->scheduled_at, slot_end);
        } else {
          ++sd.pending;
        }
      }
      sd.booked_minutes = UnionMinutes(booked, open_at, close_at);
      sd.performed_minutes = UnionMinutes(performed, open_at, close_at);
      sd.no_show_minutes = UnionMinutes(missed, open_at, close_at);
      const int64_t elapsed_at = std::clamp(now_ms, open_at, close_at);
      sd.elapsed_minutes = static_cast<int>((elapsed_at - open_at) / kMinuteMs);
      sd.idle_minutes = std::max(0, sd.elapsed_minutes - UnionMinutes(performed, open_at, elapsed_at));
      sd.unbooked_minutes = std::max(0, sd.open_minutes - sd.booked_minutes);
      out.push_back(std::move(sd));
    }
  }
  return out;
}

std::vector<RiskyAppointment> RiskyAppointments(const std::vector<storage::OrderRow>& orders, double threshold,
                                                double overbook_threshold) {
  std::vector<RiskyAppointment> out;
  for (const auto& o : orders) {
    if (o.status != "scheduled" || o.noshow_risk < 0 || o.noshow_risk < threshold) continue;
    RiskyAppointment r;
    r.order = o;
    std::string why = "no-show risk " + Percent(o.noshow_risk);
    if (!o.reminder_sent && o.noshow_risk >= overbook_threshold) {
      r.action = "overbook slot";
      why += " (at least " + Percent(overbook_threshold) + ") and no reminder sent";
    } else if (!o.reminder_sent) {
      r.action = "reminder call";
      why += " (at least " + Percent(threshold) + "), no reminder sent yet";
    } else {
      r.action = "confirm by phone";
      why += " (at least " + Percent(threshold) + ") although a reminder was sent";
    }
    if (o.booked_at > 0 && o.scheduled_at > o.booked_at) {
      const int64_t lead_days = (o.scheduled_at - o.booked_at) / 86'400'000;
      if (lead_days >= 14) why += "; booked " + std::to_string(lead_days) + " days ahead";
    }
    r.why = std::move(why);
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const RiskyAppointment& a, const RiskyAppointment& b) {
    if (a.order.noshow_risk != b.order.noshow_risk) return a.order.noshow_risk > b.order.noshow_risk;
    if (a.order.scheduled_at != b.order.scheduled_at) return a.order.scheduled_at < b.order.scheduled_at;
    return a.order.id < b.order.id;
  });
  return out;
}

}  // namespace radflow::orders
