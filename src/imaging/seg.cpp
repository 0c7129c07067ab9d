#include "imaging/seg.h"

#include "imaging/dicom_helpers.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "pixel/pixel_data.h"

namespace radflow::imaging {
namespace {

using internal::Cross;
using internal::Dot;
using internal::GetDoubles;
using internal::GetString;

constexpr const char* kSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";
constexpr const char* kLabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7";

enum class SegType { kBinary, kFractional, kLabelMap };

struct FrameInfo {
  bool has_position = false;
  Vec3 position{};
  bool has_orientation = false;
  Vec3 row{}, col{};  // direction of increasing column / row index
  bool has_spacing = false;
  double row_spacing = 0, col_spacing = 0;  // PixelSpacing[0] (between rows), [1] (between columns)
  int segment = 0;                          // ReferencedSegmentNumber (not for LABELMAP)
};

struct SegObject {
  std::string path;
  std::unique_ptr<DcmFileFormat> ff;
  SegType type = SegType::kBinary;
  size_t rows = 0, cols = 0, frames = 0;
  unsigned bits = 0;
  double max_fractional = 0;
  std::optional<long> padding;  // LABELMAP PixelPaddingValue
  double spacing_between_slices = 0;
  std::vector<SegmentInfo> segments;
  std::vector<FrameInfo> frame_info;
  bool encapsulated = false;
  const Uint8* p8 = nullptr;  // native Pixel Data (bytes, little endian)
  const Uint16* p16 = nullptr;
  unsigned long count = 0;
};


// The first item of sequence `seq` in `fg` (a functional group item), or null.
DcmItem* Macro(DcmItem* fg, const DcmTagKey& seq) {
  DcmItem* item = nullptr;
  if (!fg || fg->findAndGetSequenceItem(seq, item, 0).bad()) return nullptr;
  return item;
}


std::string FormatPoint(const Vec3& p) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%g\\%g\\%g", p[0], p[1], p[2]);
  return buf;
}

Status Load(const std::string& path, std::unique_ptr<DcmFileFormat>& ff) {
  ff = std::make_unique<DcmFileFormat>();
  return internal::LoadDicom(path, *ff);
}

bool IsSeg(DcmDataset* ds) {
  const std::string sop = GetString(ds, DCM_SOPClassUID);
  return sop == kSegmentationStorage || sop == kLabelMapSegmentationStorage ||
         GetString(ds, DCM_Modality) == "SEG";
}

Status ReadSegments(DcmDataset* ds, std::vector<SegmentInfo>& out) {
  DcmItem* item = nullptr;
  for (long n = 0; ds->findAndGetSequenceItem(DCM_SegmentSequence, item, n).good(); ++n) {
    SegmentInfo s;
    Uint16 number = 0;
    if (item->findAndGetUint16(DCM_SegmentNumber, number).bad()) {
      return Status(ErrorCode::kMissingAttribute,
                    "SegmentSequence item " + std::to_string(n + 1) + " has no SegmentNumber");
    }
    s.number = number;
    s.label = GetString(item, DCM_SegmentLabel);
    s.algorithm_type = GetString(item, DCM_SegmentAlgorithmType);
    out.push_back(std::move(s));
  }
  return Status::Ok();
}

// Fills geometry fields of `f` from one functional-group item (per-frame or shared),
// without overwriting what a more specific group already gave.
void ReadGroups(DcmItem* fg, FrameInfo& f, bool& has_segment) {
  if (!fg) return;
  if (!f.has_position) {
    f.has_position = GetDoubles(Macro(fg, DCM_PlanePositionSequence), DCM_ImagePositionPatient,
                                f.position.data(), 3);
  }
  if (!f.has_orientation) {
    double iop[6];
    if (GetDoubles(Macro(fg, DCM_PlaneOrientationSequence), DCM_ImageOrientationPatient, iop, 6)) {
      f.has_orientation = true;
      f.row = {iop[0], iop[1], iop[2]};
      f.col = {iop[3], iop[4], iop[5]};
    }
  }
  if (!f.has_spacing) {
    double ps[2];
    if (GetDoubles(Macro(fg, DCM_PixelMeasuresSequence), DCM_PixelSpacing, ps, 2)) {
      f.has_spacing = true;
      f.row_spacing = ps[0];
      f.col_spacing = ps[1];
    }
  }
  if (!has_segment) {
    Uint16 number = 0;
    DcmItem* si = Macro(fg, DCM_SegmentIdentificationSequence);
    if (si && si->findAndGetUint16(DCM_ReferencedSegmentNumber, number).good()) {
      f.segment = number;
      has_segment = true;
    }
  }
}

Result<std::unique_ptr<SegObject>> Open(const std::string& path) {
  auto s = std::make_unique<SegObject>();
  s->path = path;
  RADFLOW_RETURN_IF_ERROR(Load(path, s->ff));
  DcmDataset* ds = s->ff->getDataset();
  if (!IsSeg(ds)) {
    return Status(ErrorCode::kInvalidArgument,
                  "not a DICOM Segmentation (SOPClassUID " + GetString(ds, DCM_SOPClassUID) +
                      ", Modality " + GetString(ds, DCM_Modality) + "): " + path);
  }
  RADFLOW_RETURN_IF_ERROR(ReadSegments(ds, s->segments));
  const std::string type = GetString(ds, DCM_SegmentationType);
  if (type == "BINARY") {
    s->type = SegType::kBinary;
  } else if (type == "FRACTIONAL") {
    s->type = SegType::kFractional;
  } else if (type == "LABELMAP") {
    s->type = SegType::kLabelMap;
  } else {
    return Status(ErrorCode::kUnsupported, "SegmentationType '" + type + "': " + path);
  }
  Uint16 rows = 0, cols = 0, bits = 0, samples = 1;
  ds->findAndGetUint16(DCM_Rows, rows);
  ds->findAndGetUint16(DCM_Columns, cols);
  ds->findAndGetUint16(DCM_BitsAllocated, bits);
  ds->findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (rows == 0 || cols == 0) return Status(ErrorCode::kMissingAttribute, "no Rows/Columns: " + path);
  if (samples != 1) return Status(ErrorCode::kUnsupported, "SamplesPerPixel != 1: " + path);
  const bool bits_ok = s->type == SegType::kBinary       ? bits == 1
                       : s->type == SegType::kFractional ? bits == 8
                                                         : (bits == 8 || bits == 16);
  if (!bits_ok) {
    return Status(ErrorCode::kUnsupported,
                  type + " SEG with BitsAllocated " + std::to_string(bits) + ": " + path);
  }
  s->rows = rows;
  s->cols = cols;
  s->bits = bits;
  Sint32 nframes = 1;
  ds->findAndGetSint32(DCM_NumberOfFrames, nframes);
  s->frames = size_t(std::max<Sint32>(nframes, 1));
  if (s->type == SegType::kFractional) {
    Uint16 max = 0;
    ds->findAndGetUint16(DCM_MaximumFractionalValue, max);
    s->max_fractional = max > 0 ? max : 255;
  }
  if (s->type == SegType::kLabelMap && ds->tagExists(DCM_PixelPaddingValue)) {
    Uint16 u = 0;
    Sint16 v = 0;
    if (ds->findAndGetUint16(DCM_PixelPaddingValue, u).good()) {
      s->padding = long(u);
    } else if (ds->findAndGetSint16(DCM_PixelPaddingValue, v).good()) {
      s->padding = long(v);
    }
  }

  if (GetString(ds, DCM_DimensionOrganizationType) == "TILED_FULL") {
    return Status(ErrorCode::kUnsupported,
                  "TILED_FULL SEG (slide microscopy tiles, no patient-space frame positions): " + path);
  }
  DcmItem* shared = nullptr;
  ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
  if (shared) {
    DcmItem* pm = Macro(shared, DCM_PixelMeasuresSequence);
    Float64 v = 0;
    if (pm && pm->findAndGetFloat64(DCM_SpacingBetweenSlices, v).good()) s->spacing_between_slices = v;
  }
  s->frame_info.resize(s->frames);
  for (size_t n = 0; n < s->frames; ++n) {
    DcmItem* per = nullptr;
    ds->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, per, long(n));
    bool has_segment = false;
    ReadGroups(per, s->frame_info[n], has_segment);
    ReadGroups(shared, s->frame_info[n], has_segment);
    if (!has_segment && s->type != SegType::kLabelMap) {
      if (s->segments.size() != 1) {
        return Status(ErrorCode::kMissingAttribute,
                      "frame " + std::to_string(n + 1) + " has no ReferencedSegmentNumber: " + path);
      }
      s->frame_info[n].segment = s->segments.front().number;
    }
  }

