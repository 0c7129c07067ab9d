// ResearchStore (011_research.sql): cohort versions with their frozen study lists, and the
// export job rows with restart safety.
#include "storage/research_store.h"

#include <gtest/gtest.h>

#include "../test_data.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::storage {
namespace {

class ResearchStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    index_ = std::move(Index::Open(path()).value());
    auto s = ResearchStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  const std::string& path() const { return location_; }
  static CohortRow Named(const std::string& name, int64_t studies) {
    CohortRow c;
    c.name = name;
    c.criteria_json = R"({"modality":["CT"]})";
    c.created_by = "rita";
    c.counts.studies = studies;
    return c;
  }
  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<ResearchStore> store_;
};

RADFLOW_BOTH_BACKENDS(ResearchStoreTest);

TEST_P(ResearchStoreTest, SameNameGetsTheNextVersionWithItsOwnFrozenStudies) {
  auto v1 = store_->CreateCohort(Named("lung", 1), {{"1.2.3", {"1.2.3.1", "1.2.3.2"}, {7, 8}}});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_GT(v1->created_at, 0);
  auto other = store_->CreateCohort(Named("head", 0), {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->version, 1);
  auto v2 = store_->CreateCohort(Named("lung", 2), {{"1.2.3", {"1.2.3.1"}, {}}, {"4.5.6", {"4.5.6.1"}, {9}}});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, 2);

  // Version 1 keeps its study list after version 2 was made.
  auto s1 = store_->CohortStudies(v1->id);
  ASSERT_TRUE(s1.ok());
  ASSERT_EQ(s1->size(), 1u);
  EXPECT_EQ((*s1)[0].study_uid, "1.2.3");
  EXPECT_EQ((*s1)[0].series_uids, (std::vector<std::string>{"1.2.3.1", "1.2.3.2"}));
  EXPECT_EQ((*s1)[0].finding_ids, (std::vector<int64_t>{7, 8}));
  auto s2 = store_->CohortStudies(v2->id);
  ASSERT_TRUE(s2.ok());
  ASSERT_EQ(s2->size(), 2u);
  EXPECT_EQ((*s2)[1].study_uid, "4.5.6");
  EXPECT_EQ((*s2)[1].finding_ids, std::vector<int64_t>{9});

  auto latest = store_->LatestCohorts();
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].name, "head");
  EXPECT_EQ((*latest)[1].name, "lung");
  EXPECT_EQ((*latest)[1].version, 2);
  EXPECT_EQ((*latest)[1].counts.studies, 2);

  auto newest = store_->Cohort("lung", 0);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->version, 2);
  auto first = store_->Cohort("lung", 1);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->counts.studies, 1);
  EXPECT_EQ((*first)->criteria_json, R"({"modality":["CT"]})");
  auto missing = store_->Cohort("lung", 3);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto versions = store_->CohortVersions("lung");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, 1);

  EXPECT_EQ(store_->CreateCohort(Named("", 0), {}).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ResearchStoreTest, ExportLifecycleAndRestart) {
  ExportRow row;
  row.cohort_name = "lung";
  row.cohort_version = 1;
  row.options = "retain-dates";
  row.created_by = "rita";
  auto a = store_->InsertExport(row);
  auto b = store_->InsertExport(row);
  ASSERT_TRUE(a.ok() && b.ok());
  auto next = store_->NextQueued();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, *a);  // oldest first
  EXPECT_EQ((*next)->status, "queued");

  ASSERT_TRUE(store_->MarkRunning(*a, 100).ok());
  EXPECT_EQ(store_->MarkRunning(*a, 101).code(), ErrorCode::kConflict);
  ASSERT_TRUE(store_->SetProgress(*a, 3, 10).ok());
  auto running = store_->Export(*a);
  ASSERT_TRUE(running.ok() && running->has_value());
  EXPECT_EQ((*running)->status, "running");
  EXPECT_EQ((*running)->done, 3);
  EXPECT_EQ((*running)->total, 10);
  EXPECT_EQ((*running)->started_at, 100);

  // A crash now: the next start marks the running export failed, the queued one stays queued.
  store_.reset();
  store_ = std::move(ResearchStore::Open(path()).value());
  auto failed = store_->FailInterrupted(200);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed.value(), 1);
  auto after = store_->Export(*a);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->status, "failed");
  EXPECT_EQ((*after)->error, "interrupted by a restart");
  EXPECT_EQ((*after)->finished_at, 200);
  auto queued = store_->Export(*b);
  EXPECT_EQ((*queued)->status, "queued");

  ASSERT_TRUE(store_->MarkRunning(*b, 300).ok());
  ASSERT_TRUE(store_->Finish(*b, true, "", R"({"files":[]})", 400).ok());
  auto done = store_->Export(*b);
  EXPECT_EQ((*done)->status, "done");
  EXPECT_EQ((*done)->manifest_json, R"({"files":[]})");
  EXPECT_EQ((*done)->options, "retain-dates");
  auto list = store_->Exports();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, *b);  // newest first
  EXPECT_FALSE(store_->NextQueued().value().has_value());
  EXPECT_EQ(store_->Finish(999, true, "", "", 1).code(), ErrorCode::kNotFound);
}

TEST(ResearchStoreOpen, NeedsTheIndexFirst) {
  radflow::testing::ScratchDir dir;
  EXPECT_EQ(ResearchStore::Open(dir.str() + "/index.db").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::storage
