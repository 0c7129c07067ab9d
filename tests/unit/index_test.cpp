#include "storage/index.h"

#include <gtest/gtest.h>

#include <thread>

#include "index_entries.h"
#include "query/matching.h"
#include "test_data.h"

namespace radflow::storage {

namespace t = dicom::tags;

namespace {

using index_test::FindAt;
using index_test::MakeEntry;

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto idx = Index::Open(dir_.str() + "/index.db");
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    for (const auto& e : index_test::SampleEntries()) Add(e);
  }
  void Add(const InstanceEntry& e) {
    auto r = index_->Commit(e, false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->outcome, Index::Outcome::kInserted);
  }
  radflow::testing::ScratchDir dir_;
  std::unique_ptr<Index> index_;
};

}  // namespace

TEST_F(IndexTest, CountsAndComputedAttributes) {
  auto stats = index_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->patients, 2);
  EXPECT_EQ(stats->studies, 3);
  EXPECT_EQ(stats->series, 4);
  EXPECT_EQ(stats->instances, 5);
  EXPECT_EQ(stats->bytes, 500);

  auto studies = FindAt(*index_, ResourceLevel::kStudy, {{t::kStudyInstanceUID, "1.1"}});
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0].values[t::kModalitiesInStudy], "CT\\SR");
  EXPECT_EQ(studies[0].values[t::kNumberOfStudyRelatedSeries], "2");
  EXPECT_EQ(studies[0].values[t::kNumberOfStudyRelatedInstances], "3");
  EXPECT_EQ(studies[0].values[t::kPatientName], "Doe^P1");  // study root carries patient data

  auto patients = FindAt(*index_, ResourceLevel::kPatient, {{t::kPatientID, "P1"}});
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0].values[t::kNumberOfPatientRelatedStudies], "2");
  EXPECT_EQ(patients[0].values[t::kNumberOfPatientRelatedInstances], "4");
}

TEST_F(IndexTest, MatchingTypes) {
  using L = ResourceLevel;
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "P1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientName, "doe^p*"}}).size(), 3u);  // PN: case-insensitive
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "P?"}}).size(), 3u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "p?"}}).size(), 0u);  // LO: case-sensitive
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyDate, "20200101-20211231"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyDate, "-20191231"}}).size(), 1u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyDate, "20210101-"}}).size(), 1u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyInstanceUID, "1.1\\2.1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kModalitiesInStudy, "SR"}}).size(), 1u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kModalitiesInStudy, "MR\\SR"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kSeries, {{t::kModality, "CT"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kSeries, {{t::kStudyInstanceUID, "1.1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kInstance, {{t::kSeriesInstanceUID, "1.1.1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyTime, "1000-1030"}}).size(), 3u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {}).size(), 3u);  // universal
}

TEST_F(IndexTest, LocateAndPaging) {
  auto q = query::BuildQuery(ResourceLevel::kStudy, {{t::kStudyInstanceUID, "1.1"}});
  auto locs = index_->Locate(q.value());
  ASSERT_TRUE(locs.ok());
  EXPECT_EQ(locs->size(), 3u);
  Query paged;
  paged.level = ResourceLevel::kInstance;
  paged.limit = 2;
  paged.offset = 4;
  EXPECT_EQ(index_->Find(paged)->size(), 1u);
}

// A study-level page (limit/offset) is answered in two steps (the page's ids first, patient
// constraints as a set of patient ids; docs/query-plans.md): the same rows, in the same
// order, as the unpaged query, with patient and study parameters bound in their places.
TEST_F(IndexTest, StudyPagesMatchTheUnpagedOrder) {
  std::vector<InstanceEntry> more;
  for (int i = 0; i < 30; ++i) {
    const std::string n = std::to_string(i);
    auto e = MakeEntry(i % 3 ? "PX" + n : "PS" + n, "9." + n, "9." + n + ".1", "9." + n + ".1.1", "CT",
                       "2020" + std::string(i % 12 < 9 ? "0" : "") + std::to_string(i % 12 + 1) + "15");
    if (i % 3 == 0) e.instance.attributes.Set(t::kPatientName, "Smith^Anne" + n);
    more.push_back(std::move(e));
  }
  for (const auto& r : index_->CommitAll(more, false)) ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto uids = [](const std::vector<Row>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.values.at(t::kStudyInstanceUID));
    return out;
  };
  const std::vector<std::vector<std::pair<dicom::Tag, std::string>>> cases = {
      {},
      {{t::kPatientName, "SMITH*"}},
      {{t::kPatientName, "*mit*"}, {t::kStudyDate, "20200301-20201031"}},
      {{t::kStudyDate, "20200201-"}, {t::kPatientName, "smith^anne3"}},
      {{t::kStudyDate, "20200501-"}, {t::kPatientID, "PX1\\PX2\\PS3"}},
  };
  for (const auto& keys : cases) {
    auto q = query::BuildQuery(ResourceLevel::kStudy, keys);
    ASSERT_TRUE(q.ok());
    auto all = index_->Find(q.value());
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    const auto expected = uids(all.value());
    for (size_t offset : {0u, 1u, 4u, 100u}) {
      q.value().limit = 3;
      q.value().offset = offset;
      auto page = index_->Find(q.value());
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      std::vector<std::string> want;
      for (size_t i = offset; i < expected.size() && i < offset + 3; ++i) want.push_back(expected[i]);
      EXPECT_EQ(uids(page.value()), want) << "offset " << offset << ", keys " << keys.size();
    }
  }
  // The NOCASE index must not change matching: equality ignores case, wildcards too.
  EXPECT_EQ(FindAt(*index_, ResourceLevel::kStudy, {{t::kPatientName, "SMITH^ANNE3"}}).size(), 1u);
  EXPECT_EQ(FindAt(*index_, ResourceLevel::kStudy, {{t::kPatientName, "sm?th*"}}).size(), 10u);
}

