// The S3 client and ObjectBlobStore against a real S3-compatible server. Skipped unless
// RADFLOW_S3_TEST_ENDPOINT is set: tests/integration/test_s3_storage.py starts s3rver behind
// its verifying front (s3_front.py), prepares objects with boto3, runs these tests, and
// reads back with boto3 what they wrote.
//   RADFLOW_S3_TEST_ENDPOINT  http://127.0.0.1:PORT (the front)
//   RADFLOW_S3_TEST_BUCKET    the bucket
//   RADFLOW_S3_TEST_WORK      a folder with the input files, for the output files
//   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY  the front's key
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "objstore/object_blob_store.h"
#include "objstore/s3_client.h"

namespace fs = std::filesystem;

namespace radflow::objstore {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class S3Live : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("RADFLOW_S3_TEST_ENDPOINT").empty()) GTEST_SKIP() << "no S3 server (RADFLOW_S3_TEST_ENDPOINT)";
    work_ = Env("RADFLOW_S3_TEST_WORK");
  }
  S3Config Config() const {
    S3Config c;
    c.endpoint = Env("RADFLOW_S3_TEST_ENDPOINT");
    c.bucket = Env("RADFLOW_S3_TEST_BUCKET");
    auto creds = S3Credentials::FromEnvironment();
    EXPECT_TRUE(creds.ok()) << creds.status().ToString();
    if (creds.ok()) c.credentials = creds.value();
    // Small enough that the test's 11 MiB object goes multipart in three parts; S3's
    // minimum part size (5 MiB, all parts but the last) is kept so that a strict server
    // would take the same upload.
    c.multipart_threshold = 5ull << 20;
    c.part_size = 5ull << 20;
    c.max_attempts = 2;
    c.initial_backoff_ms = 10;
    return c;
  }
  std::string In(const std::string& name) const { return work_ + "/" + name; }
  std::string work_;
};

TEST_F(S3Live, PutsSmallAndMultipartObjects) {
  S3Client s3(Config());
  // boto3 reads these back byte for byte (test_s3_storage.py).
  ASSERT_TRUE(s3.PutFile("radflow/small.bin", In("small.bin")).ok());
  Status multi = s3.PutFile("radflow/multi.bin", In("multi.bin"));
  ASSERT_TRUE(multi.ok()) << multi.ToString();
  auto head = s3.Head("radflow/multi.bin");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, fs::file_size(In("multi.bin")));
  // A key that needs encoding in the path (space, '$', '+', UTF-8), signed as S3 wants it.
  ASSERT_TRUE(s3.PutBytes("radflow/odd name $+\xc3\xa9.txt", "odd").ok());
  EXPECT_EQ(s3.GetBytes("radflow/odd name $+\xc3\xa9.txt").value(), "odd");
}

TEST_F(S3Live, ReadsWhatBoto3WroteWholeAndByRange) {
  S3Client s3(Config());
  const std::string out = In("boto-read.bin");
  Status st = s3.GetToFile("boto/written.bin", out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string expected = Slurp(In("boto-written.bin"));
  EXPECT_EQ(Slurp(out), expected);
  // A frame range: bytes [1000, 1000 + 4096).
  ASSERT_TRUE(s3.GetToFile("boto/written.bin", out, ByteRange{1000, 4096}).ok());
  EXPECT_EQ(Slurp(out), expected.substr(1000, 4096));
  auto bytes = s3.GetBytes("boto/written.bin", ByteRange{expected.size() - 10, 10});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes.value(), expected.substr(expected.size() - 10));
}

