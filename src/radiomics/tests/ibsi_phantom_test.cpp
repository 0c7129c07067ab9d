// IBSI chapter 1 compliance on the digital phantom (IBSI reference manual, section 5.1):
// every feature computed is compared with the consensus reference value and tolerance.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "radiomics/ibsi_reference.h"
#include "radiomics/radiomics.h"

namespace radflow::radiomics {
namespace {

const std::string kIbsi = std::string(RADFLOW_SHARED_DATA) + "/ibsi";

// Minimal NIfTI-1 reader for the phantom: 348-byte header (dim[] at 40, datatype at 70,
// pixdim[] at 76, vox_offset at 108), little-endian, integer or float voxels.
std::optional<imaging::Volume<float>> ReadPhantomNifti(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return std::nullopt;
  std::vector<unsigned char> bytes;
  unsigned char buffer[4096];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
  gzclose(f);
  if (bytes.size() < 352) return std::nullopt;
  auto get = [&](size_t offset, auto value) {
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
  };
  if (get(0, int32_t{}) != 348) return std::nullopt;
  imaging::Geometry geometry;
  for (int a = 0; a < 3; ++a) {
    geometry.size[a] = static_cast<size_t>(get(42 + 2 * a, int16_t{}));
    geometry.spacing[a] = get(80 + 4 * a, float{});
  }
  const int16_t datatype = get(70, int16_t{});
  const size_t offset = static_cast<size_t>(get(108, float{}));
  const float slope = get(112, float{}), intercept = get(116, float{});
  imaging::Volume<float> volume(geometry);
  const size_t count = geometry.voxels();
  const size_t width = datatype == 2                     ? 1
                       : datatype == 4                   ? 2
                       : datatype == 8 || datatype == 16 ? 4
                                                         : 0;
  if (width == 0 || bytes.size() < offset + count * width) return std::nullopt;
  for (size_t v = 0; v < count; ++v) {
    const size_t at = offset + v * width;
    double x = datatype == 2   ? bytes[at]
               : datatype == 4 ? get(at, int16_t{})
               : datatype == 8 ? get(at, int32_t{})
                               : get(at, float{});
    volume.data()[v] = static_cast<float>(slope != 0 ? x * slope + intercept : x);
  }
  return volume;
}

struct Reference {
  std::string text;  // as written, for the table
  double value;
  double tolerance;
};

// zrad CSV: dataset,family,feature,consensus,reference value,tolerance,...,tag (quoted fields).
std::map<std::string, Reference> ReadReferences(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, Reference> refs;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        fields.emplace_back();
      else if (c != '\r')
        fields.back() += c;
    }
    if (fields.size() < 10 || fields[4].empty()) continue;
    refs[fields[9]] = {fields[4], std::stod(fields[4]),
                       fields[5].empty() ? 0.0 : std::stod(fields[5])};
  }
  return refs;
}

double Allowed(const Reference& r) {
  IbsiReferenceRow row;
  row.printed = r.text;
  row.tolerance = r.tolerance;
  return AllowedDeviation(row);
}

TEST(IbsiPhantom, FeaturesWithinTolerance) {
  const auto image = ReadPhantomNifti(kIbsi + "/ibsi1_digital_phantom/image.nii.gz");
  const auto mask_f = ReadPhantomNifti(kIbsi + "/ibsi1_digital_phantom/mask.nii.gz");
  ASSERT_TRUE(image && mask_f);
  ASSERT_EQ(image->geometry().size, (std::array<size_t, 3>{5, 4, 4}));
  imaging::Mask mask(mask_f->geometry());
  size_t roi = 0;
  for (size_t v = 0; v < mask.data().size(); ++v) {
    mask.data()[v] = mask_f->data()[v] > 0.5f ? 1 : 0;
    roi += mask.data()[v];
  }
  ASSERT_EQ(roi, 74u);

  const auto refs = ReadReferences(
      kIbsi + "/ibsi1_reference_values/zrad/ibsi_1_reference_values_digital_phantom.csv");
  ASSERT_GT(refs.size(), 400u);
  const auto features = ComputeAll(*image, mask, Settings{});

  std::set<std::string> computed;
  int ok = 0, with_reference = 0;
  std::printf("%-32s %14s %12s %10s  %s\n", "tag", "ours", "reference", "tolerance", "ok");
  for (const auto& f : features) {
    computed.insert(f.tag);
    const auto r = refs.find(f.tag);
    if (r == refs.end()) {
      std::printf("%-32s %14.6g %12s %10s  no reference\n", f.tag.c_str(), f.value, "-", "-");
      continue;
    }
    ++with_reference;
    const bool within = std::abs(f.value - r->second.value) <= Allowed(r->second);
    ok += within;
    std::printf("%-32s %14.6g %12s %10g  %s\n", f.tag.c_str(), f.value, r->second.text.c_str(),
                r->second.tolerance, within ? "ok" : "MISMATCH");
    EXPECT_TRUE(within) << f.tag << ": ours " << f.value << ", reference " << r->second.text;
  }
  int missing = 0;
  for (const auto& [tag, r] : refs) {
    if (computed.count(tag) == 0) {
      std::printf("%-32s %14s %12s %10g  not implemented\n", tag.c_str(), "-", r.text.c_str(),
                  r.tolerance);
      ++missing;
    }
  }
  std::printf(
      "IBSI digital phantom: %d within tolerance / %d computed with reference values; "
      "%d reference values not implemented\n",
      ok, with_reference, missing);
}

