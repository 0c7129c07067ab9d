// ConvertSlide on the shared slides: which instances, copied or encoded, the attributes a
// viewer needs, copied frames byte-identical to tile + JPEGTables, and clear errors.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <filesystem>
#include <fstream>

#include "wsi/jpeg_stream.h"
#include "wsi/tiff_tiles.h"
#include "wsi/wsi_import.h"

namespace fs = std::filesystem;

namespace radflow::wsi {
namespace {

const std::string kData = std::string(RADFLOW_SHARED_DATA) + "/wsi/";

struct TempDir {
  fs::path dir;
  int n = 0;
  TempDir() {
    dir = fs::temp_directory_path() / ("wsi_convert_test_" + std::to_string(::getpid()) + "_" +
                                       std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::function<std::string()> Paths() {
    return [this] { return (dir / ("f" + std::to_string(n++) + ".dcm")).string(); };
  }
};

std::string Str(DcmItem* ds, const DcmTagKey& tag) {
  OFString v;
  ds->findAndGetOFStringArray(tag, v);
  return v.c_str();
}

TEST(ConvertSlide, CmuSmallRegionCopiesLevelZeroAndComputesTheRest) {
  TempDir tmp;
  ImportOptions o;
  o.patient_id = "P1";
  o.container_identifier = "CMU-1-SR";
  auto r = ConvertSlide(kData + "cmu1_small_region_svs/CMU-1-Small-Region.svs", o, tmp.Paths());
  ASSERT_TRUE(r.ok()) << r.status().message();
  // 2220x2967 in 240 tiles, then halves down to one tile: 1110, 555, 278, 139 columns.
  std::vector<std::string> kinds;
  for (const auto& w : r->instances) kinds.push_back(w.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"VOLUME", "VOLUME", "VOLUME", "VOLUME", "VOLUME", "THUMBNAIL",
                                             "LABEL", "OVERVIEW"}));
  const auto& l0 = r->instances[0];
  EXPECT_TRUE(l0.copied);
  EXPECT_EQ(l0.photometric, "RGB");
  EXPECT_EQ(l0.frames, 130u);
  EXPECT_EQ(r->instances[4].total_columns, 139u);
  EXPECT_EQ(r->instances[4].total_rows, 186u);
  EXPECT_EQ(r->instances[4].frames, 1u);
  EXPECT_FALSE(r->instances[1].copied);
  // The vendor thumbnail (574 px, zoom factor 4 like the 555 px level) is shrunk to the
  // first free factor, 5: viewers order one pyramid by factor (wsi_import.cpp).
  EXPECT_EQ(r->instances[5].total_columns, 444u);
  EXPECT_EQ(r->instances[5].total_rows, 594u);

  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(l0.path.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  EXPECT_EQ(Str(ds, DCM_ImageType), "ORIGINAL\\PRIMARY\\VOLUME\\NONE");
  EXPECT_EQ(Str(ds, DCM_DimensionOrganizationType), "TILED_FULL");
  EXPECT_EQ(Str(ds, DCM_ContainerIdentifier), "CMU-1-SR");
  EXPECT_EQ(Str(ds, DCM_TotalPixelMatrixColumns), "2220");
  EXPECT_EQ(Str(ds, DCM_NumberOfFrames), "130");
  EXPECT_EQ(Str(ds, DCM_AcquisitionDateTime), "20091229095915");
  // The company, not OpenSlide's "aperio"; the ScanScope ID is a serial, not a model.
  EXPECT_EQ(Str(ds, DCM_Manufacturer), "Aperio");
  EXPECT_EQ(Str(ds, DCM_DeviceSerialNumber), "CPAPERIOCS");
  EXPECT_EQ(Str(ds, DCM_ManufacturerModelName), "unknown");
  EXPECT_TRUE(ds->tagExists(DCM_ImagedVolumeWidth));
  // The label and overview photograph the glass: level 0's extent does not describe them
  // (Type 1C for VOLUME and THUMBNAIL only, C.8.12.4); the origin is Type 1 everywhere.
  for (int k : {6, 7}) {
    DcmFileFormat other;
    ASSERT_TRUE(other.loadFile(r->instances[k].path.c_str()).good());
    EXPECT_FALSE(other.getDataset()->tagExists(DCM_ImagedVolumeWidth)) << r->instances[k].kind;
  }
  DcmItem* shared = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good());
  DcmItem* pm = nullptr;
  ASSERT_TRUE(shared->findAndGetSequenceItem(DCM_PixelMeasuresSequence, pm, 0).good());
  EXPECT_EQ(Str(pm, DCM_PixelSpacing), "0.000499\\0.000499");
  DcmItem* path = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_OpticalPathSequence, path, 0).good());
  EXPECT_TRUE(path->tagExists(DCM_ICCProfile));

