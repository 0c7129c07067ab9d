// No-show risk (docs/noshow.md): a gradient-boosted model of the probability that a patient
// misses an appointment, from what is known when the appointment is booked and the
// patient's earlier attendance. Trained and evaluated with XGBoost's C API (libxgboost);
// XGBoost's types stay in this module's .cpp files. The model is a file radflow loads.
#pragma once

#include <cstdint>
#include <map>
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
  // The patient's other appointments booked at or before this one's booking time (known
  // when it is booked): all of them, those on the same day, those on later days.
  int booked_so_far = 0, same_day_booked = 0, future_booked = 0;
  // Table-only attributes (the Kaggle set); NaN/unknown for radflow's own orders.
  float scholarship = -1, hypertension = -1, diabetes = -1, alcoholism = -1, handicap = -1;
  std::string neighbourhood;
};

// ---- Features (features.cpp)
// Target encoding of the neighbourhood, fitted on the training rows only (smoothed mean).
struct Encoding {
  std::map<std::string, double> neighbourhood;
  double prior = 0.2;  // training no-show rate: unknown neighbourhoods
};
// (Σ no-shows + m·prior) / (rows + m) per neighbourhood, m = smoothing.
struct Appointment;
Encoding FitEncoding(const std::vector<Appointment>& train, double smoothing);
const std::vector<std::string>& FeatureNames();
// One row of FeatureNames().size() floats; NaN = missing (XGBoost's missing value).
std::vector<float> FeatureVector(const AppointmentFeatures& a, const Encoding& enc);

// ---- The appointment table (table.cpp): Kaggle "Medical Appointment No Shows" columns.
struct Appointment {
  std::string patient_id;  // read as text: 15 digits exceed a double's precision
  std::string appointment_id;
  int64_t day = 0;         // AppointmentDay, days since 1970-01-01 (UTC)
  AppointmentFeatures features;
  bool no_show = false;
};
// Reads the CSV (header names checked) and fills each row's history with FillHistory.
Result<std::vector<Appointment>> ReadAppointmentTable(const std::string& csv_path);
// Per patient: prior_attended / prior_no_shows / last_appointment_ms from appointments on
// strictly earlier days; booked_so_far / same_day_booked / future_booked from the patient's
// other bookings made at or before this booking.
void FillHistory(std::vector<Appointment>& rows);

// ---- Metrics (metrics.cpp). labels: 1 = no-show.
double RocAuc(const std::vector<double>& score, const std::vector<int>& label);  // ties: half
// Average precision (step-wise area under the precision-recall curve, ties grouped; the
// definition of scikit-learn's average_precision_score).
double PrAuc(const std::vector<double>& score, const std::vector<int>& label);
double Brier(const std::vector<double>& score, const std::vector<int>& label);
struct CalibrationBin {
  double lo = 0, hi = 0;  // predicted risk in [lo, hi) (the last bin includes 1)
  int count = 0;
  double mean_predicted = 0, observed_rate = 0;
};
std::vector<CalibrationBin> Calibration(const std::vector<double>& score, const std::vector<int>& label,
                                        int bins = 10);

// ---- The model (xgb_model.cpp)
struct TrainParams {
  int rounds = 400;
  double eta = 0.03;
  int max_depth = 4;
  double min_child_weight = 5;
  double subsample = 0.8, colsample_bytree = 0.8;
  double lambda = 1.0;
  int threads = 2;
  int seed = 0;
  double encoding_smoothing = 20;  // pseudo-count of the neighbourhood target encoding
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(const std::string& path);
  virtual ~Model() = default;
  // Probability of a no-show, 0..1.
  virtual double Risk(const AppointmentFeatures& a) const = 0;
  // Many at once (one prediction call).
  virtual std::vector<double> RiskMany(const std::vector<AppointmentFeatures>& rows) const = 0;
  // Writes the model file (XGBoost JSON with the encoding as an attribute).
  virtual Status Save(const std::string& path) const = 0;
  // The neighbourhood encoding the model was trained with.
  virtual const Encoding& encoding() const = 0;
};

Result<std::unique_ptr<Model>> Train(const std::vector<Appointment>& rows, const TrainParams& params);

// ---- Temporal evaluation (evaluate.cpp)
// The cut: the AppointmentDay at sorted position floor(0.75 * (n - 1)). Train: day < cut;
// test: day >= cut.
int64_t TemporalCut(const std::vector<Appointment>& rows, double quantile = 0.75);
struct Evaluation {
  int64_t cut_day = 0;
  std::string cut_date;  // YYYY-MM-DD
  int train_rows = 0, test_rows = 0;
  double roc_auc = 0, pr_auc = 0, brier = 0;
  double test_no_show_rate = 0, mean_predicted = 0;
  std::vector<CalibrationBin> calibration;
  std::vector<size_t> test_index;   // rows' indices of the test part
  std::vector<double> test_scores;  // the model's risk, same order
  double train_seconds = 0;
  Encoding encoding;  // the trained model's (fitted on the training rows)
};
Result<Evaluation> EvaluateTemporal(const std::vector<Appointment>& rows, const TrainParams& params);

}  // namespace radflow::noshow
