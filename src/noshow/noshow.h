// No-show risk (docs/noshow.md): a gradient-boosted model of the probability that a patient
// misses an appointment, from what is known when the appointment is booked and the
// patient's earlier attendance. Trained and evaluated with XGBoost's C API (libxgboost);
// XGBoost's types stay in this module's .cpp files. The model is a file radflow loads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::noshow {

// What the model sees of one appointment. Everything is known at booking time, except the
// history, which counts only appointments on days strictly before this appointment's day.
struct AppointmentFeatures {
  int64_t booked_at_ms = 0;       // when the appointment was made
  int64_t scheduled_at_ms = 0;    // the appointment (day, and time when known)
  int age_years = -1;             // -1 unknown
  std::string sex;                // "M" | "F" | "" unknown
  bool reminder_sent = false;     // SMS / call reminder
  int prior_attended = 0, prior_no_shows = 0;
  int64_t last_appointment_ms = 0;  // the latest earlier appointment, 0 none
  // Table-only attributes (the Kaggle set); NaN/unknown for radflow's own orders.
  float scholarship = -1, hypertension = -1, diabetes = -1, alcoholism = -1, handicap = -1;
  std::string neighbourhood;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(const std::string& path);
  virtual ~Model() = default;
  // Probability of a no-show, 0..1.
  virtual double Risk(const AppointmentFeatures& a) const = 0;
};

}  // namespace radflow::noshow