  DcmXfer xfer(ds->getOriginalXfer());
  s->encapsulated = xfer.isEncapsulated() || xfer.getXfer() == EXS_Unknown;
  if (!s->encapsulated) {
    const bool got = bits == 16 ? ds->findAndGetUint16Array(DCM_PixelData, s->p16, &s->count).good()
                                : ds->findAndGetUint8Array(DCM_PixelData, s->p8, &s->count).good();
    const size_t pixels = s->rows * s->cols * s->frames;
    const size_t needed = bits == 1 ? (pixels + 7) / 8 : pixels;
    if (!got || s->count < needed) {
      return Status(ErrorCode::kInvalidDicom, "Pixel Data missing or too short: " + path);
    }
  }
  return s;
}

// The stored values of frame `n` (0-based), one per pixel, row by row.
Status FrameValues(const SegObject& s, size_t n, std::vector<uint16_t>& out) {
  const size_t px = s.rows * s.cols;
  out.assign(px, 0);
  std::string decoded;
  const Uint8* p8 = s.p8;
  const Uint16* p16 = s.p16;
  size_t first_bit = n * px;  // BINARY frames are packed back to back (PS3.5 8.1.1)
  if (s.encapsulated) {
    auto frame = pixel::DecodeFrame(s.path, int(n));
    if (!frame.ok()) return frame.status();
    decoded = std::move(frame).value();
    const size_t needed = s.bits == 1 ? (px + 7) / 8 : px * (s.bits / 8);
    if (decoded.size() < needed) {
      return Status(ErrorCode::kInvalidDicom,
                    "decoded frame " + std::to_string(n + 1) + " is too short: " + s.path);
    }
    p8 = reinterpret_cast<const Uint8*>(decoded.data());
    p16 = reinterpret_cast<const Uint16*>(decoded.data());
    first_bit = 0;
  } else {
    if (s.bits == 8) p8 += n * px;
    if (s.bits == 16) p16 += n * px;
  }
  if (s.bits == 1) {
    for (size_t p = 0; p < px; ++p) {
      const size_t b = first_bit + p;
      out[p] = (p8[b >> 3] >> (b & 7)) & 1;
    }
  } else if (s.bits == 8) {
    for (size_t p = 0; p < px; ++p) out[p] = p8[p];
  } else {
    for (size_t p = 0; p < px; ++p) out[p] = p16[p];
  }
  return Status::Ok();
}


