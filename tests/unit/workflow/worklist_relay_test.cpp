// The worklist's event feed relayed between nodes (issue 15; docs/postgresql.md "Several
// nodes: events and stability"): a change published on node A reaches the SSE feed of node
// B, is not echoed back to A, and is not relayed again by B. On the in-process bus and on
// PostgreSQL's LISTEN/NOTIFY.
#include <gtest/gtest.h>

#include "storage/cluster_bus.h"
#include "support/store_backend.h"
#include "workflow/worklist_service.h"

namespace radflow::workflow {

namespace {

// Two nodes' buses on one index.
struct Pair {
  std::unique_ptr<storage::ClusterBus> a, b;
};

Pair Buses(storage::Backend backend) {
  Pair p;
  if (backend == storage::Backend::kSqlite) {
    auto exchange = std::make_shared<storage::LocalExchange>();
    p.a = storage::NewLocalBus(exchange, "node-a");
    p.b = storage::NewLocalBus(exchange, "node-b");
    return p;
  }
  const std::string uri = radflow::testing::NewEmptyLocation(backend, "");
  if (uri.empty()) return p;
  auto a = storage::OpenClusterBus(uri, "node-a"), b = storage::OpenClusterBus(uri, "node-b");
  EXPECT_TRUE(a.ok() && b.ok());
  if (a.ok() && b.ok()) {
    p.a = std::move(a.value());
    p.b = std::move(b.value());
  }
  return p;
}

class WorklistRelayTest : public ::testing::TestWithParam<storage::Backend> {};

}  // namespace

TEST_P(WorklistRelayTest, ChangesReachTheOtherNodeOnce) {
  Pair buses = Buses(GetParam());
  ASSERT_TRUE(buses.a && buses.b);
  EventFeed at_a, at_b;
  ASSERT_TRUE(RelayOverBus(at_a, *buses.a).ok());
  ASSERT_TRUE(RelayOverBus(at_b, *buses.b).ok());

  at_a.Publish("1.2.3", "claimed");  // a reader claims the study on node A
  auto seen_b = at_b.Wait(0, 10000);
  ASSERT_EQ(seen_b.size(), 1u);
  EXPECT_EQ(seen_b[0].study_uid, "1.2.3");
  EXPECT_EQ(seen_b[0].reason, "claimed");
  auto seen_a = at_a.Wait(0, 0);
  ASSERT_EQ(seen_a.size(), 1u);  // A's own, once: B did not send it back

  const uint64_t a_before = at_a.Last();  // before: the in-process bus delivers at once
  at_b.Publish("1.2.4", "released");
  auto back_at_a = at_a.Wait(a_before, 10000);
  ASSERT_EQ(back_at_a.size(), 1u);
  EXPECT_EQ(back_at_a[0].study_uid, "1.2.4");
  EXPECT_EQ(back_at_a[0].reason, "released");
  // Each feed holds exactly both events: nothing relayed twice.
  EXPECT_EQ(at_a.Last(), 2u);
  EXPECT_EQ(at_b.Last(), 2u);
  at_a.SetRelay(nullptr);
  at_b.SetRelay(nullptr);
  buses.a->Stop();
  buses.b->Stop();
}

TEST_P(WorklistRelayTest, ForeignPayloadsAreIgnored) {
  Pair buses = Buses(GetParam());
  ASSERT_TRUE(buses.a && buses.b);
  EventFeed at_b;
  ASSERT_TRUE(RelayOverBus(at_b, *buses.b).ok());
  ASSERT_TRUE(buses.a->Publish(kWorklistChannel, "not json").ok());
  ASSERT_TRUE(buses.a->Publish(kWorklistChannel, R"({"study":7})").ok());
  ASSERT_TRUE(buses.a->Publish(kWorklistChannel, R"({"study":"1.2.5","reason":"state"})").ok());
  // Messages from one sender arrive in order: the good one last.
  auto seen = at_b.Wait(0, 10000);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].study_uid, "1.2.5");
  at_b.SetRelay(nullptr);
  buses.b->Stop();
}

INSTANTIATE_TEST_SUITE_P(Backends, WorklistRelayTest,
                         ::testing::Values(storage::Backend::kSqlite, storage::Backend::kPostgres),
                         radflow::testing::BackendName);

}  // namespace radflow::workflow
