// ReadSlideSeries: the VL Whole Slide Microscopy series' headers (PS3.3 A.32.8) read with
// DCMTK, pixel data skipped; levels sorted finest first.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <exception>
#include <map>
#include <unordered_set>

#include "slide/slide_reader.h"

namespace radflow::slide {
namespace {

constexpr const char* kWsmSopClass = UID_VLWholeSlideMicroscopyImageStorage;

std::string Str(DcmItem& item, const DcmTagKey& tag, unsigned long pos = 0) {
  OFString v;
  if (item.findAndGetOFString(tag, v, pos).bad()) return "";
  return std::string(v.c_str());
}

long Long(DcmItem& item, const DcmTagKey& tag, long fallback) {
  const std::string s = Str(item, tag);
  if (s.empty()) return fallback;
  try {
    return std::stol(s);
  } catch (const std::exception&) {
    return fallback;
  }
}

double Double(DcmItem& item, const DcmTagKey& tag, unsigned long pos) {
  Float64 v = 0;
  if (item.findAndGetFloat64(tag, v, pos).bad()) return 0;
  return v;
}

DcmItem* FirstItem(DcmItem& item, const DcmTagKey& seq) {
  DcmItem* out = nullptr;
  if (item.findAndGetSequenceItem(seq, out, 0).bad()) return nullptr;
  return out;
}

// Pixel Measures (PS3.3 C.7.6.16.2.1) from the shared functional groups, else the first
// frame's, else a top-level Pixel Spacing (non-conformant writers).
void ReadPixelSpacing(DcmDataset& ds, SlideLevel& level) {
  for (const DcmTagKey& groups :
       {DCM_SharedFunctionalGroupsSequence, DCM_PerFrameFunctionalGroupsSequence}) {
    DcmItem* g = FirstItem(ds, groups);
    DcmItem* pm = g ? FirstItem(*g, DCM_PixelMeasuresSequence) : nullptr;
    if (pm && Double(*pm, DCM_PixelSpacing, 0) > 0) {
      level.pixel_spacing_mm[0] = Double(*pm, DCM_PixelSpacing, 0);
      level.pixel_spacing_mm[1] = Double(*pm, DCM_PixelSpacing, 1);
      return;
    }
  }
  if (Double(ds, DCM_PixelSpacing, 0) > 0) {
    level.pixel_spacing_mm[0] = Double(ds, DCM_PixelSpacing, 0);
    level.pixel_spacing_mm[1] = Double(ds, DCM_PixelSpacing, 1);
  }
}

// PlanePositionSlideSequence (PS3.3 C.8.12.6.1) of every frame: 1-based positions in the
// total pixel matrix -> 0-based origins. kInvalidDicom when a frame lacks one or its tile
// would lie wholly outside the matrix (origin outside [-tile, total): untrusted values that
// later sums must not overflow). `first_frame`: the part's offset in a concatenation.
Status ReadFrameOrigins(DcmDataset& ds, const std::string& path, int first_frame,
                        SlideLevel& level) {
  DcmSequenceOfItems* per_frame = nullptr;
  if (ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame).bad() ||
      per_frame == nullptr) {
    return Status(ErrorCode::kInvalidDicom,
                  path +
                      ": TILED_SPARSE level without PerFrameFunctionalGroupsSequence "
                      "(PS3.3 C.7.6.17.3)");
  }
  if (static_cast<int>(per_frame->card()) < level.frames) {
    return Status(ErrorCode::kInvalidDicom, path + ": PerFrameFunctionalGroupsSequence has " +
                                                std::to_string(per_frame->card()) + " items for " +
                                                std::to_string(level.frames) + " frames");
  }
  for (int f = 0; f < level.frames; ++f) {
    DcmItem* pos = FirstItem(*per_frame->getItem(f), DCM_PlanePositionSlideSequence);
    const long col = pos ? Long(*pos, DCM_ColumnPositionInTotalImagePixelMatrix, 0) : 0;
    const long row = pos ? Long(*pos, DCM_RowPositionInTotalImagePixelMatrix, 0) : 0;
    const std::string frame = path + ": frame " + std::to_string(first_frame + f + 1);
    if (col == 0 || row == 0) {
      return Status(ErrorCode::kInvalidDicom,
                    frame +
                        " has no Column/Row Position In Total Image Pixel Matrix "
                        "(PlanePositionSlideSequence, PS3.3 C.8.12.6.1)");
    }
    if (col - 1 < -static_cast<long>(level.tile_columns) || col - 1 >= level.total_columns ||
        row - 1 < -static_cast<long>(level.tile_rows) || row - 1 >= level.total_rows) {
      return Status(ErrorCode::kInvalidDicom,
                    frame + " is at column " + std::to_string(col) + ", row " +
                        std::to_string(row) + ", outside the " +
                        std::to_string(level.total_columns) + "x" +
                        std::to_string(level.total_rows) +
                        " total pixel matrix (PlanePositionSlideSequence, PS3.3 C.8.12.6.1)");
    }
    level.frame_origins.emplace_back(static_cast<int>(col - 1), static_cast<int>(row - 1));
  }
  return Status::Ok();
}

// The frames of a level without DimensionOrganizationType: sparse when every frame names
// its position, else implied TILED_FULL (many writers before 2016 omit the attribute).
bool HasFramePositions(DcmDataset& ds) {
  DcmItem* first = FirstItem(ds, DCM_PerFrameFunctionalGroupsSequence);
  return first != nullptr && FirstItem(*first, DCM_PlanePositionSlideSequence) != nullptr;
}

// One instance's level header. `first_frame`: its ConcatenationFrameOffsetNumber.
Result<SlideLevel> ReadLevel(DcmDataset& ds, const std::string& path, int first_frame) {
  SlideLevel level;
  level.path = path;
  level.sop_instance_uid = Str(ds, DCM_SOPInstanceUID);
  level.tile_columns = static_cast<int>(Long(ds, DCM_Columns, 0));
  level.tile_rows = static_cast<int>(Long(ds, DCM_Rows, 0));
  const long frames = Long(ds, DCM_NumberOfFrames, 1);
  level.samples_per_pixel = static_cast<int>(Long(ds, DCM_SamplesPerPixel, 1));
  // Single-frame images may omit the total pixel matrix: the frame is the matrix.
  const long columns = Long(ds, DCM_TotalPixelMatrixColumns, level.tile_columns);
  const long rows = Long(ds, DCM_TotalPixelMatrixRows, level.tile_rows);
  constexpr long kMax = 1L << 30;  // UL values beyond int: refused, not wrapped
  if (level.tile_columns <= 0 || level.tile_rows <= 0 || frames <= 0 || columns <= 0 ||
      rows <= 0 || frames > kMax || columns > kMax || rows > kMax) {
    return Status(ErrorCode::kInvalidDicom,
                  path +
                      ": Rows, Columns, NumberOfFrames and TotalPixelMatrixColumns/Rows "
                      "must be positive (PS3.3 C.8.12.4)");
  }
  level.frames = static_cast<int>(frames);
  level.total_columns = static_cast<int>(columns);
  level.total_rows = static_cast<int>(rows);
  if (level.samples_per_pixel != 1 && level.samples_per_pixel != 3) {
    return Status(
        ErrorCode::kUnsupported,
        path + ": SamplesPerPixel " + std::to_string(level.samples_per_pixel) + " (only 1 or 3)");
  }
  ReadPixelSpacing(ds, level);
  const std::string org = Str(ds, DCM_DimensionOrganizationType);
  level.tiled_full = org == "TILED_FULL" || (org.empty() && !HasFramePositions(ds));
  if (!level.tiled_full) RADFLOW_RETURN_IF_ERROR(ReadFrameOrigins(ds, path, first_frame, level));
  level.parts.push_back({path, first_frame, level.frames});
  return level;
}

// TILED_FULL: every tile of the matrix needs a frame (PS3.3 C.7.6.17.3).
Status CheckTiledFull(const SlideLevel& level) {
  if (!level.tiled_full) return Status::Ok();
  const long long tiles =
      static_cast<long long>((level.total_columns + level.tile_columns - 1) / level.tile_columns) *
      ((level.total_rows + level.tile_rows - 1) / level.tile_rows);
  if (level.frames < tiles) {
    return Status(ErrorCode::kInvalidDicom,
                  level.path + ": TILED_FULL needs " + std::to_string(tiles) + " frames for a " +
                      std::to_string(level.total_columns) + "x" +
                      std::to_string(level.total_rows) + " matrix, NumberOfFrames is " +
                      std::to_string(level.frames) +
                      (level.parts.size() > 1
                           ? " in all " + std::to_string(level.parts.size()) + " parts"
                           : std::string()));
  }
  return Status::Ok();
}

// The parts of one concatenation (PS3.3 C.7.6.16.2.2), keyed by InConcatenationNumber,
// joined into one level: parts 1..n all present, each part's
// ConcatenationFrameOffsetNumber the frames before it, the same matrix and tiles.
struct ConcatenationPart {
  long number = 0, total = 0, offset = 0;
  SlideLevel level;
};

Result<SlideLevel> JoinConcatenation(const std::string& uid,
                                     std::vector<ConcatenationPart>& parts) {
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  const std::string what = "concatenation " + uid + " (PS3.3 C.7.6.16.2.2): ";
  const long total = parts.front().total;
  SlideLevel level = parts.front().level;
  level.parts.clear();
  level.frames = 0;
  level.frame_origins.clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const ConcatenationPart& p = parts[i];
    if (p.number != static_cast<long>(i) + 1) {
      return Status(ErrorCode::kInvalidDicom,
                    what + "part " + std::to_string(i + 1) + " is missing (found part " +
                        std::to_string(p.number) + ", " + p.level.path + ")");
    }
    if (p.offset != level.frames) {
      return Status(ErrorCode::kInvalidDicom,
                    what + p.level.path + " has ConcatenationFrameOffsetNumber " +
                        std::to_string(p.offset) + ", the parts before it hold " +
                        std::to_string(level.frames) + " frames");
    }
    const SlideLevel& l = p.level;
    if (l.total_columns != level.total_columns || l.total_rows != level.total_rows ||
        l.tile_columns != level.tile_columns || l.tile_rows != level.tile_rows ||
        l.samples_per_pixel != level.samples_per_pixel || l.tiled_full != level.tiled_full) {
      return Status(ErrorCode::kInvalidDicom,
                    what + l.path + ": matrix, tile size, samples or organization differ from part 1's");
    }
    level.parts.push_back({l.path, level.frames, l.frames});
    level.frame_origins.insert(level.frame_origins.end(), l.frame_origins.begin(),
                               l.frame_origins.end());
    if (level.frames > (1 << 30) - l.frames)
      return Status(ErrorCode::kInvalidDicom, what + "too many frames");
    level.frames += l.frames;
  }
  if (total > 0 && total != static_cast<long>(parts.size())) {
    return Status(ErrorCode::kInvalidDicom,
                  what + "InConcatenationTotalNumber is " + std::to_string(total) + ", " +
                      std::to_string(parts.size()) + " parts found");
  }
  return level;
}

}  // namespace

