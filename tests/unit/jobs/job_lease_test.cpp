// JobStore leases for remote AI workers (docs/remote-workers.md): Claim, RenewLease, the
// holder-checked Complete/Fail/Release, ExpireLeases, and how they meet the hub's own
// scheduler. SQLite here; the same on PostgreSQL below, with two connections claiming at once.
#include <atomic>
#include <set>
#include <thread>

#include "base/clock.h"
#include "job_store_fixture.h"
#include "support/pg_server.h"

namespace radflow::storage {
namespace {

constexpr int64_t kT = 1'000'000;  // a fixed "now" (unix ms)
constexpr int64_t kLease = 5'000;

class JobLeaseTest : public JobStoreTest {};

TEST_F(JobLeaseTest, ClaimTakesOnlyTheWorkersAppsInPriorityOrder) {
  const int64_t low = Enqueue(MakeJob("a", "1.1", 0));
  const int64_t high = Enqueue(MakeJob("a", "1.2", 5));
  const int64_t other = Enqueue(MakeJob("b", "1.3", 9));
  auto claimed = jobs_->Claim("w1", {"a"}, kT, kLease, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].id, high);
  EXPECT_EQ((*claimed)[1].id, low);
  for (const Job& j : claimed.value()) {
    EXPECT_EQ(j.state, JobState::kRunning);
    EXPECT_EQ(j.lease_owner, "w1");
    EXPECT_EQ(j.lease_expires_at, kT + kLease);
    EXPECT_EQ(j.attempts, 1);
    EXPECT_EQ(j.started_at, kT);
  }
  EXPECT_EQ(GetJob(other).state, JobState::kQueued);
  // Nothing left for app a; limit respected for b.
  EXPECT_TRUE(jobs_->Claim("w2", {"a"}, kT, kLease, 10)->empty());
  EXPECT_EQ(jobs_->Claim("w2", {"a", "b"}, kT, kLease, 1)->size(), 1u);
  EXPECT_TRUE(jobs_->Claim("w2", {}, kT, kLease, 10)->empty());
  EXPECT_FALSE(jobs_->Claim("", {"a"}, kT, kLease, 10).ok());
}

TEST_F(JobLeaseTest, ClaimWaitsForBackoffAndNeverTakesAJobTheHubRuns) {
  Job delayed = MakeJob("a", "1.1");
  delayed.not_before = kT + 1000;
  const int64_t later = Enqueue(delayed);
  const int64_t local = Enqueue(MakeJob("a", "1.2"));
  ASSERT_TRUE(jobs_->MarkRunning(local, kT).value());  // the hub's scheduler took it
  EXPECT_TRUE(jobs_->Claim("w1", {"a"}, kT, kLease, 10)->empty());
  auto claimed = jobs_->Claim("w1", {"a"}, kT + 1000, kLease, 10);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, later);
  // ...and the hub's scheduler cannot take the worker's job.
  EXPECT_FALSE(jobs_->MarkRunning(later, kT).value());
  // The hub's restart and its reconciliation leave the worker's job alone.
  EXPECT_EQ(jobs_->RequeueInterrupted(kT).value(), 1);  // only `local`
  EXPECT_EQ(GetJob(later).state, JobState::kRunning);
  ASSERT_TRUE(jobs_->ReturnToQueue(later, "not ours").ok());
  EXPECT_EQ(GetJob(later).state, JobState::kRunning);
  EXPECT_EQ(GetJob(later).lease_owner, "w1");
}

TEST_F(JobLeaseTest, RenewExtendsOnlyAValidLeaseOfItsHolder) {
  const int64_t id = Enqueue(MakeJob("a", "1.1"));
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, kT, kLease, 1)->size(), 1u);
  auto renewed = jobs_->RenewLease(id, "w1", kT + 4000, kLease);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->lease_expires_at, kT + 4000 + kLease);
  auto wrong = jobs_->RenewLease(id, "w2", kT + 4000, kLease);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kConflict);
  EXPECT_NE(wrong.status().message().find("held by worker w1"), std::string::npos) << wrong.status().message();
  auto late = jobs_->RenewLease(id, "w1", kT + 4000 + kLease + 1, kLease);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), ErrorCode::kConflict);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos) << late.status().message();
  EXPECT_EQ(jobs_->RenewLease(999, "w1", kT, kLease).status().code(), ErrorCode::kNotFound);
  // A cancel reaches the worker through its renewal.
  ASSERT_TRUE(jobs_->RequestCancel(id, kT + 4100).value());
  EXPECT_TRUE(jobs_->RenewLease(id, "w1", kT + 4200, kLease)->cancel_requested);
}

