// radflow_imaging on real data: NIfTI I/O (IBSI phantom, PAT1), DICOM series assembly
// (PAT1, GE tilted head, chest CT, enhanced CT) and resampling on synthetic volumes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "imaging/distance.h"
#include "imaging/nifti_io.h"
#include "imaging/resample.h"
#include "imaging/rtstruct.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"

namespace radflow::imaging {
namespace {

namespace fs = std::filesystem;

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

std::vector<std::string> DicomFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(Data(dir))) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("radflow_imaging_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

size_t Count(const Mask& m) { return size_t(std::count(m.data().begin(), m.data().end(), 1)); }

double Dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 Sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }

void ExpectOrthonormal(const Geometry& g) {
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b)
      EXPECT_NEAR(Dot(g.direction[a], g.direction[b]), a == b ? 1 : 0, 1e-6);
  }
}

const char* kPat1Image = "dicom/ct_lung_ibsi_pat1/nifti/image/phantom.nii.gz";
const char* kPat1Mask = "dicom/ct_lung_ibsi_pat1/nifti/mask/mask.nii.gz";

// --- NIfTI ---------------------------------------------------------------------------

TEST(NiftiTest, ReadsIbsiDigitalPhantom) {
  auto image = ReadNifti(Data("ibsi/ibsi1_digital_phantom/image.nii.gz"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto mask = ReadNiftiMask(Data("ibsi/ibsi1_digital_phantom/mask.nii.gz"));
  ASSERT_TRUE(mask.ok()) << mask.status().ToString();
  const Geometry& g = image->geometry();
  EXPECT_EQ(g.size, (std::array<size_t, 3>{5, 4, 4}));
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(g.spacing[a], 2.0, 1e-6);
  ExpectOrthonormal(g);
  ASSERT_TRUE(g.SameGrid(mask->geometry()));
  std::set<float> levels;
  for (size_t n = 0; n < image->data().size(); ++n) {
    if (mask->data()[n]) levels.insert(image->data()[n]);
  }
  EXPECT_EQ(levels, (std::set<float>{1, 3, 4, 6}));
  EXPECT_EQ(Count(*mask), 74u);
}

TEST(NiftiTest, ReadsPat1ImageAndMask) {
  auto image = ReadNifti(Data(kPat1Image));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto mask = ReadNiftiMask(Data(kPat1Mask));
  ASSERT_TRUE(mask.ok()) << mask.status().ToString();
  EXPECT_EQ(image->geometry().size[2], 60u);
  EXPECT_TRUE(image->geometry().SameGrid(mask->geometry(), 1e-3));
  // IBSI's diagnostic value for PAT1 (int/morph_mask_vox_count_init_roi): 125256 voxels.
  EXPECT_EQ(Count(*mask), 125256u);
}

TEST(NiftiTest, WriteReadRoundTripIsLossless) {
  auto image = ReadNifti(Data(kPat1Image));
  ASSERT_TRUE(image.ok());
  const std::string path = TempPath("pat1.nii.gz");
  ASSERT_TRUE(WriteNifti(*image, path).ok());
  auto back = ReadNifti(path);
  fs::remove(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->geometry().SameGrid(image->geometry(), 1e-4));
  EXPECT_EQ(back->data(), image->data());
}

TEST(NiftiTest, RoundTripKeepsObliqueGeometry) {
  Geometry g;
  g.size = {3, 4, 5};
  g.spacing = {0.5, 0.75, 2.5};
  g.origin = {-10.25, 20.5, -30.125};
  const double c = std::cos(0.3), s = std::sin(0.3);
  g.direction = {{{c, s, 0}, {0, 0, -1}, {-s, c, 0}}};  // oblique
  ImageVolume v(g);
  std::iota(v.data().begin(), v.data().end(), -7.5f);
  const std::string path = TempPath("oblique.nii");
  ASSERT_TRUE(WriteNifti(v, path).ok());
  auto back = ReadNifti(path);
  fs::remove(path);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->geometry().SameGrid(g, 1e-5));
  EXPECT_EQ(back->data(), v.data());
}

TEST(NiftiTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadNifti("/nonexistent/x.nii.gz").status().code(), ErrorCode::kNotFound);
}

// --- DICOM series --------------------------------------------------------------------