void IndexSparseFrames(SlideLevel& level) {
  level.cell_start.clear();
  level.cell_frames.clear();
  if (level.tiled_full || level.tile_columns <= 0 || level.tile_rows <= 0) return;
  const int tw = level.tile_columns, th = level.tile_rows;
  const long long across = (level.total_columns + tw - 1) / tw + 1;  // cells from -1
  const long long down = (level.total_rows + th - 1) / th + 1;
  auto cell = [&](int ox, int oy) -> long long {
    // floor division: origins in [-tile, 0) fall in cell -1
    const long long cx = ox >= 0 ? ox / tw : -1, cy = oy >= 0 ? oy / th : -1;
    return (cy + 1) * across + cx + 1;
  };
  // Counting sort by cell, frames kept in frame order, the first frame at an origin only.
  std::vector<int> keep;
  std::unordered_set<long long> seen;
  for (size_t f = 0; f < level.frame_origins.size(); ++f) {
    const auto [ox, oy] = level.frame_origins[f];
    if (seen.insert((static_cast<long long>(oy) << 32) ^ static_cast<uint32_t>(ox)).second)
      keep.push_back(static_cast<int>(f));
  }
  level.cell_start.assign(static_cast<size_t>(across * down) + 1, 0);
  for (int f : keep) {
    const auto [ox, oy] = level.frame_origins[f];
    ++level.cell_start[cell(ox, oy) + 1];
  }
  for (size_t i = 1; i < level.cell_start.size(); ++i)
    level.cell_start[i] += level.cell_start[i - 1];
  level.cell_frames.resize(keep.size());
  std::vector<int> fill(level.cell_start.begin(), level.cell_start.end() - 1);
  for (int f : keep) {
    const auto [ox, oy] = level.frame_origins[f];
    level.cell_frames[fill[cell(ox, oy)]++] = f;
  }
}

