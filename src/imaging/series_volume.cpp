#include "imaging/series_volume.h"

#include "imaging/dicom_helpers.h"

#include "pixel/pixel_data.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

namespace radflow::imaging {
namespace {

using internal::Cross;
using internal::Dot;
using internal::GetDoubles;
using internal::Sub;

// One frame, as a plane in patient space with rescaled pixel values.
struct Frame {
  Vec3 position{};    // ImagePositionPatient: centre of the first pixel
  Vec3 row{}, col{};  // ImageOrientationPatient: d_i (along a row), d_j (down a column)
  double row_spacing = 0, col_spacing = 0;  // PixelSpacing: between rows \ between columns
  size_t rows = 0, cols = 0;
  double along_normal = 0;
  std::vector<float> pixels;
};


// Enhanced images: a functional group macro from the frame's item of the
// PerFrameFunctionalGroupsSequence, else from the SharedFunctionalGroupsSequence (C.7.6.16).
DcmItem* FunctionalGroup(DcmItem* ds, long frame, const DcmTagKey& macro) {
  DcmItem* group = nullptr;
  DcmItem* item = nullptr;
  if (ds->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, group, frame).good() &&
      group->findAndGetSequenceItem(macro, item, 0).good()) {
    return item;
  }
  if (ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, group, 0).good() &&
      group->findAndGetSequenceItem(macro, item, 0).good()) {
    return item;
  }
  return nullptr;
}


// Geometry and rescale of frame `f`: classic attributes, or the enhanced functional groups.
Status FrameGeometry(DcmItem* ds, long f, bool enhanced, Frame& fr, double& slope, double& icpt) {
  DcmItem* pos = enhanced ? FunctionalGroup(ds, f, DCM_PlanePositionSequence) : ds;
  DcmItem* ori = enhanced ? FunctionalGroup(ds, f, DCM_PlaneOrientationSequence) : ds;
  DcmItem* meas = enhanced ? FunctionalGroup(ds, f, DCM_PixelMeasuresSequence) : ds;
  DcmItem* pvt = enhanced ? FunctionalGroup(ds, f, DCM_PixelValueTransformationSequence) : ds;
  double iop[6], ps[2];
  if (!GetDoubles(pos, DCM_ImagePositionPatient, fr.position.data(), 3) ||
      !GetDoubles(ori, DCM_ImageOrientationPatient, iop, 6) ||
      !GetDoubles(meas, DCM_PixelSpacing, ps, 2)) {
    return Status(ErrorCode::kMissingAttribute,
                  "ImagePositionPatient, ImageOrientationPatient or PixelSpacing missing");
  }
  fr.row = {iop[0], iop[1], iop[2]};
  fr.col = {iop[3], iop[4], iop[5]};
  fr.row_spacing = ps[0];
  fr.col_spacing = ps[1];
  // Direction cosines are unit and orthogonal (C.7.6.2.1.1); spacing is positive.
  const double tol = 1e-3;
  if (std::abs(Dot(fr.row, fr.row) - 1) > tol || std::abs(Dot(fr.col, fr.col) - 1) > tol ||
      std::abs(Dot(fr.row, fr.col)) > tol || !(ps[0] > 0) || !(ps[1] > 0)) {
    return Status(ErrorCode::kInvalidDicom, "ImageOrientationPatient or PixelSpacing out of range");
  }
  slope = 1;
  icpt = 0;
  if (pvt) {
    GetDoubles(pvt, DCM_RescaleSlope, &slope, 1);
    GetDoubles(pvt, DCM_RescaleIntercept, &icpt, 1);
  }
  return Status::Ok();
}