TEST(SeriesVolumeTest, Pat1MatchesIbsiNifti) {
  auto series = LoadSeries(DicomFiles("dicom/ct_lung_ibsi_pat1/dicom/image"));
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  const SeriesReport& r = series->report;
  EXPECT_EQ(r.slice_count, 60u);
  EXPECT_EQ(r.frame_count, 60u);
  EXPECT_EQ(r.missing_slices, 0u);
  EXPECT_FALSE(r.nonuniform_spacing);
  ASSERT_EQ(r.spacings.size(), 1u);
  EXPECT_NEAR(r.spacings[0].mm, 3.0, 1e-3);
  EXPECT_FALSE(r.resampled);
  EXPECT_NEAR(r.gantry_tilt_degrees, 0, 1e-3);
  auto nifti = ReadNifti(Data(kPat1Image));
  ASSERT_TRUE(nifti.ok());
  const Geometry& g = series->volume.geometry();
  const Geometry& n = nifti->geometry();
  EXPECT_TRUE(g.SameGrid(n, 1e-3))
      << "origin " << g.origin[0] << "," << g.origin[1] << "," << g.origin[2] << " vs "
      << n.origin[0] << "," << n.origin[1] << "," << n.origin[2] << "; dk " << g.direction[2][2]
      << " vs " << n.direction[2][2] << "; dz " << g.spacing[2] << " vs " << n.spacing[2];
  EXPECT_EQ(series->volume.data(), nifti->data());
}

TEST(SeriesVolumeTest, MissingSlicesAreInterpolatedOntoTheFullGrid) {
  auto files = DicomFiles("dicom/ct_lung_ibsi_pat1/dicom/image");
  auto full = LoadSeries(files);
  ASSERT_TRUE(full.ok());
  const Geometry& g = full->volume.geometry();
  std::vector<std::string> kept;  // all but the slices at k = 10 and 11
  for (const auto& f : files) {
    auto one = LoadSeries({f});
    ASSERT_TRUE(one.ok());
    const long k = std::lround(g.PointToIndex(one->volume.geometry().origin)[2]);
    if (k != 10 && k != 11) kept.push_back(f);
  }
  ASSERT_EQ(kept.size(), 58u);
  auto gappy = LoadSeries(kept);
  ASSERT_TRUE(gappy.ok()) << gappy.status().ToString();
  EXPECT_EQ(gappy->report.missing_slices, 2u);
  EXPECT_TRUE(gappy->report.nonuniform_spacing);
  EXPECT_TRUE(gappy->report.resampled);
  ASSERT_TRUE(gappy->volume.geometry().SameGrid(g, 1e-6));
  const size_t plane = g.size[0] * g.size[1];
  for (size_t n = 0; n < plane; n += 13) {
    const auto& a = full->volume.data();
    const auto& b = gappy->volume.data();
    EXPECT_NEAR(b[9 * plane + n], a[9 * plane + n], 1e-3);
    EXPECT_NEAR(b[12 * plane + n], a[12 * plane + n], 1e-3);
    // Linear between the neighbours at k = 9 and 12.
    EXPECT_NEAR(b[10 * plane + n], (2 * a[9 * plane + n] + a[12 * plane + n]) / 3, 1e-2);
    EXPECT_NEAR(b[11 * plane + n], (a[9 * plane + n] + 2 * a[12 * plane + n]) / 3, 1e-2);
  }
}

TEST(SeriesVolumeTest, ShuffledFilesGiveTheSameVolume) {
  for (const char* dir : {"dicom/ct_lung_ibsi_pat1/dicom/image", "dicom/ct_head_ge_tilt/dicom",
                          "dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel"}) {
    auto files = DicomFiles(dir);
    auto sorted = LoadSeries(files);
    std::shuffle(files.begin(), files.end(), std::mt19937(42));
    auto shuffled = LoadSeries(files);
    ASSERT_TRUE(sorted.ok() && shuffled.ok()) << dir;
    EXPECT_TRUE(sorted->volume.geometry().SameGrid(shuffled->volume.geometry(), 0)) << dir;
    EXPECT_EQ(sorted->volume.data(), shuffled->volume.data()) << dir;
  }
}