TEST_F(IndexTest, DuplicateAndReplace) {
  auto dup = index_->Commit(MakeEntry("P1", "1.1", "1.1.1", "1.1.1.1", "CT"), false);
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->outcome, Index::Outcome::kDuplicate);
  ASSERT_TRUE(dup->existing.has_value());
  EXPECT_EQ(dup->existing->blob_path, "blob/1.1.1.1");

  auto replacement = MakeEntry("P1", "1.1", "1.1.1", "1.1.1.1", "CT");
  replacement.blob_path = "blob/new";
  auto rep = index_->Commit(replacement, true);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->outcome, Index::Outcome::kReplaced);
  EXPECT_EQ(rep->replaced_blob, "blob/1.1.1.1");
  EXPECT_EQ(index_->FindInstance("1.1.1.1").value()->blob_path, "blob/new");
  EXPECT_EQ(index_->Stats()->instances, 5);
}

TEST_F(IndexTest, DeleteRemovesEmptyParentsAndFixesCounters) {
  ASSERT_TRUE(index_->DeleteInstance("1.1.2.1").ok());  // the only SR
  auto study = FindAt(*index_, ResourceLevel::kStudy, {{t::kStudyInstanceUID, "1.1"}});
  ASSERT_EQ(study.size(), 1u);
  EXPECT_EQ(study[0].values[t::kModalitiesInStudy], "CT");
  EXPECT_EQ(study[0].values[t::kNumberOfStudyRelatedSeries], "1");
  ASSERT_TRUE(index_->DeleteInstance("2.1.1.1").ok());  // P2's only instance
  auto stats = index_->Stats();
  EXPECT_EQ(stats->patients, 1);
  EXPECT_EQ(stats->studies, 2);
  EXPECT_EQ(stats->series, 2);
  EXPECT_EQ(stats->instances, 3);
  EXPECT_EQ(index_->DeleteInstance("9.9").code(), ErrorCode::kNotFound);
}

TEST_F(IndexTest, ReopenKeepsDataAndSchema) {
  index_.reset();
  auto again = Index::Open(dir_.str() + "/index.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value()->Stats()->instances, 5);
}

TEST_F(IndexTest, ConcurrentWritersAreGroupCommitted) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string series = "3." + std::to_string(t);
        auto r = index_->Commit(
            MakeEntry("P3", "3", series, series + "." + std::to_string(i), "CT"), false);
        if (!r.ok() || r->outcome != Index::Outcome::kInserted) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto study = FindAt(*index_, ResourceLevel::kStudy, {{t::kStudyInstanceUID, "3"}});
  ASSERT_EQ(study.size(), 1u);
  EXPECT_EQ(study[0].values[t::kNumberOfStudyRelatedInstances],
            std::to_string(kThreads * kPerThread));
  EXPECT_EQ(study[0].values[t::kNumberOfStudyRelatedSeries], std::to_string(kThreads));
}

}  // namespace radflow::storage
