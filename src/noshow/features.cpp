// The model's feature vector (docs/noshow.md "Features"). Calendar values are UTC.
#include <cmath>
#include <limits>

#include "noshow/noshow.h"

namespace radflow::noshow {

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

float Flag(float v) { return v < 0 ? kMissing : v; }

}  // namespace

const std::vector<std::string>& FeatureNames() {
  static const std::vector<std::string> kNames = {
      "lead_days",        "lead_hours",       "same_day_booking", "appointment_weekday",
      "booking_hour",     "booking_weekday",  "age",              "male",
      "reminder_sent",    "prior_attended",   "prior_no_shows",   "prior_no_show_rate",
      "days_since_last",  "booked_so_far",    "same_day_booked",  "future_booked",
      "scholarship",      "hypertension",     "diabetes",         "alcoholism",
      "handicap",         "neighbourhood_te"};
  return kNames;
}

std::vector<float> FeatureVector(const AppointmentFeatures& a, const Encoding& enc) {
  const int64_t appt_day = FloorDiv(a.scheduled_at_ms, kDayMs);
  const int64_t book_day = FloorDiv(a.booked_at_ms, kDayMs);
  const int64_t book_ms_of_day = a.booked_at_ms - book_day * kDayMs;
  const int64_t lead_days = a.booked_at_ms > 0 ? appt_day - book_day : 0;
  // Hours from the booking to the start of the appointment's day (the table has no
  // appointment time; radflow's orders are treated the same way).
  const double lead_hours = a.booked_at_ms > 0 ? static_cast<double>(appt_day * kDayMs - a.booked_at_ms) / 3.6e6 : 0;
  const int total = a.prior_attended + a.prior_no_shows;
  std::vector<float> v;
  v.reserve(FeatureNames().size());
  v.push_back(static_cast<float>(lead_days));
  v.push_back(static_cast<float>(lead_hours));
  v.push_back(lead_days <= 0 ? 1.f : 0.f);
  v.push_back(static_cast<float>(((appt_day + 3) % 7 + 7) % 7));  // 0 = Monday (1970-01-01: Thursday)
  v.push_back(a.booked_at_ms > 0 ? static_cast<float>(book_ms_of_day) / 3.6e6f : kMissing);
  v.push_back(a.booked_at_ms > 0 ? static_cast<float>(((book_day + 3) % 7 + 7) % 7) : kMissing);
  v.push_back(a.age_years < 0 ? kMissing : static_cast<float>(a.age_years));
  v.push_back(a.sex == "M" ? 1.f : a.sex == "F" ? 0.f : kMissing);
  v.push_back(a.reminder_sent ? 1.f : 0.f);
  v.push_back(static_cast<float>(a.prior_attended));
  v.push_back(static_cast<float>(a.prior_no_shows));
  // Smoothed toward 20 % with two pseudo-appointments, so that one visit is not 0 or 1.
  v.push_back(static_cast<float>((a.prior_no_shows + 0.4) / (total + 2.0)));
  v.push_back(a.last_appointment_ms > 0
                  ? static_cast<float>(appt_day - FloorDiv(a.last_appointment_ms, kDayMs))
                  : kMissing);
  v.push_back(static_cast<float>(a.booked_so_far));
  v.push_back(static_cast<float>(a.same_day_booked));
  v.push_back(static_cast<float>(a.future_booked));
  v.push_back(Flag(a.scholarship));
  v.push_back(Flag(a.hypertension));
  v.push_back(Flag(a.diabetes));
  v.push_back(Flag(a.alcoholism));
  v.push_back(Flag(a.handicap));
  const auto it = enc.neighbourhood.find(a.neighbourhood);
  v.push_back(static_cast<float>(it == enc.neighbourhood.end() ? enc.prior : it->second));
  return v;
}

}  // namespace radflow::noshow