TEST(SeriesVolumeTest, TiltedHeadIsResampledOntoARegularGrid) {
  auto files = DicomFiles("dicom/ct_head_ge_tilt/dicom");
  std::reverse(files.begin(), files.end());
  auto series = LoadSeries(files);
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  const SeriesReport& r = series->report;
  EXPECT_EQ(r.slice_count, 28u);
  std::cout << "tilt " << r.gantry_tilt_degrees << "°; spacings";
  for (const auto& sp : r.spacings) std::cout << " " << sp.mm;
  std::cout << "; median " << r.median_spacing << ", max " << r.max_spacing << "\n";
  // The header's GantryDetectorTilt is +18.5°; the positions (decimal strings) give 18.49999°.
  EXPECT_NEAR(r.gantry_tilt_degrees, 18.5, 1e-3);
  EXPECT_TRUE(r.nonuniform_spacing);
  EXPECT_TRUE(r.resampled);
  // Two spacings, 4 mm and 7 mm along the normal (4.22 / 7.38 mm z-steps), and the
  // 1.08 mm step between them; the 7 mm gaps exceed 1.5 × the 4 mm median. The expected
  // values: ImagePositionPatient projected on the normal, computed apart with pydicom
  // (4.0019, 1.0811, 6.9986 mm); 1e-3 mm is the precision of those 4 decimals.
  ASSERT_EQ(r.spacings.size(), 3u);
  EXPECT_NEAR(r.spacings[0].mm, 4.0019, 1e-3);
  EXPECT_EQ(r.spacings[0].gaps, 13u);
  EXPECT_NEAR(r.spacings[1].mm, 1.0811, 1e-3);
  EXPECT_NEAR(r.spacings[2].mm, 6.9986, 1e-3);
  EXPECT_EQ(r.spacings[2].gaps, 13u);
  EXPECT_NEAR(r.median_spacing, 4.0019, 1e-3);
  EXPECT_NEAR(r.max_spacing, 6.9986, 1e-3);
  EXPECT_EQ(r.missing_slices, 13u);
  const Geometry& g = series->volume.geometry();
  ExpectOrthonormal(g);
  EXPECT_NEAR(g.spacing[2], r.median_spacing, 1e-9);
  EXPECT_GT(g.size[1], 512u);  // the tilt widens the grid to cover every slice
  // Not sheared: plane k = 0 holds the lowest slice's pixels, at their own positions.
  for (const auto& f : files) {
    auto one = LoadSeries({f});
    ASSERT_TRUE(one.ok());
    const Geometry& s = one->volume.geometry();
    if (std::abs(Dot(Sub(s.origin, g.origin), g.direction[2])) > 1e-3) continue;
    Vec3 at = g.PointToIndex(s.origin);
    ASSERT_NEAR(at[0], std::round(at[0]), 1e-3);
    ASSERT_NEAR(at[1], std::round(at[1]), 1e-3);
    const size_t i0 = size_t(std::lround(at[0])), j0 = size_t(std::lround(at[1]));
    for (size_t j = 0; j < s.size[1]; j += 7) {
      for (size_t i = 0; i < s.size[0]; i += 7) {
        ASSERT_NEAR(series->volume.at(i0 + i, j0 + j, 0), one->volume.at(i, j, 0), 1e-3);
      }
    }
  }
  // Brain tissue in the middle of the head (white matter 20-30 HU, grey matter 35-45 HU;
  // measured 22.1 HU), air fill at a corner.
  EXPECT_EQ(series->volume.at(0, 0, 0), r.fill_value);
  const float centre = series->volume.at(g.size[0] / 2, g.size[1] / 2, g.size[2] / 2);
  std::cout << "centre voxel " << centre << " HU\n";
  EXPECT_GE(centre, 20);
  EXPECT_LE(centre, 50);
}

TEST(SeriesVolumeTest, ChestCtIsRegular) {
  auto series = LoadSeries(DicomFiles("dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel"));
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  EXPECT_EQ(series->report.slice_count, 64u);
  EXPECT_FALSE(series->report.resampled);
  EXPECT_EQ(series->volume.geometry().size, (std::array<size_t, 3>{512, 512, 64}));
  EXPECT_NEAR(series->volume.geometry().spacing[2], 5.0, 1e-3);
}

TEST(SeriesVolumeTest, EnhancedMultiFrameCt) {
  auto series = LoadSeries({Data("dicom/codecs/files/eCT_Supplemental.dcm")});
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  EXPECT_EQ(series->report.frame_count, 2u);
  EXPECT_EQ(series->volume.geometry().size[2], 2u);
}

