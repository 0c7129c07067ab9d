// JobStore: the queue's semantics (enqueue, ordering, the state machine, retries, cancel),
// findings and app flags.
#include <chrono>
#include <fstream>

#include "job_store_fixture.h"

namespace radflow::storage {
namespace {

std::vector<int64_t> Ids(const std::vector<Job>& jobs) {
  std::vector<int64_t> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

TEST(JobStateTest, NamesRoundTrip) {
  for (auto s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                 JobState::kCancelled}) {
    EXPECT_EQ(ParseJobState(JobStateName(s)), s);
  }
  EXPECT_STREQ(JobStateName(JobState::kCancelled), "cancelled");
  EXPECT_FALSE(ParseJobState("done").has_value());
}

TEST(JobStoreOpenTest, RefusesMissingFileAndUnmigratedDatabase) {
  testing::ScratchDir dir;
  auto missing = JobStore::Open(dir.str() + "/none.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  // A database the Index never migrated has no AI tables.
  { std::ofstream(dir.str() + "/empty.db"); }
  auto bare = JobStore::Open(dir.str() + "/empty.db");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().code(), ErrorCode::kDatabaseError);
}

TEST_F(JobStoreTest, EnqueueSetsQueuedStateAndKeepsFields) {
  Job in = MakeJob("lung-nodules", "1.2.3.1", 5);
  in.state = JobState::kFailed;  // ignored: a new job is queued
  in.attempts = 7;               // ignored
  int64_t before = 0;
  {
    using namespace std::chrono;
    before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  int64_t id = Enqueue(in);
  ASSERT_GT(id, 0);
  Job j = GetJob(id);
  EXPECT_EQ(j.id, id);
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.app_id, "lung-nodules");
  EXPECT_EQ(j.app_version, "1.0");
  EXPECT_EQ(j.study_uid, "1.2.3");
  EXPECT_EQ(j.series_uid, "1.2.3.1");
  EXPECT_EQ(j.priority, 5);
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(j.max_attempts, 3);
  EXPECT_EQ(j.trigger, "series-stable");
  EXPECT_EQ(j.results_json, "[]");
  EXPECT_FALSE(j.cancel_requested);
  EXPECT_GE(j.created_at, before);
  EXPECT_EQ(j.started_at, 0);

  auto none = jobs_->Get(id + 100);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bad = jobs_->Enqueue(Job{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(JobStoreTest, ListFiltersNewestFirstWithLimitAndOffset) {
  int64_t a = Enqueue(MakeJob("lung", "s1"));
  int64_t b = Enqueue(MakeJob("head", "s1"));
  Job other_study = MakeJob("lung", "s2");
  other_study.study_uid = "9.9";
  int64_t c = Enqueue(other_study);
  int64_t d = Enqueue(MakeJob("lung", "s3"));
  ASSERT_TRUE(jobs_->MarkRunning(d, 1000).value());

  auto all = jobs_->List({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), (std::vector<int64_t>{d, c, b, a}));

  JobFilter f;
  f.app_id = "lung";
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{d, c, a}));
  f.state = JobState::kQueued;
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{c, a}));
  f = {};
  f.series_uid = "s1";
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{b, a}));
  f = {};
  f.study_uid = "9.9";
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{c}));
  f = {};
  f.state = JobState::kRunning;
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{d}));
  f = {};
  f.limit = 2;
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{d, c}));
  f.offset = 2;
  EXPECT_EQ(Ids(*jobs_->List(f)), (std::vector<int64_t>{b, a}));
  f.offset = 4;
  EXPECT_TRUE(jobs_->List(f)->empty());

  auto counts = jobs_->CountByState();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 5u);
  EXPECT_EQ((*counts)[0], (std::pair<std::string, int64_t>{"queued", 3}));
  EXPECT_EQ((*counts)[1], (std::pair<std::string, int64_t>{"running", 1}));
  EXPECT_EQ((*counts)[4], (std::pair<std::string, int64_t>{"cancelled", 0}));
}

TEST_F(JobStoreTest, HasActiveOnlyForQueuedOrRunningJobsOfThatAppAndSeries) {
  EXPECT_FALSE(jobs_->HasActive("lung", "s1").value());
  int64_t id = Enqueue(MakeJob("lung", "s1"));
  EXPECT_TRUE(jobs_->HasActive("lung", "s1").value());
  EXPECT_FALSE(jobs_->HasActive("head", "s1").value());
  EXPECT_FALSE(jobs_->HasActive("lung", "s2").value());
  ASSERT_TRUE(jobs_->MarkRunning(id, 10).value());
  EXPECT_TRUE(jobs_->HasActive("lung", "s1").value());
  ASSERT_TRUE(jobs_->MarkSucceeded(id, 20, "ok", "[]").ok());
  EXPECT_FALSE(jobs_->HasActive("lung", "s1").value());
}

