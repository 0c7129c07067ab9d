// storage::Index on PostgreSQL: the write path (group commit, duplicates, replace, delete and
// the counters) and queries, with the data of index_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../index_entries.h"
#include "pg_env.h"
#include "query/matching.h"
#include "storage/index.h"

namespace radflow::storage {

namespace t = dicom::tags;

using index_test::FindAt;
using index_test::MakeEntry;

class PgIndexTest : public PgTest {
 protected:
  void SetUp() override {
    uri_ = NewDbUri();
    ASSERT_FALSE(uri_.empty());
    auto idx = Index::Open(uri_);
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    for (const auto& e : index_test::SampleEntries()) Add(e);
  }
  void Add(const InstanceEntry& e) {
    auto r = index_->Commit(e, false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->outcome, Index::Outcome::kInserted);
  }
  std::string uri_;
  std::unique_ptr<Index> index_;
};

TEST_F(PgIndexTest, CountsAndComputedAttributes) {
  auto stats = index_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
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
  EXPECT_EQ(studies[0].values[t::kPatientName], "Doe^P1");
  auto loc = index_->FindInstance("1.1.2.1");
  ASSERT_TRUE(loc.ok() && loc.value().has_value());
  EXPECT_EQ(loc.value()->series_uid, "1.1.2");
  EXPECT_EQ(loc.value()->blob_size, 100u);
  auto recent = index_->LastStored(60000);
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  EXPECT_EQ(recent->size(), 5u);
}

TEST_F(PgIndexTest, MatchingTypes) {
  using L = ResourceLevel;
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "P1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientName, "doe^p*"}}).size(), 3u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "P?"}}).size(), 3u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientID, "p?"}}).size(), 0u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyDate, "20200101-20211231"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kStudyInstanceUID, "1.1\\2.1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kModalitiesInStudy, "MR\\SR"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kSeries, {{t::kModality, "CT"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kInstance, {{t::kSeriesInstanceUID, "1.1.1"}}).size(), 2u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {}).size(), 3u);
  EXPECT_EQ(FindAt(*index_, L::kStudy, {{t::kPatientName, "DOE^P1"}}).size(), 2u);  // PN: no case
}

// QIDO-RS fuzzymatching=true: the condition is radflow_fuzzy_pn (migration 001).
TEST_F(PgIndexTest, FuzzyPersonName) {
  Add([] {
    auto e = MakeEntry("P4", "4.1", "4.1.1", "4.1.1.1", "CT");
    e.instance.attributes.Set(t::kPatientName, "M\xC3\xBCller^J\xC3\xBCrgen");
    return e;
  }());
  for (const auto& [query, expected] : std::vector<std::pair<std::string, size_t>>{
           {"muller", 1}, {"JUR", 1}, {"*mul*", 1}, {"jurgen muller", 1}, {"doe", 3}, {"smith", 0}}) {
    auto q = query::BuildQuery(ResourceLevel::kStudy, {{t::kPatientName, query}});
    ASSERT_TRUE(q.ok());
    for (auto& c : q.value().constraints) c.fuzzy = true;
    auto rows = index_->Find(q.value());
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), expected) << query;
  }
}

TEST_F(PgIndexTest, LocateAndPaging) {
  auto q = query::BuildQuery(ResourceLevel::kStudy, {{t::kStudyInstanceUID, "1.1"}});
  auto locs = index_->Locate(q.value());
  ASSERT_TRUE(locs.ok()) << locs.status().ToString();
  EXPECT_EQ(locs->size(), 3u);
  Query paged;
  paged.level = ResourceLevel::kInstance;
  paged.limit = 2;
  paged.offset = 4;
  auto page = index_->Find(paged);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->size(), 1u);
  paged.limit = 0;  // an offset alone
  page = index_->Find(paged);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->size(), 1u);
}

