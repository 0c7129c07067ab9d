#include "storage/blob_store.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "test_data.h"

namespace radflow::storage {

TEST(BlobStore, CommitMakesADurableUniqueBlob) {
  radflow::testing::ScratchDir dir;
  auto store = BlobStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  auto temp = store->WriteTemp("hello");
  ASSERT_TRUE(temp.ok());
  auto rel = store->Commit(temp.value());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(temp.value()));
  EXPECT_EQ(store->Read(rel.value()).value(), "hello");

  auto temp2 = store->WriteTemp("hello");
  auto rel2 = store->Commit(temp2.value());
  EXPECT_NE(rel.value(), rel2.value());  // same content, distinct blobs
  EXPECT_TRUE(BlobStore::SameContent(store->AbsolutePath(rel.value()),
                                     store->AbsolutePath(rel2.value())).value());

  int count = 0;
  ASSERT_TRUE(store->ForEach([&](const std::string&, uint64_t size) {
    EXPECT_EQ(size, 5u);
    ++count;
  }).ok());
  EXPECT_EQ(count, 2);
  ASSERT_TRUE(store->Remove(rel.value()).ok());
  EXPECT_FALSE(store->Read(rel.value()).ok());
}

TEST(BlobStore, StaleTemporaryFilesAreRemovedOnOpen) {
  radflow::testing::ScratchDir dir;
  std::string stale;
  {
    auto store = BlobStore::Open(dir.str());
    stale = store->WriteTemp("partial").value();
  }
  ASSERT_TRUE(std::filesystem::exists(stale));
  auto reopened = BlobStore::Open(dir.str());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(std::filesystem::exists(stale));
}

namespace {
int CountEntries(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}
int CountOpenFds() { return CountEntries("/proc/self/fd"); }
void WriteThroughPath(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");  // as DCMTK's file stream opens it
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  ASSERT_EQ(std::fclose(f), 0);
}
}  // namespace

TEST(BlobStore, UnnamedTemporaryIsLinkedIntoPlaceAndLeavesNothingBehind) {
  radflow::testing::ScratchDir dir;
  auto store = BlobStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  const int fds = CountOpenFds();
  const std::string temp = store->NewUnnamedTemp();
  ASSERT_TRUE(BlobStore::IsUnnamedTemp(temp)) << "no O_TMPFILE on " << dir.str();
  WriteThroughPath(temp, "unnamed");
  EXPECT_EQ(CountEntries(dir.str() + "/tmp"), 0);  // no directory entry while written
  auto rel = store->Commit(temp);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  BlobStore::DiscardTemp(temp);
  EXPECT_EQ(store->Read(rel.value()).value(), "unnamed");
  EXPECT_EQ(CountOpenFds(), fds);  // the descriptor is given back

  // Given up instead of committed (a transfer cut short): nothing remains.
  const std::string dropped = store->NewUnnamedTemp();
  WriteThroughPath(dropped, "partial");
  BlobStore::DiscardTemp(dropped);
  EXPECT_EQ(CountEntries(dir.str() + "/tmp"), 0);
  EXPECT_EQ(CountOpenFds(), fds);
  int blobs = 0;
  ASSERT_TRUE(store->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 1);
}

// Only what NewUnnamedTemp handed out is an unnamed temporary: another /proc path (an AI
// worker names its own results) never makes DiscardTemp close a descriptor it does not own.
TEST(BlobStore, OnlyHandedOutDescriptorsAreUnnamedTemporaries) {
  radflow::testing::ScratchDir dir;
  auto store = BlobStore::Open(dir.str());
  ASSERT_TRUE(store.ok());
  const std::string file = dir.str() + "/other";
  WriteThroughPath(file, "x");
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string as_proc = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_FALSE(BlobStore::IsUnnamedTemp(as_proc));
  EXPECT_FALSE(BlobStore::IsUnnamedTemp(as_proc + "/../x"));
  BlobStore::DiscardTemp(as_proc);  // a named path: unlink, which /proc refuses
  EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC) << "descriptor was closed";
  ::close(fd);

  const std::string temp = store->NewUnnamedTemp();
  ASSERT_TRUE(BlobStore::IsUnnamedTemp(temp));
  BlobStore::DiscardTemp(temp);
  EXPECT_FALSE(BlobStore::IsUnnamedTemp(temp));  // given up: the number may be reused
}

TEST(BlobStore, SameContentDetectsDifferences) {
  radflow::testing::ScratchDir dir;
  auto store = BlobStore::Open(dir.str());
  auto a = store->WriteTemp("abcdef").value();
  auto b = store->WriteTemp("abcdeg").value();
  auto c = store->WriteTemp("abc").value();
  EXPECT_FALSE(BlobStore::SameContent(a, b).value());
  EXPECT_FALSE(BlobStore::SameContent(a, c).value());
  EXPECT_TRUE(BlobStore::SameContent(a, a).value());
}

// What every reader goes through (the interface, as the modules hold it): a local path or
// an error naming the blob, never a path to a missing file; sizes and listing ages for
// `radflow check`.
TEST(BlobStore, ReadersGetAPathOrAnError) {
  radflow::testing::ScratchDir dir;
  auto opened = BlobStore::Open(dir.str());
  ASSERT_TRUE(opened.ok());
  const BlobStore& store = opened.value();
  auto rel = store.Commit(store.WriteTemp("twelve bytes").value());
  ASSERT_TRUE(rel.ok());
  auto path = store.LocalPath(rel.value());
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path.value(), dir.str() + "/" + rel.value());
  EXPECT_EQ(store.Size(rel.value()).value(), 12u);
  auto missing = store.LocalPath("00/not-there.dcm");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("00/not-there.dcm"), std::string::npos);
  EXPECT_EQ(store.Size("00/not-there.dcm").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store.Read("00/not-there.dcm").status().code(), ErrorCode::kNotFound);
  int listed = 0;
  ASSERT_TRUE(store.List([&](const BlobEntry& e) {
    ++listed;
    EXPECT_EQ(e.relative, rel.value());
    EXPECT_EQ(e.size, 12u);
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - e.modified), std::chrono::minutes(1));
  }).ok());
  EXPECT_EQ(listed, 1);
  EXPECT_FALSE(store.Shared());  // DATA/blobs: the single-node order (row, then link)
  EXPECT_EQ(store.TempDir(), dir.str() + "/tmp");
  EXPECT_EQ(std::filesystem::path(store.NewTempPath()).parent_path().string(), store.TempDir());
}

}  // namespace radflow::storage
