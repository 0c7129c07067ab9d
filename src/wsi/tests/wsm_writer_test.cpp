// WsmWriter's offset table: the 32-bit Basic Offset Table while the fragments stay within
// its reach, else an empty Basic Offset Table with the Extended Offset Table and its Lengths
// (PS3.5 A.4, PS3.3 C.7.6.3.1.8). The 4 GiB reach is a parameter, so a few hundred bytes
// stand in for it here.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <filesystem>

#include "wsi/jpeg_stream.h"
#include "wsi/wsm_writer.h"

namespace fs = std::filesystem;

namespace radflow::wsi {
namespace {

struct Written {
  Status status;
  bool extended = false;
  std::vector<Bytes> frames;
};

// Three 16x16 frames of different content (so of different lengths).
std::vector<Bytes> Frames() {
  std::vector<Bytes> out;
  for (int k = 0; k < 3; ++k) {
    Bytes rgb(16 * 16 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * (k + 1) * 37) & 255);
    auto j = EncodeJpeg(rgb.data(), 16, 16, 90, JpegColour::kYbr422);
    EXPECT_TRUE(j.ok());
    out.push_back(*j);
  }
  return out;
}

Written Write(const std::string& path, uint64_t bot_limit, uint64_t bound) {
  SlideContext s;
  s.patient_id = "P";
  s.study_instance_uid = s.series_instance_uid = s.frame_of_reference_uid = s.dimension_organization_uid =
      s.specimen_uid = "1.2.3";
  s.manufacturer = s.model_name = s.device_serial_number = "unknown";
  InstanceDescription d;
  d.image_type = {"DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"};
  d.sop_instance_uid = "1.2.3.4";
  d.total_columns = 48;
  d.total_rows = 16;
  d.tile_columns = d.tile_rows = 16;
  d.frames = 3;
  d.photometric = "YBR_FULL_422";
  d.max_fragment_bytes = bound;
  Written w;
  w.frames = Frames();
  auto writer = WsmWriter::Begin(path, s, d, bot_limit);
  if (!writer.ok()) { w.status = writer.status(); return w; }
  w.extended = writer.value()->extended_offset_table();
  for (const auto& f : w.frames) {
    w.status = writer.value()->AddFrame(f);
    if (!w.status.ok()) return w;
  }
  auto size = writer.value()->Finish();
  w.status = size.ok() ? Status::Ok() : size.status();
  return w;
}

uint64_t FragmentBytes(const std::vector<Bytes>& frames) {
  uint64_t n = 0;
  for (const auto& f : frames) n += 8 + f.size() + (f.size() & 1);
  return n;
}

// The pixel sequence's items: [0] the Basic Offset Table, then one fragment per frame.
std::vector<Bytes> Items(DcmDataset* ds) {
  std::vector<Bytes> out;
  DcmElement* px = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, px).bad()) return out;
  DcmPixelSequence* seq = nullptr;
  if (static_cast<DcmPixelData*>(px)->getEncapsulatedRepresentation(EXS_JPEGProcess1, nullptr, seq).bad()) return out;
  for (unsigned long i = 0; i < seq->card(); ++i) {
    DcmPixelItem* item = nullptr;
    seq->getItem(item, i);
    Uint8* b = nullptr;
    item->getUint8Array(b);
    out.emplace_back(b, b + item->getLength());
  }
  return out;
}

class WsmWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("wsm_writer_test_" + std::to_string(::getpid()) + ".dcm")).string();
  }
  void TearDown() override { fs::remove(path_); }
  std::string path_;
};

TEST_F(WsmWriterTest, BasicOffsetTableWhileTheFragmentsFitItsReach) {
  const uint64_t total = FragmentBytes(Frames());
  Written w = Write(path_, total, total);  // reach == bound: the BOT suffices
  ASSERT_TRUE(w.status.ok()) << w.status.message();
  EXPECT_FALSE(w.extended);
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(path_.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  EXPECT_FALSE(ds->tagExists(DCM_ExtendedOffsetTable));
  EXPECT_FALSE(ds->tagExists(DCM_ExtendedOffsetTableLengths));
  auto items = Items(ds);
  ASSERT_EQ(items.size(), 4u);
  ASSERT_EQ(items[0].size(), 12u);  // 3 x 32-bit offsets
  uint32_t expected = 0;
  for (int i = 0; i < 3; ++i) {
    const uint32_t off = items[0][4 * i] | items[0][4 * i + 1] << 8 | items[0][4 * i + 2] << 16 |
                         static_cast<uint32_t>(items[0][4 * i + 3]) << 24;
    EXPECT_EQ(off, expected);
    expected += 8 + static_cast<uint32_t>(items[1 + i].size());
  }
}

TEST_F(WsmWriterTest, ExtendedOffsetTableBeyondTheReach) {
  const auto frames = Frames();
  const uint64_t total = FragmentBytes(frames);
  Written w = Write(path_, total - 1, total);  // one byte short: the EOT is written
  ASSERT_TRUE(w.status.ok()) << w.status.message();
  EXPECT_TRUE(w.extended);
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(path_.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  const Uint64* eot = nullptr;
  const Uint64* eotl = nullptr;
  unsigned long n = 0, nl = 0;
  ASSERT_TRUE(ds->findAndGetUint64Array(DCM_ExtendedOffsetTable, eot, &n).good());
  ASSERT_TRUE(ds->findAndGetUint64Array(DCM_ExtendedOffsetTableLengths, eotl, &nl).good());
  ASSERT_EQ(n, 3u);
  ASSERT_EQ(nl, 3u);
  auto items = Items(ds);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_TRUE(items[0].empty());  // the Basic Offset Table is empty beside an EOT
  uint64_t expected = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(eot[i], expected);  // from the first fragment item's first byte
    EXPECT_EQ(eotl[i], items[1 + i].size());
    Bytes f = items[1 + i];
    if (f.size() > frames[i].size()) f.pop_back();  // even-length padding
    EXPECT_EQ(f, frames[i]);
    expected += 8 + items[1 + i].size();
  }
}

TEST_F(WsmWriterTest, AWrongBoundIsAnInternalErrorNotUnsupported) {
  // Bound claims 1 byte: the BOT is chosen, the second frame lies beyond a 10-byte reach.
  Written w = Write(path_, 10, 1);
  EXPECT_FALSE(w.extended);
  ASSERT_FALSE(w.status.ok());
  EXPECT_EQ(w.status.code(), ErrorCode::kInternal);  // kUnsupported would mean "compute the level"
  EXPECT_FALSE(fs::exists(path_));                     // no partial file
}

TEST_F(WsmWriterTest, TooManyFramesAreRefused) {
  SlideContext s;
  InstanceDescription d;
  d.tile_columns = d.tile_rows = 16;
  d.frames = kMaxFrames + 1;
  auto w = WsmWriter::Begin(path_, s, d);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace radflow::wsi