  // Frame 17 (tile column 7, row 1) is tile + APP14 + JPEGTables, byte for byte.
  DcmElement* px = nullptr;
  ASSERT_TRUE(ds->findAndGetElement(DCM_PixelData, px).good());
  DcmPixelSequence* seq = nullptr;
  ASSERT_TRUE(static_cast<DcmPixelData*>(px)->getEncapsulatedRepresentation(EXS_JPEGProcess1, nullptr, seq).good());
  ASSERT_EQ(seq->card(), 131u);  // offset table + 130 fragments
  DcmPixelItem* item = nullptr;
  ASSERT_TRUE(seq->getItem(item, 1 + 17).good());
  Uint8* bytes = nullptr;
  ASSERT_TRUE(item->getUint8Array(bytes).good());
  Bytes frame(bytes, bytes + item->getLength());
  if (!frame.empty() && frame.back() == 0) frame.pop_back();  // even-length padding
  auto tiff = TiffTiles::Open(kData + "cmu1_small_region_svs/CMU-1-Small-Region.svs");
  ASSERT_TRUE(tiff.ok());
  auto raw = tiff.value()->ReadRawTile(0, 7, 1);
  ASSERT_TRUE(raw.ok());
  auto expected = SpliceTables(tiff.value()->directories()[0].jpeg_tables, *raw, true);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(frame, *expected);
}

TEST(ConvertSlide, BoxesTiffWithoutAResolutionNeedsMpp) {
  // boxes.tiff says 28.35 pixels/cm (72 dpi): an image editor's default, not a measurement.
  TempDir tmp;
  auto r = ConvertSlide(kData + "openslide_python/boxes.tiff", {}, tmp.Paths());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--mpp"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("boxes.tiff"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.dir / "f0.dcm"));
}

TEST(ConvertSlide, BoxesTiffIsReencodedLevelByLevel) {
  TempDir tmp;
  ImportOptions o;
  o.mpp = 0.25;
  auto r = ConvertSlide(kData + "openslide_python/boxes.tiff", o, tmp.Paths());
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Deflate tiles: not copyable; 4 source levels, the last (37x31) fits one 64-px tile.
  ASSERT_EQ(r->instances.size(), 4u);
  for (const auto& w : r->instances) {
    EXPECT_FALSE(w.copied);
    EXPECT_EQ(w.photometric, "YBR_FULL_422");
  }
  EXPECT_EQ(r->container_identifier, "boxes");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(r->instances[0].path.c_str()).good());
  EXPECT_EQ(Str(ff.getDataset(), DCM_ImageType), "DERIVED\\PRIMARY\\VOLUME\\NONE");
  DcmItem* shared = nullptr;
  ASSERT_TRUE(ff.getDataset()->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good());
  DcmItem* pm = nullptr;
  ASSERT_TRUE(shared->findAndGetSequenceItem(DCM_PixelMeasuresSequence, pm, 0).good());
  EXPECT_EQ(Str(pm, DCM_PixelSpacing), "0.00025\\0.00025");  // --mpp, in mm
  // Generic TIFF without a Make tag: Manufacturer and model are "unknown" (Type 1, C.7.5.2).
  EXPECT_EQ(Str(ff.getDataset(), DCM_Manufacturer), "unknown");
}

TEST(ConvertSlide, SmallSvsOneTileLargerThanTheImage) {
  TempDir tmp;
  auto r = ConvertSlide(kData + "openslide_python/small.svs", {}, tmp.Paths());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->instances.size(), 2u);  // the 16x16 level in one 64x64 tile, the thumbnail
  EXPECT_TRUE(r->instances[0].copied);
  EXPECT_EQ(r->instances[0].frames, 1u);
  EXPECT_EQ(r->instances[1].kind, "THUMBNAIL");
}

TEST(ConvertSlide, NotASlideIsNamed) {
  TempDir tmp;
  const fs::path junk = tmp.dir / "junk.svs";
  std::ofstream(junk) << "this is not a slide";
  auto r = ConvertSlide(junk.string(), {}, tmp.Paths());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("junk.svs"), std::string::npos);
  auto missing = ConvertSlide((tmp.dir / "nope.svs").string(), {}, tmp.Paths());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  // A DICOM file is not a vendor slide either.
  auto dcm = ConvertSlide(kData + "highdicom/sm_image.dcm", {}, tmp.Paths());
  ASSERT_FALSE(dcm.ok());
  EXPECT_EQ(dcm.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(tmp.dir / "f0.dcm"));  // nothing left behind
}

}  // namespace
}  // namespace radflow::wsi
