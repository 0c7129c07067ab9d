// Scheduling analytics (orders/scheduling.h, docs/scheduling.md): per station and day, booked /
// performed / no-show / idle minutes on hand-made days whose answers are counted by hand, the
// risky-appointment actions, station hours parsing, and local days across a DST change.
#include "orders/scheduling.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace radflow::orders {
namespace {

using storage::OrderRow;

constexpr int64_t kMin = 60'000;
constexpr int64_t kDay = 86'400'000;
// 2024-03-04 00:00:00 UTC, a Monday.
constexpr int64_t kMonday = 1709510400000;

class SchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override { SetTz("UTC"); }
  void TearDown() override { SetTz("UTC"); }
  static void SetTz(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }
};

OrderRow Appt(int64_t id, const std::string& station, int64_t at, int minutes, const std::string& status) {
  OrderRow o;
  o.id = id;
  o.station_ae = station;
  o.scheduled_at = at;
  o.duration_minutes = minutes;
  o.status = status;
  return o;
}

const StationDay* Find(const std::vector<StationDay>& days, const std::string& station, const std::string& date) {
  for (const auto& d : days)
    if (d.station_ae == station && d.date == date) return &d;
  return nullptr;
}

TEST_F(SchedulingTest, CountsAndMinutesOfOneDay) {
  const int64_t t8 = kMonday + 8 * 60 * kMin;
  std::vector<OrderRow> orders = {
      Appt(1, "CT1", t8, 30, "completed"),               // performed 08:00-08:30 by booking
      Appt(2, "CT1", t8 + 30 * kMin, 30, "no_show"),     // lost 30 min
      Appt(3, "CT1", t8 + 60 * kMin, 20, "cancelled"),   // not booked
      Appt(4, "CT1", t8 + 90 * kMin, 20, "scheduled"),   // pending
      Appt(5, "CT1", t8 + 120 * kMin, 0, "in_progress"), // default duration 20
  };
  // 6: MPPS times are used instead of the slot: 11:00-11:45 (slot says 20).
  orders.push_back(Appt(6, "CT1", t8 + 180 * kMin, 20, "completed"));
  orders.back().performed_start = t8 + 180 * kMin;
  orders.back().performed_end = t8 + 225 * kMin;
  // 7: arrived with its study linked: performed.
  orders.push_back(Appt(7, "CT1", t8 + 300 * kMin, 15, "arrived"));
  orders.back().linked_study_uid = "1.2.3";
  // 8: arrived without images: pending.
  orders.push_back(Appt(8, "CT1", t8 + 330 * kMin, 15, "arrived"));

  const auto days = StationDays(orders, {{"CT1", 8 * 60, 18 * 60}}, kMonday, kMonday + kDay);
  ASSERT_EQ(days.size(), 1u);
  const StationDay& d = days[0];
  EXPECT_EQ(d.station_ae, "CT1");
  EXPECT_EQ(d.date, "20240304");
  EXPECT_EQ(d.day_start_ms, kMonday);
  EXPECT_EQ(d.booked, 7);
  EXPECT_EQ(d.cancelled, 1);
  EXPECT_EQ(d.performed, 4);  // 1, 5, 6, 7
  EXPECT_EQ(d.no_shows, 1);
  EXPECT_EQ(d.pending, 2);    // 4, 8
  EXPECT_EQ(d.open_minutes, 600);
  // Booked: 30 + 30 + 20 + 20 + 20 + 15 + 15 = 150 (the cancelled slot excluded).
  EXPECT_EQ(d.booked_minutes, 150);
  // Performed: 30 + 20 + 45 + 15 = 110.
  EXPECT_EQ(d.performed_minutes, 110);
  EXPECT_EQ(d.idle_minutes, 490);
  EXPECT_EQ(d.unbooked_minutes, 450);
  EXPECT_EQ(d.no_show_minutes, 30);
}