Result<Slide> ReadSlideSeries(const std::vector<std::string>& files) {
  Slide slide;
  int wsm_files = 0;
  std::map<std::string, std::vector<ConcatenationPart>> concatenations;
  bool have_first = false;
  for (const std::string& path : files) {
    DcmFileFormat file;
    OFCondition cond;
    try {
      cond = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
    } catch (const std::exception& e) {
      return Status(ErrorCode::kInvalidDicom, path + ": " + e.what());
    }
    if (cond.bad()) {
      return Status(ErrorCode::kInvalidDicom,
                    path + ": not a readable DICOM file (" + std::string(cond.text()) + ")");
    }
    DcmDataset& ds = *file.getDataset();
    if (Str(ds, DCM_SOPClassUID) != kWsmSopClass) continue;  // e.g. a SEG or annotations
    ++wsm_files;
    // ImageType value 3 (PS3.3 C.8.12.4.1.1); absent (non-conformant) is read as VOLUME.
    const std::string flavor = Str(ds, DCM_ImageType, 2);
    const std::string concatenation = Str(ds, DCM_ConcatenationUID);
    const long part = Long(ds, DCM_InConcatenationNumber, 1);
    if (flavor == "THUMBNAIL" || flavor == "LABEL" || flavor == "OVERVIEW") {
      if (part > 1) continue;  // a concatenated associated image: its first part names it
      (flavor == "THUMBNAIL" ? slide.thumbnail_path
                             : flavor == "LABEL" ? slide.label_path : slide.overview_path) = path;
    } else if (flavor == "VOLUME" || flavor.empty()) {
      const long offset = Long(ds, DCM_ConcatenationFrameOffsetNumber, 0);
      if (offset < 0 || offset > (1L << 30)) {
        return Status(ErrorCode::kInvalidDicom,
                      path + ": ConcatenationFrameOffsetNumber " + std::to_string(offset));
      }
      auto level = ReadLevel(ds, path, concatenation.empty() ? 0 : static_cast<int>(offset));
      if (!level.ok()) return level.status();
      if (!have_first) {
        slide.container_identifier = Str(ds, DCM_ContainerIdentifier);
        slide.frame_of_reference_uid = Str(ds, DCM_FrameOfReferenceUID);
        have_first = true;
      }
      if (concatenation.empty()) {
        slide.levels.push_back(std::move(level.value()));
      } else {
        concatenations[concatenation].push_back(
            {part, Long(ds, DCM_InConcatenationTotalNumber, 0), offset, std::move(level.value())});
      }
    }
  }
  for (auto& [uid, parts] : concatenations) {
    auto level = JoinConcatenation(uid, parts);
    if (!level.ok()) return level.status();
    slide.levels.push_back(std::move(level.value()));
  }
  for (SlideLevel& level : slide.levels) {
    RADFLOW_RETURN_IF_ERROR(CheckTiledFull(level));
    IndexSparseFrames(level);
  }
  if (slide.levels.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  wsm_files == 0
                      ? "no VL Whole Slide Microscopy image (" + std::string(kWsmSopClass) +
                            ") among " + std::to_string(files.size()) + " files"
                      : "no VOLUME level among the series' " + std::to_string(wsm_files) +
                            " VL Whole Slide Microscopy images (ImageType value 3)");
  }
  std::stable_sort(
      slide.levels.begin(), slide.levels.end(),
      [](const SlideLevel& a, const SlideLevel& b) { return a.total_columns > b.total_columns; });
  return slide;
}

}  // namespace radflow::slide