// Appends the frames of one file; compressed frames are decoded by the pixel module.
Status ReadFile(const std::string& path, std::vector<Frame>& frames, size_t& frame_count) {
  DcmFileFormat ff;
  RADFLOW_RETURN_IF_ERROR(internal::LoadDicom(path, ff));
  DcmDataset* ds = ff.getDataset();
  DcmXfer xfer(ds->getOriginalXfer());
  // DCMTK 3.6.7 does not know HTJ2K and some newer syntaxes: those read as "unknown".
  const bool encapsulated = xfer.isEncapsulated() || xfer.getXfer() == EXS_Unknown;
  Uint16 rows = 0, cols = 0, bits = 0, stored = 0, signed_px = 0, samples = 1;
  ds->findAndGetUint16(DCM_Rows, rows);
  ds->findAndGetUint16(DCM_Columns, cols);
  ds->findAndGetUint16(DCM_BitsAllocated, bits);
  ds->findAndGetUint16(DCM_BitsStored, stored);
  ds->findAndGetUint16(DCM_PixelRepresentation, signed_px);
  ds->findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (rows == 0 || cols == 0)
    return Status(ErrorCode::kMissingAttribute, "no Rows/Columns: " + path);
  if (samples != 1) return Status(ErrorCode::kUnsupported, "colour images: " + path);
  if (bits != 8 && bits != 16) {
    return Status(ErrorCode::kUnsupported, "BitsAllocated " + std::to_string(bits) + ": " + path);
  }
  if (stored == 0 || stored > bits) stored = bits;
  Sint32 nframes = 1;
  ds->findAndGetSint32(DCM_NumberOfFrames, nframes);
  if (nframes < 1) nframes = 1;
  const bool enhanced = ds->tagExists(DCM_PerFrameFunctionalGroupsSequence);

  const size_t n = size_t(rows) * cols;
  const Uint8* p8 = nullptr;
  const Uint16* p16 = nullptr;
  std::string decoded;  // all frames, native little endian, when the file is compressed
  if (encapsulated) {
    auto frames = pixel::DecodeFrames(path);
    if (!frames.ok()) return frames.status();
    if (frames->size() != size_t(nframes)) {
      return Status(ErrorCode::kInvalidDicom, "decoded frame count differs from NumberOfFrames: " + path);
    }
    for (const auto& frame : frames.value()) {
      if (frame.size() != n * (bits / 8)) {
        return Status(ErrorCode::kInvalidDicom, "decoded frame has an unexpected size: " + path);
      }
      decoded += frame;
    }
    p8 = reinterpret_cast<const Uint8*>(decoded.data());
    p16 = reinterpret_cast<const Uint16*>(decoded.data());
  } else {
    unsigned long count = 0;
    bool got = bits == 16 ? ds->findAndGetUint16Array(DCM_PixelData, p16, &count).good()
                          : ds->findAndGetUint8Array(DCM_PixelData, p8, &count).good();
    if (!got || count < n * size_t(nframes)) {
      return Status(ErrorCode::kInvalidDicom, "PixelData missing or short: " + path);
    }
  }
  // Only the low BitsStored bits carry the value (PS3.5 8.1.1), two's complement if signed.
  const uint32_t mask = (1u << stored) - 1;
  auto value = [&](size_t idx) -> double {
    uint32_t raw = (bits == 16 ? p16[idx] : p8[idx]) & mask;
    if (signed_px && (raw >> (stored - 1)) & 1u)
      return double(int64_t(raw) - (int64_t(1) << stored));
    return double(raw);
  };
  for (long f = 0; f < nframes; ++f) {
    Frame fr;
    double slope, icpt;
    RADFLOW_RETURN_IF_ERROR(FrameGeometry(ds, f, enhanced, fr, slope, icpt));
    fr.rows = rows;
    fr.cols = cols;
    fr.pixels.resize(n);
    for (size_t i = 0; i < n; ++i) fr.pixels[i] = float(value(f * n + i) * slope + icpt);
    frames.push_back(std::move(fr));
  }
  frame_count += size_t(nframes);
  return Status::Ok();
}

// Bilinear sample of frame `fr` at in-plane continuous index (x along a row, y down).
bool SampleFrame(const Frame& fr, double x, double y, double& out) {
  const double eps = 1e-6;
  if (x < -eps || y < -eps || x > fr.cols - 1 + eps || y > fr.rows - 1 + eps) return false;
  // Snap to a pixel within 1e-4 pixel: rounded IOP/IPP values would otherwise blur.
  if (std::abs(x - std::round(x)) < 1e-4) x = std::round(x);
  if (std::abs(y - std::round(y)) < 1e-4) y = std::round(y);
  x = std::clamp(x, 0.0, double(fr.cols - 1));
  y = std::clamp(y, 0.0, double(fr.rows - 1));
  size_t x0 = std::min(size_t(x), fr.cols > 1 ? fr.cols - 2 : 0);
  size_t y0 = std::min(size_t(y), fr.rows > 1 ? fr.rows - 2 : 0);
  size_t x1 = std::min(x0 + 1, fr.cols - 1), y1 = std::min(y0 + 1, fr.rows - 1);
  double fx = x - x0, fy = y - y0;
  auto px = [&](size_t xi, size_t yi) { return double(fr.pixels[yi * fr.cols + xi]); };
  out = (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x1, y0)) +
        fy * ((1 - fx) * px(x0, y1) + fx * px(x1, y1));
  return true;
}

