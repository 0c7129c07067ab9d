// Registration on real CT: a chest CT against a copy of itself moved by a known rigid
// transform (12° about the cranio-caudal axis, 4° about the left-right axis, (15, -12, 8) mm)
// with Gaussian noise (σ 20 HU); the target registration error at the lesion (centre and the
// corners of its box) must be within the figure docs/architecture.md#Registration states:
// ≤ 0.2 mm on Lung_Dx, ≤ 0.5 mm on IBSI PAT1. Also: series without shared anatomy are refused
// with a clear error, and .tfm files round-trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "imaging/nifti_io.h"
#include "imaging/resample.h"
#include "imaging/series_volume.h"
#include "registration/registration.h"

namespace radflow::registration {
namespace {

using imaging::Geometry;
using imaging::ImageVolume;
using imaging::Vec3;

constexpr double kPi = 3.14159265358979323846;
// docs/architecture.md#Registration, at each lesion point: required <= 0.2 mm on Lung_Dx and
// <= 0.5 mm on PAT1 (about half its 0.977 mm pixel); measured 0.096 and 0.315 mm worst. The
// requirement is not the measurement: the optimiser's end point moves with the last bits of
// the arithmetic (another ITK, compiler or CPU).
constexpr double kChestTreMm = 0.2;
constexpr double kIbsiTreMm = 0.5;
// The same doc: matching CTs reach about -1.2 Mattes MI (different anatomies -0.2); less than
// 20 % overlap is refused. A recovered copy must be well clear of both (measured -1.19 / -1.63,
// overlap 0.88 / 0.83).
constexpr double kMaxMetric = -0.3;
constexpr double kMinOverlap = 0.6;

std::string DataDir() { return std::string(RADFLOW_SHARED_DATA) + "/dicom"; }
std::string ChestDir() { return DataDir() + "/ct_chest_lung_dx/Lung_Dx-A0001"; }
std::string IbsiDir() { return DataDir() + "/ct_lung_ibsi_pat1"; }

std::vector<std::string> DcmFiles(const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

const ImageVolume* Load(const std::string& dir) {
  auto r = imaging::LoadSeries(DcmFiles(dir));
  return r.ok() ? new ImageVolume(std::move(r.value().volume)) : nullptr;
}
const ImageVolume* Chest() {
  static const ImageVolume* v = Load(ChestDir() + "/CT_5mm_lung_kernel");
  return v;
}
const ImageVolume* Ibsi() {
  static const ImageVolume* v = Load(IbsiDir() + "/dicom/image");
  return v;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A rigid transform p → R (p − c) + c + t (fixed → moving), with its inverse.
struct Rigid {
  std::array<std::array<double, 3>, 3> r{};
  Vec3 c{}, t{};
  Vec3 Map(const Vec3& p) const {
    Vec3 q{};
    for (int i = 0; i < 3; ++i) {
      q[i] = c[i] + t[i];
      for (int j = 0; j < 3; ++j) q[i] += r[i][j] * (p[j] - c[j]);
    }
    return q;
  }
  Vec3 Inverse(const Vec3& q) const {  // Rᵀ (q − c − t) + c
    Vec3 p{};
    for (int i = 0; i < 3; ++i) {
      p[i] = c[i];
      for (int j = 0; j < 3; ++j) p[i] += r[j][i] * (q[j] - c[j] - t[j]);
    }
    return p;
  }
  Vec3 InverseDirection(const Vec3& d) const {
    Vec3 out{};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) out[i] += r[j][i] * d[j];
    return out;
  }
};

// 12° about z (LPS z: cranio-caudal), then 4° about x, about the volume's centre; (15, -12, 8) mm:
// |t| = 20.8 mm.
Rigid TrueTransform(const Geometry& g) {
  const double a = 12 * kPi / 180, b = 4 * kPi / 180;
  const std::array<std::array<double, 3>, 3> rz{{{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}}};
  const std::array<std::array<double, 3>, 3> rx{{{1, 0, 0}, {0, std::cos(b), -std::sin(b)}, {0, std::sin(b), std::cos(b)}}};
  Rigid t;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) t.r[i][j] += rx[i][k] * rz[k][j];
  t.c = g.IndexToPoint(0.5 * double(g.size[0] - 1), 0.5 * double(g.size[1] - 1), 0.5 * double(g.size[2] - 1));
  t.t = {15, -12, 8};
  return t;
}

// The moving image on the fixed grid: moving(q) = fixed(T⁻¹ q) + noise. Sampling the fixed
// image on the grid T⁻¹ applied to the fixed grid is radflow's linear resampling; outside
// the fixed image: air.
ImageVolume MakeMoving(const ImageVolume& fixed, const Rigid& t, double noise_hu, unsigned seed) {
  const Geometry& g = fixed.geometry();
  Geometry pulled = g;
  pulled.origin = t.Inverse(g.origin);
  for (int a = 0; a < 3; ++a) pulled.direction[a] = t.InverseDirection(g.direction[a]);
  ImageVolume moving = imaging::Resample(fixed, pulled, imaging::Interpolation::kLinear, -1000.f);
  moving.geometry() = g;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, static_cast<float>(noise_hu));
  for (float& v : moving.data()) v += noise(rng);
  return moving;
}

// Lung_Dx's tumour: the PASCAL-VOC boxes, one per annotated slice (named by the slice's
// SOPInstanceUID; the slice's geometry from LoadSeries of that one file). Returns the
// lesion's centre (mean of the box centres) and the 8 corners of its 3-D box.
std::vector<Vec3> ChestLesionPoints() {
  const auto files = DcmFiles(ChestDir() + "/CT_5mm_lung_kernel");
  std::vector<std::string> bytes;
  for (const auto& f : files) bytes.push_back(ReadAll(f));
  Vec3 lo{1e9, 1e9, 1e9}, hi{-1e9, -1e9, -1e9}, sum{0, 0, 0};
  int boxes = 0;
  for (const auto& e : std::filesystem::directory_iterator(ChestDir() + "/annotations_voc")) {
    const std::string uid = e.path().stem().string();
    const std::string xml = ReadAll(e.path().string());
    auto num = [&](const char* tag) {
      std::smatch m;
      const std::regex re(std::string("<") + tag + ">([0-9]+)<");
      return std::regex_search(xml, m, re) ? std::stod(m[1]) : -1.0;
    };
    for (size_t n = 0; n < files.size(); ++n) {
      if (bytes[n].find(uid) == std::string::npos) continue;
      auto one = imaging::LoadSeries({files[n]});
      if (!one.ok()) break;
      const Geometry& g = one->volume.geometry();
      const Vec3 a = g.IndexToPoint(num("xmin"), num("ymin"), 0), b = g.IndexToPoint(num("xmax"), num("ymax"), 0);
      for (int d = 0; d < 3; ++d) {
        lo[d] = std::min({lo[d], a[d], b[d]});
        hi[d] = std::max({hi[d], a[d], b[d]});
        sum[d] += 0.5 * (a[d] + b[d]);
      }
      ++boxes;
      break;
    }
  }
  if (boxes == 0) return {};
  std::vector<Vec3> points{{sum[0] / boxes, sum[1] / boxes, sum[2] / boxes}};
  for (int c = 0; c < 8; ++c) points.push_back({(c & 1) ? hi[0] : lo[0], (c & 2) ? hi[1] : lo[1], (c & 4) ? hi[2] : lo[2]});
  return points;
}

// PAT1's GTV: the centroid of the voxelised mask (IBSI's NIfTI, LPS through ReadNiftiMask)
// and the 8 corners of its bounding box.
std::vector<Vec3> IbsiLesionPoints() {
  auto mask = imaging::ReadNiftiMask(IbsiDir() + "/nifti/mask/mask.nii.gz");
  if (!mask.ok()) return {};
  const Geometry& g = mask->geometry();
  Vec3 sum{0, 0, 0}, lo{1e9, 1e9, 1e9}, hi{-1e9, -1e9, -1e9};
  size_t n = 0;
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i < g.size[0]; ++i) {
        if (!mask->at(i, j, k)) continue;
        const Vec3 p = g.IndexToPoint(double(i), double(j), double(k));
        for (int d = 0; d < 3; ++d) {
          sum[d] += p[d];
          lo[d] = std::min(lo[d], p[d]);
          hi[d] = std::max(hi[d], p[d]);
        }
        ++n;
      }
  if (n == 0) return {};
  std::vector<Vec3> points{{sum[0] / double(n), sum[1] / double(n), sum[2] / double(n)}};
  for (int c = 0; c < 8; ++c) points.push_back({(c & 1) ? hi[0] : lo[0], (c & 2) ? hi[1] : lo[1], (c & 4) ? hi[2] : lo[2]});
  return points;
}

