// OrderService::Risk and ScoreScheduled: an order's features come from its row and its
// patient's earlier attendance in the order store; only earlier days' outcomes count.
#include <gtest/gtest.h>

#include <random>

#include "../test_data.h"
#include "noshow/noshow.h"
#include "orders/order_service.h"
#include "storage/index.h"

namespace radflow::orders {
namespace {

using storage::OrderRow;
constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kDay0 = 20'500;  // 2026-02-16

// A model in which earlier no-shows are nearly everything.
std::shared_ptr<const noshow::Model> HistoryModel() {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> k(0, 3);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<noshow::Appointment> rows;
  for (int i = 0; i < 4000; ++i) {
    noshow::Appointment a;
    a.day = kDay0 + i % 20;
    a.features.scheduled_at_ms = a.day * kDayMs;
    a.features.booked_at_ms = (a.day - 7) * kDayMs;
    a.features.prior_no_shows = k(rng);
    a.features.prior_attended = k(rng);
    a.no_show = u(rng) < 0.05 + 0.3 * a.features.prior_no_shows;
    rows.push_back(a);
  }
  noshow::TrainParams p;
  p.rounds = 40;
  auto m = noshow::Train(rows, p);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::shared_ptr<const noshow::Model>(std::move(m.value())) : nullptr;
}

class NoshowScoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto idx = storage::Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = storage::OrderStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  std::string path() const { return dir_.str() + "/index.db"; }
  OrderRow Add(const std::string& patient, const std::string& accession, int64_t day, const std::string& status) {
    OrderRow o;
    o.patient_id = patient;
    o.accession_number = accession;
    o.modality = "CT";
    o.scheduled_at = day * kDayMs + 10 * 3'600'000;
    o.booked_at = (day - 7) * kDayMs;
    o.birth_date = "19700101";
    o.sex = "F";
    auto r = store_->InsertOrder(o, "test", o.booked_at);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return o;
    if (status != "scheduled") {
      auto m = store_->MutateOrder(r->id, [&](OrderRow& row) -> Result<std::optional<storage::OrderAuditRow>> {
        row.status = status;
        return std::optional<storage::OrderAuditRow>();
      });
      EXPECT_TRUE(m.ok()) << m.status().ToString();
      return m.ok() ? *m : *r;
    }
    return *r;
  }
  radflow::testing::ScratchDir dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::OrderStore> store_;
};

TEST_F(NoshowScoringTest, EarlierNoShowsRaiseTheRiskAndSameDayOutcomesDoNot) {
  OrderServiceOptions options;
  options.noshow_model = HistoryModel();
  ASSERT_TRUE(options.noshow_model);
  OrderService service(*store_, options);
  Add("P1", "A1", kDay0 + 1, "no_show");
  Add("P1", "A2", kDay0 + 2, "no_show");
  const OrderRow p1 = Add("P1", "A3", kDay0 + 10, "scheduled");
  Add("P2", "B1", kDay0 + 1, "completed");
  Add("P2", "B2", kDay0 + 2, "completed");
  const OrderRow p2 = Add("P2", "B3", kDay0 + 10, "scheduled");
  // A no-show on P2's appointment day itself is not known beforehand: it must not count.
  Add("P2", "B4", kDay0 + 10, "no_show");
  auto r1 = service.Risk(p1);
  auto r2 = service.Risk(p2);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_GT(*r1, *r2 + 0.3) << *r1 << " vs " << *r2;
  EXPECT_LT(*r2, 0.2);

  // Re-scoring writes the risk into every scheduled appointment from now on, once.
  auto n = service.ScoreScheduled(kDay0 * kDayMs + 5 * kDayMs);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  auto got = store_->GetOrder(p1.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_NEAR((*got)->noshow_risk, *r1, 1e-9);
  auto audit = store_->OrderAudit(p1.id);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->back().action, "risk");
  auto again = service.ScoreScheduled(kDay0 * kDayMs + 5 * kDayMs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);  // unchanged
}

TEST_F(NoshowScoringTest, WithoutAModelNothingIsScored) {
  OrderService service(*store_, OrderServiceOptions{});
  const OrderRow o = Add("P1", "A1", kDay0 + 3, "scheduled");
  auto r = service.Risk(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, -1.0);
  auto n = service.ScoreScheduled(0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
}

TEST_F(NoshowScoringTest, AnUnscheduledOrderIsRefused) {
  OrderServiceOptions options;
  options.noshow_model = HistoryModel();
  OrderService service(*store_, options);
  OrderRow o;
  o.patient_id = "P1";
  auto r = service.Risk(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace radflow::orders
