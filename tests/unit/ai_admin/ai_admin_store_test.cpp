// storage::AiAdminStore on a database migrated by storage::Index (SQLite and PostgreSQL,
// support/store_backend.h): pins and the audit
// written with their state change, job timings, and the AI performance aggregation (ISO
// weeks, current decisions, agreement over signed reports) — hand-computed expectations.
#include "storage/ai_admin_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../test_data.h"
#include "storage/db.h"
#include "storage/index.h"
#include "support/store_backend.h"
#include "storage/job_store.h"

namespace radflow::storage {
namespace {

constexpr int64_t kDay = 86400000;
// 2026-11-30 is a Monday (ISO week 2026-W49).
const int64_t kMonday = 20787 * kDay;  // days since 1970-01-01

class AiAdminStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    auto idx = Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto jobs = JobStore::Open(path());
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    jobs_ = std::move(jobs.value());
    auto s = AiAdminStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    // The tests write rows no store API writes (decisions, reports, index rows) directly.
    auto db = OpenDb(path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db.value());
  }
  const std::string& path() const { return location_; }

  void Exec(const std::string& sql) {
    Status s = db_->Exec(sql);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sql;
  }

  // A succeeded job finished at `at` with one finding per study given; returns the finding ids.
  std::vector<int64_t> Succeeded(const std::string& app, const std::string& version, int64_t at,
                                 const std::vector<std::string>& finding_studies,
                                 const std::string& results_json = "{}", int64_t started = 0) {
    Job job;
    job.app_id = app;
    job.app_version = version;
    job.series_uid = "1.2.3." + std::to_string(++series_);
    job.study_uid = finding_studies.empty() ? "1.2.9" : finding_studies.front();
    auto id = jobs_->Enqueue(job);
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(jobs_->MarkRunning(*id, started ? started : at - 1000).value());
    std::vector<FindingRow> rows;
    for (const auto& study : finding_studies) {
      FindingRow r;
      r.app_id = app;
      r.study_uid = study;
      r.label = "nodule";
      r.severity = "moderate";
      rows.push_back(r);
    }
    EXPECT_TRUE(jobs_->ReplaceFindings(*id, rows).ok());
    EXPECT_TRUE(jobs_->MarkSucceeded(*id, at, "ok", results_json).ok());
    std::vector<int64_t> ids;
    auto p = db_->Prepare("SELECT id FROM ai_findings WHERE job_fk = ? ORDER BY id");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return ids;
    Statement st(p.value());
    st.Bind(1, *id);
    Status s;
    while (st.Step(&s)) ids.push_back(st.Int(0));
    EXPECT_TRUE(s.ok()) << s.ToString();
    return ids;
  }

  void Decide(int64_t finding, const std::string& decision, int64_t at = 1) {
    Exec("INSERT INTO finding_decisions (finding_id, study_uid, app_id, decision, at) VALUES (" +
         std::to_string(finding) + ", 's', 'a', '" + decision + "', " + std::to_string(at) + ")");
  }
  void Report(const std::string& study, const std::string& status, int64_t signed_at = 5) {
    Exec("INSERT INTO reports (study_uid, status, impression_text, signed_at, created_at, updated_at) VALUES ('" +
         study + "', '" + status + "', 'impression of " + study + "', " + std::to_string(signed_at) + ", 1, 1)");
  }

  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<AiAdminStore> store_;
  std::unique_ptr<Db> db_;
  int series_ = 0;
};

TEST(IsoWeekTest, WeeksAndTheirMondays) {
  EXPECT_EQ(IsoWeekOf(kMonday).week, "2026-W49");
  EXPECT_EQ(IsoWeekOf(kMonday).start, "2026-11-30");
  EXPECT_EQ(IsoWeekOf(kMonday + 7 * kDay - 1).week, "2026-W49");  // Sunday 23:59:59.999
  EXPECT_EQ(IsoWeekOf(kMonday + 7 * kDay).week, "2026-W50");
  EXPECT_EQ(IsoWeekOf(0).week, "1970-W01");                        // a Thursday
  EXPECT_EQ(IsoWeekOf(0).start, "1969-12-29");
  // Weeks that belong to the neighbouring year (ISO 8601: the year of the week's Thursday).
  EXPECT_EQ(IsoWeekOf(18630 * kDay).week, "2020-W53");  // 2021-01-03, a Sunday
  EXPECT_EQ(IsoWeekOf(20087 * kDay).week, "2025-W01");  // 2024-12-30, a Monday
  EXPECT_EQ(IsoWeekOf(20087 * kDay).start, "2024-12-30");
  EXPECT_EQ(IsoWeekOf(-1).week, "1970-W01");            // 1969-12-31
}