TEST(SeriesVolumeTest, CompressedSyntaxesDecodeToTheSameVolume) {
  // MR2: a real 1024x1024 MR slice, uncompressed and in lossless JPEG 2000 (twins).
  auto plain = LoadSeries({Data("dicom/codecs/files/MR2_UNCR.dcm")});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  for (const char* f : {"MR2_J2KR.dcm"}) {
    auto other = LoadSeries({Data(std::string("dicom/codecs/files/") + f)});
    ASSERT_TRUE(other.ok()) << f << ": " << other.status().ToString();
    EXPECT_EQ(other->volume.data(), plain->volume.data()) << f;
  }
  // The nine encodings of one MR image (transfer_syntaxes_mr) give one volume.
  std::vector<float> first;
  for (const auto& e : std::filesystem::directory_iterator(Data("dicom/transfer_syntaxes_mr/dicom"))) {
    auto v = LoadSeries({e.path().string()});
    ASSERT_TRUE(v.ok()) << e.path() << ": " << v.status().ToString();
    if (first.empty()) first = v->volume.data();
    EXPECT_EQ(v->volume.data(), first) << e.path();
  }
}

TEST(SeriesVolumeTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadSeries({"/nonexistent.dcm"}).status().code(), ErrorCode::kNotFound);
}

// --- Resampling ----------------------------------------------------------------------

Geometry Grid(size_t n, double spacing, Vec3 origin = {0, 0, 0}) {
  Geometry g;
  g.size = {n, n, n};
  g.spacing = {spacing, spacing, spacing};
  g.origin = origin;
  return g;
}

// value = 2x - y + 0.5z + 3 at the voxel centre (mm)
ImageVolume Ramp(const Geometry& g) {
  ImageVolume v(g);
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i < g.size[0]; ++i) {
        Vec3 p = g.IndexToPoint(double(i), double(j), double(k));
        v.at(i, j, k) = float(2 * p[0] - p[1] + 0.5 * p[2] + 3);
      }
  return v;
}

TEST(ResampleTest, LinearInterpolationOfARampIsExact) {
  ImageVolume ramp = Ramp(Grid(8, 2.0));
  Geometry target = Grid(10, 1.3, {0.4, 0.7, 1.1});
  ImageVolume out = Resample(ramp, target, Interpolation::kLinear);
  ImageVolume expected = Ramp(target);
  for (size_t n = 0; n < out.data().size(); ++n)
    EXPECT_NEAR(out.data()[n], expected.data()[n], 1e-4);
}

TEST(ResampleTest, OutsideTheSourceGetsFill) {
  ImageVolume ramp = Ramp(Grid(4, 1.0));
  ImageVolume out = Resample(ramp, Grid(2, 1.0, {10, 10, 10}), Interpolation::kLinear, -1000);
  for (float v : out.data()) EXPECT_EQ(v, -1000);
}

TEST(ResampleTest, CubicBSplineKeepsConstantsAndSamples) {
  ImageVolume constant(Grid(6, 1.0), 42.0f);
  ImageVolume out =
      Resample(constant, Grid(9, 0.6, {0.2, 0.1, 0.15}), Interpolation::kCubicBSpline);
  for (float v : out.data()) EXPECT_NEAR(v, 42.0, 1e-4);
  // Interpolating spline: on the source grid it returns the samples.
  ImageVolume noise(Grid(7, 1.0));
  std::mt19937 rng(1);
  for (float& v : noise.data()) v = float(rng() % 1000);
  ImageVolume same = Resample(noise, noise.geometry(), Interpolation::kCubicBSpline);
  for (size_t n = 0; n < same.data().size(); ++n)
    EXPECT_NEAR(same.data()[n], noise.data()[n], 1e-2);
}

TEST(ResampleTest, NearestPicksTheClosestVoxel) {
  ImageVolume ramp = Ramp(Grid(4, 1.0));
  Geometry shifted = Grid(4, 1.0, {0.4, -0.4, 0.3});
  ImageVolume out = Resample(ramp, shifted, Interpolation::kNearest);
  EXPECT_EQ(out.data(), ramp.data());
}