TEST_F(JobStoreTest, RunnableOrdersByPriorityThenAgeAndHonoursNotBefore) {
  int64_t low = Enqueue(MakeJob("a", "s1", 0));
  int64_t high1 = Enqueue(MakeJob("a", "s2", 10));
  int64_t mid = Enqueue(MakeJob("a", "s3", 5));
  int64_t high2 = Enqueue(MakeJob("a", "s4", 10));
  Job later = MakeJob("a", "s5", 99);
  later.not_before = 5000;  // a delayed start
  int64_t delayed = Enqueue(later);
  int64_t running = Enqueue(MakeJob("a", "s6", 50));
  ASSERT_TRUE(jobs_->MarkRunning(running, 100).value());

  auto r = jobs_->Runnable(1000, 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(*r), (std::vector<int64_t>{high1, high2, mid, low}));
  EXPECT_EQ(Ids(*jobs_->Runnable(1000, 2)), (std::vector<int64_t>{high1, high2}));
  // At not_before the delayed job is due, and its priority puts it first.
  EXPECT_EQ(Ids(*jobs_->Runnable(5000, 10)),
            (std::vector<int64_t>{delayed, high1, high2, mid, low}));
}

TEST_F(JobStoreTest, StateMachineWalkWithRetryBackoff) {
  int64_t id = Enqueue(MakeJob("lung", "s1"));
  // Attempt 1 fails and is retried after a backoff.
  ASSERT_TRUE(jobs_->MarkRunning(id, 1000).value());
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.attempts, 1);
  EXPECT_EQ(j.started_at, 1000);
  EXPECT_FALSE(jobs_->MarkRunning(id, 1001).value()) << "already running";
  ASSERT_TRUE(jobs_->MarkFailed(id, 1500, "out of memory", 1500 + 30000).ok());
  j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.error, "out of memory");
  EXPECT_EQ(j.not_before, 31500);
  EXPECT_EQ(j.finished_at, 0);
  EXPECT_TRUE(jobs_->Runnable(31499, 10)->empty()) << "waits for the backoff";
  EXPECT_EQ(Ids(*jobs_->Runnable(31500, 10)), (std::vector<int64_t>{id}));

  // Attempt 2 fails again, then attempt 3 succeeds.
  ASSERT_TRUE(jobs_->MarkRunning(id, 31500).value());
  ASSERT_TRUE(jobs_->MarkFailed(id, 32000, "timeout", 92000).ok());
  ASSERT_TRUE(jobs_->MarkRunning(id, 92000).value());
  ASSERT_TRUE(jobs_->MarkSucceeded(id, 95000, "2 nodules", R"([{"kind":"sr"}])").ok());
  j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kSucceeded);
  EXPECT_EQ(j.attempts, 3);
  EXPECT_EQ(j.started_at, 92000);
  EXPECT_EQ(j.finished_at, 95000);
  EXPECT_EQ(j.summary, "2 nodules");
  EXPECT_EQ(j.results_json, R"([{"kind":"sr"}])");
  EXPECT_EQ(j.error, "");

  // A finished job accepts no further transition.
  EXPECT_FALSE(jobs_->MarkRunning(id, 96000).value());
  Status again = jobs_->MarkSucceeded(id, 96000, "x", "[]");
  EXPECT_EQ(again.code(), ErrorCode::kConflict);
  EXPECT_EQ(jobs_->MarkFailed(id, 96000, "x", std::nullopt).code(), ErrorCode::kConflict);
  EXPECT_EQ(jobs_->MarkSucceeded(id + 50, 1, "x", "[]").code(), ErrorCode::kNotFound);
}

TEST_F(JobStoreTest, FailureWithoutRetryIsFinal) {
  int64_t id = Enqueue(MakeJob("lung", "s1"));
  EXPECT_EQ(jobs_->MarkFailed(id, 10, "never ran", std::nullopt).code(), ErrorCode::kConflict)
      << "only a running job can fail";
  ASSERT_TRUE(jobs_->MarkRunning(id, 100).value());
  ASSERT_TRUE(jobs_->MarkFailed(id, 200, "model missing", std::nullopt).ok());
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kFailed);
  EXPECT_EQ(j.error, "model missing");
  EXPECT_EQ(j.finished_at, 200);
  EXPECT_TRUE(jobs_->Runnable(1'000'000, 10)->empty());
}

