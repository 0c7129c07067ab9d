#include "api/scheduling_api.h"

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "api/orders_api.h"
#include "api/request_util.h"
#include "base/clock.h"
#include "orders/scheduling.h"

namespace radflow::api {

namespace {

using nlohmann::ordered_json;
using orders::OrderService;

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kMaxRangeMs = 92 * kDayMs;
// docs/scheduling.md: what "high risk" means by default, and from when the slot is overbooked.
constexpr double kDefaultThreshold = 0.5;
constexpr double kDefaultOverbook = 0.7;

http::Response Json(const ordered_json& j) { return http::Response::Json(j.dump(), 200); }

struct Range {
  int64_t from = 0, to = 0;
};

// from/to (unix ms); defaults: today's local midnight and seven local days later.
Result<Range> RangeOf(const http::Request& req) {
  Range r;
  const std::string from = Param(req, "from"), to = Param(req, "to");
  if (from.empty()) {
    r.from = orders::LocalDayStart(UnixMillis());
  } else if (!ParseInt(from, r.from) || r.from < 0) {
    return Status(ErrorCode::kInvalidArgument, "from: expected unix milliseconds, got '" + from + "'");
  }
  if (to.empty()) {
    r.to = orders::AddLocalDays(orders::LocalDayStart(r.from), 7);
  } else if (!ParseInt(to, r.to) || r.to < 0) {
    return Status(ErrorCode::kInvalidArgument, "to: expected unix milliseconds, got '" + to + "'");
  }
  if (r.to <= r.from) return Status(ErrorCode::kInvalidArgument, "to: must be after from");
  if (r.to - r.from > kMaxRangeMs) return Status(ErrorCode::kInvalidArgument, "to: the range is at most 92 days");
  return r;
}

Result<double> FractionParam(const http::Request& req, const std::string& name, double fallback) {
  const std::string s = Param(req, name);
  if (s.empty()) return fallback;
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && v >= 0 && v <= 1) return v;
  } catch (const std::exception&) {
  }
  return Status(ErrorCode::kInvalidArgument, name + ": expected a number from 0 to 1, got '" + s + "'");
}

Result<std::vector<storage::OrderRow>> OrdersIn(OrderService& orders, const Range& r, const std::string& station) {
  storage::OrderFilter f;
  f.from_ms = r.from;
  f.to_ms = r.to;
  f.station_ae = station;
  f.limit = 0;  // all of them: the range is bounded
  return orders.store().ListOrders(f);
}

ordered_json DayJson(const orders::StationDay& d) {
  return {{"station_ae", d.station_ae},
          {"date", d.date},
          {"day_start", d.day_start_ms},
          {"booked", d.booked},
          {"performed", d.performed},
          {"no_shows", d.no_shows},
          {"cancelled", d.cancelled},
          {"discontinued", d.discontinued},
          {"pending", d.pending},
          {"open_minutes", d.open_minutes},
          {"booked_minutes", d.booked_minutes},
          {"performed_minutes", d.performed_minutes},
          {"idle_minutes", d.idle_minutes},
          {"elapsed_minutes", d.elapsed_minutes},
          {"unbooked_minutes", d.unbooked_minutes},
          {"no_show_minutes", d.no_show_minutes},
          {"expected_no_shows", d.expected_no_shows},
          {"scored", d.scored}};
}

http::Response Days(OrderService& orders, const http::Request& req) {
  auto range = RangeOf(req);
  if (!range.ok()) return http::Response::Error(range.status());
  const std::string station = Param(req, "station");
  auto rows = OrdersIn(orders, range.value(), station == orders::kUnassignedStation ? "" : station);
  if (!rows.ok()) return http::Response::Error(rows.status());
  std::vector<orders::StationHours> hours = orders.station_hours();
  if (!station.empty()) {
    std::erase_if(hours, [&](const orders::StationHours& h) { return h.station_ae != station; });
    if (station == orders::kUnassignedStation)
      std::erase_if(rows.value(), [](const storage::OrderRow& o) { return !o.station_ae.empty(); });
  }
  ordered_json days = ordered_json::array();
  for (const auto& d : orders::StationDays(rows.value(), hours, range->from, range->to, 20, UnixMillis())) days.push_back(DayJson(d));
  return Json({{"from", range->from}, {"to", range->to}, {"days", std::move(days)}});
}

