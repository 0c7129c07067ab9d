#include "apps/pathology/slide_seg.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>

#include "base/clock.h"
#include "dicom/instance.h"

namespace radflow::apps::pathology {
namespace {

constexpr const char* kSegSopClass = UID_SegmentationStorage;
constexpr const char* kWsmSopClass = UID_VLWholeSlideMicroscopyImageStorage;

using dicom::NewUid;

// DS (PS3.5 6.2): at most 16 characters.
std::string Ds(double v) {
  char buf[32];
  for (int precision = 12; precision > 0; --precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::string(buf).size() <= 16) break;
  }
  return buf;
}

std::string Str(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  return item.findAndGetOFStringArray(tag, v).good() ? std::string(v.c_str()) : std::string();
}

void PutCode(DcmItem& parent, const DcmTagKey& seq, const ai::Code& code) {
  DcmItem* item = nullptr;
  if (parent.findOrCreateSequenceItem(seq, item, -2).bad() || item == nullptr) return;
  item->putAndInsertString(DCM_CodeValue, code.value.c_str());
  item->putAndInsertString(DCM_CodingSchemeDesignator, code.scheme.c_str());
  item->putAndInsertString(DCM_CodeMeaning, code.meaning.c_str());
}

// Copies the listed attributes (any VR, sequences included) that the source has; those of
// Type 2 that it lacks are written empty.
void Copy(DcmItem& from, DcmItem& to, std::initializer_list<DcmTagKey> type1_or_3,
          std::initializer_list<DcmTagKey> type2) {
  for (const DcmTagKey& t : type1_or_3) {
    DcmElement* e = nullptr;
    if (from.findAndGetElement(t, e).good() && e)
      to.insert(static_cast<DcmElement*>(e->clone()), OFTrue);
  }
  for (const DcmTagKey& t : type2) {
    DcmElement* e = nullptr;
    if (from.findAndGetElement(t, e).good() && e) {
      to.insert(static_cast<DcmElement*>(e->clone()), OFTrue);
    } else {
      to.insertEmptyElement(t);
    }
  }
}

// The source's Z offset in the slide coordinate system (its first frame's Plane Position
// (Slide)); TILED_FULL sources store no frame position (PS3.3 C.7.6.17.3): their first
// focal plane is taken as Z 0.
std::string ZOffset(DcmItem* position) {
  std::string z;
  if (position) z = Str(*position, DCM_ZOffsetInSlideCoordinateSystem);
  return z.empty() ? std::string(1, '0') : z;
}

std::string ContentLabel(const std::string& name) {
  std::string s;
  for (char c : name) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return s.empty() ? "TISSUE" : s.substr(0, 16);
}

}  // namespace