Status CheckGeometry(const SegObject& s, size_t n) {
  const FrameInfo& f = s.frame_info[n];
  const std::string which = "frame " + std::to_string(n + 1) + " of " + s.path;
  if (!f.has_position) {
    return Status(ErrorCode::kUnsupported,
                  which + " has no PlanePositionSequence/ImagePositionPatient (tiled or "
                          "projection SEGs are not supported)");
  }
  if (!f.has_orientation) return Status(ErrorCode::kMissingAttribute, which + " has no ImageOrientationPatient");
  if (!f.has_spacing || f.row_spacing <= 0 || f.col_spacing <= 0) {
    return Status(ErrorCode::kMissingAttribute, which + " has no valid PixelSpacing");
  }
  return Status::Ok();
}

// Calls fn(voxel offset, frame value) for every voxel of the grid plane frame `n` lies on
// that a frame pixel covers (nearest pixel).
template <typename Fn>
Status PlaceFrame(const SegObject& s, size_t n, const Geometry& grid, const std::vector<uint16_t>& values,
                  Fn&& fn) {
  RADFLOW_RETURN_IF_ERROR(CheckGeometry(s, n));
  const FrameInfo& f = s.frame_info[n];
  const Vec3 frame_normal = Cross(f.row, f.col);
  const Vec3 grid_normal = Cross(grid.direction[0], grid.direction[1]);
  if (std::abs(std::abs(Dot(frame_normal, grid_normal)) - 1.0) > 1e-3) {
    return Status(ErrorCode::kInvalidArgument, "frame " + std::to_string(n + 1) +
                                                   " is not parallel to the planes of the grid");
  }
  const double k = grid.PointToIndex(f.position)[2];
  const long plane = std::lround(k);
  if (std::abs(k - double(plane)) > 0.5 + 1e-3 || plane < 0 || plane >= long(grid.size[2])) {
    return Status(ErrorCode::kInvalidArgument,
                  "frame " + std::to_string(n + 1) + " (ImagePositionPatient " +
                      FormatPoint(f.position) + ") lies on no plane of the grid");
  }
  if (std::none_of(values.begin(), values.end(), [](uint16_t v) { return v != 0; })) {
    return Status::Ok();  // an empty frame changes nothing (LABELMAP background is 0 too)
  }
  // Frame pixel coordinates are affine in the grid indices: (c, r) = base + i·di + j·dj.
  const Vec3 p0 = grid.IndexToPoint(0, 0, double(plane));
  const Vec3 d0{p0[0] - f.position[0], p0[1] - f.position[1], p0[2] - f.position[2]};
  Vec3 step_i{}, step_j{};
  for (int r = 0; r < 3; ++r) {
    step_i[r] = grid.spacing[0] * grid.direction[0][r];
    step_j[r] = grid.spacing[1] * grid.direction[1][r];
  }
  const double c0 = Dot(d0, f.row) / f.col_spacing, r0 = Dot(d0, f.col) / f.row_spacing;
  const double ci = Dot(step_i, f.row) / f.col_spacing, ri = Dot(step_i, f.col) / f.row_spacing;
  const double cj = Dot(step_j, f.row) / f.col_spacing, rj = Dot(step_j, f.col) / f.row_spacing;
  for (size_t j = 0; j < grid.size[1]; ++j) {
    for (size_t i = 0; i < grid.size[0]; ++i) {
      const long c = std::lround(c0 + double(i) * ci + double(j) * cj);
      const long r = std::lround(r0 + double(i) * ri + double(j) * rj);
      if (c < 0 || r < 0 || c >= long(s.cols) || r >= long(s.rows)) continue;
      fn(i + grid.size[0] * (j + grid.size[1] * size_t(plane)), values[size_t(r) * s.cols + size_t(c)]);
    }
  }
  return Status::Ok();
}

