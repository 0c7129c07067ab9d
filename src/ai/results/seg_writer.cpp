// DICOM Segmentation (PS3.3 A.51), BINARY, written with DCMTK dcmseg.
// One frame per (segment, slice holding at least one voxel of it): empty slices are not
// stored (a reader places frames by Plane Position, so none is needed for them).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "ai/results/results_internal.h"

namespace radflow::ai {
using namespace results_internal;

namespace {

// sRGB colours handed out to segments in order (RecommendedDisplayCIELabValue, C.8.20.2).
constexpr double kPalette[][3] = {{1.0, 0.2, 0.2}, {0.2, 0.8, 0.2}, {0.2, 0.4, 1.0},
                                  {1.0, 0.8, 0.1}, {0.8, 0.3, 0.9}, {0.1, 0.8, 0.8}};

// ContentLabel is a CS (PS3.5 6.2): upper case, digits, space, underscore; 16 characters.
std::string ContentLabel(const Algorithm& algorithm) {
  std::string s = algorithm.id.empty() ? "AI_RESULT" : algorithm.id;
  for (auto& c : s) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s.substr(0, 16);
}

std::string Err(const std::string& what, const OFCondition& c) { return what + ": " + c.text(); }

}  // namespace

Result<WrittenObject> results_internal::WriteSegmentation(const std::vector<SegmentOutput>& segments,
                                                          const LoadedSource& src, const Algorithm& algorithm,
                                                          const std::string& path, int series_number) {
  if (segments.empty()) return Status(ErrorCode::kInvalidArgument, "no segments");
  const imaging::Geometry& grid = segments[0].mask.geometry();
  for (const auto& s : segments) {
    if (!s.mask.geometry().SameGrid(grid) || s.mask.empty()) {
      return Status(ErrorCode::kInvalidArgument, "segment '" + s.label + "' is not on the first segment's grid");
    }
    if (s.category.empty() || s.type.empty()) {
      return Status(ErrorCode::kInvalidArgument, "segment '" + s.label + "' needs category and type codes");
    }
  }
  if (grid.size[0] > 65535 || grid.size[1] > 65535) return Status(ErrorCode::kInvalidArgument, "frame too large");

  const Equipment names = EquipmentOf(algorithm);
  IODGeneralEquipmentModule::EquipmentInfo equipment(
      names.manufacturer.c_str(), names.model_name.c_str(), names.serial_number.c_str(),
      names.software_versions.c_str());
  ContentIdentificationMacro ident("1", ContentLabel(algorithm).c_str(),
                                   ("Segmentation by " + algorithm.name).substr(0, 64).c_str(), "");
  DcmSegmentation* raw = nullptr;
  OFCondition c = DcmSegmentation::createBinarySegmentation(
      raw, static_cast<Uint16>(grid.size[1]), static_cast<Uint16>(grid.size[0]), equipment, ident);
  if (c.bad() || !raw) return Status(ErrorCode::kInternal, Err("createBinarySegmentation", c));
  std::unique_ptr<DcmSegmentation> seg(raw);

  // Patient, study and frame of reference from the source; the series is new.
  DcmDataset& first = *src.first->getDataset();
  c = seg->importHierarchy(first, OFTrue, OFTrue, OFTrue, OFFalse);
  if (c.bad()) return Status(ErrorCode::kInvalidDicom, Err("import source hierarchy", c));

  // Dimensions: segment number, then position (the usual SEG organisation, C.7.6.17).
  const std::string dim_uid = NewUid();
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  dims.addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid.c_str(), DCM_SegmentIdentificationSequence,
                         "ReferencedSegmentNumber");
  dims.addDimensionIndex(DCM_ImagePositionPatient, dim_uid.c_str(), DCM_PlanePositionSequence,
                         "ImagePositionPatient");