TEST_F(JobStoreTest, CancelQueuedAtOnceRunningByRequest) {
  int64_t queued = Enqueue(MakeJob("lung", "s1"));
  int64_t running = Enqueue(MakeJob("lung", "s2"));
  ASSERT_TRUE(jobs_->MarkRunning(running, 100).value());

  auto r = jobs_->RequestCancel(queued, 200);
  ASSERT_TRUE(r.ok() && r.value());
  Job q = GetJob(queued);
  EXPECT_EQ(q.state, JobState::kCancelled);
  EXPECT_EQ(q.finished_at, 200);
  EXPECT_FALSE(jobs_->MarkRunning(queued, 300).value()) << "the scheduler lost the race";

  r = jobs_->RequestCancel(running, 200);
  ASSERT_TRUE(r.ok() && r.value());
  Job run = GetJob(running);
  EXPECT_EQ(run.state, JobState::kRunning) << "the scheduler kills it first";
  EXPECT_TRUE(run.cancel_requested);
  ASSERT_TRUE(jobs_->MarkCancelled(running, 250, "cancelled by user").ok());
  run = GetJob(running);
  EXPECT_EQ(run.state, JobState::kCancelled);
  EXPECT_EQ(run.error, "cancelled by user");
  EXPECT_EQ(run.finished_at, 250);
  EXPECT_TRUE(jobs_->MarkCancelled(running, 260, "again").ok()) << "idempotent";

  // Finished jobs: nothing to cancel; unknown ids: NotFound.
  r = jobs_->RequestCancel(running, 300);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
  auto missing = jobs_->RequestCancel(running + 100, 300);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  int64_t done = Enqueue(MakeJob("lung", "s3"));
  ASSERT_TRUE(jobs_->MarkRunning(done, 1).value());
  ASSERT_TRUE(jobs_->MarkSucceeded(done, 2, "ok", "[]").ok());
  EXPECT_EQ(jobs_->MarkCancelled(done, 3, "late").code(), ErrorCode::kConflict);
  EXPECT_EQ(GetJob(done).state, JobState::kSucceeded);
}

