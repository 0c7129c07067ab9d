#include "ingest/ingest_service.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "dicom/instance.h"

#include "test_data.h"

namespace radflow::ingest {

using radflow::testing::DataPath;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class IngestTest : public ::testing::Test {
 protected:
  void Open(IngestOptions options = {}) {
    ingest_.reset();
    blobs_ = std::make_unique<storage::FolderBlobStore>(storage::BlobStore::Open(dir_.str() + "/blobs").value());
    if (!index_) index_ = std::move(storage::Index::Open(dir_.str() + "/index.db").value());
    ingest_ = std::make_unique<IngestService>(*blobs_, *index_, options);
  }
  Result<StoreResult> StoreFile(const std::string& path) {
    return ingest_->StoreBytes(ReadFile(path), {Origin::Kind::kImport, path, "", ""});
  }
  // As C-STORE does: the sender announces the SOP Instance UID (the fast path when new).
  Result<StoreResult> StoreAnnounced(const std::string& path, const std::string& uid) {
    return ingest_->StoreBytes(ReadFile(path), {Origin::Kind::kDimse, "TEST", uid, ""});
  }
  int CountBlobs() {
    int n = 0;
    EXPECT_TRUE(blobs_->ForEach([&](const std::string&, uint64_t) { ++n; }).ok());
    return n;
  }
  radflow::testing::ScratchDir dir_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<IngestService> ingest_;
};

}  // namespace

TEST_F(IngestTest, StoresByteExactAndIndexes) {
  Open();
  const auto file = radflow::testing::ChestCtFiles()[0];
  auto r = StoreFile(file);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, StoreOutcome::kStored);
  auto loc = index_->FindInstance(r->sop_instance_uid);
  ASSERT_TRUE(loc.ok() && loc.value());
  EXPECT_EQ(blobs_->Read(loc.value()->blob_path).value(), ReadFile(file));
  EXPECT_EQ(index_->Stats()->instances, 1);
}

TEST_F(IngestTest, IdenticalResendStoresNoSecondCopy) {
  Open();
  const auto file = radflow::testing::ChestCtFiles()[0];
  ASSERT_TRUE(StoreFile(file).ok());
  auto again = StoreFile(file);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, StoreOutcome::kAlreadyStored);
  int blobs = 0;
  ASSERT_TRUE(blobs_->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 1);
  EXPECT_EQ(index_->Stats()->instances, 1);
}

// MR_small.dcm and MR_small_implicit.dcm: the same SOP Instance UID, different bytes.
TEST_F(IngestTest, DuplicatePolicies) {
  const auto first = DataPath("dicom/edgecases_pydicom/test_files/MR_small.dcm");
  const auto second = DataPath("dicom/edgecases_pydicom/test_files/MR_small_implicit.dcm");

  Open({DuplicatePolicy::kKeep});
  ASSERT_TRUE(StoreFile(first).ok());
  auto kept = StoreFile(second);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->outcome, StoreOutcome::kKeptExisting);

  Open({DuplicatePolicy::kReject});
  auto rejected = StoreFile(second);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), ErrorCode::kConflict);

  Open({DuplicatePolicy::kReplace});
  auto replaced = StoreFile(second);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->outcome, StoreOutcome::kReplaced);
  auto loc = index_->FindInstance(replaced->sop_instance_uid).value();
  EXPECT_EQ(blobs_->Read(loc->blob_path).value(), ReadFile(second));
  int blobs = 0;
  ASSERT_TRUE(blobs_->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  EXPECT_EQ(blobs, 1);  // the replaced blob is gone
}

TEST_F(IngestTest, BadInputIsRejectedAndNothingElseIsLost) {
  Open();
  ASSERT_TRUE(StoreFile(radflow::testing::ChestCtFiles()[0]).ok());
  for (const char* bad : {"dicom/edgecases_pydicom/test_files/MR_truncated.dcm",
                          "dicom/edgecases_pydicom/test_files/no_meta.dcm",
                          "dicom/edgecases_pydicom/README.md"}) {
    auto r = StoreFile(DataPath(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_FALSE(r.status().message().empty());
  }
  auto garbage = ingest_->StoreBytes(std::string(300, '\x01'), {});
  EXPECT_FALSE(garbage.ok());
  EXPECT_EQ(index_->Stats()->instances, 1);
  int blobs = 0, temps = 0;
  ASSERT_TRUE(blobs_->ForEach([&](const std::string&, uint64_t) { ++blobs; }).ok());
  for (const auto& e : std::filesystem::directory_iterator(dir_.str() + "/blobs/tmp")) {
    (void)e;
    ++temps;
  }
  EXPECT_EQ(blobs, 1);
  EXPECT_EQ(temps, 0);  // rejected temporaries are cleaned up
}

TEST_F(IngestTest, PublishesInstanceStoredAndSeriesStable) {
  Open({DuplicatePolicy::kKeep, std::chrono::milliseconds(200)});
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> events;
  ingest_->Subscribe([&](const Event& e) {
    std::lock_guard<std::mutex> g(mu);
    events.push_back(e);
    cv.notify_all();
  });
  auto files = radflow::testing::ChestCtFiles();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(StoreFile(files[i]).ok());
  std::unique_lock<std::mutex> lock(mu);
  // SeriesStable follows 200 ms after the last instance; 5 s is a hang guard, not a timing claim.
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] {
    return !events.empty() && events.back().type == Event::Type::kSeriesStable;
  }));
  int stored = 0, stable = 0;
  for (const auto& e : events) {
    stored += e.type == Event::Type::kInstanceStored;
    stable += e.type == Event::Type::kSeriesStable;
  }
  EXPECT_EQ(stored, 3);
  EXPECT_EQ(stable, 1);  // once, after the last instance
  EXPECT_FALSE(events.back().series_instance_uid.empty());
}