TEST_F(S3Live, NamesTheS3ErrorAndMapsIt) {
  S3Client s3(Config());
  auto missing = s3.GetBytes("radflow/no-such-key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("NoSuchKey"), std::string::npos) << missing.status().message();
  EXPECT_EQ(s3.Head("radflow/no-such-key").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s3.GetToFile("radflow/no-such-key", In("nothing.bin")).code(), ErrorCode::kNotFound);

  S3Config wrong = Config();
  wrong.credentials.secret_key += "x";
  S3Client bad(wrong);
  Status put = bad.PutBytes("radflow/never.bin", "never");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.message();
  EXPECT_EQ(s3.Head("radflow/never.bin").status().code(), ErrorCode::kNotFound);

  S3Config nobody = Config();
  nobody.credentials.access_key = "NOSUCHKEYID";
  Status unknown = S3Client(nobody).ListPage("");
  EXPECT_NE(unknown.message().find("InvalidAccessKeyId"), std::string::npos) << unknown.message();
}

TEST_F(S3Live, RetriesSlowDownWithBackoffThenGivesUp) {
  S3Config c = Config();
  c.max_attempts = 4;
  S3Client s3(c);
  // The front answers the first two PUTs of flaky.bin 503 SlowDown, every one of down.bin.
  const auto start = std::chrono::steady_clock::now();
  Status st = s3.PutBytes("radflow/flaky.bin", "third time");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(10 + 20));  // two backoffs
  Status down = s3.PutBytes("radflow/down.bin", "never");
  EXPECT_EQ(down.code(), ErrorCode::kUnavailable);
  EXPECT_NE(down.message().find("SlowDown"), std::string::npos) << down.message();
  // A missing bucket is named at start-up.
  S3Config nobucket = Config();
  nobucket.bucket = "no-such-bucket";
  ObjectBlobStoreOptions options;
  options.temp_dir = work_ + "/nb/tmp";
  options.cache_dir = work_ + "/nb/cache";
  auto open = ObjectBlobStore::Open(nobucket, "", options);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(open.status().message().find("NoSuchBucket"), std::string::npos) << open.status().message();
}

TEST_F(S3Live, ListsPastOnePage) {
  S3Client s3(Config());
  std::vector<std::string> keys;
  Status st = s3.List("list/", [&](const ObjectInfo& o) { keys.push_back(o.key); }, /*max_keys=*/2);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(keys.size(), 7u);  // boto3 wrote list/00 … list/06: four pages of two
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(keys[i], "list/0" + std::to_string(i));
}