TEST(ConnectedComponentsTest, SixVersusTwentySixConnectivity) {
  Mask m(Grid(4, 1.0), 0);
  m.at(0, 0, 0) = 1;
  m.at(1, 1, 1) = 1;  // touches (0,0,0) by a corner only
  m.at(3, 3, 3) = 1;
  m.at(3, 3, 2) = 1;  // face neighbour of (3,3,3)
  auto six = ConnectedComponents(m, 6);
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->sizes, (std::vector<size_t>{1, 1, 2}));
  EXPECT_EQ(six->labels.at(3, 3, 3), 3);
  auto all = ConnectedComponents(m, 26);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->sizes, (std::vector<size_t>{2, 2}));
  EXPECT_EQ(all->labels.at(1, 1, 1), 1);
  EXPECT_EQ(ConnectedComponents(m, 18).status().code(), ErrorCode::kInvalidArgument);
}

// --- RTSTRUCT ------------------------------------------------------------------------

const char* kPat1Rtstruct = "dicom/ct_lung_ibsi_pat1/dicom/mask/DCM_RS_00060.dcm";

TEST(RtstructTest, Pat1GtvMatchesIbsiMask) {
  auto names = ListRois(Data(kPat1Rtstruct));
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_NE(std::find(names->begin(), names->end(), "GTV-1"), names->end());
  auto reference = ReadNiftiMask(Data(kPat1Mask));
  ASSERT_TRUE(reference.ok());
  auto mask = RasterizeRoi(Data(kPat1Rtstruct), "GTV-1", reference->geometry());
  ASSERT_TRUE(mask.ok()) << mask.status().ToString();
  size_t both = 0;
  for (size_t n = 0; n < mask->data().size(); ++n) both += mask->data()[n] && reference->data()[n];
  const double dice = 2.0 * double(both) / double(Count(*mask) + Count(*reference));
  std::cout << "GTV-1: " << Count(*mask) << " voxels, IBSI mask " << Count(*reference) << ", Dice "
            << dice << "\n";
  // IBSI's mask was voxelised from this RTSTRUCT; rasterised on its grid, GTV-1 is identical
  // (Dice 1, 125256 voxels).
  EXPECT_EQ(mask->data(), reference->data());
}

TEST(RtstructTest, UnknownRoiIsNotFound) {
  auto reference = ReadNiftiMask(Data(kPat1Mask));
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(RasterizeRoi(Data(kPat1Rtstruct), "no such ROI", reference->geometry()).status().code(),
            ErrorCode::kNotFound);
}

// --- DICOM SEG -----------------------------------------------------------------------
// Expected voxel counts were obtained independently of this reader: Pixel Data dumped with
// `dcmdump +W` and the bits (BINARY, LSB first, frames packed back to back) / bytes
// (FRACTIONAL >= 0.5 x MaximumFractionalValue, LABELMAP) counted per frame with a short
// Python script; frame → segment / position read from dcmdump.

const char* kDcmqiSeg = "seg_sr/dcmqi/data/segmentations/";
const char* kHighdicom = "seg_sr/highdicom/test_files/";

std::string SegData(const char* base, const std::string& rel) { return Data(std::string(base) + rel); }

size_t PlaneCount(const Mask& m, size_t k) {
  size_t n = 0;
  for (size_t j = 0; j < m.geometry().size[1]; ++j)
    for (size_t i = 0; i < m.geometry().size[0]; ++i) n += m.at(i, j, k) != 0;
  return n;
}

Geometry SeriesGrid(const std::string& dir) {
  auto series = LoadSeries(DicomFiles(dir));
  EXPECT_TRUE(series.ok()) << series.status().ToString();
  return series.ok() ? series->volume.geometry() : Geometry{};
}

TEST(SegTest, ListsLiverSegment) {
  auto segs = ListSegments(SegData(kDcmqiSeg, "liver.dcm"));
  ASSERT_TRUE(segs.ok()) << segs.status().ToString();
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_EQ(segs->front().number, 1);
  EXPECT_EQ(segs->front().label, "Liver");
  EXPECT_EQ(segs->front().algorithm_type, "SEMIAUTOMATIC");
  EXPECT_TRUE(IsSegmentationFile(SegData(kDcmqiSeg, "liver.dcm")));
  EXPECT_FALSE(IsSegmentationFile(SegData(kDcmqiSeg, "ct-3slice/01.dcm")));
}

