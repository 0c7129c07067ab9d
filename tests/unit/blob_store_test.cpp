#include "storage/blob_store.h"

#include <gtest/gtest.h>

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

}  // namespace radflow::storage
