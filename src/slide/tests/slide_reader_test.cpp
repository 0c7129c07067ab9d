// slide::ReadSlideSeries / ReadRegion on the shared WSI test files (../shared/data/wsi),
// checked against independent decoders: pydicom crops (tests/data/wsi/reference, made by
// tests/data/wsi/make_reference.py), OpenSlide on the SVS a DICOM file was converted from,
// and DCMTK's dcmdjpls on the JPEG-LS file. Tolerances: see docs/apps/wsi-tissue.md
// ("Slide reader").
#include "slide/slide_reader.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>
#include <openslide.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace radflow::slide {
namespace {

namespace fs = std::filesystem;
const std::string kWsi = std::string(RADFLOW_SHARED_DATA) + "/wsi/";
const std::string kRef = std::string(RADFLOW_TEST_DATA) + "/wsi/reference/";

std::vector<uint8_t> ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

int MaxAbsDiff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 1000;
  int m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(int(a[i]) - int(b[i])));
  return m;
}

// JFIF YCbCr -> RGB (PS3.3 C.7.6.3.1.2, YBR_FULL), rounded and clamped.
std::vector<uint8_t> YcbcrToRgb(const std::vector<uint8_t>& ycc) {
  std::vector<uint8_t> rgb(ycc.size());
  auto c = [](double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
  for (size_t i = 0; i + 2 < ycc.size(); i += 3) {
    const double Y = ycc[i], cb = ycc[i + 1] - 128.0, cr = ycc[i + 2] - 128.0;
    rgb[i] = c(Y + 1.402 * cr);
    rgb[i + 1] = c(Y - 0.344136 * cb - 0.714136 * cr);
    rgb[i + 2] = c(Y + 1.772 * cb);
  }
  return rgb;
}

// OpenSlide's read_region at level 0 as RGB (ARGB premultiplied; opaque here).
std::vector<uint8_t> OpenSlideRegion(const std::string& path, int x, int y, int w, int h) {
  openslide_t* osr = openslide_open(path.c_str());
  EXPECT_NE(osr, nullptr) << path;
  if (osr == nullptr) return {};
  std::vector<uint32_t> argb(static_cast<size_t>(w) * h);
  openslide_read_region(osr, argb.data(), x, y, 0, w, h);
  openslide_close(osr);
  std::vector<uint8_t> rgb;
  for (uint32_t p : argb) {
    rgb.push_back((p >> 16) & 0xFF);
    rgb.push_back((p >> 8) & 0xFF);
    rgb.push_back(p & 0xFF);
  }
  return rgb;
}

std::string NewUid() {
  char buf[100];
  return dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
}

// A concatenation (PS3.3 C.7.6.16.2.2) made from highdicom's sm_image.dcm (50x50, 25 native
// 10x10 RGB frames, TILED_FULL): parts of frames [0, split) and [split, 25). `sparse`: the
// frames become TILED_SPARSE, stored in reverse order, each placed by PlanePositionSlide
// (`bad_column`, when not 0, moves the last frame there). Returns the parts' paths.
std::vector<std::string> MakeConcatenation(const fs::path& dir, std::vector<int> splits,
                                           bool sparse, long bad_column = 0) {
  DcmFileFormat source;
  EXPECT_TRUE(source.loadFile((kWsi + "highdicom/sm_image.dcm").c_str()).good());
  const Uint8* pixels = nullptr;
  unsigned long bytes = 0;
  EXPECT_TRUE(source.getDataset()->findAndGetUint8Array(DCM_PixelData, pixels, &bytes).good());
  EXPECT_EQ(bytes, 7500u);
  std::vector<Uint8> all(pixels, pixels + bytes);
  std::vector<int> order(25);  // stored frame i holds tile order[i]
  for (int i = 0; i < 25; ++i) order[i] = sparse ? 24 - i : i;
  const std::string concatenation = NewUid(), source_uid = NewUid();
  splits.insert(splits.begin(), 0);
  splits.push_back(25);
  std::vector<std::string> paths;
  fs::create_directories(dir);
  for (size_t p = 0; p + 1 < splits.size(); ++p) {
    DcmFileFormat part(source);
    DcmDataset& ds = *part.getDataset();
    const int first = splits[p], frames = splits[p + 1] - first;
    std::vector<Uint8> px;
    for (int i = first; i < first + frames; ++i)
      px.insert(px.end(), all.begin() + order[i] * 300, all.begin() + order[i] * 300 + 300);
    ds.putAndInsertUint8Array(DCM_PixelData, px.data(), static_cast<unsigned long>(px.size()));
    ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(frames).c_str());
    const std::string uid = NewUid();
    ds.putAndInsertString(DCM_SOPInstanceUID, uid.c_str());
    part.getMetaInfo()->putAndInsertString(DCM_MediaStorageSOPInstanceUID, uid.c_str());
    ds.putAndInsertString(DCM_ConcatenationUID, concatenation.c_str());
    ds.putAndInsertString(DCM_SOPInstanceUIDOfConcatenationSource, source_uid.c_str());
    ds.putAndInsertUint16(DCM_InConcatenationNumber, static_cast<Uint16>(p + 1));
    ds.putAndInsertUint16(DCM_InConcatenationTotalNumber, static_cast<Uint16>(splits.size() - 1));
    ds.putAndInsertUint32(DCM_ConcatenationFrameOffsetNumber, static_cast<Uint32>(first));
    if (sparse) {
      ds.putAndInsertString(DCM_DimensionOrganizationType, "TILED_SPARSE");
      for (int i = first; i < first + frames; ++i) {
        DcmItem* item = nullptr;
        ds.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, item, -2);
        DcmItem* pos = nullptr;
        item->findOrCreateSequenceItem(DCM_PlanePositionSlideSequence, pos, -2);
        const long col = (bad_column != 0 && i == 24) ? bad_column : order[i] % 5 * 10 + 1;
        pos->putAndInsertSint32(DCM_ColumnPositionInTotalImagePixelMatrix,
                                static_cast<Sint32>(col));
        pos->putAndInsertSint32(DCM_RowPositionInTotalImagePixelMatrix, order[i] / 5 * 10 + 1);
        pos->putAndInsertString(DCM_XOffsetInSlideCoordinateSystem, "0");
        pos->putAndInsertString(DCM_YOffsetInSlideCoordinateSystem, "0");
        pos->putAndInsertString(DCM_ZOffsetInSlideCoordinateSystem, "0");
      }
    }
    const std::string path = (dir / ("part" + std::to_string(p + 1) + ".dcm")).string();
    EXPECT_TRUE(part.saveFile(path.c_str(), EXS_LittleEndianExplicit).good()) << path;
    paths.push_back(path);
  }
  return paths;
}