TEST(SegTest, LiverOnItsSourceCtSeries) {
  // ct-3slice: z = -128.69, -127.69, -126.69; SEG frames 1..3 at those positions hold
  // 36233, 35645, 35220 set bits.
  const Geometry grid = SeriesGrid(std::string(kDcmqiSeg) + "ct-3slice");
  ASSERT_EQ(grid.size, (std::array<size_t, 3>{512, 512, 3}));
  for (const std::string spec : {"Liver", "1", ""}) {
    auto m = ReadSegment(SegData(kDcmqiSeg, "liver.dcm"), spec, grid);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_TRUE(m->geometry().SameGrid(grid));
    EXPECT_EQ(PlaneCount(*m, 0), 36233u);
    EXPECT_EQ(PlaneCount(*m, 1), 35645u);
    EXPECT_EQ(PlaneCount(*m, 2), 35220u);
  }
}

TEST(SegTest, LiverOnItsOwnGrid) {
  auto g = SegmentationGrid(SegData(kDcmqiSeg, "liver.dcm"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->size, (std::array<size_t, 3>{512, 512, 3}));
  EXPECT_NEAR(g->spacing[0], 0.810547, 1e-6);
  EXPECT_NEAR(g->spacing[2], 1.0, 1e-6);
  EXPECT_NEAR(g->origin[2], -128.69, 1e-6);
  auto m = ReadSegmentOnOwnGrid(SegData(kDcmqiSeg, "liver.dcm"), "Liver");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Count(*m), 36233u + 35645u + 35220u);
}

TEST(SegTest, PartialOverlapsLabelVolume) {
  // 5 segments, 7 frames on ct-3slice; last segment wins (counts from the same script).
  const Geometry grid = SeriesGrid(std::string(kDcmqiSeg) + "ct-3slice");
  auto labels = ReadLabelVolume(SegData(kDcmqiSeg, "partial_overlaps.dcm"), grid);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  std::map<int32_t, size_t> counts;
  for (int32_t v : labels->data()) ++counts[v];
  EXPECT_EQ(counts[1], 6518u);
  EXPECT_EQ(counts[2], 11838u);
  EXPECT_EQ(counts[3], 10743u);
  EXPECT_EQ(counts[4], 6693u);
  EXPECT_EQ(counts[5], 4713u);
  auto purple = ReadSegment(SegData(kDcmqiSeg, "partial_overlaps.dcm"), "PURPLE", grid);
  ASSERT_TRUE(purple.ok()) << purple.status().ToString();
  EXPECT_EQ(PlaneCount(*purple, 0), 117u);
  EXPECT_EQ(PlaneCount(*purple, 1), 117u);
  EXPECT_EQ(PlaneCount(*purple, 2), 10509u);
  auto green = ReadSegment(SegData(kDcmqiSeg, "partial_overlaps.dcm"), "1", grid);
  ASSERT_TRUE(green.ok());
  EXPECT_EQ(Count(*green), 9602u);  // before segment 2 overlaps it
}

TEST(SegTest, OddWidthBitPacking) {
  // 23 columns: 874 bits per frame, so frames 2 and 3 start mid-byte.
  const Geometry grid = SeriesGrid(std::string(kDcmqiSeg) + "23x38x3/image");
  ASSERT_EQ(grid.size, (std::array<size_t, 3>{23, 38, 3}));
  auto m = ReadSegment(SegData(kDcmqiSeg, "23x38x3/seg/label.seg"), "", grid);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(PlaneCount(*m, 0), 4u);
  EXPECT_EQ(PlaneCount(*m, 1), 314u);
  EXPECT_EQ(PlaneCount(*m, 2), 4u);
}

