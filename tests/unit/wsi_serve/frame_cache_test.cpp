// The frame-offset cache (src/pixel/frame_cache.h): the same bytes as pixel::EncodedFrame
// for every stored layout it serves, one scan per instance, and a frame of a 10,000-frame
// instance without a scan of the file.
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrov.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "../test_data.h"
#include "pixel/frame_cache.h"
#include "pixel/pixel_data.h"

namespace radflow::pixel {
namespace {

using radflow::testing::DataPath;
namespace fs = std::filesystem;

std::vector<std::string> DicomFilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(DataPath(dir))) {
    if (e.is_regular_file() && e.path().extension() == ".dcm") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every frame the cache serves equals EncodedFrame's (DCMTK's parse) byte for byte.
TEST(FrameCache, SameBytesAsEncodedFrameForEveryServedFile) {
  std::vector<std::string> files = DicomFilesUnder("wsi");
  for (const auto& f : DicomFilesUnder("dicom/codecs")) files.push_back(f);
  FrameCache cache;
  int compared_files = 0, compared_frames = 0, encapsulated = 0;
  for (const auto& path : files) {
    auto layout = cache.Layout(path);
    if (!layout.ok()) {
      // Not served by the cache: WADO-RS falls back to EncodedFrame/DecodeFrame. It must be a
      // stated reason, never a crash, and EncodedFrame must not succeed where the scan found
      // the file malformed.
      if (layout.status().code() != ErrorCode::kUnsupported) {
        EXPECT_FALSE(EncodedFrame(path, 0).ok()) << path << ": " << layout.status().ToString();
      }
      continue;
    }
    ++compared_files;
    if (layout.value()->encapsulated) ++encapsulated;
    const int frames = std::min(layout.value()->info.number_of_frames, 50);
    for (int i = 0; i < frames; ++i) {
      auto expected = EncodedFrame(path, i);
      auto got = FrameCache::ReadFrame(path, *layout.value(), i);
      ASSERT_EQ(expected.ok(), got.ok()) << path << " frame " << i;
      if (!expected.ok()) continue;
      ASSERT_EQ(expected.value(), got.value()) << path << " frame " << i;
      ++compared_frames;
    }
    EXPECT_EQ(cache.Frame(path, layout.value()->info.number_of_frames).status().code(), ErrorCode::kNotFound);
  }
  std::cout << compared_files << " files (" << encapsulated << " encapsulated), " << compared_frames
            << " frames compared\n";
  // The wsi files (highdicom, openslide_python, pathml) and the codec files: most are served.
  EXPECT_GE(compared_files, 40);
  EXPECT_GE(encapsulated, 20);
  EXPECT_GE(compared_frames, 100);
}

// A synthetic JPEG-baseline slide level of `frames` one-fragment frames (frame k's bytes name k).
std::string FrameBytes(int k) {
  std::string s = "\xFF\xD8 frame " + std::to_string(k) + " \xFF\xD9";
  if (s.size() % 2) s += '\0';
  return s;
}

std::string WriteManyFrames(const std::string& dir, int frames,
                            const std::function<void(DcmDataset*)>& extra = nullptr,
                            E_EncodingType sequences = EET_ExplicitLength) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, UID_VLWholeSlideMicroscopyImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertString(DCM_SeriesInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertUint16(DCM_Rows, 8);
  ds->putAndInsertUint16(DCM_Columns, 8);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 3);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "YBR_FULL_422");
  ds->putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds->putAndInsertUint16(DCM_BitsAllocated, 8);
  ds->putAndInsertUint16(DCM_BitsStored, 8);
  ds->putAndInsertUint16(DCM_HighBit, 7);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds->putAndInsertString(DCM_NumberOfFrames, std::to_string(frames).c_str());
  auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
  seq->insert(new DcmPixelItem(DCM_PixelItemTag));  // empty Basic Offset Table
  for (int k = 0; k < frames; ++k) {
    auto* item = new DcmPixelItem(DCM_PixelItemTag);
    const std::string b = FrameBytes(k);
    item->putUint8Array(reinterpret_cast<const Uint8*>(b.data()), static_cast<unsigned long>(b.size()));
    seq->insert(item);
  }
  auto* pixels = new DcmPixelData(DCM_PixelData);
  pixels->putOriginalRepresentation(EXS_JPEGProcess1, nullptr, seq);
  ds->insert(pixels);
  if (extra) extra(ds);
  const std::string path = dir + "/many.dcm";
  EXPECT_TRUE(ff.saveFile(path.c_str(), EXS_JPEGProcess1, sequences).good());
  return path;
}