fs::path TempDir(const std::string& name) {
  return fs::temp_directory_path() /
         ("radflow-slide-" + name + "-" + std::to_string(::getpid()));
}

Slide ReadOne(const std::string& path) {
  auto slide = ReadSlideSeries({path});
  EXPECT_TRUE(slide.ok()) << slide.status().ToString();
  return slide.ok() ? slide.value() : Slide{};
}

TEST(SlideReader, HighdicomTiledFullRgbMatchesPydicom) {
  Slide slide = ReadOne(kWsi + "highdicom/sm_image.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  const SlideLevel& l = slide.levels[0];
  EXPECT_EQ(l.total_columns, 50);
  EXPECT_EQ(l.total_rows, 50);
  EXPECT_EQ(l.tile_columns, 10);
  EXPECT_EQ(l.frames, 25);
  EXPECT_TRUE(l.tiled_full);
  EXPECT_TRUE(l.frame_origins.empty());
  EXPECT_DOUBLE_EQ(l.pixel_spacing_mm[0], 0.000499);
  EXPECT_EQ(slide.container_identifier, "S19-1_A_1_1");
  EXPECT_EQ(slide.frame_of_reference_uid, "1.2.826.0.1.3680043.9.7433.2.1");
  auto region = ReadRegion(l, 0, 0, 50, 50);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(region->samples, 3);
  EXPECT_EQ(MaxAbsDiff(region->pixels, ReadRaw(kRef + "sm_image.0_0_50_50.s3.raw")), 0);
}

TEST(SlideReader, JpegLsEqualsTheNativeImage) {
  // dcmdjpls decodes sm_image_jpegls.dcm to exactly sm_image.dcm's frames (lossless).
  Slide slide = ReadOne(kWsi + "highdicom/sm_image_jpegls.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  auto region = ReadRegion(slide.levels[0], 0, 0, 50, 50);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(MaxAbsDiff(region->pixels, ReadRaw(kRef + "sm_image.0_0_50_50.s3.raw")), 0);
}

TEST(SlideReader, Grayscale16BitMapsBitsStoredRange) {
  Slide slide = ReadOne(kWsi + "highdicom/sm_image_grayscale.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  EXPECT_EQ(slide.levels[0].samples_per_pixel, 1);
  auto region = ReadRegion(slide.levels[0], 0, 0, 50, 50);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(region->samples, 1);
  EXPECT_EQ(MaxAbsDiff(region->pixels, ReadRaw(kRef + "sm_image_grayscale.0_0_50_50.s1.raw")), 0);
}

TEST(SlideReader, RegionAcrossTilesAndOutsideIsWhite) {
  Slide slide = ReadOne(kWsi + "highdicom/sm_image.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  const std::vector<uint8_t> full = ReadRaw(kRef + "sm_image.0_0_50_50.s3.raw");
  // [45, 60) x [-5, 10): 5x10 pixels inside (columns 45..49, rows 0..9), the rest white.
  auto region = ReadRegion(slide.levels[0], 45, -5, 15, 15);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  for (int y = 0; y < 15; ++y) {
    for (int x = 0; x < 15; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int got = region->pixels[(y * 15 + x) * 3 + c];
        const int mx = 45 + x, my = y - 5;
        const int want = (mx < 50 && my >= 0) ? full[(my * 50 + mx) * 3 + c] : 255;
        ASSERT_EQ(got, want) << "x " << x << " y " << y;
      }
    }
  }
  // Entirely outside: white, nothing decoded.
  auto outside = ReadRegion(slide.levels[0], 100, 100, 4, 4);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->pixels, std::vector<uint8_t>(48, 255));
}

TEST(SlideReader, BadRequestsNameTheReason) {
  Slide slide = ReadOne(kWsi + "highdicom/sm_image.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  auto empty = ReadRegion(slide.levels[0], 0, 0, 0, 10);
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  auto huge = ReadRegion(slide.levels[0], 0, 0, 10000, 10000);
  EXPECT_EQ(huge.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("64 megapixels"), std::string::npos);

  auto seg = ReadSlideSeries({kWsi + "highdicom/seg_image_sm_dots.dcm"});
  EXPECT_EQ(seg.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(seg.status().message().find("VL Whole Slide Microscopy"), std::string::npos);
  auto none = ReadSlideSeries({kWsi + "README.md"});
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidDicom);
  EXPECT_NE(none.status().message().find("README.md"), std::string::npos);
}

TEST(SlideReader, OpenslideBoxesDicomEqualsTheSvsItCameFrom) {
  // boxes_0.dcm is small.svs (16x16 in one 64x64 JPEG tile), with its thumbnail boxes_1.dcm.
  auto slide = ReadSlideSeries(
      {kWsi + "openslide_python/boxes_1.dcm", kWsi + "openslide_python/boxes_0.dcm"});
  ASSERT_TRUE(slide.ok()) << slide.status().ToString();
  ASSERT_EQ(slide->levels.size(), 1u);
  EXPECT_EQ(slide->thumbnail_path, kWsi + "openslide_python/boxes_1.dcm");
  EXPECT_EQ(slide->container_identifier, "SLIDE_1");
  const SlideLevel& l = slide->levels[0];
  EXPECT_EQ(l.total_columns, 16);
  EXPECT_EQ(l.tile_columns, 64);
  auto region = ReadRegion(l, 0, 0, 16, 16);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  const auto expected = OpenSlideRegion(kWsi + "openslide_python/small.svs", 0, 0, 16, 16);
  // Two JPEG decoders (DCMTK's IJG, OpenSlide's libjpeg-turbo) on the same bitstream.
  EXPECT_LE(MaxAbsDiff(region->pixels, expected), 1);  // measured 0
}

TEST(SlideReader, NonConformantPathmlFileStillReads) {
  // No ImageType, no DimensionOrganizationType, no Pixel Measures: read as an implied
  // TILED_FULL VOLUME level without spacing.
  Slide slide = ReadOne(kWsi + "pathml_negative/small_dicom.dcm");
  ASSERT_EQ(slide.levels.size(), 1u);
  const SlideLevel& l = slide.levels[0];
  EXPECT_EQ(l.total_columns, 3236);
  EXPECT_EQ(l.total_rows, 2638);
  EXPECT_EQ(l.frames, 42);
  EXPECT_TRUE(l.tiled_full);
  EXPECT_EQ(l.pixel_spacing_mm[0], 0);
  auto region = ReadRegion(l, 468, 468, 64, 64);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  // Its JPEG frames are JFIF (YCbCr, 4:2:0) but labelled RGB. pydicom follows the label and
  // returns the YCbCr samples unconverted (the reference); radflow_pixel follows the stream
  // (JFIF APP0 -> YCbCr -> RGB), so the region equals the reference put through YCbCr->RGB,
  // within 2 (rounded twice: the IDCT output, then our conversion; measured in the doc).
  const auto expected = ReadRaw(kRef + "small_dicom.468_468_64_64.s3.raw");
  EXPECT_LE(MaxAbsDiff(region->pixels, YcbcrToRgb(expected)), 2)
      << "max diff to the label's reading " << MaxAbsDiff(region->pixels, expected);
}

TEST(SlideReader, TiledFullConcatenationReadsEveryPart) {
  const fs::path dir = TempDir("concat-full");
  // Three parts (frames 0-11, 12-19, 20-24), given in the wrong order.
  auto paths = MakeConcatenation(dir, {12, 20}, false);
  ASSERT_EQ(paths.size(), 3u);
  auto slide = ReadSlideSeries({paths[2], paths[0], paths[1]});
  ASSERT_TRUE(slide.ok()) << slide.status().ToString();
  ASSERT_EQ(slide->levels.size(), 1u);
  const SlideLevel& l = slide->levels[0];
  EXPECT_EQ(l.frames, 25);
  EXPECT_EQ(l.path, paths[0]);
  ASSERT_EQ(l.parts.size(), 3u);
  EXPECT_EQ(l.parts[1].path, paths[1]);
  EXPECT_EQ(l.parts[1].first_frame, 12);
  EXPECT_EQ(l.parts[1].frames, 8);
  EXPECT_EQ(l.parts[2].first_frame, 20);
  auto region = ReadRegion(l, 0, 0, 50, 50);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(MaxAbsDiff(region->pixels, ReadRaw(kRef + "sm_image.0_0_50_50.s3.raw")), 0);

  // A part missing: an error naming the concatenation, never a white hole.
  auto missing = ReadSlideSeries({paths[0], paths[2]});
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidDicom);
  EXPECT_NE(missing.status().message().find("part 2 is missing"), std::string::npos)
      << missing.status().ToString();
  auto first_only = ReadSlideSeries({paths[0]});
  EXPECT_EQ(first_only.status().code(), ErrorCode::kInvalidDicom);
  EXPECT_NE(first_only.status().message().find("InConcatenationTotalNumber is 3"),
            std::string::npos)
      << first_only.status().ToString();
  fs::remove_all(dir);
}

TEST(SlideReader, SparseConcatenationPlacesFramesOfEveryPart) {
  const fs::path dir = TempDir("concat-sparse");
  auto paths = MakeConcatenation(dir, {10}, true);
  auto slide = ReadSlideSeries(paths);
  ASSERT_TRUE(slide.ok()) << slide.status().ToString();
  const SlideLevel& l = slide->levels[0];
  EXPECT_FALSE(l.tiled_full);
  EXPECT_EQ(l.frames, 25);
  ASSERT_EQ(l.frame_origins.size(), 25u);
  EXPECT_EQ(l.frame_origins[0], std::make_pair(40, 40));  // stored in reverse tile order
  EXPECT_EQ(l.frame_origins[24], std::make_pair(0, 0));   // in part 2
  EXPECT_FALSE(l.cell_start.empty());                     // the position index is built
  auto region = ReadRegion(l, 0, 0, 50, 50);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(MaxAbsDiff(region->pixels, ReadRaw(kRef + "sm_image.0_0_50_50.s3.raw")), 0);
  // The same through the scan a hand-built level (no index) takes.
  SlideLevel unindexed = l;
  unindexed.cell_start.clear();
  unindexed.cell_frames.clear();
  auto scanned = ReadRegion(unindexed, 5, 5, 30, 40);
  auto indexed = ReadRegion(l, 5, 5, 30, 40);
  ASSERT_TRUE(scanned.ok() && indexed.ok());
  EXPECT_EQ(scanned->pixels, indexed->pixels);
  fs::remove_all(dir);
}

TEST(SlideReader, SparseOriginOutsideTheMatrixIsRefused) {
  const fs::path dir = TempDir("bad-origin");
  for (long column : {2147483647L, 51L, -10L}) {
    auto paths = MakeConcatenation(dir, {}, true, column);
    auto slide = ReadSlideSeries(paths);
    EXPECT_EQ(slide.status().code(), ErrorCode::kInvalidDicom) << column;
    EXPECT_NE(slide.status().message().find("frame 25 is at column " + std::to_string(column)),
              std::string::npos)
        << slide.status().ToString();
  }
  // Column -9 (1-based) is origin -10 = -tile, the lowest accepted (PS3.3 allows origins
  // left of the matrix; the tile then covers nothing and the region stays white).
  auto edge = ReadSlideSeries(MakeConcatenation(dir, {}, true, -9));
  EXPECT_TRUE(edge.ok()) << edge.status().ToString();
  fs::remove_all(dir);
}

TEST(SlideReader, OrthancDicomizerSparsePyramidMatchesOpenSlide) {
  const std::string svs = kWsi + "cmu1_small_region_svs/CMU-1-Small-Region.svs";
  if (std::system("command -v OrthancWSIDicomizer >/dev/null") != 0) {
    GTEST_SKIP() << "OrthancWSIDicomizer not installed (scripts/setup.sh installs orthanc-wsi)";
  }
  const fs::path dir = fs::temp_directory_path() / ("radflow-slide-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cmd = "OrthancWSIDicomizer --folder " + dir.string() +
                          " --pyramid 1 --openslide /usr/lib/x86_64-linux-gnu/libopenslide.so.0 " +
                          svs + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  auto slide = ReadSlideSeries(files);
  ASSERT_TRUE(slide.ok()) << slide.status().ToString();
  ASSERT_EQ(slide->levels.size(), 5u);
  const SlideLevel& l0 = slide->levels[0];
  EXPECT_EQ(l0.total_columns, 2220);
  EXPECT_EQ(l0.total_rows, 2967);
  EXPECT_FALSE(l0.tiled_full);  // TILED_SPARSE by PlanePositionSlide
  EXPECT_EQ(l0.frame_origins.size(), 130u);
  for (size_t i = 1; i < slide->levels.size(); ++i)
    EXPECT_LT(slide->levels[i].total_columns, slide->levels[i - 1].total_columns);
  // Across four tiles (240-px tiles: the corner at 480, 480).
  auto region = ReadRegion(l0, 400, 400, 160, 160);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  const auto expected = OpenSlideRegion(svs, 400, 400, 160, 160);
  // Level 0's tiles are the SVS's JPEG streams, RGB (Adobe APP14 transform 0), which the
  // dicomizer labels YBR_FULL_422; radflow_pixel follows the stream's APP14 marker, as
  // OpenSlide does (DCMTK alone would follow the label and apply YCbCr->RGB: mean error 47).
  // Two IDCTs on one bitstream: within 1 (measured 0).
  EXPECT_LE(MaxAbsDiff(region->pixels, expected), 1);
  // A level computed by the dicomizer (YCbCr JPEG, correctly labelled): the whole
  // 139x186 coarsest level against OpenSlide's level 0 is not comparable pixel for pixel,
  // so its tile is checked for size and colour sanity only (mostly bright background).
  const SlideLevel& top = slide->levels.back();
  auto all = ReadRegion(top, 0, 0, top.total_columns, top.total_rows);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  double mean = 0;
  for (uint8_t v : all->pixels) mean += v;
  EXPECT_GT(mean / all->pixels.size(), 150.0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::slide
