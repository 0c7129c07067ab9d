// Several radflow nodes on one PostgreSQL index (issue 15; docs/postgresql.md "Several nodes:
// events and stability"): the cluster bus (LISTEN/NOTIFY, its reconnection), SeriesStable once
// across two IngestService nodes, one AI job when two nodes route the same series, and the
// same SOP Instance UID stored at two nodes at once.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "../index_entries.h"
#include "../test_data.h"
#include "base/clock.h"
#include "ingest/ingest_service.h"
#include "pg_env.h"
#include "storage/blob_store.h"
#include "storage/cluster_bus.h"
#include "storage/index.h"
#include "storage/job_store.h"
#include "storage/leader.h"
#include "storage/pg_cluster_bus.h"

namespace radflow::storage {

namespace {

using Clock = std::chrono::steady_clock;

// What a subscriber received, waited for with a deadline (never a bare sleep).
class Inbox {
 public:
  void Add(const BusMessage& m) {
    std::lock_guard g(mu_);
    messages_.push_back(m);
    cv_.notify_all();
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock g(mu_);
    return cv_.wait_for(g, timeout, [&] { return messages_.size() >= n; });
  }
  std::vector<BusMessage> messages() {
    std::lock_guard g(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BusMessage> messages_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

class PgClusterTest : public PgTest {
 protected:
  void SetUp() override {
    uri_ = NewDbUri();
    ASSERT_FALSE(uri_.empty());
  }
  std::unique_ptr<ClusterBus> Bus(const std::string& node) {
    auto bus = OpenClusterBus(uri_, node);
    EXPECT_TRUE(bus.ok()) << bus.status().ToString();
    return bus.ok() ? std::move(bus.value()) : nullptr;
  }
  std::string uri_;
};

TEST_F(PgClusterTest, BusDeliversToOtherNodesOnly) {
  auto a = Bus("node-a"), b = Bus("node-b");
  ASSERT_TRUE(a && b);
  Inbox at_a, at_b;
  ASSERT_TRUE(a->Subscribe("radflow_test", [&](const BusMessage& m) { at_a.Add(m); }).ok());
  ASSERT_TRUE(b->Subscribe("radflow_test", [&](const BusMessage& m) { at_b.Add(m); }).ok());
  ASSERT_TRUE(a->Publish("radflow_test", R"({"n":1})").ok());
  ASSERT_TRUE(at_b.WaitFor(1, std::chrono::seconds(10)));
  // B answers; A's own message, sent before, would have reached A before the answer.
  ASSERT_TRUE(b->Publish("radflow_test", R"({"n":2})").ok());
  ASSERT_TRUE(at_a.WaitFor(1, std::chrono::seconds(10)));
  auto got_b = at_b.messages(), got_a = at_a.messages();
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_EQ(got_b[0].node_id, "node-a");
  EXPECT_EQ(got_b[0].channel, "radflow_test");
  EXPECT_EQ(got_b[0].payload, R"({"n":1})");
  ASSERT_EQ(got_a.size(), 1u);
  EXPECT_EQ(got_a[0].node_id, "node-b");
  EXPECT_EQ(got_a[0].payload, R"({"n":2})");
  // Each channel's subscribers hear that channel only (one sender's messages arrive in order:
  // when the second channel's arrives, the first one's was dispatched).
  Inbox other_at_b;
  ASSERT_TRUE(b->Subscribe("radflow_other", [&](const BusMessage& m) { other_at_b.Add(m); }).ok());
  ASSERT_TRUE(a->Publish("radflow_test", R"({"n":3})").ok());
  ASSERT_TRUE(a->Publish("radflow_other", R"({"n":4})").ok());
  ASSERT_TRUE(other_at_b.WaitFor(1, std::chrono::seconds(10)));
  got_b = at_b.messages();
  auto other = other_at_b.messages();
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].payload, R"({"n":4})");
  ASSERT_EQ(got_b.size(), 2u);
  EXPECT_EQ(got_b[1].payload, R"({"n":3})");
}

TEST_F(PgClusterTest, BusRefusesBadChannelsAndLargePayloads) {
  auto a = Bus("node-a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Publish("bad channel", "{}").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(a->Subscribe("", [](const BusMessage&) {}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(a->Publish("radflow_test", std::string(ClusterBus::kMaxPayload + 1, 'x')).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(OpenClusterBus(uri_, "").ok());
  EXPECT_FALSE(OpenClusterBus("postgresql://postgres@127.0.0.1:1/none", "n").ok());
}

TEST_F(PgClusterTest, BusListensAgainAfterTheServerDropsIt) {
  auto a = Bus("node-a"), b = Bus("node-b");
  ASSERT_TRUE(a && b);
  Inbox at_b;
  ASSERT_TRUE(b->Subscribe("radflow_test", [&](const BusMessage& m) { at_b.Add(m); }).ok());
  const std::string listeners =
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = '" +
      std::string(kBusApplicationName) + "'";
  auto before = radflow::testing::QueryInts(uri_, listeners);
  ASSERT_EQ(before.size(), 2u);  // A's and B's listening connections
  auto killed = radflow::testing::QueryInts(
      uri_, "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM (" + listeners + ") l) k");
  ASSERT_EQ(killed, std::vector<int64_t>{2});
  // Published until one arrives: those sent before B listens again are lost (documented).
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  int sent = 0;
  while (Clock::now() < deadline && !at_b.WaitFor(1, std::chrono::milliseconds(100))) {
    ASSERT_TRUE(a->Publish("radflow_test", std::to_string(++sent)).ok());
  }
  ASSERT_FALSE(at_b.messages().empty()) << "no message after the listener was terminated";
  auto after = radflow::testing::QueryInts(uri_, listeners);
  ASSERT_FALSE(after.empty());
  for (int64_t pid : after) EXPECT_EQ(std::count(before.begin(), before.end(), pid), 0) << pid;
}

TEST_F(PgClusterTest, LeaderLockOneNodeAtATime) {
  auto a = LeaderLock::Open(uri_, "compactor"), b = LeaderLock::Open(uri_, "compactor");
  auto other = LeaderLock::Open(uri_, "another duty");
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_TRUE(a.value()->Hold());
  EXPECT_TRUE(a.value()->Hold());  // kept, not taken twice
  EXPECT_FALSE(b.value()->Hold());
  EXPECT_TRUE(other.value()->Hold());
  a.value()->Release();  // one Release frees it: Hold did not stack the lock
  EXPECT_TRUE(b.value()->Hold());
  EXPECT_FALSE(a.value()->Hold());
}

// Two nodes: one PostgreSQL index, a blob folder each.
class PgTwoNodeIngestTest : public PgClusterTest {
 protected:
  struct Node {
    std::unique_ptr<FolderBlobStore> blobs;
    std::unique_ptr<Index> index;
    std::unique_ptr<ingest::IngestService> ingest;
  };
  Node Open(const std::string& name, ingest::IngestOptions options, const std::string& shared_root = "") {
    Node n;
    auto blobs = FolderBlobStore::Open(shared_root.empty() ? dir_.str() + "/" + name : shared_root, true,
                                       shared_root.empty() ? "" : name);
    EXPECT_TRUE(blobs.ok()) << blobs.status().ToString();
    n.blobs = std::make_unique<FolderBlobStore>(std::move(blobs.value()));
    auto index = Index::Open(uri_);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    n.index = std::move(index.value());
    n.ingest = std::make_unique<ingest::IngestService>(*n.blobs, *n.index, options);
    return n;
  }
  Result<ingest::StoreResult> Store(Node& n, const std::string& file) {
    return n.ingest->StoreBytes(ReadFile(file), {ingest::Origin::Kind::kImport, file, "", ""});
  }
  radflow::testing::ScratchDir dir_;
};

TEST_F(PgTwoNodeIngestTest, SeriesStableOnceAcrossNodes) {
  const auto files = radflow::testing::ChestCtFiles();
  ASSERT_GE(files.size(), 7u);
  ingest::IngestOptions options;
  options.stable_after = std::chrono::milliseconds(400);
  Node a = Open("a", options), b = Open("b", options);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> fired;  // the node of each SeriesStable
  auto listen = [&](Node& n, const std::string& name) {
    n.ingest->Subscribe([&, name](const ingest::Event& e) {
      if (e.type != ingest::Event::Type::kSeriesStable) return;
      std::lock_guard g(mu);
      fired.push_back(name);
      cv.notify_all();
    });
  };
  listen(a, "a");
  listen(b, "b");
  // Both nodes sweep too (for series a dead node left): still one firing.
  a.ingest->StartStableSweep();
  b.ingest->StartStableSweep();
  // The series' instances arrive at both nodes, B's last: A's timer fires first and finds
  // B's younger instance; B fires (A asks again later and finds it fired).
  for (size_t i = 0; i < 6; ++i) {
    auto r = Store(i % 2 == 0 ? a : b, files[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->outcome, ingest::StoreOutcome::kStored);
  }
  auto count_within = [&](size_t n, std::chrono::milliseconds quiet) {
    std::unique_lock g(mu);
    EXPECT_TRUE(cv.wait_for(g, std::chrono::seconds(10), [&] { return fired.size() >= n; }));
    // Both timers and A's retry fire within 2 × stable_after of the last instance: a second
    // event would come within that window.
    cv.wait_for(g, quiet, [&] { return fired.size() > n; });
    return fired.size();
  };
  EXPECT_EQ(count_within(1, std::chrono::milliseconds(1500)), 1u);
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_count FROM series_stable"), std::vector<int64_t>{1});
  // A later instance (at A): stable once more, once.
  auto later = Store(a, files[6]);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(count_within(2, std::chrono::milliseconds(1500)), 2u);
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_count FROM series_stable"), std::vector<int64_t>{2});
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_for FROM series_stable"), std::vector<int64_t>{7});
}

// The only node that received a series dies before its timer fires (issue 15, docs/scaling.md
// "A node that dies mid-series"): a survivor's sweep fires it, once; not again; and once more
// after a fresh instance (stored by a node that dies again).
TEST_F(PgTwoNodeIngestTest, SurvivorFiresTheSeriesOfADeadNode) {
  const auto files = radflow::testing::ChestCtFiles();
  ASSERT_GE(files.size(), 4u);
  ingest::IngestOptions quick;
  quick.stable_after = std::chrono::milliseconds(400);  // B sweeps every 1 s
  ingest::IngestOptions slow = quick;
  slow.stable_after = std::chrono::hours(1);  // A's timer never fires before A "dies"
  Node b = Open("b", quick);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> fired;  // the series of each SeriesStable at B
  b.ingest->Subscribe([&](const ingest::Event& e) {
    if (e.type != ingest::Event::Type::kSeriesStable) return;
    std::lock_guard g(mu);
    fired.push_back(e.series_instance_uid);
    cv.notify_all();
  });
  b.ingest->StartStableSweep();
  auto store_and_die = [&](size_t from, size_t to) {
    Node a = Open("a", slow);
    a.ingest->StartStableSweep();
    std::string series;
    for (size_t i = from; i < to; ++i) {
      auto r = Store(a, files[i]);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) series = r->series_instance_uid;
    }
    return series;  // A's service, its timers and its sweep go here
  };
  // Fired within stable_after + grace (1 s) + a sweep period (1 s) of the last instance;
  // then nothing more for several sweeps.
  auto count_within = [&](size_t n) {
    std::unique_lock g(mu);
    EXPECT_TRUE(cv.wait_for(g, std::chrono::seconds(10), [&] { return fired.size() >= n; }));
    cv.wait_for(g, std::chrono::milliseconds(3500), [&] { return fired.size() > n; });
    return fired;
  };
  const std::string series = store_and_die(0, 3);
  ASSERT_FALSE(series.empty());
  EXPECT_EQ(count_within(1), std::vector<std::string>{series});
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_count FROM series_stable"), std::vector<int64_t>{1});
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_for FROM series_stable"), std::vector<int64_t>{3});
  // A fresh instance at a node that dies again: stable once more, once.
  EXPECT_EQ(store_and_die(3, 4), series);
  EXPECT_EQ(count_within(2), (std::vector<std::string>{series, series}));
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_count FROM series_stable"), std::vector<int64_t>{2});
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_for FROM series_stable"), std::vector<int64_t>{4});
  // A node started later (its first sweep looks 24 h back) finds nothing left to fire.
  Node c = Open("c", quick);
  std::atomic<int> fired_at_c{0};
  c.ingest->Subscribe([&](const ingest::Event& e) {
    if (e.type == ingest::Event::Type::kSeriesStable) ++fired_at_c;
  });
  c.ingest->StartStableSweep();
  EXPECT_EQ(count_within(2).size(), 2u);
  EXPECT_EQ(fired_at_c.load(), 0);
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT fired_count FROM series_stable"), std::vector<int64_t>{2});
}

// The sweep's candidates (Index::SeriesToStabilize): old enough, within the window, not fired
// for the newest instance; a deletion alone does not make a series a candidate again.
TEST_F(PgTwoNodeIngestTest, SeriesToStabilizeFollowsTheClaim) {
  const auto files = radflow::testing::ChestCtFiles();
  ASSERT_GE(files.size(), 3u);
  ingest::IngestOptions slow;
  slow.stable_after = std::chrono::hours(1);
  Node a = Open("a", slow);
  std::string series;
  for (size_t i = 0; i < 3; ++i) {
    auto r = Store(a, files[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    series = r->series_instance_uid;
  }
  Index& index = *a.index;
  auto candidates = [&](int64_t min_age_ms, int64_t since_ms) {
    std::vector<std::string> out;
    auto found = index.SeriesToStabilize(min_age_ms, since_ms);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (found.ok()) {
      for (const auto& s : found.value()) out.push_back(s.series_uid);
    }
    return out;
  };
  const int64_t day_ago = UnixMillis() - 24 * 3600 * 1000LL;
  EXPECT_TRUE(candidates(60000, day_ago).empty());       // too young
  EXPECT_EQ(candidates(0, day_ago), std::vector<std::string>{series});
  EXPECT_TRUE(candidates(0, UnixMillis() + 1000).empty());  // older than the window
  ASSERT_EQ(index.ClaimSeriesStable(series, 0)->claim, Index::StableClaim::kClaimed);
  EXPECT_TRUE(candidates(0, day_ago).empty());  // fired for its newest instance
  auto first = Store(a, files[0]);  // already stored: names its SOP Instance UID
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(index.DeleteInstance(first->sop_instance_uid).ok());
  EXPECT_TRUE(candidates(0, day_ago).empty());  // fewer instances, the same newest: not again
}

TEST_F(PgTwoNodeIngestTest, SameSopAtTwoNodesAtOnceIsADuplicate) {
  const auto files = radflow::testing::ChestCtFiles();
  ASSERT_GE(files.size(), 10u);
  // One shared blob folder (each node its temporary folder), as a cluster has.
  Node a = Open("a", {}, dir_.str() + "/shared"), b = Open("b", {}, dir_.str() + "/shared");
  for (size_t i = 0; i < 10; ++i) {
    const std::string bytes = ReadFile(files[i]);
    Result<ingest::StoreResult> ra{Status(ErrorCode::kInternal, "")}, rb = ra;
    std::barrier start(2);
    std::thread ta([&] {
      start.arrive_and_wait();
      ra = a.ingest->StoreBytes(bytes, {ingest::Origin::Kind::kImport, "a", "", ""});
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      rb = b.ingest->StoreBytes(bytes, {ingest::Origin::Kind::kImport, "b", "", ""});
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.ok()) << ra.status().ToString();
    ASSERT_TRUE(rb.ok()) << rb.status().ToString();
    const int stored = (ra->outcome == ingest::StoreOutcome::kStored) + (rb->outcome == ingest::StoreOutcome::kStored);
    const int duplicate = (ra->outcome == ingest::StoreOutcome::kAlreadyStored) +
                          (rb->outcome == ingest::StoreOutcome::kAlreadyStored);
    EXPECT_EQ(stored, 1) << files[i];
    EXPECT_EQ(duplicate, 1) << files[i];
  }
  EXPECT_EQ(a.index->Stats()->instances, 10);
  int blobs = 0;
  ASSERT_TRUE(a.blobs->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 10);  // the loser's blob was removed
}

// The index alone: the same row committed by two nodes at once, many times over.
TEST_F(PgClusterTest, ConcurrentCommitOfOneSopGivesOneRowAndOneDuplicate) {
  auto a = Index::Open(uri_), b = Index::Open(uri_);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 30; ++i) {
    auto e = index_test::MakeEntry("P1", "1.2.3", "1.2.3.4", "1.2.3.4." + std::to_string(i), "CT");
    Result<Index::CommitResult> ra{Status(ErrorCode::kInternal, "")}, rb = ra;
    std::barrier start(2);
    std::thread ta([&] { start.arrive_and_wait(); ra = a.value()->Commit(e, false); });
    std::thread tb([&] { start.arrive_and_wait(); rb = b.value()->Commit(e, false); });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.ok()) << ra.status().ToString();
    ASSERT_TRUE(rb.ok()) << rb.status().ToString();
    EXPECT_EQ((ra->outcome == Index::Outcome::kInserted) + (rb->outcome == Index::Outcome::kInserted), 1);
    EXPECT_EQ((ra->outcome == Index::Outcome::kDuplicate) + (rb->outcome == Index::Outcome::kDuplicate), 1);
  }
  EXPECT_EQ(a.value()->Stats()->instances, 30);
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT num_instances FROM series"), std::vector<int64_t>{30});
}

TEST_F(PgClusterTest, TwoNodesRoutingOneSeriesQueueOneJob) {
  ASSERT_TRUE(Index::Open(uri_).ok());
  auto a = JobStore::Open(uri_), b = JobStore::Open(uri_);
  ASSERT_TRUE(a.ok() && b.ok()) << (a.ok() ? b.status() : a.status()).ToString();
  for (int i = 0; i < 20; ++i) {
    const std::string series = "1.2.9." + std::to_string(i);
    Job job;
    job.app_id = "lung";
    job.series_uid = series;
    job.study_uid = "1.2.9";
    std::optional<int64_t> ja, jb;
    bool ca = false, cb = false;
    std::barrier start(2);
    // As Engine::Route on two nodes: the catch-up's claim, then the job unless one is active.
    auto route = [&](JobStore& store, bool* claimed, std::optional<int64_t>* id) {
      start.arrive_and_wait();
      auto c = store.ClaimRouting(series, 1000 + i);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      *claimed = c.value();
      auto r = store.EnqueueUnlessActive(job);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      *id = r.value();
    };
    std::thread ta([&] { route(*a.value(), &ca, &ja); });
    std::thread tb([&] { route(*b.value(), &cb, &jb); });
    ta.join();
    tb.join();
    EXPECT_EQ(ca + cb, 1) << series;             // one claims the catch-up routing
    EXPECT_EQ(ja.has_value() + jb.has_value(), 1) << series;  // even when both try to queue
  }
  EXPECT_EQ(radflow::testing::QueryInts(uri_, "SELECT COUNT(*) FROM ai_jobs"), std::vector<int64_t>{20});
  EXPECT_EQ(radflow::testing::QueryInts(
                uri_, "SELECT COUNT(*) FROM (SELECT series_uid FROM ai_jobs GROUP BY series_uid HAVING COUNT(*) > 1) d"),
            std::vector<int64_t>{0});
}

// A node's running jobs carry its lease: another node starting (RequeueInterrupted) or
// reconciling (ReturnToQueue) leaves them alone; when the node dies, its lease runs out and
// any node's ExpireLeases puts them back in the queue.
TEST_F(PgClusterTest, RunningJobsBelongToTheirNode) {
  ASSERT_TRUE(Index::Open(uri_).ok());
  auto a = JobStore::Open(uri_), b = JobStore::Open(uri_);
  ASSERT_TRUE(a.ok() && b.ok());
  Job job;
  job.app_id = "lung";
  job.series_uid = "1.2.9.1";
  job.max_attempts = 3;
  auto id = a.value()->Enqueue(job);
  ASSERT_TRUE(id.ok());
  const int64_t t0 = 1'000'000;
  ASSERT_TRUE(a.value()->MarkRunning(id.value(), t0, "node:a", 60000).value());
  auto state = [&] { return JobStateName(b.value()->Get(id.value()).value()->state); };
  EXPECT_EQ(b.value()->RequeueInterrupted(t0 + 1, "node:b").value(), 0);
  EXPECT_TRUE(b.value()->ReturnToQueue(id.value(), "not node b's", "node:b").ok());
  EXPECT_STREQ(state(), "running");
  ASSERT_TRUE(a.value()->RenewNodeLeases("node:a", t0 + 50000, 60000).ok());
  EXPECT_TRUE(b.value()->ExpireLeases(t0 + 100000).value().empty());  // renewed to t0 + 110 s
  EXPECT_STREQ(state(), "running");
  // Node A died: no renewal; past its lease, B's sweep re-queues the job (its attempt kept).
  EXPECT_EQ(b.value()->ExpireLeases(t0 + 120000).value(), std::vector<int64_t>{id.value()});
  EXPECT_STREQ(state(), "queued");
  // A restarted node re-queues its own interrupted jobs at once.
  ASSERT_TRUE(b.value()->MarkRunning(id.value(), t0 + 130000, "node:b", 60000).value());
  // Node A only stalled: its late end does not finish the job that B runs now.
  EXPECT_EQ(a.value()->MarkSucceeded(id.value(), t0 + 130500, "late", "[]", "node:a").code(), ErrorCode::kConflict);
  EXPECT_EQ(a.value()->MarkFailed(id.value(), t0 + 130500, "late", std::nullopt, "node:a").code(),
            ErrorCode::kConflict);
  EXPECT_STREQ(state(), "running");
  EXPECT_EQ(b.value()->RequeueInterrupted(t0 + 131000, "node:b").value(), 1);
  EXPECT_STREQ(state(), "queued");
}

}  // namespace radflow::storage
