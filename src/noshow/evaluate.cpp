// The temporal evaluation (docs/noshow.md "Evaluation"): train on the appointment days
// before the 75th percentile of AppointmentDay, test on the days from it on.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/civil_date.h"
#include "noshow/noshow.h"

namespace radflow::noshow {

int64_t TemporalCut(const std::vector<Appointment>& rows, double quantile) {
  if (rows.empty()) return 0;
  std::vector<int64_t> days;
  days.reserve(rows.size());
  for (const auto& r : rows) days.push_back(r.day);
  std::sort(days.begin(), days.end());
  const double q = std::clamp(quantile, 0.0, 1.0);
  return days[static_cast<size_t>(q * static_cast<double>(days.size() - 1))];
}

Result<Evaluation> EvaluateTemporal(const std::vector<Appointment>& rows, const TrainParams& params) {
  Evaluation ev;
  ev.cut_day = TemporalCut(rows);
  const CivilDate d = CivilFromDays(ev.cut_day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(d.year), d.month, d.day);
  ev.cut_date = buf;
  std::vector<Appointment> train;
  std::vector<AppointmentFeatures> test;
  std::vector<int> label;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].day < ev.cut_day) {
      train.push_back(rows[i]);
    } else {
      ev.test_index.push_back(i);
      test.push_back(rows[i].features);
      label.push_back(rows[i].no_show ? 1 : 0);
    }
  }
  ev.train_rows = static_cast<int>(train.size());
  ev.test_rows = static_cast<int>(test.size());
  if (train.empty() || test.empty()) {
    return Status(ErrorCode::kInvalidArgument, "the temporal split leaves " + std::to_string(train.size()) +
                                                   " training and " + std::to_string(test.size()) +
                                                   " test rows (the table needs at least two appointment days)");
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto model = Train(train, params);
  if (!model.ok()) return model.status();
  ev.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ev.encoding = model.value()->encoding();
  ev.test_scores = model.value()->RiskMany(test);
  for (double s : ev.test_scores) {
    if (s < 0) return Status(ErrorCode::kInternal, "prediction failed");
  }
  ev.roc_auc = RocAuc(ev.test_scores, label);
  ev.pr_auc = PrAuc(ev.test_scores, label);
  ev.brier = Brier(ev.test_scores, label);
  ev.calibration = Calibration(ev.test_scores, label, 10);
  double sy = 0, sp = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    sy += label[i];
    sp += ev.test_scores[i];
  }
  ev.test_no_show_rate = sy / static_cast<double>(label.size());
  ev.mean_predicted = sp / static_cast<double>(label.size());
  return ev;
}

}  // namespace radflow::noshow