Result<SlideSegWritten> WriteSlideSegmentation(const SlideSegInput& in, const std::string& path) {
  if (in.level == nullptr || in.width <= 0 || in.height <= 0 || in.factor < 1 || in.tile_size < 8 ||
      in.tile_size % 8 != 0 || in.segments.empty()) {
    return Status(ErrorCode::kInvalidArgument, "slide SEG: no level, grid or segment");
  }
  const size_t n = static_cast<size_t>(in.width) * in.height;
  for (const auto& s : in.segments) {
    if (s.mask.size() != n || s.category.empty() || s.type.empty())
      return Status(ErrorCode::kInvalidArgument,
                    "slide SEG: segment '" + s.label + "' is not on the grid or lacks codes");
  }
  DcmFileFormat source;
  if (source.loadFile(in.level->path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect)
          .bad())
    return Status(ErrorCode::kInvalidDicom, "cannot read " + in.level->path);
  DcmDataset& src = *source.getDataset();

  // Frames: per segment, the tiles of the grid holding any of its pixels (sparse).
  const int T = in.tile_size;
  const int across = (in.width + T - 1) / T, down = (in.height + T - 1) / T;
  struct Frame {
    int segment, tx, ty;
  };
  std::vector<Frame> frames;
  for (int s = 0; s < static_cast<int>(in.segments.size()); ++s) {
    const auto& m = in.segments[s].mask;
    for (int ty = 0; ty < down; ++ty) {
      for (int tx = 0; tx < across; ++tx) {
        bool any = false;
        for (int y = ty * T; y < std::min(in.height, (ty + 1) * T) && !any; ++y)
          for (int x = tx * T; x < std::min(in.width, (tx + 1) * T) && !any; ++x)
            any = m[static_cast<size_t>(y) * in.width + x] != 0;
        if (any) frames.push_back({s, tx, ty});
      }
    }
  }
  if (frames.empty())
    return Status(ErrorCode::kInvalidArgument, "slide SEG: every segment is empty");

  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  const std::string sop_uid = NewUid(), series_uid = NewUid();
  const std::string date = UtcNow("%Y%m%d"), time = UtcNow("%H%M%S");
  Copy(src, ds,
       {DCM_SpecificCharacterSet, DCM_StudyInstanceUID, DCM_IssuerOfPatientIDQualifiersSequence,
        DCM_IssuerOfAccessionNumberSequence, DCM_OtherPatientIDsSequence},
       {DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate,
        DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID, DCM_AccessionNumber});
  // Patient and study (C.7.1.1, C.7.2.1) from the slide; the series is new (C.8.20.1).
  ds.putAndInsertString(DCM_SOPClassUID, kSegSopClass);
  ds.putAndInsertString(DCM_SOPInstanceUID, sop_uid.c_str());
  ds.putAndInsertString(DCM_Modality, "SEG");
  ds.putAndInsertString(DCM_SeriesInstanceUID, series_uid.c_str());
  ds.putAndInsertString(DCM_SeriesNumber, std::to_string(in.series_number).c_str());
  ds.putAndInsertString(DCM_SeriesDescription,
                        ("Tissue by " + in.algorithm_name).substr(0, 64).c_str());
  ds.putAndInsertString(DCM_InstanceNumber, "1");
  ds.putAndInsertString(DCM_ContentDate, date.c_str());
  ds.putAndInsertString(DCM_ContentTime, time.c_str());
  ds.putAndInsertString(DCM_InstanceCreationDate, date.c_str());
  ds.putAndInsertString(DCM_InstanceCreationTime, time.c_str());
  // Frame of Reference (C.7.4.1): the slide's, so the SEG overlays it.
  ds.putAndInsertString(DCM_FrameOfReferenceUID, Str(src, DCM_FrameOfReferenceUID).empty()
                                                     ? NewUid().c_str()
                                                     : Str(src, DCM_FrameOfReferenceUID).c_str());
  const std::string pri = Str(src, DCM_PositionReferenceIndicator);
  ds.putAndInsertString(DCM_PositionReferenceIndicator, pri.empty() ? "SLIDE_CORNER" : pri.c_str());
  // General and Enhanced General Equipment (C.7.5.1, C.7.5.2): this app.
  ds.putAndInsertString(DCM_Manufacturer, in.manufacturer.c_str());
  ds.putAndInsertString(DCM_ManufacturerModelName, in.algorithm_name.substr(0, 64).c_str());
  ds.putAndInsertString(DCM_DeviceSerialNumber, in.algorithm_id.substr(0, 64).c_str());
  ds.putAndInsertString(DCM_SoftwareVersions, in.algorithm_version.c_str());
  {  // ContributingEquipmentSequence as the IHE AIR profile asks (C.7.5.1).
    DcmItem* item = nullptr;
    ds.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, item, -2);
    item->putAndInsertString(DCM_Manufacturer, in.manufacturer.c_str());
    item->putAndInsertString(DCM_ManufacturerModelName, in.algorithm_name.substr(0, 64).c_str());
    item->putAndInsertString(DCM_SoftwareVersions, in.algorithm_version.c_str());
    item->putAndInsertString(DCM_ContributionDateTime, (date + time).c_str());
    item->putAndInsertString(DCM_ContributionDescription, ("AI app " + in.algorithm_name).c_str());
    PutCode(*item, DCM_PurposeOfReferenceCodeSequence,
            {"Newcode1", "99IHE", "Processing Algorithm"});
  }
  // General Image (C.7.6.1) and Segmentation Image (C.8.20.2).
  ds.putAndInsertString(DCM_ImageType, "DERIVED\\PRIMARY");
  ds.insertEmptyElement(DCM_PatientOrientation);
  // Lossy Image Compression (C.7.6.1.1.5): "01" once any ancestor was lossy compressed, so
  // the source's value (and its ratio and method) is carried; a source without one counts
  // as lossy when its own transfer syntax is (JPEG baseline/extended, JPEG 2000 lossy).
  {
    std::string lossy = Str(src, DCM_LossyImageCompression);
    OFString ts;
    source.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts);
    const std::string syntax = ts.c_str();
    if (lossy != "01" && (syntax == UID_JPEGProcess1TransferSyntax ||
                          syntax == UID_JPEGProcess2_4TransferSyntax ||
                          syntax == UID_JPEG2000TransferSyntax))
      lossy = "01";
    ds.putAndInsertString(DCM_LossyImageCompression, lossy == "01" ? "01" : "00");
    if (lossy == "01")
      Copy(src, ds, {DCM_LossyImageCompressionRatio, DCM_LossyImageCompressionMethod}, {});
  }
  ds.putAndInsertString(DCM_SegmentationType, "BINARY");
  ds.putAndInsertString(DCM_SegmentsOverlap, "NO");
  ds.putAndInsertString(DCM_ContentLabel, ContentLabel(in.algorithm_id).c_str());
  ds.putAndInsertString(DCM_ContentDescription, "Tissue detection and focus");
  ds.insertEmptyElement(DCM_ContentCreatorName);
  for (size_t s = 0; s < in.segments.size(); ++s) {
    DcmItem* seg = nullptr;
    ds.findOrCreateSequenceItem(DCM_SegmentSequence, seg, -2);
    seg->putAndInsertUint16(DCM_SegmentNumber, static_cast<Uint16>(s + 1));
    seg->putAndInsertString(DCM_SegmentLabel, in.segments[s].label.c_str());
    seg->putAndInsertString(DCM_SegmentAlgorithmType, "AUTOMATIC");
    seg->putAndInsertString(DCM_SegmentAlgorithmName, in.algorithm_name.substr(0, 64).c_str());
    PutCode(*seg, DCM_SegmentedPropertyCategoryCodeSequence, in.segments[s].category);
    PutCode(*seg, DCM_SegmentedPropertyTypeCodeSequence, in.segments[s].type);
  }
  // Image Pixel (C.7.6.3) for BINARY (C.8.20.2.1).
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(T));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(T));
  ds.putAndInsertUint16(DCM_BitsAllocated, 1);
  ds.putAndInsertUint16(DCM_BitsStored, 1);
  ds.putAndInsertUint16(DCM_HighBit, 0);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(frames.size()).c_str());

  // Specimen (C.7.6.22): the slide's container and specimens.
  Copy(src, ds, {DCM_SpecimenDescriptionSequence},
       {DCM_IssuerOfTheContainerIdentifierSequence, DCM_ContainerTypeCodeSequence});
  const std::string container = Str(src, DCM_ContainerIdentifier);
  ds.putAndInsertString(DCM_ContainerIdentifier, container.empty() ? "UNKNOWN" : container.c_str());
  if (!ds.tagExists(DCM_SpecimenDescriptionSequence)) {
    DcmItem* spec = nullptr;
    ds.findOrCreateSequenceItem(DCM_SpecimenDescriptionSequence, spec, -2);
    spec->putAndInsertString(DCM_SpecimenIdentifier,
                             container.empty() ? "UNKNOWN" : container.c_str());
    spec->putAndInsertString(DCM_SpecimenUID, NewUid().c_str());
    spec->insertEmptyElement(DCM_IssuerOfTheSpecimenIdentifierSequence);
    spec->insertEmptyElement(DCM_SpecimenPreparationSequence);
  }

  // The SEG's total pixel matrix (Microscope Slide Layer Tile Organization Module):
  // same origin and orientation as the level; spacing scaled by the grid factor.
  ds.putAndInsertUint32(DCM_TotalPixelMatrixColumns, static_cast<Uint32>(in.width));
  ds.putAndInsertUint32(DCM_TotalPixelMatrixRows, static_cast<Uint32>(in.height));
  ds.putAndInsertUint32(DCM_TotalPixelMatrixFocalPlanes, 1);
  double origin_x = 0, origin_y = 0;
  {
    DcmItem* o = nullptr;
    if (src.findAndGetSequenceItem(DCM_TotalPixelMatrixOriginSequence, o, 0).good() && o) {
      o->findAndGetFloat64(DCM_XOffsetInSlideCoordinateSystem, origin_x);
      o->findAndGetFloat64(DCM_YOffsetInSlideCoordinateSystem, origin_y);
    }
    DcmItem* item = nullptr;
    ds.findOrCreateSequenceItem(DCM_TotalPixelMatrixOriginSequence, item, -2);
    item->putAndInsertString(DCM_XOffsetInSlideCoordinateSystem, Ds(origin_x).c_str());
    item->putAndInsertString(DCM_YOffsetInSlideCoordinateSystem, Ds(origin_y).c_str());
  }
  double orient[6] = {0, -1, 0, -1, 0, 0};  // the usual slide orientation when absent
  {
    Float64 v = 0;
    bool have = true;
    double got[6];
    for (int i = 0; i < 6; ++i) {
      if (src.findAndGetFloat64(DCM_ImageOrientationSlide, v, i).bad()) have = false;
      got[i] = v;
    }
    if (have) std::copy(got, got + 6, orient);
    std::string s;
    for (int i = 0; i < 6; ++i) {
      if (i) s += '\\';
      s += Ds(orient[i]);
    }
    ds.putAndInsertString(DCM_ImageOrientationSlide, s.c_str());
  }
  // The level's spacing as the analysis used it (SlideSegInput), else its Pixel Measures.
  double level_row = in.level_spacing_mm[0], level_col = in.level_spacing_mm[1];
  if (level_row <= 0 || level_col <= 0) {
    level_row = in.level->pixel_spacing_mm[0];
    level_col = in.level->pixel_spacing_mm[1];
  }
  const double row_spacing = level_row * in.factor;
  const double col_spacing = level_col * in.factor;

  // The source's Pixel Measures (shared, else the first frame's) and the first frame's
  // Plane Position (Slide): slice thickness and Z are copied, not invented.
  DcmItem* src_measures = nullptr;
  DcmItem* src_position = nullptr;
  for (const DcmTagKey& groups :
       {DCM_SharedFunctionalGroupsSequence, DCM_PerFrameFunctionalGroupsSequence}) {
    DcmItem* g = nullptr;
    if (src.findAndGetSequenceItem(groups, g, 0).bad() || g == nullptr) continue;
    DcmItem* item = nullptr;
    if (!src_measures && g->findAndGetSequenceItem(DCM_PixelMeasuresSequence, item, 0).good())
      src_measures = item;
    if (!src_position && g->findAndGetSequenceItem(DCM_PlanePositionSlideSequence, item, 0).good())
      src_position = item;
  }
  const std::string z_offset = ZOffset(src_position);

  // Shared functional groups: Pixel Measures (C.7.6.16.2.1) on the SEG grid.
  {
    DcmItem* shared = nullptr;
    ds.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, -2);
    DcmItem* pm = nullptr;
    shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, pm, -2);
    if (row_spacing > 0 && col_spacing > 0) {
      pm->putAndInsertString(DCM_PixelSpacing, (Ds(row_spacing) + "\\" + Ds(col_spacing)).c_str());
    } else {
      // Neither the level nor level 0 has Pixel Measures (non-conformant source, e.g.
      // pathml's): Pixel Spacing is Type 1 here, so 1\1 stands for "unknown" and the area
      // finding is given in pixels instead (docs/apps/wsi-tissue.md).
      pm->putAndInsertString(DCM_PixelSpacing, "1\\1");
    }
    // Slice Thickness: the source's, else its Imaged Volume Depth (µm, C.8.12.9) in mm.
    std::string thickness = src_measures ? Str(*src_measures, DCM_SliceThickness) : "";
    Float64 depth_um = 0;
    if (thickness.empty() && src.findAndGetFloat64(DCM_ImagedVolumeDepth, depth_um).good() &&
        depth_um > 0)
      thickness = Ds(depth_um / 1000.0);
    if (!thickness.empty()) pm->putAndInsertString(DCM_SliceThickness, thickness.c_str());
  }

  // Dimensions (C.7.6.17) in highdicom's order for slide SEGs: segment, column and row in
  // the total pixel matrix, X/Y/Z offset in the slide coordinate system; the frames are
  // sparse (only tiles with segment pixels): TILED_SPARSE (C.7.6.17.3).
  const std::string dim_uid = NewUid();
  ds.putAndInsertString(DCM_DimensionOrganizationType, "TILED_SPARSE");
  {
    DcmItem* org = nullptr;
    ds.findOrCreateSequenceItem(DCM_DimensionOrganizationSequence, org, -2);
    org->putAndInsertString(DCM_DimensionOrganizationUID, dim_uid.c_str());
    const struct {
      DcmTagKey index, group;
      const char* label;
    } dims[] = {{DCM_ReferencedSegmentNumber, DCM_SegmentIdentificationSequence,
                 "ReferencedSegmentNumber"},
                {DCM_ColumnPositionInTotalImagePixelMatrix, DCM_PlanePositionSlideSequence,
                 "ColumnPositionInTotalImagePixelMatrix"},
                {DCM_RowPositionInTotalImagePixelMatrix, DCM_PlanePositionSlideSequence,
                 "RowPositionInTotalImagePixelMatrix"},
                {DCM_XOffsetInSlideCoordinateSystem, DCM_PlanePositionSlideSequence,
                 "XOffsetInSlideCoordinateSystem"},
                {DCM_YOffsetInSlideCoordinateSystem, DCM_PlanePositionSlideSequence,
                 "YOffsetInSlideCoordinateSystem"},
                {DCM_ZOffsetInSlideCoordinateSystem, DCM_PlanePositionSlideSequence,
                 "ZOffsetInSlideCoordinateSystem"}};
    for (const auto& d : dims) {
      DcmItem* item = nullptr;
      ds.findOrCreateSequenceItem(DCM_DimensionIndexSequence, item, -2);
      item->putAndInsertString(DCM_DimensionOrganizationUID, dim_uid.c_str());
      item->putAndInsertTagKey(DCM_DimensionIndexPointer, d.index);
      item->putAndInsertTagKey(DCM_FunctionalGroupPointer, d.group);
      item->putAndInsertString(DCM_DimensionDescriptionLabel, d.label);
    }
  }

  // References: the source level (General Reference C.7.6.1 Source Image, Common Instance
  // Reference C.12.2).
  const std::string src_uid = in.level->sop_instance_uid;
  {
    DcmItem* item = nullptr;
    ds.findOrCreateSequenceItem(DCM_SourceImageSequence, item, -2);
    item->putAndInsertString(DCM_ReferencedSOPClassUID, kWsmSopClass);
    item->putAndInsertString(DCM_ReferencedSOPInstanceUID, src_uid.c_str());
    DcmItem* series = nullptr;
    ds.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, -2);
    series->putAndInsertString(DCM_SeriesInstanceUID, Str(src, DCM_SeriesInstanceUID).c_str());
    DcmItem* ref = nullptr;
    series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, ref, -2);
    ref->putAndInsertString(DCM_ReferencedSOPClassUID, kWsmSopClass);
    ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, src_uid.c_str());
  }

  // Per-frame groups and the packed bits (PS3.5 8.1.1: frames follow each other bit by
  // bit; T*T is a multiple of 8, so each frame starts on a byte).
  // Slide coordinates of a frame's first pixel (PS3.3 C.8.12.4: TotalPixelMatrixOrigin and
  // ImageOrientationSlide): the origin plus the row and column direction cosines times the
  // distances along them; as DS strings, the form they are written and indexed in.
  auto slide_xy = [&](int col0, int row0) {
    const double dc = col0 * col_spacing, dr = row0 * row_spacing;
    return std::make_pair(Ds(origin_x + orient[0] * dc + orient[3] * dr),
                          Ds(origin_y + orient[1] * dc + orient[4] * dr));
  };
  // 1-based indices of the distinct values of each dimension, in increasing order.
  std::map<int, int> row_index, col_index;
  std::map<double, int> x_index, y_index;
  for (const Frame& f : frames) {
    row_index[f.ty * T + 1] = 0;
    col_index[f.tx * T + 1] = 0;
    const auto [xs, ys] = slide_xy(f.tx * T, f.ty * T);
    x_index[std::stod(xs)] = 0;
    y_index[std::stod(ys)] = 0;
  }
  auto number = [](auto& m) {
    int k = 0;
    for (auto& [value, idx] : m) idx = ++k;
  };
  number(row_index);
  number(col_index);
  number(x_index);
  number(y_index);
  std::vector<Uint8> bits(frames.size() * static_cast<size_t>(T) * T / 8, 0);
  size_t bit = 0;
  for (const Frame& f : frames) {
    DcmItem* pf = nullptr;
    ds.findOrCreateSequenceItem(DCM_PerFrameFunctionalGroupsSequence, pf, -2);
    const int col0 = f.tx * T, row0 = f.ty * T;
    {  // Derivation Image (C.7.6.16.2.6): derived from the level (a slide's SEG needs no
       // Plane Orientation then; dciodvfy asks for one otherwise).
      DcmItem* derivation = nullptr;
      pf->findOrCreateSequenceItem(DCM_DerivationImageSequence, derivation, -2);
      DcmItem* source_image = nullptr;
      derivation->findOrCreateSequenceItem(DCM_SourceImageSequence, source_image, -2);
      source_image->putAndInsertString(DCM_ReferencedSOPClassUID, kWsmSopClass);
      source_image->putAndInsertString(DCM_ReferencedSOPInstanceUID, src_uid.c_str());
      source_image->putAndInsertString(DCM_SpatialLocationsPreserved,
                                       in.factor == 1 ? "YES" : "NO");
      PutCode(*source_image, DCM_PurposeOfReferenceCodeSequence,
              {"121322", "DCM", "Source image for image processing operation"});
      PutCode(*derivation, DCM_DerivationCodeSequence, {"113076", "DCM", "Segmentation"});
    }
    DcmItem* content = nullptr;
    pf->findOrCreateSequenceItem(DCM_FrameContentSequence, content, -2);
    const auto [xs, ys] = slide_xy(col0, row0);
    const Uint32 index[6] = {static_cast<Uint32>(f.segment + 1),
                             static_cast<Uint32>(col_index[col0 + 1]),
                             static_cast<Uint32>(row_index[row0 + 1]),
                             static_cast<Uint32>(x_index[std::stod(xs)]),
                             static_cast<Uint32>(y_index[std::stod(ys)]),
                             1};  // one Z: the source's plane
    content->putAndInsertUint32Array(DCM_DimensionIndexValues, index, 6);
    DcmItem* pos = nullptr;
    pf->findOrCreateSequenceItem(DCM_PlanePositionSlideSequence, pos, -2);
    pos->putAndInsertString(DCM_XOffsetInSlideCoordinateSystem, xs.c_str());
    pos->putAndInsertString(DCM_YOffsetInSlideCoordinateSystem, ys.c_str());
    pos->putAndInsertString(DCM_ZOffsetInSlideCoordinateSystem, z_offset.c_str());
    pos->putAndInsertSint32(DCM_ColumnPositionInTotalImagePixelMatrix, col0 + 1);
    pos->putAndInsertSint32(DCM_RowPositionInTotalImagePixelMatrix, row0 + 1);
    DcmItem* ident = nullptr;
    pf->findOrCreateSequenceItem(DCM_SegmentIdentificationSequence, ident, -2);
    ident->putAndInsertUint16(DCM_ReferencedSegmentNumber, static_cast<Uint16>(f.segment + 1));
    const auto& m = in.segments[f.segment].mask;
    for (int y = row0; y < row0 + T; ++y) {
      for (int x = col0; x < col0 + T; ++x, ++bit) {
        if (y < in.height && x < in.width && m[static_cast<size_t>(y) * in.width + x])
          bits[bit / 8] |= static_cast<Uint8>(1u << (bit % 8));
      }
    }
  }
  ds.putAndInsertUint8Array(DCM_PixelData, bits.data(), static_cast<unsigned long>(bits.size()));

  OFCondition c = file.saveFile(path.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength,
                                EGL_recalcGL, EPD_noChange, 0, 0, EWM_fileformat);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + path + ": " + c.text());
  return SlideSegWritten{sop_uid, series_uid, static_cast<int>(frames.size())};
}

}  // namespace radflow::apps::pathology
