// storage::LesionStore on a database migrated by storage::Index (006_lesion_tracks.sql), on SQLite
// and on PostgreSQL (support/store_backend.h).
#include "storage/lesion_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../test_data.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::storage {
namespace {

class LesionStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    index_.reset();
    auto idx = Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = LesionStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  const std::string& path() const { return location_; }

  static LesionTrackRow Track(const std::string& status, int64_t finding, int64_t prior_finding,
                              const std::string& uid) {
    LesionTrackRow t;
    t.finding_id = finding;
    t.prior_finding_id = prior_finding;
    t.tracking_uid = uid;
    t.tracking_id = "Lesion " + uid.substr(uid.size() - 1);
    t.status = status;
    return t;
  }

  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<LesionStore> store_;
};

RADFLOW_BOTH_BACKENDS(LesionStoreTest);

TEST_P(LesionStoreTest, OpenNeedsTheMigratedIndex) {
  // SQLite: no file; PostgreSQL: a database without the tables.
  auto missing = LesionStore::Open(radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/nothing.db"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), GetParam() == Backend::kSqlite ? ErrorCode::kNotFound : ErrorCode::kDatabaseError)
      << missing.status().ToString();
}

TEST_P(LesionStoreTest, NoFollowUpIsNullopt) {
  auto f = store_->FollowUp("1.2.3");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_FALSE(f->has_value());
  auto t = store_->Tracks("1.2.3");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
}

TEST_P(LesionStoreTest, FollowUpAndTracksRoundTripAndSurviveAReopen) {
  LesionFollowUpRow f;
  f.study_uid = "1.2.3";
  f.prior_study_uid = "1.2.2";
  f.matrix_json = "[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1]";
  f.metric = -0.61;
  f.interval_days = 90;
  f.sr_series_uid = "1.2.3.9";
  f.sr_sop_uid = "1.2.3.9.1";
  f.created_at = 1700000000000;
  auto grown = Track("tracked", 11, 5, "2.25.1");
  grown.trend = "growing";
  grown.volume_change_pct = 98.5;
  grown.diameter_change_mm = 3.25;
  grown.doubling_time_days = 91.2;
  grown.distance_mm = 0.07;
  grown.interval_days = 90;
  grown.current_json = R"({"finding_id":11})";
  grown.prior_json = R"({"finding_id":5})";
  const std::vector<LesionTrackRow> tracks{grown, Track("new", 12, 0, "2.25.2"), Track("resolved", 0, 6, "2.25.3")};
  ASSERT_TRUE(store_->SaveFollowUp(f, tracks, {{11, "2.25.1", "Lesion 1"}, {12, "2.25.2", "Lesion 2"}}).ok());
  Reopen();

  auto back = store_->FollowUp("1.2.3");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->prior_study_uid, "1.2.2");
  EXPECT_EQ((*back)->state, "ok");
  EXPECT_EQ((*back)->matrix_json, f.matrix_json);
  EXPECT_DOUBLE_EQ((*back)->metric, -0.61);
  EXPECT_DOUBLE_EQ((*back)->interval_days, 90);
  EXPECT_EQ((*back)->sr_sop_uid, "1.2.3.9.1");
  EXPECT_EQ((*back)->created_at, 1700000000000);

  auto t = store_->Tracks("1.2.3");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].status, "tracked");
  EXPECT_EQ((*t)[0].trend, "growing");
  EXPECT_EQ((*t)[0].finding_id, 11);
  EXPECT_EQ((*t)[0].prior_finding_id, 5);
  EXPECT_DOUBLE_EQ((*t)[0].volume_change_pct, 98.5);
  EXPECT_DOUBLE_EQ((*t)[0].diameter_change_mm, 3.25);
  ASSERT_TRUE((*t)[0].doubling_time_days.has_value());
  EXPECT_DOUBLE_EQ(*(*t)[0].doubling_time_days, 91.2);
  EXPECT_EQ((*t)[0].prior_study_uid, "1.2.2");
  EXPECT_EQ((*t)[0].current_json, grown.current_json);
  EXPECT_EQ((*t)[1].status, "new");
  EXPECT_FALSE((*t)[1].doubling_time_days.has_value());  // NULL, not 0
  EXPECT_EQ((*t)[2].status, "resolved");
  EXPECT_EQ((*t)[2].tracking_uid, "2.25.3");

  auto ids = store_->Identities("1.2.3");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].finding_id, 11);
  EXPECT_EQ((*ids)[0].tracking_uid, "2.25.1");
  EXPECT_EQ((*ids)[1].tracking_id, "Lesion 2");
}

TEST_P(LesionStoreTest, ASecondFollowUpReplacesTheStudysTracks) {
  LesionFollowUpRow f;
  f.study_uid = "1.2.3";
  f.prior_study_uid = "1.2.2";
  ASSERT_TRUE(store_->SaveFollowUp(f, {Track("new", 1, 0, "2.25.1"), Track("new", 2, 0, "2.25.2")}, {}).ok());
  f.state = "failed";
  f.error = "registration: no shared anatomy";
  ASSERT_TRUE(store_->SaveFollowUp(f, {}, {}).ok());
  auto back = store_->FollowUp("1.2.3");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->state, "failed");
  EXPECT_EQ((*back)->error, "registration: no shared anatomy");
  auto t = store_->Tracks("1.2.3");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
}

TEST_P(LesionStoreTest, BadStateOrStatusIsRefusedAndWritesNothing) {
  LesionFollowUpRow f;
  f.study_uid = "1.2.3";
  f.state = "maybe";
  EXPECT_EQ(store_->SaveFollowUp(f, {}, {}).code(), ErrorCode::kInvalidArgument);
  f.state = "ok";
  EXPECT_EQ(store_->SaveFollowUp(f, {Track("grown", 1, 1, "2.25.1")}, {}).code(), ErrorCode::kInvalidArgument);
  auto back = store_->FollowUp("1.2.3");
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->has_value());  // the transaction rolled back
  f.study_uid.clear();
  EXPECT_EQ(store_->SaveFollowUp(f, {}, {}).code(), ErrorCode::kInvalidArgument);
}

TEST_P(LesionStoreTest, IdentitiesAreReplacedPerFinding) {
  ASSERT_TRUE(store_->SaveIdentities("1.2.2", {{5, "2.25.1", "Lesion 1"}, {6, "2.25.2", "Lesion 2"}}).ok());
  ASSERT_TRUE(store_->SaveIdentities("1.2.2", {{6, "2.25.9", "Lesion 9"}}).ok());
  auto ids = store_->Identities("1.2.2");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ((*ids)[0].tracking_uid, "2.25.1");
  EXPECT_EQ((*ids)[1].tracking_uid, "2.25.9");
  auto other = store_->Identities("1.2.3");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_P(LesionStoreTest, ConcurrentWritersAndReaders) {
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([this, w] {
      for (int i = 0; i < 20; ++i) {
        LesionFollowUpRow f;
        f.study_uid = "1.2." + std::to_string(w);
        EXPECT_TRUE(store_->SaveFollowUp(f, {Track("new", i, 0, "2.25." + std::to_string(i % 10))}, {}).ok());
        auto t = store_->Tracks(f.study_uid);
        EXPECT_TRUE(t.ok());
        if (t.ok()) {
          EXPECT_EQ(t->size(), 1u);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace radflow::storage
