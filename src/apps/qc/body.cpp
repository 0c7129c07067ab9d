// The body on each slice and its contact with the edge of the reconstructed field of view.
// A body cut by the FOV is reconstructed with truncation artefacts (bright rim, HU shifts),
// and anything outside is missing from the images.
#include <algorithm>
#include <vector>

#include "apps/qc/qc_apps.h"
#include "apps/qc/qc_internal.h"
#include "base/parallel.h"
#include "imaging/morphology.h"

namespace radflow::apps::qc {
namespace {

constexpr float kBodyThreshold = -500;
// Shorter contacts are ignored: a head holder or blanket reaching the FOV circle (the GE head
// CT's holder touches it over 11–20 mm) is not the patient.
constexpr double kContactMm = 20;
constexpr double kMinBodyMm2 = 1000;  // smaller "bodies" are table parts or specks

constexpr double kOpeningMm = 5;  // cuts the table and thin couch pads off the body

// Keeps only the largest 4-connected region of `fg` (in place).
void KeepLargestRegion(std::vector<uint8_t>& fg, size_t nx, size_t ny) {
  const size_t n = nx * ny;
  std::vector<int32_t> label(n, 0);
  std::vector<size_t> stack;
  int32_t best_label = 0, next = 0;
  size_t best_size = 0;
  for (size_t s = 0; s < n; ++s) {
    if (label[s] || !fg[s]) continue;
    ++next;
    size_t size = 0;
    stack.push_back(s);
    label[s] = next;
    while (!stack.empty()) {
      const size_t p = stack.back();
      stack.pop_back();
      ++size;
      const size_t i = p % nx, j = p / nx;
      const size_t nb[4] = {i > 0 ? p - 1 : n, i + 1 < nx ? p + 1 : n, j > 0 ? p - nx : n,
                            j + 1 < ny ? p + nx : n};
      for (size_t q : nb) {
        if (q < n && !label[q] && fg[q]) {
          label[q] = next;
          stack.push_back(q);
        }
      }
    }
    if (size > best_size) best_size = size, best_label = next;
  }
  for (size_t p = 0; p < n; ++p) fg[p] = (best_size > 0 && label[p] == best_label) ? 1 : 0;
}

// Foreground pixels of a (2r+1)² box around each pixel, by a summed-area table; outside
// the slice counts as background.
std::vector<uint32_t> BoxCounts(const std::vector<uint8_t>& fg, size_t nx, size_t ny, long r) {
  const size_t stride = nx + 1;
  std::vector<uint32_t> sat(stride * (ny + 1), 0), out(nx * ny);
  for (size_t j = 0; j < ny; ++j) {
    uint32_t row = 0;
    for (size_t i = 0; i < nx; ++i) {
      row += fg[j * nx + i];
      sat[(j + 1) * stride + i + 1] = sat[j * stride + i + 1] + row;
    }
  }
  for (long j = 0; j < long(ny); ++j) {
    const size_t j0 = size_t(std::max(0L, j - r)), j1 = size_t(std::min(long(ny), j + r + 1));
    for (long i = 0; i < long(nx); ++i) {
      const size_t i0 = size_t(std::max(0L, i - r)), i1 = size_t(std::min(long(nx), i + r + 1));
      out[size_t(j) * nx + size_t(i)] =
          sat[j1 * stride + i1] - sat[j0 * stride + i1] - sat[j1 * stride + i0] + sat[j0 * stride + i0];
    }
  }
  return out;
}

// One slice: above -500 HU, opened by a square of ±5 mm so that the couch and pads that
// touch the patient fall away, largest region, reconstructed inside the threshold mask
// (the skin line is kept exactly). BodyMask then fills its holes.
void BodySlice(const float* px, uint8_t* out, size_t nx, size_t ny, long r) {
  const size_t n = nx * ny;
  std::vector<uint8_t> fg(n), core(n);
  for (size_t p = 0; p < n; ++p) fg[p] = px[p] > kBodyThreshold ? 1 : 0;
  const uint32_t full = uint32_t((2 * r + 1) * (2 * r + 1));
  auto counts = BoxCounts(fg, nx, ny, r);
  bool any = false;
  for (size_t p = 0; p < n; ++p) core[p] = counts[p] == full, any |= core[p] != 0;
  if (any) {
    KeepLargestRegion(core, nx, ny);
    counts = BoxCounts(core, nx, ny, r);
    for (size_t p = 0; p < n; ++p) fg[p] = fg[p] && counts[p] > 0;
  }
  KeepLargestRegion(fg, nx, ny);
  std::copy(fg.begin(), fg.end(), out);
}

}  // namespace

imaging::Mask BodyMask(const imaging::ImageVolume& image, int threads) {
  const auto& g = image.geometry();
  imaging::Mask body(g, 0);
  const size_t nx = g.size[0], ny = g.size[1];
  const long r = HalfWindowPixels(kOpeningMm, 0.5 * (g.spacing[0] + g.spacing[1]));
  ParallelFor(g.size[2], threads, [&](size_t k) {
    BodySlice(image.data().data() + k * nx * ny, body.data().data() + k * nx * ny, nx, ny, r);
  });
  // Background not reachable from the slice's border becomes body (lungs, bowel gas).
  return imaging::FillHolesPerSlice(body, threads);
}

bool LooksCropped(size_t columns, size_t rows) {
  static constexpr size_t kMatrices[] = {256, 320, 384, 512, 640, 768, 1024};
  return columns != rows ||
         std::find(std::begin(kMatrices), std::end(kMatrices), columns) == std::end(kMatrices);
}

TruncationEstimate EstimateTruncation(const imaging::ImageVolume& image, const imaging::Mask& body,
                                      bool resampled) {
  const auto& g = image.geometry();
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  TruncationEstimate est;
  est.cropped_matrix = !resampled && LooksCropped(nx, ny);
  const double pixel_mm = 0.5 * (g.spacing[0] + g.spacing[1]);
  for (size_t k = 0; k < nz; ++k) {
    const float* px = image.data().data() + k * nx * ny;
    const uint8_t* m = body.data().data() + k * nx * ny;
    // Scanners write a constant below air outside the circular reconstruction FOV.
    const float lowest = *std::min_element(px, px + nx * ny);
    const bool padded = lowest < -1024.5f;
    auto outside_fov = [&](size_t i, size_t j) { return padded && px[j * nx + i] == lowest; };
    size_t body_pixels = 0, contact = 0;
    for (size_t j = 0; j < ny; ++j) {
      for (size_t i = 0; i < nx; ++i) {
        if (!m[j * nx + i]) continue;
        ++body_pixels;
        const bool edge = i == 0 || j == 0 || i + 1 == nx || j + 1 == ny || outside_fov(i - 1, j) ||
                          outside_fov(i + 1, j) || outside_fov(i, j - 1) || outside_fov(i, j + 1);
        if (edge) ++contact;
      }
    }
    if (double(body_pixels) * pixel_mm * pixel_mm < kMinBodyMm2) continue;
    ++est.slices_with_body;
    const double contact_mm = double(contact) * pixel_mm;
    est.max_contact_mm = std::max(est.max_contact_mm, contact_mm);
    if (contact_mm >= kContactMm) ++est.truncated_slices;
  }
  return est;
}

}  // namespace radflow::apps::qc
