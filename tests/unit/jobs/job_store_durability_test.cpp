// JobStore across a restart, and next to other writers on the same index.db: several
// threads, several connections, and the Index committing real CT instances meanwhile.
#include <atomic>
#include <set>
#include <thread>

#include "dicom/instance.h"
#include "job_store_fixture.h"

namespace radflow::storage {
namespace {

TEST_F(JobStoreTest, StateSurvivesReopenAndInterruptedJobsAreRequeued) {
  int64_t queued = Enqueue(MakeJob("lung", "s1", 3));
  int64_t running = Enqueue(MakeJob("lung", "s2"));
  int64_t cancelling = Enqueue(MakeJob("lung", "s3"));
  int64_t done = Enqueue(MakeJob("lung", "s4"));
  for (int64_t id : {running, cancelling, done}) ASSERT_TRUE(jobs_->MarkRunning(id, 100).value());
  ASSERT_TRUE(jobs_->RequestCancel(cancelling, 150).value());
  ASSERT_TRUE(jobs_->MarkSucceeded(done, 200, "ok", "[]").ok());
  FindingRow f;
  f.app_id = "lung";
  f.study_uid = "1.2.3";
  f.series_uid = "s4";
  f.severity = "high";
  f.score = 0.75;
  ASSERT_TRUE(jobs_->ReplaceFindings(done, {f}).ok());
  ASSERT_TRUE(jobs_->SetAppEnabled("lung", false).ok());

  // The process "stops": both objects go away with two jobs still running.
  Reopen();

  auto n = jobs_->RequeueInterrupted(5000);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n.value(), 1);
  Job r = GetJob(running);
  EXPECT_EQ(r.state, JobState::kQueued);
  EXPECT_EQ(r.attempts, 1) << "the interrupted attempt counts";
  EXPECT_EQ(r.error, "interrupted by a restart");
  Job c = GetJob(cancelling);
  EXPECT_EQ(c.state, JobState::kCancelled) << "a requested cancel is not undone by a restart";
  EXPECT_EQ(c.finished_at, 5000);
  EXPECT_EQ(GetJob(queued).state, JobState::kQueued);
  EXPECT_EQ(GetJob(queued).priority, 3);
  EXPECT_EQ(GetJob(done).state, JobState::kSucceeded);
  auto rows = jobs_->Findings("", "s4");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_DOUBLE_EQ(rows->front().score, 0.75);
  EXPECT_EQ(jobs_->AppEnabled("lung").value(), std::optional<bool>(false));
  auto runnable = jobs_->Runnable(5000, 10);
  ASSERT_TRUE(runnable.ok());
  ASSERT_EQ(runnable->size(), 2u);
  EXPECT_EQ(runnable->at(0).id, queued);  // priority 3
  EXPECT_EQ(runnable->at(1).id, running);
  EXPECT_EQ(jobs_->RequeueInterrupted(6000).value(), 0) << "nothing left running";
}

TEST_F(JobStoreTest, ConcurrentEnqueueLosesNothing) {
  constexpr int kThreads = 4, kPerThread = 40;
  // Threads sharing this store, and threads each with its own connection (real lock
  // contention between connections: BEGIN IMMEDIATE waits, no SQLITE_BUSY surfaces).
  std::vector<std::unique_ptr<JobStore>> own;
  for (int t = 0; t < kThreads; ++t) {
    auto js = JobStore::Open(db_path());
    ASSERT_TRUE(js.ok()) << js.status().ToString();
    own.push_back(std::move(js.value()));
  }
  std::mutex mu;
  std::vector<int64_t> ids;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreads; ++t) {
    JobStore* store = t < kThreads ? jobs_.get() : own[t - kThreads].get();
    threads.emplace_back([&, store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // std::string appends, not "s" + std::to_string: g++ 12 warns falsely (-Wrestrict).
        std::string app = "app", series = "s";
        app += std::to_string(t);
        series += std::to_string(i);
        auto id = store->Enqueue(MakeJob(app, series));
        std::lock_guard<std::mutex> g(mu);
        if (id.ok())
          ids.push_back(id.value());
        else
          errors.push_back(id.status().ToString());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  EXPECT_EQ(ids.size(), size_t{2 * kThreads * kPerThread});
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size()) << "ids unique";
  JobFilter all;
  all.limit = 0;
  auto listed = jobs_->List(all);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), ids.size());
  JobFilter one;
  one.app_id = "app5";
  one.limit = 0;
  EXPECT_EQ(jobs_->List(one)->size(), size_t{kPerThread});
}