bool SampleAt(const Frame& fr, const Vec3& p, double& out) {
  Vec3 d = Sub(p, fr.position);
  return SampleFrame(fr, Dot(d, fr.row) / fr.col_spacing, Dot(d, fr.col) / fr.row_spacing, out);
}

// Interpolates the sorted frames onto `g` (orthogonal, k along the slice normal). A point
// between frames a and b is moved along the line a→b (the stacking line) onto each plane.
ImageVolume ResampleStack(const std::vector<Frame>& frames, const Geometry& g, float fill) {
  ImageVolume vol(g, fill);
  const Vec3 normal = g.direction[2];
  for (size_t k = 0; k < g.size[2]; ++k) {
    const Vec3 p0 = g.IndexToPoint(0, 0, double(k));
    const double z = Dot(p0, normal);
    auto it = std::upper_bound(frames.begin(), frames.end(), z,
                               [](double v, const Frame& f) { return v < f.along_normal; });
    size_t b = std::clamp<size_t>(size_t(it - frames.begin()), 1, frames.size() - 1);
    const Frame& fa = frames[b - 1];
    const Frame& fb = frames[b];
    double t = (z - fa.along_normal) / (fb.along_normal - fa.along_normal);
    if (t < -1e-6 || t > 1 + 1e-6) continue;
    t = std::clamp(t, 0.0, 1.0);
    const Vec3 step = Sub(fb.position, fa.position);
    for (size_t j = 0; j < g.size[1]; ++j) {
      for (size_t i = 0; i < g.size[0]; ++i) {
        Vec3 p = g.IndexToPoint(double(i), double(j), double(k));
        Vec3 pa, pb;
        for (int r = 0; r < 3; ++r) {
          pa[r] = p[r] - t * step[r];
          pb[r] = p[r] + (1 - t) * step[r];
        }
        double va, vb;
        bool ha = SampleAt(fa, pa, va), hb = SampleAt(fb, pb, vb);
        if (ha && hb)
          vol.at(i, j, k) = float((1 - t) * va + t * vb);
        else if (ha && t < 0.5)
          vol.at(i, j, k) = float(va);
        else if (hb && t >= 0.5)
          vol.at(i, j, k) = float(vb);
      }
    }
  }
  return vol;
}

}  // namespace

