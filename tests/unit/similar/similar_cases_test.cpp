// similar::SimilarCases on a scratch index.db: lesion findings of several patients (their
// SEG not stored, so their vectors come from the measurements), the query patient's own
// lesions excluded, the signed report of each similar case, the feature cache, and a
// job's findings replaced.
#include "similar/similar_cases.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>

#include "../test_data.h"
#include "similar/features.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"

namespace radflow::similar {
namespace {

class SimilarCasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto idx = storage::Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto blobs = storage::BlobStore::Open(dir_.str() + "/blobs");
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::make_unique<storage::FolderBlobStore>(std::move(blobs.value()));
    jobs_ = std::move(storage::JobStore::Open(path()).value());
    store_ = std::move(storage::AiAdminStore::Open(path()).value());
    ASSERT_EQ(sqlite3_open(path().c_str(), &db_), SQLITE_OK);
    Exec("INSERT INTO patients (id, patient_id) VALUES (1, 'P1'), (2, 'P2'), (3, 'P3')");
    Exec("INSERT INTO studies (patient_fk, study_uid, study_date) VALUES (1, 'S1', '20240101'),"
         " (2, 'S2', '20230505'), (3, 'S3', '20220202')");
    Exec("INSERT INTO reports (study_uid, status, impression_text, signed_at, created_at, updated_at)"
         " VALUES ('S2', 'final', 'Solid nodule, stable.', 77, 1, 1), ('S3', 'draft', 'not signed', 0, 1, 1)");
  }
  void TearDown() override { sqlite3_close(db_); }
  std::string path() const { return dir_.str() + "/index.db"; }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }

  static storage::FindingRow Lesion(const std::string& study, double ml, double mm, double hu, bool outlined = true) {
    storage::FindingRow r;
    r.app_id = "ct-lung-lesions";
    r.study_uid = study;
    r.series_uid = study + ".1";
    r.label = "nodule";
    r.volume_ml = ml;
    r.size_mm = mm;
    r.details_json = std::string(R"({"measurements":[{"name":"Mean","code":"373098007","scheme":"SCT","value":)") +
                     std::to_string(hu) + "}]" +
                     (outlined ? R"(,"segmentation":{"sop_uid":"1.2.826.0.1.9","segment_number":3}})" : "}");
    return r;
  }

  int64_t Job(const std::string& study, const std::vector<storage::FindingRow>& rows) {
    storage::Job job;
    job.app_id = "ct-lung-lesions";
    job.app_version = "1.1.0";
    job.study_uid = study;
    job.series_uid = study + ".1";
    int64_t id = jobs_->Enqueue(job).value();
    EXPECT_TRUE(jobs_->MarkRunning(id, 1).value());
    EXPECT_TRUE(jobs_->ReplaceFindings(id, rows).ok());
    EXPECT_TRUE(jobs_->MarkSucceeded(id, 2, "", "{}").ok());
    return id;
  }

  std::vector<int64_t> FindingIds(const std::string& study) {
    std::vector<int64_t> ids;
    auto rows = jobs_->Findings(study, "");
    for (const auto& f : rows.value()) ids.push_back(f.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  radflow::testing::ScratchDir dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::JobStore> jobs_;
  std::unique_ptr<storage::AiAdminStore> store_;
  sqlite3* db_ = nullptr;
};

TEST_F(SimilarCasesTest, NearestLesionsOfOtherPatientsWithTheirReports) {
  Job("S1", {Lesion("S1", 2.0, 15, 30), Lesion("S1", 2.02, 15.1, 30), Lesion("S1", 1, 0, 0, false)});
  Job("S2", {Lesion("S2", 2.1, 15.5, 32), Lesion("S2", 30, 45, -10)});
  Job("S3", {Lesion("S3", 8.0, 25, 10)});
  const auto s1 = FindingIds("S1"), s2 = FindingIds("S2"), s3 = FindingIds("S3");
  SimilarCases similar(*store_, *index_, *blobs_);

  // Before any Sync: the query indexes its own finding, the others are not there yet.
  auto early = similar.Query(s1[0], 5);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_TRUE(early->similar.empty());
  EXPECT_EQ(early->source, "measurements");  // the SEG 1.2.826.0.1.9 is not stored

  ASSERT_TRUE(similar.Sync().ok());
  EXPECT_EQ(similar.size(), 5u);  // the finding without a segment is no lesion
  auto answer = similar.Query(s1[0], 3);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->indexed, 5u);
  ASSERT_EQ(answer->similar.size(), 3u);  // P1's other lesion is left out
  EXPECT_EQ(answer->similar[0].finding.finding.id, s2[0]);
  EXPECT_EQ(answer->similar[0].finding.patient_id, "P2");
  EXPECT_EQ(answer->similar[0].finding.study_date, "20230505");
  ASSERT_TRUE(answer->similar[0].report.has_value());
  EXPECT_EQ(answer->similar[0].report->impression_text, "Solid nodule, stable.");
  EXPECT_EQ(answer->similar[1].finding.finding.id, s3[0]);
  EXPECT_FALSE(answer->similar[1].report.has_value());  // a draft is no signed report
  EXPECT_EQ(answer->similar[2].finding.finding.id, s2[1]);
  EXPECT_LT(answer->similar[0].distance, answer->similar[1].distance);
  EXPECT_DOUBLE_EQ(answer->values[0], std::log(2.0));
  for (const auto& c : answer->similar) EXPECT_NE(c.finding.patient_id, "P1");

  EXPECT_EQ(similar.Query(s1[2], 3).status().code(), ErrorCode::kInvalidArgument);  // not a lesion
  EXPECT_EQ(similar.Query(999999, 3).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(similar.Query(s1[0], 0).status().code(), ErrorCode::kInvalidArgument);

  // The vectors were cached, with why IBSI was not possible.
  auto cached = store_->Features({s2[0]}, kFeatureSet);
  ASSERT_EQ(cached->size(), 1u);
  EXPECT_EQ((*cached)[0].source, "measurements");
  EXPECT_NE((*cached)[0].error.find("1.2.826.0.1.9"), std::string::npos) << (*cached)[0].error;
}

TEST_F(SimilarCasesTest, ReplacedFindingsLeaveTheIndex) {
  int64_t job2 = Job("S2", {Lesion("S2", 2.1, 15.5, 32)});
  Job("S1", {Lesion("S1", 2.0, 15, 30)});
  Job("S3", {Lesion("S3", 8.0, 25, 10)});
  SimilarCases similar(*store_, *index_, *blobs_);
  similar.Start();  // the indexer thread's first Sync
  ASSERT_TRUE(similar.Sync().ok());
  const int64_t s1 = FindingIds("S1")[0];
  EXPECT_EQ(similar.Query(s1, 1)->similar[0].finding.finding.study_uid, "S2");
  // The S2 job's findings are replaced by a lesion unlike S1's.
  ASSERT_TRUE(jobs_->ReplaceFindings(job2, {Lesion("S2", 50, 60, -300)}).ok());
  similar.OnJobChanged(job2);
  ASSERT_TRUE(similar.Sync().ok());
  EXPECT_EQ(similar.size(), 3u);
  auto answer = similar.Query(s1, 2);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->similar[0].finding.finding.study_uid, "S3");
  EXPECT_EQ(answer->similar[1].finding.finding.study_uid, "S2");
  EXPECT_EQ(answer->similar[1].finding.finding.volume_ml, 50);
  similar.Stop();
}

}  // namespace
}  // namespace radflow::similar
