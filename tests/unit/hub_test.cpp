#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "server/hub.h"
#include "server/server.h"
#include "test_data.h"

namespace radflow::server {

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

// A row whose blob never became durable (the crash window of the overlapped store) is
// removed by the start-up recovery; rows with their blob are kept.
TEST(Hub, OpenRemovesRowsOfInterruptedStores) {
  radflow::testing::ScratchDir dir;
  auto files = radflow::testing::ChestCtFiles();
  std::string lost_blob, lost_uid;
  {
    auto hub = Hub::Open(dir.str());
    ASSERT_TRUE(hub.ok()) << hub.status().ToString();
    for (int i = 0; i < 3; ++i) {
      auto r = hub.value()->ingest->StoreBytes(ReadFile(files[i]), {});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      lost_uid = r->sop_instance_uid;
    }
    lost_blob = hub.value()->index->FindInstance(lost_uid).value()->blob_path;
  }
  std::filesystem::remove(dir.str() + "/blobs/" + lost_blob);
  auto hub = Hub::Open(dir.str());
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub.value()->index->Stats()->instances, 3);  // Open alone changes nothing
  auto removed = RecoverInterruptedStores(*hub.value());
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed.value(), 1);
  EXPECT_EQ(hub.value()->index->Stats()->instances, 2);
  EXPECT_FALSE(hub.value()->index->FindInstance(lost_uid).value().has_value());
  auto report = CheckConsistency(*hub.value(), false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
}

// --index: "" is DATA/index.db; anything else (a file, a postgresql:// URI) is used as given,
// and the hub opens its index there, not in the data directory.
TEST(Hub, IndexLocationDefaultsToTheDataDirectory) {
  EXPECT_EQ(IndexLocation("/srv/radflow", ""), "/srv/radflow/index.db");
  EXPECT_EQ(IndexLocation("/srv/radflow", "postgresql://radflow@db/radflow"), "postgresql://radflow@db/radflow");
  ServerConfig config;
  config.data_dir = "/d";
  EXPECT_EQ(IndexLocation(config), "/d/index.db");
  radflow::testing::ScratchDir dir, elsewhere;
  const std::string index = elsewhere.str() + "/shared-index.db";
  auto hub = Hub::Open(dir.str(), {}, false, index);
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  EXPECT_EQ(hub.value()->index_location, index);
  EXPECT_TRUE(std::filesystem::exists(index));
  EXPECT_FALSE(std::filesystem::exists(dir.str() + "/index.db"));
}

TEST(Hub, CheckFindsAndRepairsBothKindsOfInconsistency) {
  radflow::testing::ScratchDir dir;
  auto files = radflow::testing::ChestCtFiles();
  auto hub = Hub::Open(dir.str());
  ASSERT_TRUE(hub.ok());
  Hub& h = *hub.value();
  std::vector<std::string> uids;
  for (int i = 0; i < 3; ++i) uids.push_back(h.ingest->StoreBytes(ReadFile(files[i]), {})->sop_instance_uid);
  // A row without its blob, and a blob without its row (a valid instance, and garbage).
  std::filesystem::remove(h.blobs->LocalPath(h.index->FindInstance(uids[0]).value()->blob_path).value());
  auto orphan = h.blobs->Commit(h.blobs->WriteTemp(ReadFile(files[5])).value());
  auto garbage = h.blobs->Commit(h.blobs->WriteTemp("not dicom").value());
  ASSERT_TRUE(orphan.ok() && garbage.ok());

  // DATA/blobs is this node's alone: even a just-written orphan is reported.
  auto report = CheckConsistency(h, false);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems.size(), 3u);
  EXPECT_TRUE(report->notes.empty());
  int orphans = 0;
  for (const auto& p : report->problems) orphans += p.rfind("orphan (an interrupted store, never acknowledged): ", 0) == 0;
  EXPECT_EQ(orphans, 2);
  auto repaired = CheckConsistency(h, true);
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(repaired->repairs.size(), 3u);
  auto after = CheckConsistency(h, false);
  EXPECT_TRUE(after->problems.empty());
  EXPECT_EQ(h.index->Stats()->instances, 3);  // 2 kept + the re-indexed orphan
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/quarantine"));
}