  // Shared functional groups: orientation and pixel measures (C.7.6.16.2.1, .2.4).
  const auto& di = grid.direction[0];
  const auto& dj = grid.direction[1];
  std::unique_ptr<FGPlaneOrientationPatient> orient(FGPlaneOrientationPatient::createMinimal(
      FormatDS(di[0]).c_str(), FormatDS(di[1]).c_str(), FormatDS(di[2]).c_str(),
      FormatDS(dj[0]).c_str(), FormatDS(dj[1]).c_str(), FormatDS(dj[2]).c_str()));
  if (!orient || (c = seg->addForAllFrames(*orient)).bad()) {
    return Status(ErrorCode::kInternal, Err("plane orientation", c));
  }
  FGPixelMeasures measures;
  // PixelSpacing: row spacing (between rows, along d_j) \ column spacing (PS3.3 10.7.1.3).
  measures.setPixelSpacing((FormatDS(grid.spacing[1]) + "\\" + FormatDS(grid.spacing[0])).c_str());
  measures.setSliceThickness(FormatDS(grid.spacing[2]).c_str());
  measures.setSpacingBetweenSlices(FormatDS(grid.spacing[2]).c_str());
  if ((c = seg->addForAllFrames(measures)).bad()) return Status(ErrorCode::kInternal, Err("pixel measures", c));

  const size_t cols = grid.size[0], rows = grid.size[1], slices = grid.size[2];
  const size_t frame_pixels = cols * rows;
  std::vector<Uint8> frame(frame_pixels);
  const CodeSequenceMacro derivation_code("113076", "DCM", "Segmentation");
  const CodeSequenceMacro purpose_code("121322", "DCM", "Source image for image processing operation");

  // The source image on each slice's plane, if any; the frames to write: (segment, slice)
  // pairs with at least one voxel.
  std::vector<const SourceInstance*> on_plane(slices);
  for (size_t k = 0; k < slices; ++k) on_plane[k] = MatchSlice(src, grid, k);
  std::vector<std::vector<size_t>> slices_of(segments.size());
  bool all_on_source = true;
  for (size_t s = 0; s < segments.size(); ++s) {
    const auto& data = segments[s].mask.data();
    for (size_t k = 0; k < slices; ++k) {
      const uint8_t* plane = data.data() + k * frame_pixels;
      if (std::none_of(plane, plane + frame_pixels, [](uint8_t v) { return v != 0; })) continue;
      slices_of[s].push_back(k);
      all_on_source = all_on_source && on_plane[k] != nullptr;
    }
  }
  // A functional group is either per-frame in every frame or shared (C.7.6.16). Frames on a
  // source plane each reference that image; when some frame lies on none (a resampled grid,
  // e.g. a tilted series), the shared group lists every source image instead.
  if (!all_on_source) {
    FGDerivationImage shared;
    DerivationImageItem* item = nullptr;
    if (shared.addDerivationImageItem(derivation_code, "resampled onto a regular grid", item).good() && item) {
      for (const auto& inst : src.instances) {
        auto* source_item = new SourceImageItem();
        source_item->getPurposeOfReferenceCode() = purpose_code;
        source_item->getImageSOPInstanceReference().setReferencedSOPClassUID(inst.sop_class_uid.c_str());
        source_item->getImageSOPInstanceReference().setReferencedSOPInstanceUID(inst.sop_instance_uid.c_str());
        item->getSourceImageItems().push_back(source_item);
      }
      if ((c = seg->addForAllFrames(shared)).bad()) return Status(ErrorCode::kInternal, Err("derivation image", c));
    }
  }

  size_t n_frames = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    const SegmentOutput& so = segments[s];
    DcmSegment* segment = nullptr;
    c = DcmSegment::create(segment, (so.label.empty() ? so.type.meaning : so.label).substr(0, 64).c_str(),
                           CodeSequenceMacro(so.category.value.c_str(), so.category.scheme.c_str(),
                                             so.category.meaning.c_str()),
                           CodeSequenceMacro(so.type.value.c_str(), so.type.scheme.c_str(),
                                             so.type.meaning.c_str()),
                           DcmSegTypes::SAT_AUTOMATIC,
                           names.model_name.c_str());
    if (c.bad() || !segment) return Status(ErrorCode::kInvalidArgument, Err("segment " + so.label, c));
    const double* rgb = kPalette[s % (sizeof kPalette / sizeof kPalette[0])];
    double L = 0, a = 0, b = 0;
    IODCIELabUtil::rgb2DicomLab(L, a, b, rgb[0], rgb[1], rgb[2]);
    segment->setRecommendedDisplayCIELabValue(static_cast<Uint16>(L), static_cast<Uint16>(a),
                                              static_cast<Uint16>(b));
    Uint16 number = 0;
    if ((c = seg->addSegment(segment, number)).bad()) {
      delete segment;
      return Status(ErrorCode::kInternal, Err("addSegment", c));
    }

