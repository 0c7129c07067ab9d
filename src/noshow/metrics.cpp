// Ranking and probability metrics of the evaluation (docs/noshow.md "Metrics").
#include <algorithm>
#include <numeric>

#include "noshow/noshow.h"

namespace radflow::noshow {

namespace {

// Indices sorted by score, descending.
std::vector<size_t> ByScoreDesc(const std::vector<double>& score) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  return order;
}

}  // namespace

// Mann-Whitney U / (positives × negatives); tied scores count one half.
double RocAuc(const std::vector<double>& score, const std::vector<int>& label) {
  const std::vector<size_t> order = ByScoreDesc(score);
  double pos = 0, neg = 0, area = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    double tp = 0, fp = 0;
    while (j < order.size() && score[order[j]] == score[order[i]]) {
      (label[order[j]] ? tp : fp) += 1;
      ++j;
    }
    // Each negative of this group ranks below every positive seen before, and ties with
    // this group's positives.
    area += fp * (pos + tp / 2);
    pos += tp;
    neg += fp;
    i = j;
  }
  if (pos == 0 || neg == 0) return 0.5;  // undefined: no ranking to judge
  return area / (pos * neg);
}

// AP = Σ (R_k − R_{k−1}) · P_k over the distinct thresholds, highest first.
double PrAuc(const std::vector<double>& score, const std::vector<int>& label) {
  const std::vector<size_t> order = ByScoreDesc(score);
  const double total_pos = static_cast<double>(std::count_if(label.begin(), label.end(), [](int l) { return l != 0; }));
  if (total_pos == 0) return 0;
  double tp = 0, seen = 0, prev_recall = 0, ap = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) {
      tp += label[order[j]] ? 1 : 0;
      seen += 1;
      ++j;
    }
    const double recall = tp / total_pos;
    ap += (recall - prev_recall) * (tp / seen);
    prev_recall = recall;
    i = j;
  }
  return ap;
}

double Brier(const std::vector<double>& score, const std::vector<int>& label) {
  if (score.empty()) return 0;
  double sum = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    const double d = score[i] - (label[i] ? 1.0 : 0.0);
    sum += d * d;
  }
  return sum / static_cast<double>(score.size());
}

std::vector<CalibrationBin> Calibration(const std::vector<double>& score, const std::vector<int>& label, int bins) {
  if (bins < 1) bins = 1;
  std::vector<CalibrationBin> out(static_cast<size_t>(bins));
  std::vector<double> sum_p(out.size(), 0), sum_y(out.size(), 0);
  for (size_t b = 0; b < out.size(); ++b) {
    out[b].lo = static_cast<double>(b) / bins;
    out[b].hi = static_cast<double>(b + 1) / bins;
  }
  for (size_t i = 0; i < score.size(); ++i) {
    const double p = std::clamp(score[i], 0.0, 1.0);
    const size_t b = std::min(out.size() - 1, static_cast<size_t>(p * bins));
    out[b].count++;
    sum_p[b] += p;
    sum_y[b] += label[i] ? 1 : 0;
  }
  for (size_t b = 0; b < out.size(); ++b) {
    if (out[b].count == 0) continue;
    out[b].mean_predicted = sum_p[b] / out[b].count;
    out[b].observed_rate = sum_y[b] / out[b].count;
  }
  return out;
}

}  // namespace radflow::noshow