TEST_F(JobLeaseTest, ExpiredLeaseRequeuesThenAnotherWorkerFinishesAndTheLateOneGetsConflict) {
  Job j = MakeJob("a", "1.1");
  j.max_attempts = 1;
  const int64_t id = Enqueue(j);
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, kT, kLease, 1)->size(), 1u);
  EXPECT_TRUE(jobs_->ExpireLeases(kT + kLease).value().empty());  // still valid at its end
  auto expired = jobs_->ExpireLeases(kT + kLease + 1);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(expired.value(), std::vector<int64_t>{id});
  Job now = GetJob(id);
  EXPECT_EQ(now.state, JobState::kQueued);
  EXPECT_EQ(now.attempts, 1);  // kept
  EXPECT_EQ(now.error, "lease expired (worker w1)");

  auto again = jobs_->Claim("w2", {"a"}, kT + 6000, kLease, 1);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().attempts, 2);
  FindingRow f;
  f.app_id = "a";
  f.series_uid = "1.1";
  f.label = "late";
  // The late worker: every holder operation is refused, nothing is written.
  for (const Status& s : {jobs_->CompleteLeased(id, "w1", kT + 7000, "late", "[]", {f}),
                          jobs_->FailLeased(id, "w1", kT + 7000, "late", std::nullopt),
                          jobs_->ReleaseLeased(id, "w1", kT + 7000, "late")}) {
    EXPECT_EQ(s.code(), ErrorCode::kConflict) << s.ToString();
  }
  EXPECT_TRUE(jobs_->Findings("", "1.1")->empty());
  f.label = "on time";
  ASSERT_TRUE(jobs_->CompleteLeased(id, "w2", kT + 7000, "done", "{\"objects\":[]}", {f}).ok());
  now = GetJob(id);
  EXPECT_EQ(now.state, JobState::kSucceeded);
  EXPECT_EQ(now.summary, "done");
  EXPECT_EQ(now.lease_owner, "w2");
  EXPECT_EQ(now.lease_expires_at, 0);
  auto rows = jobs_->Findings("", "1.1");
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().label, "on time");
  // Completing twice: Conflict (the job is no longer running).
  EXPECT_EQ(jobs_->CompleteLeased(id, "w2", kT + 7001, "again", "[]", {}).code(), ErrorCode::kConflict);
}

TEST_F(JobLeaseTest, ExpiryFailsTheLastAllowedAttemptAndCancelsARequestedCancel) {
  Job j = MakeJob("a", "1.1");
  j.max_attempts = 1;
  const int64_t id = Enqueue(j);
  const int64_t cancelled = Enqueue(MakeJob("a", "1.2"));
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, kT, kLease, 5)->size(), 2u);
  ASSERT_TRUE(jobs_->RequestCancel(cancelled, kT).value());
  ASSERT_EQ(jobs_->ExpireLeases(kT + kLease + 1)->size(), 2u);
  EXPECT_EQ(GetJob(cancelled).state, JobState::kCancelled);
  ASSERT_EQ(jobs_->Claim("w2", {"a"}, kT + 10000, kLease, 5)->size(), 1u);  // attempt 2 of 1 (+1)
  ASSERT_EQ(jobs_->ExpireLeases(kT + 10000 + kLease + 1)->size(), 1u);
  Job now = GetJob(id);
  EXPECT_EQ(now.state, JobState::kFailed);
  EXPECT_NE(now.error.find("lease expired (worker w2); gave up after 2 attempts"), std::string::npos) << now.error;
}