TEST_F(PgIndexTest, DuplicateAndReplace) {
  auto dup = index_->Commit(MakeEntry("P1", "1.1", "1.1.1", "1.1.1.1", "CT"), false);
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
  EXPECT_EQ(dup->outcome, Index::Outcome::kDuplicate);
  ASSERT_TRUE(dup->existing.has_value());
  EXPECT_EQ(dup->existing->blob_path, "blob/1.1.1.1");
  auto replacement = MakeEntry("P1", "1.1", "1.1.1", "1.1.1.1", "CT");
  replacement.blob_path = "blob/new";
  auto rep = index_->Commit(replacement, true);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->outcome, Index::Outcome::kReplaced);
  EXPECT_EQ(rep->replaced_blob, "blob/1.1.1.1");
  EXPECT_EQ(index_->FindInstance("1.1.1.1").value()->blob_path, "blob/new");
  EXPECT_EQ(index_->Stats()->instances, 5);
  // A new SOP instance whose blob path is taken breaks a UNIQUE constraint: only that entry
  // fails (its savepoint), and the transaction goes on for the next one.
  auto clash = MakeEntry("P1", "1.1", "1.1.1", "1.1.1.9", "CT");
  clash.blob_path = "blob/new";
  auto bad = index_->Commit(clash, false);
  EXPECT_FALSE(bad.ok());
  Add(MakeEntry("P1", "1.1", "1.1.1", "1.1.1.10", "CT"));
  EXPECT_EQ(index_->Stats()->instances, 6);
}

TEST_F(PgIndexTest, DeleteRemovesEmptyParentsAndFixesCounters) {
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

TEST_F(PgIndexTest, ReopenKeepsData) {
  index_.reset();
  auto again = Index::Open(uri_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again.value()->Stats()->instances, 5);
}

TEST_F(PgIndexTest, ConcurrentWritersAreGroupCommitted) {
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string series = "3." + std::to_string(th);
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

// Two radflow nodes on one database, storing the same new studies at the same time (a
// modality's associations spread by a load balancer): every instance is stored once, each
// patient, study and series has one row, and the counters add up.
TEST_F(PgIndexTest, TwoNodesStoreTheSameNewStudies) {
  auto second = Index::Open(uri_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  Index* nodes[2] = {index_.get(), second.value().get()};
  constexpr int kThreads = 8, kStudies = 6, kPerSeries = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int st = 0; st < kStudies; ++st) {
        for (int k = 0; k < kPerSeries; ++k) {
          const std::string study = "5." + std::to_string(st);
          const std::string series = study + "." + std::to_string(th % 2);  // 2 series a study
          const std::string sop = series + "." + std::to_string(th) + "." + std::to_string(k);
          auto r = nodes[th % 2]->Commit(
              MakeEntry("P5", study, series, sop, th % 2 ? "SR" : "CT"), false);
          if (!r.ok() || r->outcome != Index::Outcome::kInserted) {
            ++failures;
            ADD_FAILURE() << (r.ok() ? "not inserted" : r.status().ToString());
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto stats = index_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->patients, 3);                // P1, P2 of SetUp and P5
  EXPECT_EQ(stats->studies, 3 + kStudies);
  EXPECT_EQ(stats->series, 4 + 2 * kStudies);
  EXPECT_EQ(stats->instances, 5 + kThreads * kStudies * kPerSeries);
  auto patients = FindAt(*index_, ResourceLevel::kPatient, {{t::kPatientID, "P5"}});
  ASSERT_EQ(patients.size(), 1u);
  EXPECT_EQ(patients[0].values[t::kNumberOfPatientRelatedStudies], std::to_string(kStudies));
  EXPECT_EQ(patients[0].values[t::kNumberOfPatientRelatedInstances],
            std::to_string(kThreads * kStudies * kPerSeries));
  for (int st = 0; st < kStudies; ++st) {
    auto study = FindAt(*index_, ResourceLevel::kStudy, {{t::kStudyInstanceUID, "5." + std::to_string(st)}});
    ASSERT_EQ(study.size(), 1u);
    EXPECT_EQ(study[0].values[t::kModalitiesInStudy], "CT\\SR");
    EXPECT_EQ(study[0].values[t::kNumberOfStudyRelatedSeries], "2");
    EXPECT_EQ(study[0].values[t::kNumberOfStudyRelatedInstances],
              std::to_string(kThreads * kPerSeries));
  }
}

}  // namespace radflow::storage
