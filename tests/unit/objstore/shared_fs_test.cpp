// A blob root that several nodes share (an NFS mount in a hospital): two BlobStore
// instances on one root stand for two nodes. What they must see of each other, and what
// the stale-temporary sweep at Open does to the other's in-flight files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "objstore/blob_backend.h"
#include "objstore/object_blob_store.h"
#include "storage/blob_store.h"

namespace fs = std::filesystem;

namespace radflow::objstore {
namespace {

struct Root {
  fs::path dir;
  Root() {
    dir = fs::temp_directory_path() / ("radflow-shared-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir);
  }
  ~Root() { fs::remove_all(dir); }
};

std::set<std::string> Listed(const storage::BlobStore& s) {
  std::set<std::string> out;
  EXPECT_TRUE(s.ForEach([&](const std::string& rel, uint64_t) { out.insert(rel); }).ok());
  return out;
}

TEST(SharedRoot, TwoNodesSeeEachOthersCommittedBlobs) {
  Root root;
  auto a = storage::BlobStore::Open(root.dir.string(), false);
  auto b = storage::BlobStore::Open(root.dir.string(), false);
  ASSERT_TRUE(a.ok() && b.ok());
  auto from_a = a->Commit(a->WriteTemp("stored on node A").value());
  auto from_b = b->Commit(b->WriteTemp("stored on node B").value());
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  EXPECT_EQ(b->Read(from_a.value()).value(), "stored on node A");
  EXPECT_EQ(a->Read(from_b.value()).value(), "stored on node B");
  EXPECT_EQ(Listed(*a), Listed(*b));
  EXPECT_EQ(Listed(*a).size(), 2u);
  // One node removes, the other no longer finds it.
  ASSERT_TRUE(b->Remove(from_a.value()).ok());
  EXPECT_EQ(a->Read(from_a.value()).status().code(), ErrorCode::kNotFound);
  // Through the interface the readers use: an error, never a path to a missing file.
  const storage::BlobStore& blobs_a = a.value();
  EXPECT_EQ(blobs_a.Read(from_b.value()).value(), "stored on node B");
  EXPECT_EQ(blobs_a.LocalPath(from_a.value()).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(blobs_a.Size(from_a.value()).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(blobs_a.Size(from_b.value()).value(), 16u);
}

TEST(SharedRoot, OpeningWithoutTheSweepKeepsTheOtherNodesNamedTemps) {
  Root root;
  auto a = storage::BlobStore::Open(root.dir.string(), false);
  ASSERT_TRUE(a.ok());
  auto in_flight = a->WriteTemp("half of a C-STORE");
  ASSERT_TRUE(in_flight.ok());
  auto b = storage::BlobStore::Open(root.dir.string(), /*remove_stale_temp=*/false);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(fs::exists(in_flight.value()));
  EXPECT_TRUE(a->Commit(in_flight.value()).ok());
}

TEST(SharedRoot, UnnamedTempsSurviveTheOtherNodesSweep) {
  Root root;
  auto a = storage::BlobStore::Open(root.dir.string(), false);
  ASSERT_TRUE(a.ok());
  const std::string temp = a->NewUnnamedTemp();
  if (!storage::BlobStore::IsUnnamedTemp(temp)) GTEST_SKIP() << "no O_TMPFILE on this filesystem (NFS has none)";
  { std::ofstream(temp, std::ios::binary) << "in flight, without a name"; }
  // An O_TMPFILE file has no directory entry for the sweep to find.
  auto b = storage::BlobStore::Open(root.dir.string(), /*remove_stale_temp=*/true);
  ASSERT_TRUE(b.ok());
  auto rel = a->Commit(temp);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(b->Read(rel.value()).value(), "in flight, without a name");
  storage::BlobStore::DiscardTemp(temp);
}

// On a shared root each node has its own temporary folder, root/tmp/<node id>/ (NFS has no
// O_TMPFILE, so all of them are named files there): the start-up sweep of one node removes
// its own leftovers and leaves another node's in-flight files alone.
TEST(SharedRoot, TheSweepSparesAnotherNodesNamedTemps) {
  Root root;
  auto a = storage::BlobStore::Open(root.dir.string(), false, "node-a");
  ASSERT_TRUE(a.ok());
  auto in_flight = a->WriteTemp("half of a C-STORE");
  ASSERT_TRUE(in_flight.ok());
  EXPECT_EQ(fs::path(in_flight.value()).parent_path(), root.dir / "tmp" / "node-a");
  auto b = storage::BlobStore::Open(root.dir.string(), /*remove_stale_temp=*/true, "node-b");
  ASSERT_TRUE(b.ok());
  auto b_leftover = b->WriteTemp("node B's own leftover");
  ASSERT_TRUE(b_leftover.ok());
  // Node B restarts: its own leftover goes, node A's in-flight file stays and commits.
  auto b_again = storage::BlobStore::Open(root.dir.string(), /*remove_stale_temp=*/true, "node-b");
  ASSERT_TRUE(b_again.ok());
  EXPECT_FALSE(fs::exists(b_leftover.value()));
  EXPECT_TRUE(fs::exists(in_flight.value()));
  auto rel = a->Commit(in_flight.value());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(b_again->Read(rel.value()).value(), "half of a C-STORE");
  // A root opened without a node id (DATA/blobs) sweeps root/tmp's files only, never the
  // node folders in it.
  auto in_flight2 = a->WriteTemp("another");
  auto local = storage::BlobStore::Open(root.dir.string(), /*remove_stale_temp=*/true);
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(fs::exists(in_flight2.value()));
  // The node folders are not blobs.
  EXPECT_EQ(Listed(*local).size(), 1u);
}

TEST(SharedRoot, ANodeOnASharedRootUsesNamedTempsAndIsShared) {
  Root root;
  auto shared = storage::BlobStore::Open(root.dir.string(), false, "node-a");
  ASSERT_TRUE(shared.ok());
  EXPECT_TRUE(shared->Shared());
  const std::string temp = shared->NewUnnamedTemp();
  EXPECT_FALSE(storage::BlobStore::IsUnnamedTemp(temp));  // linked before its row commits
  EXPECT_EQ(shared->TempDir(), (root.dir / "tmp" / "node-a").string());
  auto local = storage::BlobStore::Open(root.dir.string(), false);
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->Shared());
}

TEST(SharedRoot, ANodeIdMustBeAFolderName) {
  Root root;
  for (const char* bad : {"..", "a/b", "node a", "."}) {
    auto opened = storage::BlobStore::Open(root.dir.string(), false, bad);
    ASSERT_FALSE(opened.ok()) << bad;
    EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(SharedRoot, OpenBlobStorePicksTheFolderBackend) {
  Root root;
  StorageLocation where;
  where.data_dir = (root.dir / "data").string();
  where.owner = true;
  auto local = OpenBlobStore(where);  // "" → DATA/blobs, this node's alone
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_FALSE(local.value()->Shared());
  EXPECT_EQ(local.value()->Describe(), "file:" + (root.dir / "data" / "blobs").string());
  where.storage = (root.dir / "shared").string();
  EXPECT_EQ(OpenBlobStore(where).status().code(), ErrorCode::kInvalidArgument);  // no node id
  where.node_id = "n1";
  auto shared = OpenBlobStore(where);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_TRUE(shared.value()->Shared());
  EXPECT_TRUE(fs::is_directory(root.dir / "shared" / "tmp" / "n1"));
  where.storage = "s3://";
  EXPECT_FALSE(OpenBlobStore(where).ok());  // no bucket: refused with a reason
}

TEST(SharedRoot, CheckAcceptsALocalRootAndRefusesATmpOnAnotherFilesystem) {
  Root root;
  auto store = storage::BlobStore::Open(root.dir.string(), false);
  ASSERT_TRUE(store.ok());
  auto report = CheckSharedRoot(store->root());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->filesystem.empty());

  // root/tmp on another filesystem (a symlink to /dev/shm, a tmpfs): rename would fail EXDEV.
  Root other_root;
  fs::create_directories(other_root.dir / "blobs");
  const fs::path elsewhere = fs::path("/dev/shm") / ("radflow-tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(elsewhere, ec);
  struct stat s1 {}, s2 {};
  if (ec || ::stat(elsewhere.c_str(), &s1) != 0 || ::stat(other_root.dir.c_str(), &s2) != 0 ||
      s1.st_dev == s2.st_dev) {
    GTEST_SKIP() << "no second filesystem to put tmp/ on";
  }
  fs::create_directory_symlink(elsewhere, other_root.dir / "blobs" / "tmp");
  auto bad = CheckSharedRoot((other_root.dir / "blobs").string());
  fs::remove_all(elsewhere);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("EXDEV"), std::string::npos);
}

}  // namespace
}  // namespace radflow::objstore