double Distance(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

// Registers the moved copy back and checks the TRE at the lesion points: [0] the centre,
// [1..8] the corners of its box.
void CheckRecovery(const char* name, const ImageVolume& fixed, const std::vector<Vec3>& lesion, const Options& o,
                   double tre_mm) {
  ASSERT_FALSE(lesion.empty());
  const Rigid truth = TrueTransform(fixed.geometry());
  const ImageVolume moving = MakeMoving(fixed, truth, 20, 7);
  const auto t0 = std::chrono::steady_clock::now();  // printed only: speed belongs to bench/
  auto r = Register(fixed, moving, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  double worst = 0;
  const double centre = Distance(Apply(r->matrix, lesion[0]), truth.Map(lesion[0]));
  for (const auto& p : lesion) worst = std::max(worst, Distance(Apply(r->matrix, p), truth.Map(p)));
  std::printf("%s (%zux%zux%zu, %s, %d threads): %.1f s; TRE at the lesion centre (%.1f, %.1f, %.1f) %.3f mm, "
              "worst over its box corners %.3f mm; metric %.4f, overlap %.3f, %d iterations; %s\n",
              name, fixed.geometry().size[0], fixed.geometry().size[1], fixed.geometry().size[2],
              o.affine ? "rigid+affine" : "rigid", o.threads, secs, lesion[0][0], lesion[0][1], lesion[0][2], centre,
              worst, r->metric, r->overlap, r->iterations, r->stages.c_str());
  EXPECT_LE(centre, tre_mm);
  EXPECT_LE(worst, tre_mm);
  EXPECT_LT(r->metric, kMaxMetric);
  EXPECT_GT(r->overlap, kMinOverlap);
  EXPECT_GT(r->iterations, 0);
}

Options TwoThreads() {
  Options o;
  o.threads = 2;
  return o;
}

TEST(Registration, ChestCtMovedRigidlyIsRecoveredAtTheTumour) {
  const ImageVolume* chest = Chest();
  ASSERT_NE(chest, nullptr);
  CheckRecovery("Lung_Dx-A0001", *chest, ChestLesionPoints(), TwoThreads(), kChestTreMm);
}

TEST(Registration, IbsiPat1MovedRigidlyIsRecoveredAtTheGtv) {
  const ImageVolume* ct = Ibsi();
  ASSERT_NE(ct, nullptr);
  CheckRecovery("IBSI PAT1", *ct, IbsiLesionPoints(), TwoThreads(), kIbsiTreMm);
}

TEST(Registration, RigidOnlyRecoversTheSameTransform) {
  const ImageVolume* ct = Ibsi();
  ASSERT_NE(ct, nullptr);
  Options o = TwoThreads();
  o.affine = false;
  CheckRecovery("IBSI PAT1", *ct, IbsiLesionPoints(), o, kIbsiTreMm);
}

void ExpectNoSharedAnatomy(const radflow::Result<Result>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("the two series share no anatomy: ", 0), 0u) << r.status().message();
  std::printf("%s\n", r.status().ToString().c_str());
}

TEST(Registration, HeadCtAgainstChestCtSharesNoAnatomy) {
  const ImageVolume* chest = Chest();
  ASSERT_NE(chest, nullptr);
  auto head = imaging::LoadSeries(DcmFiles(DataDir() + "/ct_head_ge_tilt/dicom"));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ExpectNoSharedAnatomy(Register(*chest, head->volume, TwoThreads()));
  ExpectNoSharedAnatomy(Register(head->volume, *chest, TwoThreads()));
}

TEST(Registration, VolumeOneMetreAwaySharesNoAnatomy) {
  const ImageVolume* ct = Ibsi();
  ASSERT_NE(ct, nullptr);
  ImageVolume far = *ct;
  far.geometry().origin[2] += 1000;
  ExpectNoSharedAnatomy(Register(*ct, far, TwoThreads()));
}

TEST(Registration, RefusesEmptyAndFlatVolumes) {
  const ImageVolume* ct = Ibsi();
  ASSERT_NE(ct, nullptr);
  auto empty = Register(*ct, ImageVolume(), TwoThreads());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  auto flat = Register(ImageVolume(ct->geometry(), -1000.f), *ct, TwoThreads());
  ASSERT_FALSE(flat.ok());
  EXPECT_EQ(flat.status().code(), ErrorCode::kInvalidArgument);
  Options bad = TwoThreads();
  bad.sampling_fraction = 0;
  EXPECT_FALSE(Register(*ct, *ct, bad).ok());
}

class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / ("radflow-reg-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(TransformFile, RoundTripsAnAffineMatrix) {
  TempDir dir;
  Result r;
  const double a = 0.3;  // a rotation with a little scale and shear, and a translation
  r.matrix = {1.02 * std::cos(a), -std::sin(a), 0.01, 12.5, std::sin(a), 0.98 * std::cos(a), 0.0, -7.25,
              -0.02, 0.03, 1.01, 101.125, 0, 0, 0, 1};
  const std::string path = dir / "prior_to_current.tfm";
  ASSERT_TRUE(WriteTransformFile(r, path).ok());
  const std::string text = ReadAll(path);
  EXPECT_NE(text.find("#Insight Transform File V1.0"), std::string::npos) << text;
  EXPECT_NE(text.find("Transform: AffineTransform_double_3_3"), std::string::npos) << text;
  EXPECT_NE(text.find("FixedParameters: 0 0 0"), std::string::npos) << text;
  auto back = ReadTransformFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t n = 0; n < 16; ++n) EXPECT_NEAR(back->matrix[n], r.matrix[n], 1e-12) << n;
}