http::Response Risky(OrderService& orders, const http::Request& req) {
  auto range = RangeOf(req);
  if (!range.ok()) return http::Response::Error(range.status());
  auto threshold = FractionParam(req, "threshold", kDefaultThreshold);
  if (!threshold.ok()) return http::Response::Error(threshold.status());
  auto overbook = FractionParam(req, "overbook", std::max(kDefaultOverbook, threshold.value()));
  if (!overbook.ok()) return http::Response::Error(overbook.status());
  const std::string station = Param(req, "station");
  auto rows = OrdersIn(orders, range.value(), station == orders::kUnassignedStation ? "" : station);
  if (!rows.ok()) return http::Response::Error(rows.status());
  if (station == orders::kUnassignedStation)
    std::erase_if(rows.value(), [](const storage::OrderRow& o) { return !o.station_ae.empty(); });
  // Appointments the periodic scoring has not reached yet are scored now, in one prediction
  // call, and their risks kept (no model: they stay -1).
  std::vector<storage::OrderRow> unscored;
  for (const auto& o : rows.value()) {
    if (o.status == "scheduled" && o.noshow_risk < 0) unscored.push_back(o);
  }
  if (!unscored.empty() && orders.ScoreOrders(unscored, 0).ok()) {
    std::map<int64_t, double> risk;
    for (const auto& o : unscored) risk[o.id] = o.noshow_risk;
    for (auto& o : rows.value()) {
      if (auto it = risk.find(o.id); it != risk.end()) o.noshow_risk = it->second;
    }
  }
  bool model = false;
  for (const auto& o : rows.value()) {
    if (o.status == "scheduled" && o.noshow_risk >= 0) model = true;
  }
  ordered_json items = ordered_json::array();
  for (const auto& r : orders::RiskyAppointments(rows.value(), threshold.value(), overbook.value())) {
    items.push_back({{"order", ordered_json::parse(OrderJson(r.order))}, {"action", r.action}, {"why", r.why}});
  }
  return Json({{"from", range->from},
               {"to", range->to},
               {"threshold", threshold.value()},
               {"overbook", overbook.value()},
               {"model", model},
               {"items", std::move(items)}});
}

http::Response Stations(OrderService& orders) {
  // Configured stations, then those with appointments in the 30 days around today.
  std::map<std::string, ordered_json> out;
  for (const auto& h : orders.station_hours()) {
    out[h.station_ae] = {{"station_ae", h.station_ae},
                         {"station_name", ""},
                         {"open", orders::FormatMinute(h.open_minute)},
                         {"close", orders::FormatMinute(h.close_minute)},
                         {"days", orders::FormatWeekdays(h.weekdays)},
                         {"configured", true}};
  }
  storage::OrderFilter f;
  const int64_t now = UnixMillis();
  f.from_ms = now - 30 * kDayMs;
  f.to_ms = now + 30 * kDayMs;
  f.limit = 0;
  auto rows = orders.store().ListOrders(f);
  if (!rows.ok()) return http::Response::Error(rows.status());
  for (const auto& o : rows.value()) {
    const std::string ae = o.station_ae.empty() ? orders::kUnassignedStation : o.station_ae;
    auto it = out.find(ae);
    if (it == out.end()) {
      it = out.emplace(ae, ordered_json{{"station_ae", ae},
                                        {"station_name", ""},
                                        {"open", "08:00"},
                                        {"close", "18:00"},
                                        {"days", orders::FormatWeekdays(0x7F)},
                                        {"configured", false}})
               .first;
    }
    if (it->second["station_name"].get<std::string>().empty() && !o.station_name.empty())
      it->second["station_name"] = o.station_name;
  }
  ordered_json list = ordered_json::array();
  for (auto& [ae, j] : out) list.push_back(std::move(j));
  return Json({{"stations", std::move(list)}});
}

}  // namespace

void RegisterSchedulingApi(http::HttpServer& server, orders::OrderService& orders) {
  OrderService* o = &orders;
  server.Route("GET", "/api/v1/scheduling/days", [o](const http::Request& req) { return Days(*o, req); });
  server.Route("GET", "/api/v1/scheduling/risky", [o](const http::Request& req) { return Risky(*o, req); });
  server.Route("GET", "/api/v1/scheduling/stations", [o](const http::Request&) { return Stations(*o); });
}

}  // namespace radflow::api