TEST_F(S3Live, AFailedMultipartUploadIsAbortedAndLeavesNothing) {
  S3Client s3(Config());
  size_t open_uploads_during = 0;
  s3.fault_injection = [&](const std::string& step) {
    if (step != "UploadPart 2") return Status::Ok();
    auto open = s3.ListMultipartUploads("radflow/failed");
    open_uploads_during = open.ok() ? open->size() : 0;
    return Status(ErrorCode::kUnavailable, "injected: the connection dropped");
  };
  Status st = s3.PutFile("radflow/failed.bin", In("multi.bin"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("injected"), std::string::npos);
  EXPECT_EQ(open_uploads_during, 1u);  // the upload existed, with part 1 in it
  auto left = s3.ListMultipartUploads("radflow/failed");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_TRUE(left->empty());
  EXPECT_EQ(s3.Head("radflow/failed.bin").status().code(), ErrorCode::kNotFound);
  // Aborting an upload that is gone names NoSuchUpload.
  Status again = s3.AbortMultipartUpload("radflow/failed.bin", "no-such-upload");
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  EXPECT_NE(again.message().find("NoSuchUpload"), std::string::npos);
}

TEST_F(S3Live, DeletesAndVirtualHostedAddressingWorks) {
  S3Client s3(Config());
  ASSERT_TRUE(s3.PutBytes("radflow/delete-me.bin", "x").ok());
  ASSERT_TRUE(s3.Delete("radflow/delete-me.bin").ok());
  EXPECT_EQ(s3.Head("radflow/delete-me.bin").status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(s3.Delete("radflow/delete-me.bin").ok());  // gone already: still Ok

  // BUCKET.s3.localhost:PORT (curl resolves *.localhost to the loopback itself).
  S3Config vhost = Config();
  vhost.path_style = false;
  vhost.endpoint = "http://s3.localhost:" + vhost.endpoint.substr(vhost.endpoint.rfind(':') + 1);
  S3Client v(vhost);
  Status put = v.PutBytes("radflow/vhost.bin", "virtual-hosted");
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_EQ(s3.GetBytes("radflow/vhost.bin").value(), "virtual-hosted");
}

TEST_F(S3Live, ObjectBlobStoreCommitsReadsThroughAndEvicts) {
  const fs::path local = fs::path(work_) / "node";
  ObjectBlobStoreOptions options;
  options.temp_dir = (local / "tmp").string();
  options.cache_dir = (local / "cache").string();
  options.cache_bytes = 2500;  // two of the 1000-byte blobs below, not three
  options.cache_min_age = std::chrono::milliseconds(0);
  auto opened = ObjectBlobStore::Open(Config(), "blobs/", options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ObjectBlobStore& store = *opened.value();

  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    const std::string temp = store.NewTempPath();
    std::ofstream(temp, std::ios::binary) << std::string(1000, static_cast<char>('a' + i));
    auto rel = store.Commit(temp);
    ASSERT_TRUE(rel.ok()) << rel.status().ToString();
    EXPECT_FALSE(fs::exists(temp));  // adopted into the cache
    names.push_back(rel.value());
  }
  // The first was evicted when the third came in; the other two are cached.
  EXPECT_FALSE(store.cache().Contains(names[0]));
  EXPECT_TRUE(store.cache().Contains(names[2]));
  EXPECT_EQ(store.cache().misses(), 0u);
  auto path = store.LocalPath(names[0]);  // downloaded again
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(Slurp(path.value()), std::string(1000, 'a'));
  EXPECT_EQ(store.cache().misses(), 1u);
  EXPECT_EQ(store.Read(names[2]).value(), std::string(1000, 'c'));
  EXPECT_EQ(store.ReadRange(names[1], 10, 5).value(), "bbbbb");

  std::set<std::string> listed;
  ASSERT_TRUE(store.ForEach([&](const std::string& rel, uint64_t size) {
    EXPECT_EQ(size, 1000u);
    listed.insert(rel);
  }).ok());
  EXPECT_EQ(listed, std::set<std::string>(names.begin(), names.end()));

  // boto3 checks these keys exist under blobs/ after the run; the removed one does not.
  ASSERT_TRUE(store.Remove(names[1]).ok());
  EXPECT_EQ(store.LocalPath(names[1]).status().code(), ErrorCode::kNotFound);
  std::ofstream(work_ + "/committed.txt") << names[0] << "\n" << names[2] << "\n" << "removed " << names[1] << "\n";

  // A commit that S3 refuses returns the refusal; the temporary file stays for the caller
  // and nothing reaches the cache (the index would not commit either).
  S3Config wrong = Config();
  wrong.credentials.secret_key = "wrong";
  ObjectBlobStoreOptions other = options;
  other.temp_dir = (local / "tmp2").string();
  other.cache_dir = (local / "cache2").string();
  EXPECT_FALSE(ObjectBlobStore::Open(wrong, "blobs", other).ok());  // refused at start-up
  S3Client refusing(wrong);
  const std::string temp = store.NewTempPath();
  std::ofstream(temp, std::ios::binary) << "refused";
  Status up = refusing.PutFile(store.KeyOf("zz/refused.dcm"), temp);
  EXPECT_EQ(up.code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(fs::exists(temp));
}

// Two nodes on one bucket: node A commits from four threads at once, node B (its own
// temporary folder and cache) reads every blob from eight threads, each blob downloaded once.
TEST_F(S3Live, ASecondNodeReadsWhatTheFirstCommittedConcurrently) {
  auto open_node = [&](const std::string& name) {
    ObjectBlobStoreOptions o;
    o.temp_dir = work_ + "/" + name + "/tmp";
    o.cache_dir = work_ + "/" + name + "/cache";
    return ObjectBlobStore::Open(Config(), "two-nodes", o);
  };
  auto a = open_node("node-a");
  auto b = open_node("node-b");
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kThreads = 4, kPerThread = 10;
  std::vector<std::vector<std::string>> names(kThreads);
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string temp = a.value()->NewTempPath();
        std::string bytes(20000 + i, static_cast<char>('A' + t));
        bytes += std::to_string(i);
        std::ofstream(temp, std::ios::binary) << bytes;
        auto rel = a.value()->Commit(temp);
        if (rel.ok()) names[t].push_back(rel.value());
      }
    });
  }
  for (auto& w : writers) w.join();
  std::vector<std::string> all;
  for (auto& n : names) all.insert(all.end(), n.begin(), n.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  std::atomic<int> good{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 8; ++r) {
    readers.emplace_back([&] {
      for (size_t k = 0; k < all.size(); ++k) {
        const int t = static_cast<int>(k / kPerThread), i = static_cast<int>(k % kPerThread);
        auto path = b.value()->LocalPath(all[k]);
        std::string expected(20000 + i, static_cast<char>('A' + t));
        expected += std::to_string(i);
        if (path.ok() && Slurp(path.value()) == expected) ++good;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(good.load(), 8 * kThreads * kPerThread);
  EXPECT_EQ(b.value()->cache().misses(), static_cast<uint64_t>(kThreads * kPerThread));  // single-flight
}

TEST_F(S3Live, OpenBlobStoreTakesAnS3Url) {
  StorageLocation where;
  where.storage = "s3://" + Env("RADFLOW_S3_TEST_BUCKET") + "/via-url";
  where.s3_endpoint = Env("RADFLOW_S3_TEST_ENDPOINT");
  where.data_dir = work_ + "/data";
  where.owner = true;
  auto backend = OpenBlobStore(where);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  storage::BlobStore& blobs = *backend.value();
  EXPECT_NE(blobs.Describe().find("s3://"), std::string::npos);
  EXPECT_TRUE(blobs.Shared());  // the blob before its row (ingest's order)
  EXPECT_EQ(blobs.TempDir(), where.data_dir + "/tmp/objstore");
  const std::string temp = blobs.NewTempPath();
  std::ofstream(temp, std::ios::binary) << "through the interface";
  auto rel = blobs.Commit(temp);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(blobs.Read(rel.value()).value(), "through the interface");
  EXPECT_TRUE(fs::exists(where.data_dir + "/blob-cache/" + rel.value()));
  EXPECT_EQ(blobs.Size(rel.value()).value(), 21u);
  // Asked of the bucket (not the cache); a missing blob is NotFound, never a path.
  auto* s3 = dynamic_cast<ObjectBlobStore*>(&blobs);
  ASSERT_NE(s3, nullptr);
  s3->cache().Forget(rel.value());
  EXPECT_EQ(blobs.Size(rel.value()).value(), 21u);
  EXPECT_EQ(blobs.Size("00/missing.dcm").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(blobs.LocalPath("00/missing.dcm").status().code(), ErrorCode::kNotFound);
  // The listing carries S3's LastModified (what `check` tells in-flight stores by).
  int listed = 0;
  ASSERT_TRUE(blobs.List([&](const storage::BlobEntry& e) {
    ++listed;
    EXPECT_EQ(e.relative, rel.value());
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - e.modified), std::chrono::minutes(5));
  }).ok());
  EXPECT_EQ(listed, 1);
}

// A multipart upload a crashed node left: listed with its age, and aborted.
TEST_F(S3Live, StaleUploadsAreListedAndAborted) {
  ObjectBlobStoreOptions o;
  o.temp_dir = work_ + "/stale/tmp";
  o.cache_dir = work_ + "/stale/cache";
  auto store = ObjectBlobStore::Open(Config(), "stale-uploads", o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto id = store.value()->client().CreateMultipartUpload(store.value()->KeyOf("ab/left-behind.dcm"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto young = store.value()->StaleUploads(std::chrono::hours(1));
  ASSERT_TRUE(young.ok()) << young.status().ToString();
  EXPECT_TRUE(young->empty());  // begun just now: not stale
  auto all = store.value()->StaleUploads(std::chrono::seconds(-60));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().relative, "ab/left-behind.dcm");
  EXPECT_EQ(all->front().upload_id, id.value());
  ASSERT_TRUE(store.value()->AbortUpload(all->front()).ok());
  EXPECT_TRUE(store.value()->StaleUploads(std::chrono::seconds(-60))->empty());
}

TEST(S3Time, ParsesListingTimestamps) {
  auto t = ParseS3Time("2026-12-07T23:40:05.123Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1796686805);
  EXPECT_FALSE(ParseS3Time("yesterday").has_value());
  EXPECT_FALSE(ParseS3Time("").has_value());
}

}  // namespace
}  // namespace radflow::objstore