bool Inside(const SegObject& s, uint16_t v, int segment) {
  switch (s.type) {
    case SegType::kBinary:
      return v != 0;
    case SegType::kFractional:
      return 2.0 * v >= s.max_fractional;
    case SegType::kLabelMap:
      return long(v) == segment && !(s.padding && *s.padding == long(v));
  }
  return false;
}

std::string SegmentList(const SegObject& s) {
  std::string out;
  for (const auto& seg : s.segments) {
    out += (out.empty() ? "" : ", ") + std::to_string(seg.number) + " '" + seg.label + "'";
  }
  return out;
}

Result<int> Resolve(const SegObject& s, const std::string& spec) {
  if (spec.empty()) {
    std::vector<int> numbers;
    for (const auto& seg : s.segments) {
      if (seg.number > 0) numbers.push_back(seg.number);
    }
    if (numbers.size() == 1) return numbers.front();
    return Status(ErrorCode::kInvalidArgument,
                  "a segment must be named; the SEG holds: " + SegmentList(s));
  }
  for (const auto& seg : s.segments) {
    if (seg.label == spec) return seg.number;
  }
  if (std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      spec.size() < 6) {
    const int number = std::stoi(spec);
    for (const auto& seg : s.segments) {
      if (seg.number == number) return number;
    }
  }
  return Status(ErrorCode::kNotFound,
                "no segment '" + spec + "' in " + s.path + " (it holds: " + SegmentList(s) + ")");
}

Result<Mask> ReadResolved(const SegObject& s, int number, const Geometry& grid) {
  Mask mask(grid, 0);
  std::vector<uint16_t> values;
  for (size_t n = 0; n < s.frames; ++n) {
    if (s.type != SegType::kLabelMap && s.frame_info[n].segment != number) continue;
    RADFLOW_RETURN_IF_ERROR(FrameValues(s, n, values));
    auto& data = mask.data();
    RADFLOW_RETURN_IF_ERROR(PlaceFrame(s, n, grid, values, [&](size_t off, uint16_t v) {
      if (Inside(s, v, number)) data[off] = 1;
    }));
  }
  return mask;
}