TEST(SegTest, SparseLabelMapOnImageGrid) {
  // Label Map Segmentation Storage, 2 frames (z -177.75, -172.75) of the 3-slice image,
  // 315 voxels of value 1 each; segment 0 is "Background".
  const Geometry grid = SeriesGrid(std::string(kDcmqiSeg) + "24x38x3/image");
  for (const char* file : {"sparse-labelmap-ppv5.dcm", "sparse-labelmap-noppv.dcm"}) {
    auto m = ReadSegment(SegData(kDcmqiSeg, file), "Liver", grid);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(PlaneCount(*m, 0), 315u) << file;
    EXPECT_EQ(PlaneCount(*m, 1), 0u) << file;
    EXPECT_EQ(PlaneCount(*m, 2), 315u) << file;
    auto labels = ReadLabelVolume(SegData(kDcmqiSeg, file), grid);
    ASSERT_TRUE(labels.ok());
    EXPECT_EQ(std::count(labels->data().begin(), labels->data().end(), 1), 630);
  }
  auto only = ReadSegment(SegData(kDcmqiSeg, "sparse-labelmap-ppv5.dcm"), "", grid);
  ASSERT_TRUE(only.ok()) << only.status().ToString();  // Background (0) is not counted
  EXPECT_EQ(Count(*only), 630u);
  auto own = ReadSegmentOnOwnGrid(SegData(kDcmqiSeg, "sparse-labelmap-ppv5.dcm"), "Liver");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->geometry().size, (std::array<size_t, 3>{24, 38, 3}));  // SpacingBetweenSlices 2.5
  EXPECT_EQ(PlaneCount(*own, 1), 0u);
  EXPECT_EQ(Count(*own), 630u);
}

TEST(SegTest, HighdicomFractionalAndOverlap) {
  // FRACTIONAL, MaximumFractionalValue 255: values >= 127.5 per frame 127, 256, 255 (both
  // the binary-valued and the true fractional object; the latter stores 128 for "inside").
  for (const char* file : {"seg_image_ct_binary_fractional.dcm", "seg_image_ct_true_fractional.dcm"}) {
    auto m = ReadSegmentOnOwnGrid(SegData(kHighdicom, file), "");
    ASSERT_TRUE(m.ok()) << file << ": " << m.status().ToString();
    EXPECT_EQ(m->geometry().size, (std::array<size_t, 3>{16, 16, 3}));
    EXPECT_EQ(Count(*m), 127u + 256u + 255u) << file;
  }
  // Two segments on 4 planes (16 and 4 voxels a plane); on overlap segment 2 wins.
  const std::string overlap = SegData(kHighdicom, "seg_image_ct_binary_overlap.dcm");
  auto grid = SegmentationGrid(overlap);
  ASSERT_TRUE(grid.ok()) << grid.status().ToString();
  auto first = ReadSegment(overlap, "first segment", grid.value());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Count(*first), 64u);
  auto labels = ReadLabelVolume(overlap, grid.value());
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(std::count(labels->data().begin(), labels->data().end(), 1), 48);
  EXPECT_EQ(std::count(labels->data().begin(), labels->data().end(), 2), 16);
}