TEST_F(SchedulingTest, OverlapsCountOnceAndTimeOutsideHoursIsClipped) {
  const int64_t t8 = kMonday + 8 * 60 * kMin;
  const std::vector<OrderRow> orders = {
      Appt(1, "MR1", t8 - 30 * kMin, 60, "completed"),  // 07:30-08:30 → 30 inside
      Appt(2, "MR1", t8 + 15 * kMin, 30, "completed"),  // 08:15-08:45 overlaps 1 → union 08:00-08:45
      Appt(3, "MR1", kMonday + 17 * 60 * kMin + 50 * kMin, 30, "completed"),  // 17:50-18:20 → 10
  };
  const auto days = StationDays(orders, {{"MR1", 8 * 60, 18 * 60}}, kMonday, kMonday + kDay);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].booked, 3);
  EXPECT_EQ(days[0].performed_minutes, 45 + 10);
  EXPECT_EQ(days[0].booked_minutes, 55);
  EXPECT_EQ(days[0].idle_minutes, 600 - 55);
}

TEST_F(SchedulingTest, OneRowPerStationAndDayIncludingEmptyOnes) {
  const std::vector<OrderRow> orders = {
      Appt(1, "CT1", kMonday + 9 * 60 * kMin, 20, "completed"),
      Appt(2, "US1", kMonday + 2 * kDay + 9 * 60 * kMin, 20, "no_show"),  // not in the hours list
      Appt(3, "", kMonday + 10 * 60 * kMin, 20, "scheduled"),             // no station
      Appt(4, "CT1", kMonday + 7 * kDay, 20, "completed"),                // after the range
  };
  const auto days = StationDays(orders, {{"CT1", 7 * 60, 19 * 60}, {"MR1", 8 * 60, 12 * 60}}, kMonday,
                                kMonday + 7 * kDay);
  EXPECT_EQ(days.size(), 4u * 7u);  // CT1, MR1, UNASSIGNED, US1 × 7 days
  const auto* ct = Find(days, "CT1", "20240304");
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->open_minutes, 12 * 60);
  EXPECT_EQ(ct->performed, 1);
  const auto* ct_sun = Find(days, "CT1", "20240310");
  ASSERT_NE(ct_sun, nullptr);
  EXPECT_EQ(ct_sun->booked, 0);  // order 4 is on the 11th, outside [from, to)
  EXPECT_EQ(ct_sun->idle_minutes, 12 * 60);
  const auto* mr = Find(days, "MR1", "20240305");
  ASSERT_NE(mr, nullptr);
  EXPECT_EQ(mr->open_minutes, 240);
  const auto* us = Find(days, "US1", "20240306");
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->open_minutes, 600);  // default 08:00-18:00
  EXPECT_EQ(us->no_shows, 1);
  const auto* none = Find(days, kUnassignedStation, "20240304");
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->pending, 1);
  // Sorted by station, then date.
  EXPECT_EQ(days.front().station_ae, "CT1");
  EXPECT_EQ(days.front().date, "20240304");
  EXPECT_EQ(days.back().station_ae, "US1");
  EXPECT_EQ(days.back().date, "20240310");
}

TEST_F(SchedulingTest, IdleCountsOnlyTheHoursAlreadyPast) {
  const int64_t t8 = kMonday + 8 * 60 * kMin;
  const std::vector<OrderRow> orders = {Appt(1, "CT1", t8, 60, "completed"), Appt(2, "CT1", t8 + 180 * kMin, 60, "scheduled")};
  // now = 10:00 on Monday: 120 open minutes past, 60 performed; Tuesday has not begun.
  const auto days = StationDays(orders, {{"CT1", 8 * 60, 18 * 60}}, kMonday, kMonday + 2 * kDay, 20, t8 + 120 * kMin);
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].elapsed_minutes, 120);
  EXPECT_EQ(days[0].idle_minutes, 60);
  EXPECT_EQ(days[0].pending, 1);
  EXPECT_EQ(days[1].elapsed_minutes, 0);
  EXPECT_EQ(days[1].idle_minutes, 0);
  EXPECT_EQ(days[1].unbooked_minutes, 600);
  // before the opening: nothing elapsed
  EXPECT_EQ(StationDays(orders, {{"CT1", 8 * 60, 18 * 60}}, kMonday, kMonday + kDay, 20, kMonday)[0].idle_minutes, 0);
}

