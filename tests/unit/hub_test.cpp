#include <gtest/gtest.h>

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
  std::filesystem::remove(h.blobs->AbsolutePath(h.index->FindInstance(uids[0]).value()->blob_path));
  auto orphan = h.blobs->Commit(h.blobs->WriteTemp(ReadFile(files[5])).value());
  auto garbage = h.blobs->Commit(h.blobs->WriteTemp("not dicom").value());
  ASSERT_TRUE(orphan.ok() && garbage.ok());

  auto report = CheckConsistency(h, false);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems.size(), 3u);
  auto repaired = CheckConsistency(h, true);
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(repaired->repairs.size(), 3u);
  auto after = CheckConsistency(h, false);
  EXPECT_TRUE(after->problems.empty());
  EXPECT_EQ(h.index->Stats()->instances, 3);  // 2 kept + the re-indexed orphan
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/quarantine"));
}

}  // namespace radflow::server
