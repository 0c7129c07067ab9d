// The appointment table and the history features: outcomes count only from strictly earlier
// appointment days, bookings from the moment they are made; PatientId stays exact text.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "../test_data.h"
#include "base/civil_date.h"
#include "noshow/noshow.h"

namespace radflow::noshow {
namespace {

constexpr char kHeader[] =
    "PatientId,AppointmentID,Gender,ScheduledDay,AppointmentDay,Age,Neighbourhood,Scholarship,Hipertension,"
    "Diabetes,Alcoholism,Handcap,SMS_received,No-show\n";

std::string Write(const radflow::testing::ScratchDir& dir, const std::string& body) {
  const std::string path = dir.str() + "/t.csv";
  std::ofstream(path) << body;
  return path;
}

size_t Find(const std::vector<Appointment>& rows, const std::string& appointment_id) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].appointment_id == appointment_id) return i;
  }
  ADD_FAILURE() << "no appointment " << appointment_id;
  return 0;
}

TEST(NoshowTable, HistoryUsesOnlyEarlierDaysAndKnownBookings) {
  radflow::testing::ScratchDir dir;
  // Patient 1: a no-show on 05-02, an attended visit on 05-03, and two on 05-04 (one a
  // no-show: unknown to its same-day sibling), one more booked later for 05-10.
  const std::string body = std::string(kHeader) +
      "1,A1,F,2016-04-20T10:00:00Z,2016-05-02T00:00:00Z,30,X,0,0,0,0,0,0,Yes\n"
      "1,A2,F,2016-04-21T10:00:00Z,2016-05-03T00:00:00Z,30,X,0,0,0,0,0,1,No\n"
      "1,A3,F,2016-04-22T10:00:00Z,2016-05-04T00:00:00Z,30,X,0,0,0,0,0,0,Yes\n"
      "1,A4,F,2016-04-22T10:00:00Z,2016-05-04T00:00:00Z,30,X,0,0,0,0,0,0,No\n"
      "1,A5,F,2016-05-03T09:00:00Z,2016-05-10T00:00:00Z,30,X,0,0,0,0,0,0,No\n"
      "2,B1,M,2016-05-04T08:30:00Z,2016-05-04T00:00:00Z,-1,Y,1,1,1,1,2,0,No\n";
  auto rows = ReadAppointmentTable(Write(dir, body));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 6u);
  const auto& a1 = (*rows)[Find(*rows, "A1")].features;
  EXPECT_EQ(a1.prior_attended + a1.prior_no_shows, 0);
  EXPECT_EQ(a1.last_appointment_ms, 0);
  EXPECT_EQ(a1.booked_so_far, 0);  // A2..A5 were booked after it
  const auto& a3 = (*rows)[Find(*rows, "A3")].features;
  EXPECT_EQ(a3.prior_no_shows, 1);
  EXPECT_EQ(a3.prior_attended, 1);  // A4 (same day) is not counted
  EXPECT_EQ(a3.last_appointment_ms, DaysFromCivil(2016, 5, 3) * 86'400'000);
  EXPECT_EQ(a3.booked_so_far, 3);  // A1, A2 and A4 (same booking time); not A5
  EXPECT_EQ(a3.same_day_booked, 1);
  EXPECT_EQ(a3.future_booked, 0);
  const auto& a5 = (*rows)[Find(*rows, "A5")].features;
  EXPECT_EQ(a5.prior_no_shows, 2);
  EXPECT_EQ(a5.prior_attended, 2);
  const auto& a2 = (*rows)[Find(*rows, "A2")].features;
  EXPECT_EQ(a2.future_booked, 0);  // A3/A4 were booked after A2
  EXPECT_TRUE(a2.reminder_sent);
  const auto& b1 = (*rows)[Find(*rows, "B1")];
  EXPECT_EQ(b1.features.age_years, -1);  // the table's dirty Age = -1 is unknown
  EXPECT_EQ(b1.features.sex, "M");
  EXPECT_FLOAT_EQ(b1.features.handicap, 2);
  EXPECT_FALSE(b1.no_show);
}