Result<SeriesVolume> LoadSeries(const std::vector<std::string>& files) {
  if (files.empty()) return Status(ErrorCode::kInvalidArgument, "no files");
  std::vector<Frame> frames;
  SeriesVolume out;
  SeriesReport& rep = out.report;
  for (const auto& f : files) RADFLOW_RETURN_IF_ERROR(ReadFile(f, frames, rep.frame_count));

  const Vec3 normal = Cross(frames[0].row, frames[0].col);
  for (auto& fr : frames) {
    const Frame& f0 = frames[0];
    const double tol = 1e-4;
    if (fr.rows != f0.rows || fr.cols != f0.cols ||
        std::abs(fr.row_spacing - f0.row_spacing) > tol ||
        std::abs(fr.col_spacing - f0.col_spacing) > tol ||
        std::abs(Dot(fr.row, f0.row) - 1) > tol || std::abs(Dot(fr.col, f0.col) - 1) > tol) {
      return Status(ErrorCode::kInvalidArgument, "frames differ in size, spacing or orientation");
    }
    fr.along_normal = Dot(fr.position, normal);
  }
  std::sort(frames.begin(), frames.end(),
            [](const Frame& a, const Frame& b) { return a.along_normal < b.along_normal; });
  rep.slice_count = frames.size();
  const Frame& first = frames.front();  // the lowest along the normal

  Geometry g;
  g.size = {first.cols, first.rows, frames.size()};
  g.spacing = {first.col_spacing, first.row_spacing, 1.0};
  g.direction = {first.row, first.col, normal};
  if (frames.size() == 1) {
    g.origin = first.position;
    out.volume = ImageVolume(g);
    std::copy(first.pixels.begin(), first.pixels.end(), out.volume.data().begin());
    return out;
  }

  std::vector<double> gaps;
  for (size_t k = 1; k < frames.size(); ++k) {
    gaps.push_back(frames[k].along_normal - frames[k - 1].along_normal);
  }
  if (*std::min_element(gaps.begin(), gaps.end()) < 1e-3) {
    return Status(ErrorCode::kInvalidArgument, "two frames at the same position");
  }
  std::vector<double> sorted = gaps;
  std::sort(sorted.begin(), sorted.end());
  rep.median_spacing = sorted[sorted.size() / 2];
  rep.min_spacing = sorted.front();
  rep.max_spacing = sorted.back();
  // Tolerances absorb positions rounded in the header (a few µm).
  rep.nonuniform_spacing =
      rep.max_spacing - rep.min_spacing > std::max(0.01, 0.01 * rep.median_spacing);
  for (double gap : gaps) {
    auto same = [&](const SpacingCount& c) { return std::abs(c.mm - gap) <= 0.05; };
    auto it = std::find_if(rep.spacings.begin(), rep.spacings.end(), same);
    if (it == rep.spacings.end())
      rep.spacings.push_back({gap, 1});
    else
      ++it->gaps;
    if (gap > 1.5 * rep.median_spacing)
      rep.missing_slices += size_t(std::lround(gap / rep.median_spacing)) - 1;
  }
  // Tilt: the stacking direction (first → last position) against the normal (C.7.6.2.1.1).
  const Vec3 stack = Sub(frames.back().position, frames.front().position);
  const double along = Dot(stack, normal);
  const double len = std::sqrt(Dot(stack, stack));
  rep.gantry_tilt_degrees = std::acos(std::min(1.0, std::abs(along) / len)) * 180.0 / M_PI;
  double lateral = 0;  // largest in-plane offset of a frame from the first one
  for (const auto& fr : frames) {
    Vec3 d = Sub(fr.position, first.position);
    lateral = std::max({lateral, std::abs(Dot(d, first.row)), std::abs(Dot(d, first.col))});
  }
  const bool tilted = lateral > 0.05 * std::min(first.row_spacing, first.col_spacing);

  if (!tilted && !rep.nonuniform_spacing && rep.missing_slices == 0) {
    g.origin = frames.front().position;
    g.spacing[2] = along / double(frames.size() - 1);
    out.volume = ImageVolume(g);
    auto& data = out.volume.data();
    for (size_t k = 0; k < frames.size(); ++k) {
      std::copy(frames[k].pixels.begin(), frames[k].pixels.end(),
                data.begin() + k * first.pixels.size());
    }
    return out;
  }

  // Regular grid covering every frame: in-plane bounds of all frames, normal from first to last.
  rep.resampled = true;
  rep.fill_value = std::numeric_limits<float>::max();
  for (const auto& fr : frames) {
    rep.fill_value =
        std::min(rep.fill_value, *std::min_element(fr.pixels.begin(), fr.pixels.end()));
  }
  double umin = 1e300, umax = -1e300, vmin = 1e300, vmax = -1e300;
  for (const auto& fr : frames) {
    Vec3 d = Sub(fr.position, first.position);
    double u = Dot(d, first.row), v = Dot(d, first.col);
    umin = std::min(umin, u), umax = std::max(umax, u);
    vmin = std::min(vmin, v), vmax = std::max(vmax, v);
  }
  // Keep the first frame's pixel lattice, so plane k = 0 is that frame's pixels.
  umin = std::floor(umin / g.spacing[0] + 1e-6) * g.spacing[0];
  vmin = std::floor(vmin / g.spacing[1] + 1e-6) * g.spacing[1];
  g.spacing[2] = rep.median_spacing;
  g.size[0] = first.cols + size_t(std::ceil((umax - umin) / g.spacing[0] - 1e-6));
  g.size[1] = first.rows + size_t(std::ceil((vmax - vmin) / g.spacing[1] - 1e-6));
  g.size[2] = size_t(std::floor(along / g.spacing[2] + 1e-6)) + 1;
  for (int r = 0; r < 3; ++r) {
    g.origin[r] = first.position[r] + umin * first.row[r] + vmin * first.col[r];
  }
  out.volume = ResampleStack(frames, g, rep.fill_value);
  return out;
}

}  // namespace radflow::imaging