TEST(AggregateTest, WindowVersionsAndRates) {
  std::vector<PerformanceFact> facts;
  auto result = [&](const char* v, int64_t at) { facts.push_back({false, "app", v, at, "", false}); };
  auto finding = [&](const char* v, int64_t at, const char* d, bool signed_) {
    facts.push_back({true, "app", v, at, d, signed_});
  };
  result("1", kMonday);
  finding("1", kMonday, "accepted", true);
  finding("1", kMonday, "rejected", true);
  finding("1", kMonday, "", true);
  finding("1", kMonday - 14 * kDay, "edited", false);  // two weeks earlier
  finding("1", kMonday - 21 * kDay, "accepted", true);  // outside a 3-week window
  result("2", kMonday + 3 * kDay);
  auto apps = AggregatePerformance(facts, 3, kMonday + 2 * kDay);
  ASSERT_EQ(apps.size(), 2u);
  const auto& a = apps[0];
  EXPECT_EQ(a.app_version, "1");
  EXPECT_EQ(a.totals.results, 1);
  EXPECT_EQ(a.totals.findings, 4);
  EXPECT_EQ(a.totals.decided, 3);
  EXPECT_DOUBLE_EQ(*a.AcceptedRate(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*a.EditedRate(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*a.RejectedRate(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*a.totals.Agreement(), 0.5);  // signed: accepted, rejected
  ASSERT_EQ(a.weeks.size(), 3u);
  EXPECT_EQ(a.weeks[0].week.week, "2026-W47");
  EXPECT_EQ(a.weeks[0].counts.edited, 1);
  EXPECT_FALSE(a.weeks[0].counts.Agreement().has_value());  // decided, but no signed report
  EXPECT_EQ(a.weeks[1].counts.findings, 0);
  EXPECT_EQ(a.weeks[2].counts.findings, 3);
  const auto& b = apps[1];
  EXPECT_EQ(b.app_version, "2");
  EXPECT_EQ(b.totals.results, 1);
  EXPECT_FALSE(b.AcceptedRate().has_value());
  EXPECT_FALSE(b.totals.Agreement().has_value());
}

RADFLOW_BOTH_BACKENDS(AiAdminStoreTest);

TEST_P(AiAdminStoreTest, OpenNeedsTheMigratedIndex) {
  // SQLite: no file; PostgreSQL: a database without the tables.
  auto missing = AiAdminStore::Open(radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/nothing.db"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), GetParam() == Backend::kSqlite ? ErrorCode::kNotFound : ErrorCode::kDatabaseError)
      << missing.status().ToString();
}

TEST_P(AiAdminStoreTest, PinsEnabledFlagsAndTheirAudit) {
  EXPECT_TRUE(store_->Pins()->empty());
  ASSERT_TRUE(store_->SetPin("ct-lung", "1.0.0", "dr.a", "").ok());
  ASSERT_TRUE(store_->SetPin("ct-lung", "1.1.0", "dr.b", "").ok());  // a second pin replaces the first
  EXPECT_EQ(store_->Pins().value(), (std::map<std::string, std::string>{{"ct-lung", "1.1.0"}}));
  ASSERT_TRUE(store_->SetEnabled("ct-lung", false, "dr.c", "1.1.0", "").ok());
  // The engine reads the flag through the job store: one table.
  EXPECT_EQ(jobs_->AppEnabled("ct-lung").value(), std::optional<bool>(false));
  ASSERT_TRUE(store_->ClearPin("ct-lung", "dr.d", "").ok());
  ASSERT_TRUE(store_->ClearPin("ct-lung", "dr.d", "").ok());
  EXPECT_TRUE(store_->Pins()->empty());
  ASSERT_TRUE(store_->SetEnabled("other", true, "", "2", "").ok());

  auto audit = store_->Audit("ct-lung");
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 5u);  // newest first
  EXPECT_EQ((*audit)[0].action, "unpinned");
  EXPECT_EQ((*audit)[0].version, "");
  EXPECT_EQ((*audit)[0].note, "was not pinned");
  EXPECT_EQ((*audit)[1].action, "unpinned");
  EXPECT_EQ((*audit)[1].version, "1.1.0");
  EXPECT_EQ((*audit)[2].action, "disabled");
  EXPECT_EQ((*audit)[2].actor, "dr.c");
  EXPECT_EQ((*audit)[3].action, "pinned");
  EXPECT_EQ((*audit)[3].version, "1.1.0");
  EXPECT_EQ((*audit)[4].actor, "dr.a");
  EXPECT_GT((*audit)[4].at, 0);
  EXPECT_EQ(store_->Audit("", 0)->size(), 6u);
  EXPECT_EQ(store_->Audit("ct-lung", 2)->size(), 2u);
  EXPECT_EQ(store_->SetPin("x", "", "a", "").code(), ErrorCode::kInvalidArgument);
}

TEST_P(AiAdminStoreTest, TimingsOverSucceededJobs) {
  for (int i = 1; i <= 5; ++i) {
    Succeeded("app", "1", 100000 + i * 1000, {}, R"({"timings":{"app_ms":)" + std::to_string(i * 100) + "}}",
              100000);
  }
  Job queued;
  queued.app_id = "app";
  ASSERT_TRUE(jobs_->Enqueue(queued).ok());
  auto t = store_->Timings("app");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->timed, 5);
  EXPECT_EQ(t->by_state[0], (std::pair<std::string, int64_t>{"queued", 1}));
  EXPECT_EQ(t->by_state[2], (std::pair<std::string, int64_t>{"succeeded", 5}));
  EXPECT_DOUBLE_EQ(*t->median_app_ms, 300);
  EXPECT_DOUBLE_EQ(*t->p95_app_ms, 480);  // 400 + 0.8 · 100 (linear between ranks)
  EXPECT_DOUBLE_EQ(*t->median_total_ms, 3000);
  auto none = store_->Timings("nothing");
  EXPECT_FALSE(none->median_app_ms.has_value());
}

TEST_P(AiAdminStoreTest, PerformanceFromJobsFindingsDecisionsAndReports) {
  // Week W47: v1 on S1 (signed final): accepted; accepted then rejected (current: rejected);
  // undecided. Week W49: v1 on S2 (no report): accepted, edited; v2 on S3 (preliminary):
  // edited. Week W45 (outside): v1. A failed job is no result.
  auto a = Succeeded("lung", "1.0.0", kMonday - 14 * kDay + 5000, {"S1", "S1", "S1"});
  Decide(a[0], "accepted");
  Decide(a[1], "accepted", 1);
  Decide(a[1], "rejected", 2);
  auto b = Succeeded("lung", "1.0.0", kMonday + kDay, {"S2", "S2"});
  Decide(b[0], "accepted");
  Decide(b[1], "edited");
  auto c = Succeeded("lung", "2.0.0", kMonday + 2 * kDay, {"S3"});
  Decide(c[0], "edited");
  auto d = Succeeded("lung", "1.0.0", kMonday - 28 * kDay, {"S4"});
  Decide(d[0], "rejected");
  Succeeded("other", "3", kMonday - 7 * kDay, {});
  Job failed;
  failed.app_id = "lung";
  failed.app_version = "1.0.0";
  auto fid = jobs_->Enqueue(failed);
  ASSERT_TRUE(jobs_->MarkRunning(*fid, kMonday).value());
  ASSERT_TRUE(jobs_->MarkFailed(*fid, kMonday + 1, "boom", std::nullopt).ok());
  Report("S1", "draft");
  Report("S1", "final");
  Report("S3", "preliminary");
  Report("S2", "draft");  // not signed

  auto perf = store_->Performance("", 3, kMonday + 3 * kDay);
  ASSERT_TRUE(perf.ok()) << perf.status().ToString();
  ASSERT_EQ(perf->size(), 3u);
  const AppPerformance& v1 = (*perf)[0];
  EXPECT_EQ(v1.app_id, "lung");
  EXPECT_EQ(v1.app_version, "1.0.0");
  EXPECT_EQ(v1.totals.results, 2);
  EXPECT_EQ(v1.totals.findings, 5);
  EXPECT_EQ(v1.totals.decided, 4);
  EXPECT_EQ(v1.totals.accepted, 2);
  EXPECT_EQ(v1.totals.edited, 1);
  EXPECT_EQ(v1.totals.rejected, 1);
  EXPECT_DOUBLE_EQ(*v1.AcceptedRate(), 0.5);
  EXPECT_DOUBLE_EQ(*v1.totals.Agreement(), 0.5);  // S1: accepted, rejected
  ASSERT_EQ(v1.weeks.size(), 3u);
  EXPECT_EQ(v1.weeks[0].week.week, "2026-W47");
  EXPECT_EQ(v1.weeks[0].week.start, "2026-11-16");
  EXPECT_EQ(v1.weeks[0].counts.results, 1);
  EXPECT_EQ(v1.weeks[0].counts.findings, 3);
  EXPECT_DOUBLE_EQ(*v1.weeks[0].counts.Agreement(), 0.5);
  EXPECT_EQ(v1.weeks[1].counts.results, 0);
  EXPECT_FALSE(v1.weeks[1].counts.Agreement().has_value());
  EXPECT_EQ(v1.weeks[2].counts.accepted, 1);
  EXPECT_EQ(v1.weeks[2].counts.edited, 1);
  EXPECT_FALSE(v1.weeks[2].counts.Agreement().has_value());  // S2 has no signed report
  const AppPerformance& v2 = (*perf)[1];
  EXPECT_EQ(v2.app_version, "2.0.0");
  EXPECT_EQ(v2.totals.edited, 1);
  EXPECT_DOUBLE_EQ(*v2.totals.Agreement(), 1.0);
  const AppPerformance& other = (*perf)[2];
  EXPECT_EQ(other.app_id, "other");
  EXPECT_EQ(other.totals.results, 1);
  EXPECT_EQ(other.totals.findings, 0);

  auto only = store_->Performance("other", 3, kMonday + 3 * kDay);
  ASSERT_EQ(only->size(), 1u);
  auto wide = store_->Performance("lung", 6, kMonday + 3 * kDay);
  EXPECT_EQ((*wide)[0].totals.results, 3);  // W45 inside now
  EXPECT_EQ(store_->Performance("", 0, kMonday).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(AiAdminStoreTest, SignedReportAndFeatureCache) {
  Report("S1", "draft");
  EXPECT_FALSE(store_->SignedReport("S1")->has_value());
  Report("S1", "preliminary", 10);
  Exec("INSERT INTO reports (study_uid, status, version, impression_text, signed_at, created_at, updated_at)"
       " VALUES ('S1', 'final', 2, 'final words', 20, 1, 1)");
  auto r = store_->SignedReport("S1");
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->status, "final");
  EXPECT_EQ((*r)->impression_text, "final words");
  EXPECT_EQ((*r)->signed_at, 20);

  FeatureRow row{7, "v1", "ibsi", {1.5, -2.25, std::nan("")}, "", 0};
  ASSERT_TRUE(store_->SaveFeatures(row).ok());
  auto got = store_->Features({7, 8}, "v1");
  ASSERT_EQ(got->size(), 1u);
  ASSERT_EQ((*got)[0].values.size(), 3u);
  EXPECT_EQ((*got)[0].values[1], -2.25);
  EXPECT_TRUE(std::isnan((*got)[0].values[2]));
  EXPECT_TRUE(store_->Features({7}, "v2")->empty());
  EXPECT_EQ(store_->AllFeatures("v1")->size(), 1u);
  row.source = "guess";
  EXPECT_EQ(store_->SaveFeatures(row).code(), ErrorCode::kInvalidArgument);
}

TEST_P(AiAdminStoreTest, FindingsWithTheirPatient) {
  Exec("INSERT INTO patients (id, patient_id) VALUES (1, 'P1')");
  Exec("INSERT INTO studies (patient_fk, study_uid, study_date) VALUES (1, 'S1', '20240101')");
  auto ids = Succeeded("lung", "1.2.0", kMonday, {"S1", "S9"});
  auto after = store_->FindingsAfter(0, 10);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].patient_id, "P1");
  EXPECT_EQ((*after)[0].study_date, "20240101");
  EXPECT_EQ((*after)[0].app_version, "1.2.0");
  EXPECT_EQ((*after)[1].patient_id, "");  // a study the index does not hold
  EXPECT_EQ(store_->FindingsAfter(ids[0], 10)->size(), 1u);
  EXPECT_EQ(store_->CountFindingsUpTo(ids[0]).value(), 1);
  EXPECT_EQ(store_->Finding(ids[1]).value()->finding.study_uid, "S9");
  EXPECT_FALSE(store_->Finding(999).value().has_value());
}

}  // namespace
}  // namespace radflow::storage