TEST(NoshowTable, PatientIdIsExactText) {
  radflow::testing::ScratchDir dir;
  // 2^53 + 1 and 2^53 are the same double: a float parser would merge these two patients.
  const std::string body = std::string(kHeader) +
      "9007199254740993,A1,F,2016-04-20T10:00:00Z,2016-05-02T00:00:00Z,30,X,0,0,0,0,0,0,Yes\n"
      "9007199254740992,A2,F,2016-04-20T10:00:00Z,2016-05-03T00:00:00Z,30,X,0,0,0,0,0,0,No\n";
  ASSERT_EQ(static_cast<double>(9007199254740993LL), static_cast<double>(9007199254740992LL));
  auto rows = ReadAppointmentTable(Write(dir, body));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ((*rows)[0].patient_id, "9007199254740993");
  EXPECT_EQ((*rows)[1].features.prior_no_shows, 0);  // a different patient
}

TEST(NoshowTable, BadInputIsAnErrorNamingTheLine) {
  radflow::testing::ScratchDir dir;
  auto missing = ReadAppointmentTable(Write(dir, "PatientId,Gender\n1,F\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AppointmentID"), std::string::npos) << missing.status().message();
  auto bad_day = ReadAppointmentTable(
      Write(dir, std::string(kHeader) + "1,A1,F,2016-04-20T10:00:00Z,2016-13-02T00:00:00Z,30,X,0,0,0,0,0,0,Yes\n"));
  ASSERT_FALSE(bad_day.ok());
  EXPECT_NE(bad_day.status().message().find(":2: AppointmentDay"), std::string::npos) << bad_day.status().message();
  auto bad_label = ReadAppointmentTable(
      Write(dir, std::string(kHeader) + "1,A1,F,2016-04-20T10:00:00Z,2016-05-02T00:00:00Z,30,X,0,0,0,0,0,0,maybe\n"));
  ASSERT_FALSE(bad_label.ok());
  EXPECT_NE(bad_label.status().message().find("No-show"), std::string::npos);
  auto short_row = ReadAppointmentTable(Write(dir, std::string(kHeader) + "1,A1,F\n"));
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.status().message().find("3 fields"), std::string::npos);
  EXPECT_FALSE(ReadAppointmentTable(dir.str() + "/none.csv").ok());
  EXPECT_FALSE(ReadAppointmentTable(Write(dir, kHeader)).ok());  // no rows
}

TEST(NoshowFeatures, VectorFollowsTheNames) {
  AppointmentFeatures a;
  a.booked_at_ms = (DaysFromCivil(2016, 5, 2) * 24 + 15) * 3'600'000;  // Monday 15:00
  a.scheduled_at_ms = DaysFromCivil(2016, 5, 6) * 86'400'000;            // Friday
  a.age_years = 40;
  a.sex = "F";
  a.prior_no_shows = 1;
  a.prior_attended = 1;
  a.neighbourhood = "X";
  Encoding enc;
  enc.prior = 0.2;
  enc.neighbourhood["X"] = 0.3;
  const std::vector<float> v = FeatureVector(a, enc);
  const auto& names = FeatureNames();
  ASSERT_EQ(v.size(), names.size());
  auto at = [&](const std::string& n) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return v[i];
    }
    ADD_FAILURE() << n;
    return 0.f;
  };
  EXPECT_FLOAT_EQ(at("lead_days"), 4);
  EXPECT_FLOAT_EQ(at("lead_hours"), 4 * 24 - 15);
  EXPECT_FLOAT_EQ(at("same_day_booking"), 0);
  EXPECT_FLOAT_EQ(at("appointment_weekday"), 4);  // Monday = 0
  EXPECT_FLOAT_EQ(at("booking_weekday"), 0);
  EXPECT_FLOAT_EQ(at("booking_hour"), 15);
  EXPECT_FLOAT_EQ(at("male"), 0);
  EXPECT_FLOAT_EQ(at("prior_no_show_rate"), 1.4f / 4);
  EXPECT_TRUE(std::isnan(at("days_since_last")));
  EXPECT_TRUE(std::isnan(at("diabetes")));  // -1: not in radflow's orders
  EXPECT_FLOAT_EQ(at("neighbourhood_te"), 0.3f);
  a.neighbourhood = "elsewhere";
  a.sex = "";
  const std::vector<float> w = FeatureVector(a, enc);
  EXPECT_FLOAT_EQ(w.back(), 0.2f);
  EXPECT_TRUE(std::isnan(w[7]));
}

}  // namespace
}  // namespace radflow::noshow