TEST_F(JobLeaseTest, FailRetriesWithBackoffAndReleaseGivesTheAttemptBack) {
  const int64_t id = Enqueue(MakeJob("a", "1.1"));  // max_attempts 3
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, kT, kLease, 1)->size(), 1u);
  ASSERT_TRUE(jobs_->FailLeased(id, "w1", kT + 100, "app error", kT + 5000).ok());
  Job now = GetJob(id);
  EXPECT_EQ(now.state, JobState::kQueued);
  EXPECT_EQ(now.not_before, kT + 5000);
  EXPECT_EQ(now.error, "app error");
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, kT + 5000, kLease, 1)->size(), 1u);
  ASSERT_TRUE(jobs_->ReleaseLeased(id, "w1", kT + 5100, "worker stopping").ok());
  now = GetJob(id);
  EXPECT_EQ(now.state, JobState::kQueued);
  EXPECT_EQ(now.attempts, 1);  // the released attempt does not count
  ASSERT_EQ(jobs_->Claim("w1", {"a"}, UnixMillis(), kLease, 1)->size(), 1u);
  ASSERT_TRUE(jobs_->FailLeased(id, "w1", UnixMillis(), "final", std::nullopt).ok());
  EXPECT_EQ(GetJob(id).state, JobState::kFailed);
}

// PostgreSQL: the same store through libpq, and two stores (two connections, as two hub
// nodes) claiming one queue concurrently.
TEST(JobLeasePgTest, ConcurrentClaimsOnPostgresNeverShareAJob) {
  auto pg = testing::PgServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  auto index = Index::Open((*pg)->uri());
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto a = JobStore::Open((*pg)->uri());
  auto b = JobStore::Open((*pg)->uri());
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << " " << b.status().ToString();
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) {
    Job j;
    j.app_id = i % 2 ? "a" : "b";
    j.series_uid = "1.2." + std::to_string(i);
    j.max_attempts = 1;
    ASSERT_TRUE((*a)->Enqueue(j).ok());
  }
  std::vector<std::vector<int64_t>> got(4);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    JobStore* store = t % 2 ? b->get() : a->get();
    threads.emplace_back([&, t, store] {
      for (;;) {
        auto claimed = store->Claim("w" + std::to_string(t), {"a", "b"}, UnixMillis(), 60'000, 2);
        if (!claimed.ok()) {
          ++errors;
          return;
        }
        if (claimed->empty()) return;
        for (const Job& j : claimed.value()) got[t].push_back(j.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<int64_t> all;
  size_t total = 0;
  for (const auto& ids : got) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));  // every job once
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));
  // Lease expiry and the holder checks on PostgreSQL.
  // Any worker that took a job (one thread may have taken none).
  size_t taker = 0;
  while (taker < got.size() && got[taker].empty()) ++taker;
  ASSERT_LT(taker, got.size());
  const int64_t id = got[taker].front();
  const std::string holder = "w" + std::to_string(taker);
  auto expired = (*a)->ExpireLeases(UnixMillis() + 120'000);
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(expired->size(), static_cast<size_t>(kJobs));
  auto job = (*b)->Get(id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, JobState::kQueued);
  EXPECT_EQ((*job)->error, "lease expired (worker " + holder + ")");
  EXPECT_EQ((*b)->CompleteLeased(id, holder, UnixMillis(), "late", "[]", {}).code(), ErrorCode::kConflict);
  auto again = (*b)->Claim("w9", {"a", "b"}, UnixMillis(), 60'000, kJobs);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->size(), static_cast<size_t>(kJobs));
  FindingRow f;
  f.app_id = "a";
  f.series_uid = (*job)->series_uid;
  EXPECT_TRUE((*b)->CompleteLeased(id, "w9", UnixMillis(), "ok", "[]", {f}).ok());
  EXPECT_EQ((*a)->Findings("", f.series_uid)->size(), 1u);
  // Renew, fail with a retry, release: each statement once on PostgreSQL.
  const int64_t other = again->back().id == id ? again->front().id : again->back().id;
  auto renewed = (*a)->RenewLease(other, "w9", UnixMillis(), 60'000);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ((*a)->RenewLease(other, "w8", UnixMillis(), 60'000).status().code(), ErrorCode::kConflict);
  ASSERT_TRUE((*a)->ReleaseLeased(other, "w9", UnixMillis(), "stopping").ok());
  auto released = (*b)->Get(other);
  EXPECT_EQ((*released)->state, JobState::kQueued);
  EXPECT_EQ((*released)->attempts, 1);  // 2 claims, the released one given back
  auto third = (*a)->Claim("w9", {"a", "b"}, UnixMillis(), 60'000, 1);
  ASSERT_TRUE(third.ok() && third->size() == 1u);
  Status failed = (*a)->FailLeased(third->front().id, "w9", UnixMillis(), "app error", UnixMillis() + 60'000);
  EXPECT_TRUE(failed.ok()) << failed.ToString();
}

}  // namespace
}  // namespace radflow::storage