TEST_F(SchedulingTest, ClosedWeekdaysHaveNoHours) {
  auto hours = ParseStationHours(R"([{"station_ae":"MR1","days":["Mon","Tue","Wed","Thu","Fri"]}])");
  ASSERT_TRUE(hours.ok()) << hours.status().message();
  EXPECT_EQ(FormatWeekdays((*hours)[0].weekdays), "Mon,Tue,Wed,Thu,Fri");
  EXPECT_EQ(FormatWeekdays(0x7F), "Mon,Tue,Wed,Thu,Fri,Sat,Sun");
  // Saturday 2024-03-09: closed, yet one exam was done (counted, no minutes).
  const int64_t sat = kMonday + 5 * kDay;
  const std::vector<OrderRow> orders = {Appt(1, "MR1", sat + 10 * 60 * kMin, 45, "completed")};
  const auto days = StationDays(orders, *hours, kMonday, kMonday + 7 * kDay);
  ASSERT_EQ(days.size(), 7u);
  EXPECT_EQ(days[0].open_minutes, 600);  // Monday
  const auto* s = Find(days, "MR1", "20240309");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->open_minutes, 0);
  EXPECT_EQ(s->performed, 1);
  EXPECT_EQ(s->performed_minutes, 0);
  EXPECT_EQ(s->idle_minutes, 0);
  EXPECT_EQ(Find(days, "MR1", "20240310")->open_minutes, 0);  // Sunday
}

TEST_F(SchedulingTest, ExpectedNoShowsSumsScoredRisks) {
  std::vector<OrderRow> orders = {Appt(1, "CT1", kMonday + 9 * 60 * kMin, 20, "scheduled"),
                                  Appt(2, "CT1", kMonday + 10 * 60 * kMin, 20, "scheduled"),
                                  Appt(3, "CT1", kMonday + 11 * 60 * kMin, 20, "scheduled"),
                                  Appt(4, "CT1", kMonday + 12 * 60 * kMin, 20, "cancelled")};
  orders[0].noshow_risk = 0.25;
  orders[1].noshow_risk = 0.5;
  orders[3].noshow_risk = 0.9;  // cancelled: not counted
  const auto days = StationDays(orders, {}, kMonday, kMonday + kDay);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_DOUBLE_EQ(days[0].expected_no_shows, 0.75);
  EXPECT_EQ(days[0].scored, 2);
}

TEST_F(SchedulingTest, EmptyOrReversedRange) {
  EXPECT_TRUE(StationDays({}, {{"CT1"}}, kMonday, kMonday).empty());
  EXPECT_TRUE(StationDays({}, {{"CT1"}}, kMonday + kDay, kMonday).empty());
  EXPECT_EQ(StationDays({}, {{"CT1"}}, kMonday + 5 * 60 * kMin, kMonday + 6 * 60 * kMin).size(), 1u);
}

TEST_F(SchedulingTest, LocalDaysFollowTheTimeZoneAcrossDst) {
  SetTz("Europe/Berlin");
  // 2024-03-31: clocks go from 02:00 to 03:00 (a 23-hour day). Local midnight = 2024-03-30T23:00Z.
  const int64_t midnight = 1711839600000;
  EXPECT_EQ(LocalDayStart(midnight + 10 * 60 * kMin), midnight);
  EXPECT_EQ(AddLocalDays(midnight, 1) - midnight, 23 * 60 * kMin);
  // Opening hours are wall-clock: 08:00 CEST that day is 06:00Z, 7 elapsed hours after midnight.
  EXPECT_EQ(LocalWallClock(midnight, 8 * 60), midnight + 7 * 60 * kMin);
  // 07:30-08:30 CEST (05:30Z): 30 minutes inside the hours.
  const std::vector<OrderRow> orders = {Appt(1, "CT1", midnight + 6 * 60 * kMin + 30 * kMin, 60, "completed")};
  const auto days = StationDays(orders, {{"CT1", 8 * 60, 18 * 60}}, midnight, AddLocalDays(midnight, 2));
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].date, "20240331");
  EXPECT_EQ(days[0].performed, 1);
  EXPECT_EQ(days[0].open_minutes, 600);  // 08:00-18:00 CEST, after the skipped hour
  EXPECT_EQ(days[0].performed_minutes, 30);
  EXPECT_EQ(days[1].date, "20240401");
}