TEST(SegTest, BadInputGivesClearErrors) {
  const std::string liver = SegData(kDcmqiSeg, "liver.dcm");
  const Geometry grid = SeriesGrid(std::string(kDcmqiSeg) + "ct-3slice");
  auto not_seg = ReadSegment(SegData(kDcmqiSeg, "ct-3slice/01.dcm"), "", grid);
  EXPECT_EQ(not_seg.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(not_seg.status().message().find("not a DICOM Segmentation"), std::string::npos);
  EXPECT_EQ(ListSegments(SegData(kDcmqiSeg, "ct-3slice/01.dcm")).status().code(),
            ErrorCode::kInvalidArgument);
  auto unknown = ReadSegment(liver, "Spleen", grid);
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("1 'Liver'"), std::string::npos);
  EXPECT_EQ(ReadSegment(Data("no/such.dcm"), "", grid).status().code(), ErrorCode::kNotFound);
  // The grid moved 10 slices away: frame 1 lies on none of its planes.
  Geometry away = grid;
  away.origin[2] += 10.0;
  auto off = ReadSegment(liver, "Liver", away);
  EXPECT_EQ(off.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(off.status().message().find("frame 1 "), std::string::npos) << off.status().message();
  // Tiled microscopy SEG: no patient-space frame positions.
  EXPECT_EQ(ReadSegmentOnOwnGrid(SegData(kHighdicom, "seg_image_sm_dots_tiled_full.dcm"), "1")
                .status().code(),
            ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace radflow::imaging

namespace radflow::imaging {

// Exact squared distances with anisotropic spacing, against brute force over every pair.
TEST(DistanceTest, SquaredDistanceMatchesBruteForce) {
  Geometry g;
  g.size = {9, 7, 5};
  g.spacing = {0.7, 1.3, 2.5};
  Mask m(g, 0);
  std::mt19937 rng(7);
  for (auto& v : m.data()) v = (rng() % 23) == 0;
  m.data()[0] = 1;
  const size_t nx = 9, ny = 7, nz = 5;
  for (bool target : {true, false}) {
    for (bool in_plane : {false, true}) {
      const auto d = SquaredDistance(m, target, in_plane, 2);
      ASSERT_EQ(d.size(), m.data().size());
      for (size_t k = 0; k < nz; ++k)
        for (size_t j = 0; j < ny; ++j)
          for (size_t i = 0; i < nx; ++i) {
            double best = 1e300;
            for (size_t c = 0; c < nz; ++c) {
              if (in_plane && c != k) continue;
              for (size_t b = 0; b < ny; ++b)
                for (size_t a = 0; a < nx; ++a) {
                  if ((m.data()[(c * ny + b) * nx + a] != 0) != target) continue;
                  const double dx = (double(a) - double(i)) * 0.7, dy = (double(b) - double(j)) * 1.3,
                               dz = (double(c) - double(k)) * 2.5;
                  best = std::min(best, dx * dx + dy * dy + dz * dz);
                }
            }
            const float got = d[(k * ny + j) * nx + i];
            if (best > 1e299) {
              EXPECT_GT(got, 1e30f);  // no such voxel (in this slice)
            } else {
              EXPECT_NEAR(got, best, 1e-4 * (1 + best)) << i << "," << j << "," << k;
            }
          }
    }
  }
}

}  // namespace radflow::imaging

namespace radflow::imaging {

// Block means with different factors per axis and partial blocks at the far edges; the
// coarse voxel centres at the blocks' centres; and back again.
TEST(BlockTest, BlockMeanAndExpand) {
  Geometry g;
  g.size = {5, 4, 3};
  g.spacing = {0.5, 0.8, 2.0};
  g.origin = {10, 20, 30};
  ImageVolume v(g, 0.f);
  for (size_t k = 0; k < 3; ++k)
    for (size_t j = 0; j < 4; ++j)
      for (size_t i = 0; i < 5; ++i) v.at(i, j, k) = float(i + 10 * j + 100 * k);
  const auto c = BlockMean(v, {2, 3, 2}, 2);
  const auto& cg = c.geometry();
  EXPECT_EQ(cg.size, (std::array<size_t, 3>{3, 2, 2}));
  EXPECT_DOUBLE_EQ(cg.spacing[0], 1.0);
  EXPECT_DOUBLE_EQ(cg.spacing[1], 2.4);
  EXPECT_DOUBLE_EQ(cg.spacing[2], 4.0);
  EXPECT_DOUBLE_EQ(cg.origin[0], 10.25);  // centre of voxels 0 and 1
  EXPECT_DOUBLE_EQ(cg.origin[1], 20.8);   // centre of voxels 0..2
  EXPECT_DOUBLE_EQ(cg.origin[2], 31.0);
  for (size_t ck = 0; ck < 2; ++ck)
    for (size_t cj = 0; cj < 2; ++cj)
      for (size_t ci = 0; ci < 3; ++ci) {
        double sum = 0;
        int n = 0;
        for (size_t k = ck * 2; k < std::min<size_t>(3, ck * 2 + 2); ++k)
          for (size_t j = cj * 3; j < std::min<size_t>(4, cj * 3 + 3); ++j)
            for (size_t i = ci * 2; i < std::min<size_t>(5, ci * 2 + 2); ++i) sum += v.at(i, j, k), ++n;
        EXPECT_FLOAT_EQ(c.at(ci, cj, ck), float(sum / n)) << ci << "," << cj << "," << ck;
      }
  EXPECT_EQ(BlockMean(v, {1, 1, 1}, 1).data(), v.data());  // nothing to average
  Mask coarse(cg, 0);
  coarse.at(2, 1, 1) = 1;  // the partial corner block
  const Mask fine = BlockExpand(coarse, g, {2, 3, 2}, 2);
  for (size_t k = 0; k < 3; ++k)
    for (size_t j = 0; j < 4; ++j)
      for (size_t i = 0; i < 5; ++i) EXPECT_EQ(fine.at(i, j, k), (i == 4 && j == 3 && k == 2) ? 1 : 0);
}

}  // namespace radflow::imaging