TEST_F(JobStoreTest, CancelRequestedJobIsNotRetried) {
  int64_t id = Enqueue(MakeJob("lung", "s1"));
  ASSERT_TRUE(jobs_->MarkRunning(id, 100).value());
  ASSERT_TRUE(jobs_->RequestCancel(id, 150).value());
  // The run fails on its own before the scheduler kills it: the cancel wins over a retry.
  ASSERT_TRUE(jobs_->MarkFailed(id, 200, "killed", 10'000).ok());
  Job j = GetJob(id);
  EXPECT_EQ(j.state, JobState::kCancelled);
  EXPECT_EQ(j.finished_at, 200);
  EXPECT_TRUE(jobs_->Runnable(20'000, 10)->empty());
}

TEST_F(JobStoreTest, FindingsReplacedPerJobAndOrderedBySeverityThenScore) {
  int64_t job1 = Enqueue(MakeJob("lung", "s1"));
  int64_t job2 = Enqueue(MakeJob("qc", "s2"));
  auto finding = [](const std::string& series, const std::string& label,
                    const std::string& severity, double score) {
    FindingRow f;
    f.app_id = "lung";
    f.study_uid = "1.2.3";
    f.series_uid = series;
    f.type_code = "RID50149^RADLEX";
    f.type_meaning = "Pulmonary nodule";
    f.label = label;
    f.x = -12.5;
    f.y = 40.25;
    f.z = -101;
    f.size_mm = 8.5;
    f.volume_ml = 0.3;
    f.score = score;
    f.severity = severity;
    f.details_json = R"({"lobe":"RUL"})";
    return f;
  };
  ASSERT_TRUE(jobs_->ReplaceFindings(job1, {finding("s1", "old", "critical", 0.1)}).ok());
  // The rerun replaces the job's earlier rows.
  ASSERT_TRUE(
      jobs_
          ->ReplaceFindings(
              job1, {finding("s1", "low-a", "low", 0.9), finding("s1", "crit", "critical", 0.2),
                     finding("s1", "mod-lo", "moderate", 0.3),
                     finding("s1", "mod-hi", "moderate", 0.8), finding("s1", "info", "", 1.0)})
          .ok());
  ASSERT_TRUE(jobs_->ReplaceFindings(job2, {finding("s2", "high", "high", 0.5)}).ok());

  auto study = jobs_->Findings("1.2.3", "");
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  std::vector<std::string> labels;
  for (const auto& f : *study) labels.push_back(f.label);
  EXPECT_EQ(labels,
            (std::vector<std::string>{"crit", "high", "mod-hi", "mod-lo", "low-a", "info"}));
  const FindingRow& crit = study->front();
  EXPECT_EQ(crit.job_id, job1);
  EXPECT_EQ(crit.type_code, "RID50149^RADLEX");
  EXPECT_DOUBLE_EQ(crit.x, -12.5);
  EXPECT_DOUBLE_EQ(crit.y, 40.25);
  EXPECT_DOUBLE_EQ(crit.z, -101);
  EXPECT_DOUBLE_EQ(crit.size_mm, 8.5);
  EXPECT_DOUBLE_EQ(crit.volume_ml, 0.3);
  EXPECT_DOUBLE_EQ(crit.score, 0.2);
  EXPECT_EQ(crit.details_json, R"({"lobe":"RUL"})");
  EXPECT_GT(crit.created_at, 0);
  EXPECT_EQ(study->back().severity, "info") << "an empty severity is stored as info";

  auto series = jobs_->Findings("", "s2");
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 1u);
  EXPECT_EQ(series->front().label, "high");
  EXPECT_EQ(jobs_->Findings("1.2.3", "s2")->size(), 1u) << "both UIDs: AND";
  EXPECT_EQ(jobs_->Findings("", "").status().code(), ErrorCode::kInvalidArgument);

  // An empty list clears the job's findings; bad input changes nothing.
  ASSERT_TRUE(jobs_->ReplaceFindings(job2, {}).ok());
  EXPECT_TRUE(jobs_->Findings("", "s2")->empty());
  EXPECT_EQ(jobs_->ReplaceFindings(job1, {finding("s1", "x", "severe", 1)}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(jobs_->ReplaceFindings(job2 + 10, {finding("s1", "x", "low", 1)}).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(jobs_->Findings("", "s1")->size(), 5u);
}

TEST_F(JobStoreTest, AppFlagsUnsetThenSetThenChanged) {
  auto flag = jobs_->AppEnabled("lung-nodules");
  ASSERT_TRUE(flag.ok());
  EXPECT_FALSE(flag->has_value()) << "never set: the manifest's default applies";
  ASSERT_TRUE(jobs_->SetAppEnabled("lung-nodules", false).ok());
  EXPECT_EQ(jobs_->AppEnabled("lung-nodules").value(), std::optional<bool>(false));
  ASSERT_TRUE(jobs_->SetAppEnabled("lung-nodules", true).ok());
  EXPECT_EQ(jobs_->AppEnabled("lung-nodules").value(), std::optional<bool>(true));
  EXPECT_FALSE(jobs_->AppEnabled("head-ich").value().has_value());
  EXPECT_EQ(jobs_->SetAppEnabled("", true).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace radflow::storage

namespace radflow::storage {
namespace {

// The worklist learns of AI jobs through this listener: every queued job, every end (and
// retry), every cancel — not a job that starts running.
TEST_F(JobStoreTest, ChangeListenerSeesQueuedFinishedAndCancelledJobs) {
  std::vector<int64_t> seen;
  jobs_->SetChangeListener([&](int64_t id) { seen.push_back(id); });
  const int64_t a = jobs_->Enqueue(MakeJob("app-a", "1.2.3.1", 0)).value();
  const int64_t b = jobs_->Enqueue(MakeJob("app-b", "1.2.3.2", 0)).value();
  EXPECT_FALSE(jobs_->EnqueueUnlessActive(MakeJob("app-a", "1.2.3.1", 0)).value().has_value());
  EXPECT_EQ(seen, (std::vector<int64_t>{a, b})) << "a job not queued is not announced";
  ASSERT_TRUE(jobs_->MarkRunning(a, 10).value());
  EXPECT_EQ(seen.size(), 2u) << "starting is not a change the worklist shows";
  ASSERT_TRUE(jobs_->MarkSucceeded(a, 20, "done", "[]").ok());
  EXPECT_TRUE(jobs_->RequestCancel(b, 30).value());
  EXPECT_EQ(seen, (std::vector<int64_t>{a, b, a, b}));
  EXPECT_FALSE(jobs_->MarkSucceeded(a, 40, "again", "[]").ok());
  EXPECT_EQ(seen.size(), 4u) << "a refused change is not announced";
  jobs_->SetChangeListener(nullptr);
  (void)jobs_->Enqueue(MakeJob("app-c", "1.2.3.3", 0));
  EXPECT_EQ(seen.size(), 4u);
}

}  // namespace
}  // namespace radflow::storage