TEST_F(SchedulingTest, RiskyAppointmentsActionsAndOrder) {
  std::vector<OrderRow> orders = {
      Appt(1, "CT1", kMonday + 9 * 60 * kMin, 20, "scheduled"),
      Appt(2, "CT1", kMonday + 10 * 60 * kMin, 20, "scheduled"),
      Appt(3, "CT1", kMonday + 11 * 60 * kMin, 20, "scheduled"),
      Appt(4, "CT1", kMonday + 12 * 60 * kMin, 20, "scheduled"),
      Appt(5, "CT1", kMonday + 13 * 60 * kMin, 20, "completed"),  // done: not listed
      Appt(6, "CT1", kMonday + 14 * 60 * kMin, 20, "scheduled"),  // not scored
  };
  orders[0].noshow_risk = 0.35;  // reminder call
  orders[1].noshow_risk = 0.72;  // overbook slot
  orders[2].noshow_risk = 0.60;
  orders[2].reminder_sent = true;  // confirm by phone
  orders[3].noshow_risk = 0.10;  // below the threshold
  orders[4].noshow_risk = 0.90;
  orders[1].booked_at = orders[1].scheduled_at - 40 * kDay;
  const auto risky = RiskyAppointments(orders, 0.3, 0.5);
  ASSERT_EQ(risky.size(), 3u);
  EXPECT_EQ(risky[0].order.id, 2);
  EXPECT_EQ(risky[0].action, "overbook slot");
  EXPECT_NE(risky[0].why.find("72%"), std::string::npos) << risky[0].why;
  EXPECT_NE(risky[0].why.find("booked 40 days ahead"), std::string::npos) << risky[0].why;
  EXPECT_EQ(risky[1].order.id, 3);
  EXPECT_EQ(risky[1].action, "confirm by phone");
  EXPECT_EQ(risky[2].order.id, 1);
  EXPECT_EQ(risky[2].action, "reminder call");
  EXPECT_TRUE(RiskyAppointments(orders, 0.95, 0.95).empty());
}

TEST_F(SchedulingTest, StationHoursParse) {
  auto ok = ParseStationHours(R"([{"station_ae":"CT1","open":"07:30","close":"19:00"},{"station_ae":"MR1"}])");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].open_minute, 450);
  EXPECT_EQ((*ok)[0].close_minute, 1140);
  EXPECT_EQ((*ok)[1].open_minute, 480);
  EXPECT_EQ((*ok)[1].close_minute, 1080);
  EXPECT_EQ(FormatMinute(450), "07:30");
  EXPECT_EQ(ParseMinute("24:00"), 1440);
  EXPECT_EQ(ParseMinute("7:30"), -1);
  EXPECT_EQ(ParseMinute("12:60"), -1);

  struct Bad {
    const char* json;
    const char* message;
  };
  const Bad bad[] = {
      {"{", "not valid JSON"},
      {R"({"station_ae":"CT1"})", "expected an array"},
      {R"([1])", "station hours[0]: expected an object"},
      {R"([{"open":"08:00"}])", "station hours[0].station_ae"},
      {R"([{"station_ae":"CT1","open":"8am"}])", "station hours[0].open: expected HH:MM, got '8am'"},
      {R"([{"station_ae":"CT1","close":"25:00"}])", "station hours[0].close: expected HH:MM"},
      {R"([{"station_ae":"CT1","open":"18:00","close":"08:00"}])", "is not after open"},
      {R"([{"station_ae":"CT1"},{"station_ae":"CT1"}])", "station hours[1].station_ae: CT1 is listed twice"},
      {R"([{"station_ae":"CT1","days":"Mon"}])", "station hours[0].days: expected an array"},
      {R"([{"station_ae":"CT1","days":["Mon","Funday"]}])", "station hours[0].days: \"Funday\" is not one of"},
  };
  for (const auto& b : bad) {
    auto r = ParseStationHours(b.json);
    ASSERT_FALSE(r.ok()) << b.json;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(b.message), std::string::npos) << b.json << " → " << r.status().message();
  }
  auto missing = LoadStationHours("/nonexistent/hours.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/hours.json"), std::string::npos);
}

}  // namespace
}  // namespace radflow::orders