// A shared folder (--storage DIR): the node's temporary files in DIR/tmp/<node id>/, the
// blob durable before its row, and no start-up recovery that could remove another node's rows.
TEST(Hub, SharedFolderStorageStoresBlobFirstAndRecoversNothing) {
  radflow::testing::ScratchDir data_a, data_b, shared;
  auto files = radflow::testing::ChestCtFiles();
  const std::string index = shared.str() + "/index.db";
  auto a = Hub::Open(data_a.str(), {}, true, index, {shared.str() + "/blobs", "", "node-a"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Hub::Open(data_b.str(), {}, true, index, {shared.str() + "/blobs", "", "node-b"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(a.value()->blobs->Shared());
  EXPECT_EQ(a.value()->blobs->TempDir(), shared.str() + "/blobs/tmp/node-a");
  EXPECT_FALSE(std::filesystem::exists(data_a.str() + "/blobs"));  // nothing node-local
  std::vector<std::string> uids;
  for (int i = 0; i < 3; ++i) {
    auto r = a.value()->ingest->StoreBytes(ReadFile(files[i]), {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    uids.push_back(r->sop_instance_uid);
  }
  // The fast path (an announced, unknown UID): blob first, then row.
  auto fast = a.value()->ingest->Store(a.value()->blobs->WriteTemp(ReadFile(files[3])).value(),
                                       {ingest::Origin::Kind::kDimse, "test", "1.2.3.4.5.6", ""});
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->outcome, ingest::StoreOutcome::kStored);
  // The same bytes again under an unknown announcement: a duplicate found after the sync,
  // which leaves no second blob behind.
  auto again = a.value()->ingest->Store(a.value()->blobs->WriteTemp(ReadFile(files[3])).value(),
                                        {ingest::Origin::Kind::kDimse, "test", "1.2.3.4.5.7", ""});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->outcome, ingest::StoreOutcome::kAlreadyStored);
  int blobs = 0;
  ASSERT_TRUE(b.value()->blobs->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 4);
  EXPECT_TRUE(std::filesystem::is_empty(shared.str() + "/blobs/tmp/node-a"));
  // Node B reads what node A stored.
  auto loc = b.value()->index->FindInstance(uids[1]).value();
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(b.value()->blobs->Read(loc->blob_path).value(), ReadFile(files[1]));
  // A row whose blob node B cannot see is not B's to remove.
  std::filesystem::remove(shared.str() + "/blobs/" + loc->blob_path);
  EXPECT_EQ(RecoverInterruptedStores(*b.value()).value(), 0);
  EXPECT_EQ(b.value()->index->Stats()->instances, 4);
  // A blob without a row: just written, another node's store in flight (a note); a minute
  // later, the orphan of an interrupted store.
  auto orphan = a.value()->blobs->Commit(a.value()->blobs->WriteTemp(ReadFile(files[5])).value());
  ASSERT_TRUE(orphan.ok());
  auto report = CheckConsistency(*b.value(), false);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("missing blob for instance " + uids[1]), std::string::npos);
  ASSERT_EQ(report->notes.size(), 1u);
  EXPECT_NE(report->notes[0].find("1 blob(s) younger than a minute"), std::string::npos) << report->notes[0];
  std::filesystem::last_write_time(b.value()->blobs->LocalPath(orphan.value()).value(),
                                   std::filesystem::file_time_type::clock::now() - std::chrono::minutes(2));
  report = CheckConsistency(*b.value(), false);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 2u);
  EXPECT_TRUE(report->notes.empty());
  EXPECT_EQ(std::count(report->problems.begin(), report->problems.end(),
                       "orphan (an interrupted store, never acknowledged): " + orphan.value()), 1);
  auto repaired = CheckConsistency(*b.value(), true);
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(repaired->repairs.size(), 2u);
  EXPECT_TRUE(CheckConsistency(*b.value(), false)->problems.empty());
  EXPECT_EQ(b.value()->index->Stats()->instances, 4);  // one row gone, the orphan indexed
}

TEST(Hub, NodeIdIsStableAndNamesTheDataDirectory) {
  const std::string one = ResolveNodeId("", "/srv/radflow-a");
  EXPECT_EQ(one, ResolveNodeId("", "/srv/radflow-a/"));
  EXPECT_NE(one, ResolveNodeId("", "/srv/radflow-b"));
  EXPECT_EQ(one.size() - one.rfind('-'), 9u);  // "-" + 8 hex digits
  EXPECT_EQ(ResolveNodeId("ward-3", "/srv/radflow-a"), "ward-3");
  ServerConfig config;
  config.data_dir = "/srv/radflow-a";
  EXPECT_EQ(ResolveNodeId(config), one);
  // A name that cannot be a folder is refused when the store opens, with the reason.
  radflow::testing::ScratchDir data, shared;
  auto bad = Hub::Open(data.str(), {}, false, "", {shared.str(), "", "../x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("node id"), std::string::npos);
  // An endpoint is for an s3:// storage only.
  for (const std::string& storage : {std::string(), shared.str()}) {
    auto endpoint_only = Hub::Open(data.str(), {}, false, "", {storage, "http://127.0.0.1:9000", ""});
    ASSERT_FALSE(endpoint_only.ok()) << storage;
    EXPECT_NE(endpoint_only.status().message().find("--s3-endpoint needs --storage s3://"), std::string::npos);
  }
}

}  // namespace radflow::server