    const auto& data = so.mask.data();
    for (size_t k : slices_of[s]) {
      const uint8_t* plane = data.data() + k * frame_pixels;
      for (size_t p = 0; p < frame_pixels; ++p) frame[p] = plane[p] ? 1 : 0;

      const imaging::Vec3 pos = grid.IndexToPoint(0, 0, static_cast<double>(k));
      std::unique_ptr<FGPlanePosPatient> ppp(FGPlanePosPatient::createMinimal(
          FormatDS(pos[0]).c_str(), FormatDS(pos[1]).c_str(), FormatDS(pos[2]).c_str()));
      FGFrameContent content;
      content.setDimensionIndexValues(number, 0);
      content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1);
      OFVector<FGBase*> per_frame;
      per_frame.push_back(ppp.get());
      per_frame.push_back(&content);
      // DerivationImageSequence: the source image on this frame's plane (C.7.6.16.2.6).
      FGDerivationImage derivation;
      const SourceInstance* inst = all_on_source ? on_plane[k] : nullptr;
      DerivationImageItem* item = nullptr;
      if (inst && derivation.addDerivationImageItem(derivation_code, "", item).good() && item) {
        auto* source_item = new SourceImageItem();
        source_item->getPurposeOfReferenceCode() = purpose_code;
        source_item->getImageSOPInstanceReference().setReferencedSOPClassUID(inst->sop_class_uid.c_str());
        source_item->getImageSOPInstanceReference().setReferencedSOPInstanceUID(inst->sop_instance_uid.c_str());
        item->getSourceImageItems().push_back(source_item);
        per_frame.push_back(&derivation);
      }
      if ((c = seg->addFrame(frame.data(), number, per_frame)).bad()) {
        return Status(ErrorCode::kInternal, Err("addFrame", c));
      }
      ++n_frames;
    }
  }
  if (n_frames == 0) return Status(ErrorCode::kInvalidArgument, "every segment is empty");

  const std::string series_uid = NewUid();
  seg->getSeries().setSeriesInstanceUID(series_uid.c_str());
  seg->getSeries().setSeriesNumber(std::to_string(series_number).c_str());
  seg->getSeries().setSeriesDescription(("AI " + algorithm.name + " segmentation").substr(0, 64).c_str());
  seg->getSeries().setSeriesDate(Today().c_str());
  seg->getSeries().setSeriesTime(NowTime().c_str());
  seg->getGeneralImage().setContentDate(Today().c_str());
  seg->getGeneralImage().setContentTime(NowTime().c_str());
  if (!src.frame_of_reference_uid.empty()) {
    seg->getFrameOfReference().setFrameOfReferenceUID(src.frame_of_reference_uid.c_str());
  }

  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  if ((c = seg->writeDataset(ds)).bad()) return Status(ErrorCode::kInternal, Err("write SEG", c));
  CopyPatientStudy(first, ds);
  ds.putAndInsertString(DCM_SegmentsOverlap, segments.size() == 1 ? "NO" : "UNDEFINED");
  AddReferencedSeries(ds, src);
  AddContributingEquipment(ds, algorithm);
  if (Status st = SaveDataset(file, path); !st.ok()) return st;

  WrittenObject out;
  out.path = path;
  out.kind = "seg";
  out.sop_class_uid = UID_SegmentationStorage;
  OFString sop;
  ds.findAndGetOFString(DCM_SOPInstanceUID, sop);
  out.sop_instance_uid = sop.c_str();
  out.series_instance_uid = series_uid;
  return out;
}

Result<WrittenObject> WriteSegmentation(const std::vector<SegmentOutput>& segments,
                                        const SourceSeries& source, const Algorithm& algorithm,
                                        const std::string& path, int series_number) {
  auto src = LoadSource(source);
  if (!src.ok()) return src.status();
  return results_internal::WriteSegmentation(segments, *src, algorithm, path, series_number);
}

}  // namespace radflow::ai