TEST(IbsiPhantom, EmptyRoiGivesNoFeatures) {
  imaging::Geometry g;
  g.size = {3, 3, 3};
  const imaging::ImageVolume image(g, 1.0f);
  const imaging::Mask mask(g, 0);
  EXPECT_TRUE(ComputeAll(image, mask, Settings{}).empty());
}

// Degenerate ROIs (one voxel, one grey level, a flat slab) must not crash; every feature
// reported must be a finite number.
TEST(Radiomics, DegenerateRoisGiveFiniteFeatures) {
  imaging::Geometry g;
  g.size = {6, 5, 4};
  g.spacing = {0.8, 0.8, 3.0};
  imaging::ImageVolume image(g, 2.0f);
  for (size_t v = 0; v < image.data().size(); ++v)
    image.data()[v] = 1.0f + static_cast<float>(v % 3);
  std::vector<imaging::Mask> masks;
  masks.emplace_back(g, 0);
  masks.back().at(2, 2, 1) = 1;  // one voxel
  masks.emplace_back(g, 0);
  for (size_t x = 0; x < 6; ++x)
    for (size_t y = 0; y < 5; ++y) masks.back().at(x, y, 2) = 1;  // one slice
  masks.emplace_back(g, 1);                                       // everything
  for (const auto& mask : masks) {
    for (const auto& f : ComputeAll(image, mask, Settings{})) {
      EXPECT_TRUE(std::isfinite(f.value)) << f.tag << " = " << f.value;
    }
  }
  imaging::ImageVolume flat(g, 3.0f);  // a single grey level
  for (const auto& f : ComputeAll(flat, masks.back(), Settings{})) {
    EXPECT_TRUE(std::isfinite(f.value)) << f.tag << " = " << f.value;
  }
}

double Value(const std::vector<Feature>& features, const std::string& tag) {
  for (const auto& f : features) {
    if (f.tag == tag) return f.value;
  }
  ADD_FAILURE() << tag << " not computed";
  return std::nan("");
}

// One voxel: the marching-cubes surface is the octahedron through its face centres.
TEST(Radiomics, SingleVoxelMeshIsAnOctahedron) {
  imaging::Geometry g;
  g.size = {3, 3, 3};
  g.spacing = {2, 2, 2};
  const imaging::ImageVolume image(g, 1.0f);
  imaging::Mask mask(g, 0);
  mask.at(1, 1, 1) = 1;
  const auto f = Morphology(image, mask);
  EXPECT_NEAR(Value(f, "morph_volume"), 8.0 / 6.0, 1e-9);
  // Eight equilateral faces of edge sqrt(2) mm.
  EXPECT_NEAR(Value(f, "morph_area_mesh"), 8 * std::sqrt(3.0) / 4 * 2, 1e-9);
  EXPECT_NEAR(Value(f, "morph_vol_approx"), 8.0, 1e-9);
  EXPECT_NEAR(Value(f, "morph_diam"), 2.0, 1e-9);
}

// A box's mesh (a box with chamfered edges and corners) is convex: it is its own hull.
TEST(Radiomics, BoxIsItsOwnConvexHull) {
  imaging::Geometry g;
  g.size = {6, 5, 4};
  g.spacing = {0.7, 0.9, 2.5};
  const imaging::ImageVolume image(g, 1.0f);
  imaging::Mask mask(g, 0);
  for (size_t z = 1; z < 3; ++z)
    for (size_t y = 1; y < 4; ++y)
      for (size_t x = 1; x < 5; ++x) mask.at(x, y, z) = 1;
  const auto f = Morphology(image, mask);
  EXPECT_NEAR(Value(f, "morph_vol_dens_conv_hull"), 1.0, 1e-9);
  EXPECT_NEAR(Value(f, "morph_area_dens_conv_hull"), 1.0, 1e-9);
  // Between the box through the outer voxel centres and the box of the voxels themselves.
  EXPECT_GT(Value(f, "morph_volume"), 3 * 2 * 1 * 0.7 * 0.9 * 2.5);
  EXPECT_LT(Value(f, "morph_volume"), 4 * 3 * 2 * 0.7 * 0.9 * 2.5);
}

}  // namespace
}  // namespace radflow::radiomics