Result<Geometry> OwnGrid(const SegObject& s) {
  if (s.frames == 0) return Status(ErrorCode::kInvalidDicom, "no frames: " + s.path);
  for (size_t n = 0; n < s.frames; ++n) RADFLOW_RETURN_IF_ERROR(CheckGeometry(s, n));
  const FrameInfo& f0 = s.frame_info[0];
  const Vec3 normal = Cross(f0.row, f0.col);
  std::vector<double> dist;
  size_t lowest = 0;
  for (size_t n = 0; n < s.frames; ++n) {
    dist.push_back(Dot(s.frame_info[n].position, normal));
    if (dist[n] < dist[lowest]) lowest = n;
  }
  std::vector<double> sorted = dist;
  std::sort(sorted.begin(), sorted.end());
  double min_gap = 0;
  for (size_t n = 1; n < sorted.size(); ++n) {
    const double gap = sorted[n] - sorted[n - 1];
    if (gap > 1e-3 && (min_gap == 0 || gap < min_gap)) min_gap = gap;
  }
  double dz = s.spacing_between_slices > 0 ? s.spacing_between_slices : min_gap;
  if (dz <= 0) dz = 1;
  Geometry g;
  g.size = {s.cols, s.rows, size_t(std::lround((sorted.back() - sorted.front()) / dz)) + 1};
  g.spacing = {f0.col_spacing, f0.row_spacing, dz};
  g.origin = s.frame_info[lowest].position;
  g.direction = {f0.row, f0.col, normal};
  return g;
}

}  // namespace

bool IsSegmentationFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  DcmFileFormat ff;
  // Values longer than 4 KiB (Pixel Data) are left on disk.
  if (ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096).bad()) return false;
  return IsSeg(ff.getDataset());
}

Result<std::vector<SegmentInfo>> ListSegments(const std::string& path) {
  std::unique_ptr<DcmFileFormat> ff;
  RADFLOW_RETURN_IF_ERROR(Load(path, ff));
  DcmDataset* ds = ff->getDataset();
  if (!IsSeg(ds)) {
    return Status(ErrorCode::kInvalidArgument, "not a DICOM Segmentation (SOPClassUID " +
                                                   GetString(ds, DCM_SOPClassUID) + "): " + path);
  }
  std::vector<SegmentInfo> out;
  RADFLOW_RETURN_IF_ERROR(ReadSegments(ds, out));
  return out;
}

Result<Mask> ReadSegment(const std::string& path, const std::string& segment, const Geometry& grid) {
  auto s = Open(path);
  if (!s.ok()) return s.status();
  auto number = Resolve(*s.value(), segment);
  if (!number.ok()) return number.status();
  return ReadResolved(*s.value(), number.value(), grid);
}

Result<Volume<int32_t>> ReadLabelVolume(const std::string& path, const Geometry& grid) {
  auto opened = Open(path);
  if (!opened.ok()) return opened.status();
  const SegObject& s = *opened.value();
  Volume<int32_t> labels(grid, 0);
  auto& data = labels.data();
  std::vector<uint16_t> values;
  if (s.type == SegType::kLabelMap) {
    for (size_t n = 0; n < s.frames; ++n) {
      RADFLOW_RETURN_IF_ERROR(FrameValues(s, n, values));
      RADFLOW_RETURN_IF_ERROR(PlaceFrame(s, n, grid, values, [&](size_t off, uint16_t v) {
        if (v != 0 && !(s.padding && *s.padding == long(v))) data[off] = v;
      }));
    }
    return labels;
  }
  for (const auto& seg : s.segments) {
    for (size_t n = 0; n < s.frames; ++n) {
      if (s.frame_info[n].segment != seg.number) continue;
      RADFLOW_RETURN_IF_ERROR(FrameValues(s, n, values));
      RADFLOW_RETURN_IF_ERROR(PlaceFrame(s, n, grid, values, [&](size_t off, uint16_t v) {
        if (Inside(s, v, seg.number)) data[off] = seg.number;
      }));
    }
  }
  return labels;
}

Result<Geometry> SegmentationGrid(const std::string& path) {
  auto s = Open(path);
  if (!s.ok()) return s.status();
  return OwnGrid(*s.value());
}

Result<Mask> ReadSegmentOnOwnGrid(const std::string& path, const std::string& segment) {
  auto s = Open(path);
  if (!s.ok()) return s.status();
  auto number = Resolve(*s.value(), segment);
  if (!number.ok()) return number.status();
  auto grid = OwnGrid(*s.value());
  if (!grid.ok()) return grid.status();
  return ReadResolved(*s.value(), number.value(), grid.value());
}

}  // namespace radflow::imaging