TEST(TransformFile, ReadsARigidTransformWithACentre) {
  TempDir dir;
  // As ITK or Slicer write a rigid transform: rotation 90° about z about the centre (10, 0, 0),
  // translation (1, 2, 3): p → R (p − c) + c + t.
  const std::string path = dir / "euler.tfm";
  std::ofstream(path) << "#Insight Transform File V1.0\n#Transform 0\nTransform: Euler3DTransform_double_3_3\n"
                         "Parameters: 0 0 1.5707963267948966 1 2 3\nFixedParameters: 10 0 0 0\n";
  auto r = ReadTransformFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Vec3 q = Apply(r->matrix, {11, 0, 0});  // c + (1, 0, 0) → c + (0, 1, 0) + t
  EXPECT_NEAR(q[0], 11, 1e-9);
  EXPECT_NEAR(q[1], 3, 1e-9);
  EXPECT_NEAR(q[2], 3, 1e-9);
}

TEST(TransformFile, ErrorsAreStatuses) {
  TempDir dir;
  EXPECT_EQ(ReadTransformFile(dir / "missing.tfm").status().code(), ErrorCode::kNotFound);
  std::ofstream(dir / "garbage.tfm") << "not a transform\n";
  auto garbage = ReadTransformFile(dir / "garbage.tfm");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), ErrorCode::kIoError) << garbage.status().ToString();
  auto unwritable = WriteTransformFile(Result{}, dir / "no/such/folder/t.tfm");
  ASSERT_FALSE(unwritable.ok());
  EXPECT_EQ(unwritable.code(), ErrorCode::kIoError);
}

}  // namespace
}  // namespace radflow::registration