TEST_F(IngestTest, AnnouncedNewInstancesTakeTheOverlappedPath) {
  Open();
  auto files = radflow::testing::ChestCtFiles();
  for (int i = 0; i < 5; ++i) {
    auto parsed = dicom::ParsePart10File(files[i]);
    ASSERT_TRUE(parsed.ok());
    auto r = StoreAnnounced(files[i], parsed->sop_instance_uid);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->outcome, StoreOutcome::kStored);
    auto loc = index_->FindInstance(parsed->sop_instance_uid).value();
    ASSERT_TRUE(loc.has_value());
    EXPECT_EQ(blobs_->Read(loc->blob_path).value(), ReadFile(files[i]));
    EXPECT_EQ(loc->blob_size, ReadFile(files[i]).size());
  }
  // A resend, announced or not, writes nothing.
  auto parsed = dicom::ParsePart10File(files[0]);
  EXPECT_EQ(StoreAnnounced(files[0], parsed->sop_instance_uid)->outcome,
            StoreOutcome::kAlreadyStored);
  EXPECT_EQ(StoreAnnounced(files[0], "1.2.3.4")->outcome, StoreOutcome::kAlreadyStored);
  EXPECT_EQ(CountBlobs(), 5);
  // Bad input on the fast path: rejected, nothing left behind.
  EXPECT_FALSE(StoreAnnounced(DataPath("dicom/edgecases_pydicom/test_files/MR_truncated.dcm"),
                              "1.2.3.5").ok());
  EXPECT_EQ(CountBlobs(), 5);
  EXPECT_EQ(index_->Stats()->instances, 5);
}

// The DIMSE receiver's way: an unnamed temporary file (O_TMPFILE), written through its
// /proc path, handed to Store. Stored, resent, rejected: no file and no descriptor left.
TEST_F(IngestTest, UnnamedTemporariesAreStoredOrDroppedWithoutLeaks) {
  Open();
  auto fds = [] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      (void)e;
      ++n;
    }
    return n;
  };
  auto store = [&](const std::string& path, const std::string& announced) {
    std::string temp = ingest_->NewUnnamedTemp();
    EXPECT_TRUE(storage::BlobStore::IsUnnamedTemp(temp));
    std::string bytes = ReadFile(path);
    FILE* f = std::fopen(temp.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return ingest_->Store(temp, {Origin::Kind::kDimse, "TEST", announced, ""});
  };
  auto files = radflow::testing::ChestCtFiles();
  ASSERT_TRUE(store(files[1], "").ok());  // opens the index's reader connections
  const int before = fds();
  const std::string uid = dicom::ParsePart10File(files[0])->sop_instance_uid;
  auto first = store(files[0], uid);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->outcome, StoreOutcome::kStored);
  auto loc = index_->FindInstance(uid).value();
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(blobs_->Read(loc->blob_path).value(), ReadFile(files[0]));
  EXPECT_EQ(store(files[0], uid)->outcome, StoreOutcome::kAlreadyStored);  // careful path
  EXPECT_EQ(store(files[0], "")->outcome, StoreOutcome::kAlreadyStored);   // no announcement
  EXPECT_FALSE(store(DataPath("dicom/edgecases_pydicom/test_files/MR_truncated.dcm"), "1.2.3.5").ok());
  EXPECT_FALSE(store(DataPath("dicom/edgecases_pydicom/README.md"), "").ok());
  EXPECT_EQ(CountBlobs(), 2);
  EXPECT_EQ(index_->Stats()->instances, 2);
  int temps = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.str() + "/blobs/tmp")) {
    (void)e;
    ++temps;
  }
  EXPECT_EQ(temps, 0);
  EXPECT_EQ(fds(), before);
}

TEST_F(IngestTest, ConcurrentStoresOfManyAssociations) {
  Open();
  auto files = radflow::testing::ChestCtFiles();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < files.size(); i += 4) {
        auto uid = dicom::ParsePart10File(files[i])->sop_instance_uid;
        auto r = StoreAnnounced(files[i], uid);
        if (!r.ok() || r->outcome != StoreOutcome::kStored) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(index_->Stats()->instances, static_cast<int64_t>(files.size()));
  EXPECT_EQ(CountBlobs(), static_cast<int>(files.size()));
}

}  // namespace radflow::ingest