TEST_F(JobStoreTest, EnqueueUnlessActiveQueuesOneJobPerAppAndSeriesUnderARace) {
  // Four connections trigger the same app on the same series at once.
  std::vector<std::unique_ptr<JobStore>> stores;
  for (int t = 0; t < 4; ++t) stores.push_back(std::move(JobStore::Open(db_path()).value()));
  std::atomic<int> queued{0}, skipped{0}, failed{0};
  std::vector<std::thread> threads;
  for (auto& store : stores) {
    threads.emplace_back([&, s = store.get()] {
      for (int i = 0; i < 10; ++i) {
        auto id = s->EnqueueUnlessActive(MakeJob("lung", "s1"));
        if (!id.ok())
          ++failed;
        else if (id->has_value())
          ++queued;
        else
          ++skipped;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(queued.load(), 1);
  EXPECT_EQ(skipped.load(), 39);
  // Once that job has finished, the series can be queued again.
  JobFilter f;
  f.series_uid = "s1";
  auto jobs = jobs_->List(f);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  int64_t id = jobs->front().id;
  ASSERT_TRUE(jobs_->MarkRunning(id, 1).value());
  ASSERT_TRUE(jobs_->MarkFailed(id, 2, "x", std::nullopt).ok());
  auto again = jobs_->EnqueueUnlessActive(MakeJob("lung", "s1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->has_value());
  EXPECT_FALSE(jobs_->EnqueueUnlessActive(MakeJob("lung", "s1")).value().has_value());
}

TEST_F(JobStoreTest, WorksWhileTheIndexCommitsRealInstances) {
  std::vector<InstanceEntry> entries;
  for (const auto& path : radflow::testing::ChestCtFiles()) {
    auto parsed = dicom::ParsePart10File(path);
    ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status().ToString();
    InstanceEntry e;
    e.instance = std::move(parsed.value());
    e.blob_path = "ab/" + e.instance.sop_instance_uid + ".dcm";
    e.blob_size = 1;
    entries.push_back(std::move(e));
  }
  ASSERT_GE(entries.size(), 60u);
  const std::string study = entries.front().instance.study_instance_uid;
  const std::string series = entries.front().instance.series_instance_uid;

  std::atomic<int> committed{0};
  std::vector<std::string> index_errors;
  std::thread writer([&] {
    for (const auto& e : entries) {
      auto r = index_->Commit(e, false);
      if (r.ok())
        ++committed;
      else
        index_errors.push_back(r.status().ToString());
    }
  });
  // A second job store opened while the Index is writing, as the AI engine starts next to
  // a receiving hub; it runs whole job lifecycles meanwhile.
  auto opened = JobStore::Open(db_path());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  JobStore& engine = *opened.value();
  int finished = 0;
  for (int i = 0; i < 20; ++i) {
    Job j = MakeJob("lung", series);
    j.study_uid = study;
    auto id = engine.Enqueue(j);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ASSERT_TRUE(engine.MarkRunning(id.value(), 10).value());
    FindingRow f;
    f.app_id = "lung";
    f.study_uid = study;
    f.series_uid = series;
    f.severity = "moderate";
    ASSERT_TRUE(engine.ReplaceFindings(id.value(), {f}).ok());
    ASSERT_TRUE(engine.MarkSucceeded(id.value(), 20, "ok", "[]").ok());
    ++finished;
  }
  writer.join();
  EXPECT_TRUE(index_errors.empty()) << index_errors.front();
  EXPECT_EQ(committed.load(), static_cast<int>(entries.size()));
  EXPECT_EQ(finished, 20);
  auto stats = index_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->instances, static_cast<int64_t>(entries.size()));
  EXPECT_EQ(stats->series, 1);
  JobFilter f;
  f.series_uid = series;
  f.state = JobState::kSucceeded;
  EXPECT_EQ(jobs_->List(f)->size(), 20u) << "the fixture's store sees the other's writes";
  EXPECT_EQ(jobs_->Findings(study, "")->size(), 20u);
}

}  // namespace
}  // namespace radflow::storage
