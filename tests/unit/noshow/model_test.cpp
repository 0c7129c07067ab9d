// The XGBoost model: it learns a planted signal, saves to one file and loads back with the
// same predictions; a foreign or broken file is refused with the reason.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "../test_data.h"
#include "noshow/noshow.h"

namespace radflow::noshow {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// Synthetic appointments: the risk rises with lead time and earlier no-shows.
struct Planted : Appointment {
  double planted = 0;  // the probability the label was drawn with
};

std::vector<Appointment> Synthetic(int n, uint32_t seed, std::vector<double>* planted = nullptr) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> lead(0, 40), prior(0, 3), age(1, 90);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Appointment> rows;
  for (int i = 0; i < n; ++i) {
    Planted a;
    a.patient_id = std::to_string(i);
    a.appointment_id = std::to_string(i);
    a.day = 16'900 + i % 30;
    a.features.scheduled_at_ms = a.day * kDayMs;
    const int l = lead(rng);
    a.features.booked_at_ms = (a.day - l) * kDayMs + 9 * 3'600'000;
    a.features.prior_no_shows = prior(rng);
    a.features.prior_attended = prior(rng);
    a.features.age_years = age(rng);
    // (assign(count, char): GCC 12 warns falsely (-Wrestrict) on assigning a literal here)
    a.features.sex.assign(1, i % 2 ? 'M' : 'F');
    a.features.neighbourhood.assign(2, i % 3 ? 'A' : 'B');
    a.planted = 0.05 + 0.4 * l / 40.0 + 0.12 * a.features.prior_no_shows;
    a.no_show = u(rng) < a.planted;
    if (planted) planted->push_back(a.planted);
    rows.push_back(a);
  }
  return rows;
}

TEST(NoshowModel, LearnsThePlantedSignalAndRoundTrips) {
  const auto train = Synthetic(3000, 1);
  std::vector<double> planted;
  const auto test = Synthetic(1000, 2, &planted);
  TrainParams params;
  params.rounds = 60;
  auto model = Train(train, params);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<AppointmentFeatures> f;
  std::vector<int> y;
  for (const auto& a : test) {
    f.push_back(a.features);
    y.push_back(a.no_show);
  }
  const std::vector<double> risk = (*model)->RiskMany(f);
  ASSERT_EQ(risk.size(), f.size());
  for (double r : risk) {
    ASSERT_GE(r, 0);
    ASSERT_LE(r, 1);
  }
  // The best possible ranking is the planted probabilities' own; the model, estimated from
  // 3000 rows, comes within 0.03 of it (and well above chance).
  const double best = RocAuc(planted, y);
  EXPECT_GT(best, 0.65);
  EXPECT_GT(RocAuc(risk, y), best - 0.03) << "planted " << best;
  EXPECT_DOUBLE_EQ((*model)->Risk(f[0]), risk[0]);

  radflow::testing::ScratchDir dir;
  const std::string path = dir.str() + "/noshow.model";
  ASSERT_TRUE((*model)->Save(path).ok());
  auto loaded = Model::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const std::vector<double> again = (*loaded)->RiskMany(f);
  ASSERT_EQ(again.size(), risk.size());
  for (size_t i = 0; i < risk.size(); ++i) EXPECT_NEAR(again[i], risk[i], 1e-6) << i;
  // A neighbourhood the training never saw gets the prior.
  AppointmentFeatures unseen = f[0];
  unseen.neighbourhood = "NOWHERE";
  const double r = (*loaded)->Risk(unseen);
  EXPECT_GE(r, 0);
  EXPECT_LE(r, 1);
}

TEST(NoshowModel, RefusesFilesThatAreNotItsModel) {
  radflow::testing::ScratchDir dir;
  EXPECT_EQ(Model::Load(dir.str() + "/none").status().code(), ErrorCode::kNotFound);
  const std::string junk = dir.str() + "/junk.model";
  std::ofstream(junk) << "not a model";
  auto j = Model::Load(junk);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("not an XGBoost model"), std::string::npos) << j.status().message();
  const std::string empty = dir.str() + "/empty.model";
  std::ofstream(empty).flush();
  EXPECT_FALSE(Model::Load(empty).ok());
}

TEST(NoshowModel, TrainingNeedsRows) {
  EXPECT_FALSE(Train({}, TrainParams{}).ok());
  TrainParams zero;
  zero.rounds = 0;
  EXPECT_FALSE(Train(Synthetic(10, 3), zero).ok());
}

TEST(NoshowEvaluation, CutsAtTheSeventyFifthPercentileDay) {
  auto rows = Synthetic(400, 4);  // days 16900..16929, 13-14 rows each
  EXPECT_EQ(TemporalCut(rows), 16900 + 22);
  TrainParams params;
  params.rounds = 20;
  auto ev = EvaluateTemporal(rows, params);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->train_rows + ev->test_rows, 400);
  for (size_t i : ev->test_index) EXPECT_GE(rows[i].day, ev->cut_day);
  EXPECT_EQ(ev->cut_date, "2016-05-01");
  // One day only: nothing to train on before the cut.
  for (auto& r : rows) r.day = 16900;
  EXPECT_FALSE(EvaluateTemporal(rows, params).ok());
}

}  // namespace
}  // namespace radflow::noshow