double MedianMicros(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(FrameCache, TenThousandFramesOneScanThenOneReadPerFrame) {
  radflow::testing::ScratchDir dir;
  constexpr int kFrames = 10000;
  const std::string path = WriteManyFrames(dir.str(), kFrames);
  FrameCache cache;
  auto first = cache.Frame(path, kFrames - 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first.value(), FrameBytes(kFrames - 1));
  std::vector<double> cached, uncached;
  for (int k = 0; k < kFrames; k += 97) {
    auto t0 = std::chrono::steady_clock::now();
    auto f = cache.Frame(path, k);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(f.ok());
    ASSERT_EQ(f.value(), FrameBytes(k));
    cached.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  for (int k = 0; k < 5; ++k) {  // DCMTK's parse of the whole file, for scale
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(EncodedFrame(path, kFrames - 1 - k).ok());
    uncached.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  EXPECT_EQ(cache.scans(), 1u);  // the file was scanned once for ~100 frames
  // Claim (docs/wsi.md): a cached frame costs no scan: its median is under 1 ms and under a
  // tenth of a full parse of the 10,000-frame file (measured ~10 us against ~10 ms).
  const double c = MedianMicros(cached), u = MedianMicros(uncached);
  EXPECT_LT(c, 1000.0);
  EXPECT_LT(c * 10, u) << "cached " << c << " us, parse " << u << " us";
  std::cout << "10,000-frame instance: cached frame " << c << " us (median), full parse " << u << " us\n";
}

TEST(FrameCache, RescansAReplacedFile) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(dir.str(), 3);
  FrameCache cache;
  ASSERT_TRUE(cache.Frame(path, 2).ok());
  fs::create_directories(dir.str() + "/next");
  const std::string bigger = WriteManyFrames(dir.str() + "/next", 5);  // another file
  fs::rename(bigger, path);
  auto f = cache.Frame(path, 4);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f.value(), FrameBytes(4));
  EXPECT_EQ(cache.scans(), 2u);
}

TEST(FrameCache, MalformedFilesAreErrorsNotCrashes) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(dir.str(), 20);
  const auto size = fs::file_size(path);
  for (uintmax_t cut : {uintmax_t(10), uintmax_t(140), size / 2, size - 3}) {
    const std::string truncated = dir.str() + "/cut" + std::to_string(cut) + ".dcm";
    fs::copy_file(path, truncated);
    fs::resize_file(truncated, cut);
    FrameCache cache;
    auto f = cache.Frame(truncated, 19);
    EXPECT_FALSE(f.ok()) << cut;
  }
  FrameCache cache;
  EXPECT_EQ(cache.Frame(dir.str() + "/absent.dcm", 0).status().code(), ErrorCode::kNotFound);
}

