#include "objstore/read_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace radflow::objstore {
namespace {

struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("radflow-cache-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A fetch that writes "<name>" padded to 100 bytes and counts its calls.
ReadCache::Fetch Counting(std::atomic<int>* calls, std::chrono::milliseconds delay = {}) {
  return [calls, delay](const std::string& relative, const std::string& path) {
    ++*calls;
    std::this_thread::sleep_for(delay);
    std::string bytes = relative;
    bytes.resize(100, '.');
    std::ofstream(path, std::ios::binary) << bytes;
    return Status::Ok();
  };
}

TEST(ReadCache, DownloadsOnceAndEvictsTheLeastRecentlyUsed) {
  Scratch s;
  std::atomic<int> calls{0};
  auto cache = ReadCache::Open(s.dir.string(), 250, Counting(&calls), std::chrono::milliseconds(0));
  ASSERT_TRUE(cache.ok());
  auto& c = *cache.value();
  auto a = c.LocalPath("aa/a.dcm");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Slurp(a.value()).substr(0, 8), "aa/a.dcm");
  ASSERT_TRUE(c.LocalPath("bb/b.dcm").ok());
  ASSERT_TRUE(c.LocalPath("aa/a.dcm").ok());  // a hit: a is now the most recent
  EXPECT_EQ(calls.load(), 2);
  ASSERT_TRUE(c.LocalPath("cc/c.dcm").ok());  // 300 > 250 bytes: b goes
  EXPECT_TRUE(c.Contains("aa/a.dcm"));
  EXPECT_FALSE(c.Contains("bb/b.dcm"));
  EXPECT_FALSE(fs::exists(s.dir / "bb/b.dcm"));
  EXPECT_EQ(c.bytes(), 200u);
  ASSERT_TRUE(c.LocalPath("bb/b.dcm").ok());  // downloaded again
  EXPECT_EQ(calls.load(), 4);
}

TEST(ReadCache, ConcurrentMissesShareOneDownload) {
  Scratch s;
  std::atomic<int> calls{0};
  auto cache = ReadCache::Open(s.dir.string(), 1 << 20, Counting(&calls, std::chrono::milliseconds(100)));
  ASSERT_TRUE(cache.ok());
  std::vector<std::thread> readers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&] {
      auto p = cache.value()->LocalPath("ab/same.dcm");
      if (p.ok() && Slurp(p.value()).size() == 100) ++ok;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache.value()->misses(), 1u);
}

TEST(ReadCache, AFailedDownloadLeavesNothingAndReachesEveryWaiter) {
  Scratch s;
  std::atomic<int> calls{0};
  auto cache = ReadCache::Open(s.dir.string(), 1 << 20, [&](const std::string& rel, const std::string& path) {
    ++calls;
    std::ofstream(path) << "partial";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Status(ErrorCode::kNotFound, "GetObject s3://b/" + rel + ": HTTP 404 NoSuchKey");
  });
  ASSERT_TRUE(cache.ok());
  std::vector<std::thread> readers;
  std::atomic<int> not_found{0};
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      if (cache.value()->LocalPath("ab/gone.dcm").status().code() == ErrorCode::kNotFound) ++not_found;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(not_found.load(), 4);
  EXPECT_LE(calls.load(), 4);
  EXPECT_EQ(cache.value()->entries(), 0u);
  EXPECT_TRUE(fs::is_empty(s.dir / ".staging"));
  EXPECT_FALSE(cache.value()->LocalPath("../etc/passwd").ok());
}

TEST(ReadCache, RecentlyHandedOutPathsAreNotEvicted) {
  Scratch s;
  std::atomic<int> calls{0};
  auto cache = ReadCache::Open(s.dir.string(), 150, Counting(&calls), std::chrono::seconds(60));
  ASSERT_TRUE(cache.ok());
  auto a = cache.value()->LocalPath("aa/a.dcm");
  auto b = cache.value()->LocalPath("bb/b.dcm");
  ASSERT_TRUE(a.ok() && b.ok());
  // Over the bound, but both were handed out a moment ago: a reader may be about to open them.
  EXPECT_TRUE(fs::exists(a.value()));
  EXPECT_TRUE(fs::exists(b.value()));
  EXPECT_EQ(cache.value()->bytes(), 200u);
}

TEST(ReadCache, AdoptsUploadedFilesAndReopensWithWhatIsThere) {
  Scratch s;
  std::atomic<int> calls{0};
  {
    auto cache = ReadCache::Open(s.dir.string(), 1 << 20, Counting(&calls));
    ASSERT_TRUE(cache.ok());
    const std::string file = cache.value()->staging_dir() + "/upload";
    std::ofstream(file) << "just stored";
    ASSERT_TRUE(cache.value()->Adopt("cd/new.dcm", file).ok());
    EXPECT_FALSE(fs::exists(file));
    EXPECT_EQ(Slurp(cache.value()->LocalPath("cd/new.dcm").value()), "just stored");
    std::ofstream(cache.value()->staging_dir() + "/crashed-download") << "x";
  }
  auto again = ReadCache::Open(s.dir.string(), 1 << 20, Counting(&calls));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value()->Contains("cd/new.dcm"));
  EXPECT_EQ(again.value()->bytes(), 11u);
  EXPECT_TRUE(fs::is_empty(s.dir / ".staging"));
  again.value()->Forget("cd/new.dcm");
  EXPECT_FALSE(fs::exists(s.dir / "cd/new.dcm"));
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace radflow::objstore
