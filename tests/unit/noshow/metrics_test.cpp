// The evaluation's metrics on hand-made data whose values are worked out by hand (and agree
// with scikit-learn 1.2's roc_auc_score, average_precision_score and brier_score_loss).
#include <gtest/gtest.h>

#include "noshow/noshow.h"

namespace radflow::noshow {
namespace {

TEST(NoshowMetrics, RocAucCountsOrderedPairs) {
  // Pairs (positive, negative): (0.35,0.1) yes, (0.35,0.4) no, (0.8,0.1) yes, (0.8,0.4) yes → 3/4.
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.8, 0.1}, {1, 1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.8, 0.9}, {1, 0, 0}), 0.0);
}

TEST(NoshowMetrics, RocAucCountsTiesAsOneHalf) {
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.5, 0.5, 0.5}, {1, 0, 1, 0}), 0.5);
  // Positive 0.5 ties negative 0.5 (½) and beats 0.2 (1); positive 0.9 beats both (2) → 3.5/4.
  EXPECT_DOUBLE_EQ(RocAuc({0.9, 0.5, 0.5, 0.2}, {1, 1, 0, 0}), 0.875);
}

TEST(NoshowMetrics, RocAucWithOneClassIsOneHalf) {
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.7}, {1, 1}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({}, {}), 0.5);
}

TEST(NoshowMetrics, AveragePrecisionIsTheStepwisePrCurveArea) {
  // Ranked 0.8(+) 0.4(-) 0.35(+) 0.1(-): recall ½ at precision 1, recall 1 at precision ⅔.
  EXPECT_NEAR(PrAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.5 * 1 + 0.5 * 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(PrAuc({0.9, 0.8, 0.1}, {1, 1, 0}), 1.0);
  // All tied: one threshold, precision = prevalence.
  EXPECT_DOUBLE_EQ(PrAuc({0.3, 0.3, 0.3, 0.3}, {1, 0, 0, 0}), 0.25);
  EXPECT_DOUBLE_EQ(PrAuc({0.3, 0.4}, {0, 0}), 0.0);
}

TEST(NoshowMetrics, BrierIsTheMeanSquaredError) {
  // (0.01 + 0.01 + 0.04 + 0.09) / 4
  EXPECT_NEAR(Brier({0.1, 0.9, 0.8, 0.3}, {0, 1, 1, 0}), 0.0375, 1e-12);
  EXPECT_DOUBLE_EQ(Brier({1, 0}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(Brier({0, 1}, {1, 0}), 1.0);
}

TEST(NoshowMetrics, CalibrationBinsByPredictedRisk) {
  const auto bins = Calibration({0.05, 0.15, 0.12, 0.95, 1.0}, {0, 1, 0, 1, 1}, 10);
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[0].count, 1);
  EXPECT_DOUBLE_EQ(bins[0].observed_rate, 0.0);
  EXPECT_EQ(bins[1].count, 2);
  EXPECT_NEAR(bins[1].mean_predicted, 0.135, 1e-12);
  EXPECT_DOUBLE_EQ(bins[1].observed_rate, 0.5);
  EXPECT_EQ(bins[9].count, 2);  // 1.0 belongs to the last bin
  EXPECT_NEAR(bins[9].mean_predicted, 0.975, 1e-12);
  EXPECT_EQ(bins[5].count, 0);
  EXPECT_DOUBLE_EQ(bins[5].lo, 0.5);
  EXPECT_DOUBLE_EQ(bins[5].hi, 0.6);
}

}  // namespace
}  // namespace radflow::noshow