// A file the scanner refuses (sequences nested 70 deep, undefined lengths) but DCMTK reads:
// the failure is an error of the layout, kept for the file (one scan), and EncodedFrame
// (what WADO-RS then uses) still serves the frames.
TEST(FrameCache, ScanRefusalIsKeptAndDcmtkStillReads) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(
      dir.str(), 3,
      [](DcmDataset* ds) {
        DcmItem* item = ds;
        for (int depth = 0; depth < 70; ++depth) {
          DcmItem* next = nullptr;
          ASSERT_TRUE(item->findOrCreateSequenceItem(DcmTag(0x0009, 0x1010, EVR_SQ), next, 0).good());
          item = next;
        }
      },
      EET_UndefinedLength);
  FrameCache cache;
  for (int k = 0; k < 3; ++k) {
    auto layout = cache.Layout(path);
    ASSERT_FALSE(layout.ok());
    EXPECT_NE(layout.status().code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(cache.scans(), 1u);  // the refusal is remembered for the same file
  auto frame = EncodedFrame(path, 2);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame.value(), FrameBytes(2));
}

// Concurrent first requests wait for one scan.
TEST(FrameCache, ConcurrentFirstRequestsScanOnce) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(dir.str(), 2000);
  FrameCache cache;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto f = cache.Frame(path, t * 100);
      if (f.ok() && f.value() == FrameBytes(t * 100)) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(cache.scans(), 1u);
}

// The cache holds layouts up to its byte budget, least recently used evicted.
TEST(FrameCache, ByteBudgetEvictsLeastRecentlyUsed) {
  radflow::testing::ScratchDir dir;
  std::vector<std::string> paths;
  for (int k = 0; k < 4; ++k) {
    fs::create_directories(dir.str() + "/" + std::to_string(k));
    paths.push_back(WriteManyFrames(dir.str() + "/" + std::to_string(k), 1000));
  }
  FrameCache probe;
  ASSERT_TRUE(probe.Layout(paths[0]).ok());
  const size_t one = probe.bytes();
  EXPECT_GT(one, 1000u * 16);   // the per-frame table is counted
  EXPECT_LT(one, 1000u * 64);   // ~36 bytes a frame (offset, length, frame entry) + fixed
  FrameCache cache(one * 2 + one / 2);
  for (const auto& p : paths) ASSERT_TRUE(cache.Layout(p).ok());
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_LE(cache.bytes(), one * 2 + one / 2);
  ASSERT_TRUE(cache.Layout(paths[3]).ok());  // still held: no scan
  EXPECT_EQ(cache.scans(), 4u);
  ASSERT_TRUE(cache.Layout(paths[0]).ok());  // evicted: scanned again
  EXPECT_EQ(cache.scans(), 5u);
}

// A layout read before the file was replaced is not used on the new file's bytes.
TEST(FrameCache, ReadFrameRefusesAReplacedFile) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(dir.str(), 3);
  FrameCache cache;
  auto layout = cache.Layout(path);
  ASSERT_TRUE(layout.ok());
  fs::create_directories(dir.str() + "/next");
  fs::rename(WriteManyFrames(dir.str() + "/next", 5), path);
  auto stale = FrameCache::ReadFrame(path, *layout.value(), 1);
  EXPECT_TRUE(FrameCache::IsStale(stale.status())) << stale.status().ToString();
  auto f = cache.Frame(path, 4);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f.value(), FrameBytes(4));
}

// Extended Offset Table entries are checked before anything is allocated (PS3.3 C.7.6.3.1.8).
TEST(FrameCache, ExtendedOffsetTableLongerThanTheFramesIsRefused) {
  radflow::testing::ScratchDir dir;
  const std::string path = WriteManyFrames(dir.str(), 3, [](DcmDataset* ds) {
    std::vector<Uint64> offsets(1000, 0);
    auto* table = new DcmOther64bitVeryLong(DCM_ExtendedOffsetTable);
    ASSERT_TRUE(table->putUint64Array(offsets.data(), offsets.size()).good());
    ASSERT_TRUE(ds->insert(table).good());
  });
  FrameCache cache;
  auto layout = cache.Layout(path);
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.status().message().find("1000 entries for 3 frames"), std::string::npos)
      << layout.status().ToString();
}

}  // namespace
}  // namespace radflow::pixel
