// DCMTK lives in this file only (the header of each instance).
#include "wsi/wsm_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cstdio>

namespace radflow::wsi {

namespace {

const char kRatioPlaceholder[] = "0.00000000000001";  // 16 characters, found once in the header

std::string Ds(double v) {
  char buf[32];
  for (int prec = 10; prec > 1; --prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::char_traits<char>::length(buf) <= 16) break;
  }
  return buf;
}

void PutCode(DcmItem& parent, const DcmTagKey& seq, const char* value, const char* scheme, const char* meaning) {
  DcmItem* item = nullptr;
  parent.findOrCreateSequenceItem(seq, item, -2);
  if (!item) return;
  item->putAndInsertString(DCM_CodeValue, value);
  item->putAndInsertString(DCM_CodingSchemeDesignator, scheme);
  item->putAndInsertString(DCM_CodeMeaning, meaning);
}

void PutEmptySequence(DcmItem& parent, const DcmTagKey& tag) {
  parent.insertEmptyElement(tag);
}

void Le16(uint8_t* p, uint16_t v) { p[0] = v & 255; p[1] = v >> 8; }
void Le32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = (v >> (8 * i)) & 255; }
void Le64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = (v >> (8 * i)) & 255; }

// An item tag (FFFE,E000) with its length.
bool WriteItemHeader(std::FILE* f, uint32_t length) {
  uint8_t h[8];
  Le16(h, 0xFFFE); Le16(h + 2, 0xE000); Le32(h + 4, length);
  return std::fwrite(h, 1, 8, f) == 8;
}

void BuildDataset(DcmDataset& ds, const SlideContext& s, const InstanceDescription& d) {
  // SOP Common (C.12.1); UTF-8 for names given on the command line.
  ds.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  ds.putAndInsertString(DCM_SOPClassUID, UID_VLWholeSlideMicroscopyImageStorage);
  ds.putAndInsertString(DCM_SOPInstanceUID, d.sop_instance_uid.c_str());
  const std::string image_type = d.image_type[0] + "\\" + d.image_type[1] + "\\" + d.image_type[2] + "\\" +
                                 d.image_type[3];
  ds.putAndInsertString(DCM_ImageType, image_type.c_str());
  // Patient (C.7.1.1) and General Study (C.7.2.1): Type 2 attributes present, maybe empty.
  ds.putAndInsertString(DCM_PatientName, s.patient_name.c_str());
  ds.putAndInsertString(DCM_PatientID, s.patient_id.c_str());
  ds.putAndInsertString(DCM_PatientBirthDate, "");
  ds.putAndInsertString(DCM_PatientSex, "");
  ds.putAndInsertString(DCM_StudyInstanceUID, s.study_instance_uid.c_str());
  ds.putAndInsertString(DCM_StudyDate, s.study_date.c_str());
  ds.putAndInsertString(DCM_StudyTime, s.study_time.c_str());
  ds.putAndInsertString(DCM_ReferringPhysicianName, "");
  ds.putAndInsertString(DCM_StudyID, "");
  ds.putAndInsertString(DCM_AccessionNumber, s.accession_number.c_str());
  // General Series (C.7.3.1) and Whole Slide Microscopy Series (C.8.12.3).
  ds.putAndInsertString(DCM_Modality, "SM");
  ds.putAndInsertString(DCM_SeriesInstanceUID, s.series_instance_uid.c_str());
  ds.putAndInsertString(DCM_SeriesNumber, "1");
  // Frame of Reference (C.7.4.1): the slide's coordinate system (C.8.12.2.1).
  ds.putAndInsertString(DCM_FrameOfReferenceUID, s.frame_of_reference_uid.c_str());
  ds.putAndInsertString(DCM_PositionReferenceIndicator, "SLIDE_CORNER");
  // General Equipment (C.7.5.1) and Enhanced General Equipment (C.7.5.2), Type 1 there.
  ds.putAndInsertString(DCM_Manufacturer, s.manufacturer.c_str());
  ds.putAndInsertString(DCM_ManufacturerModelName, s.model_name.c_str());
  ds.putAndInsertString(DCM_DeviceSerialNumber, s.device_serial_number.c_str());
  ds.putAndInsertString(DCM_SoftwareVersions, s.software_versions.c_str());
  // General Image / Multi-frame: instance numbering and content time.
  ds.putAndInsertString(DCM_InstanceNumber, std::to_string(d.instance_number).c_str());
  ds.putAndInsertString(DCM_ContentDate, s.content_date.c_str());
  ds.putAndInsertString(DCM_ContentTime, s.content_time.c_str());
  ds.putAndInsertString(DCM_NumberOfFrames, std::to_string(d.frames).c_str());
  // Image Pixel (C.7.6.3): 8-bit colour, frames are Rows x Columns tiles.
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
  ds.putAndInsertString(DCM_PhotometricInterpretation, d.photometric.c_str());
  ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(d.tile_rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(d.tile_columns));
  ds.putAndInsertUint16(DCM_BitsAllocated, 8);
  ds.putAndInsertUint16(DCM_BitsStored, 8);
  ds.putAndInsertUint16(DCM_HighBit, 7);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  // Lossy compression (C.7.6.1.1.5): the source tiles were already JPEG.
  ds.putAndInsertString(DCM_LossyImageCompression, "01");
  ds.putAndInsertString(DCM_LossyImageCompressionMethod, "ISO_10918_1");
  // Type 1C when lossy: known only once every frame is written; a 16-character
  // placeholder (DS maximum) is patched in place by Finish().
  ds.putAndInsertString(DCM_LossyImageCompressionRatio, kRatioPlaceholder);
  // Whole Slide Microscopy Image (C.8.12.4).
  ds.putAndInsertString(DCM_AcquisitionDateTime, s.acquisition_datetime.c_str());
  ds.putAndInsertString(DCM_VolumetricProperties, "VOLUME");
  ds.putAndInsertString(DCM_SpecimenLabelInImage, d.specimen_label_in_image ? "YES" : "NO");
  ds.putAndInsertString(DCM_BurnedInAnnotation, d.burned_in_annotation ? "YES" : "NO");
  ds.putAndInsertString(DCM_FocusMethod, "AUTO");
  ds.putAndInsertString(DCM_ExtendedDepthOfField, "NO");
  ds.putAndInsertString(DCM_DimensionOrganizationType, "TILED_FULL");
  ds.putAndInsertUint32(DCM_TotalPixelMatrixColumns, d.total_columns);
  ds.putAndInsertUint32(DCM_TotalPixelMatrixRows, d.total_rows);
  ds.putAndInsertUint32(DCM_TotalPixelMatrixFocalPlanes, 1);
  ds.putAndInsertUint32(DCM_NumberOfOpticalPaths, 1);
  // ImagedVolume* are Type 1C for VOLUME and THUMBNAIL (C.8.12.4); the label and overview are
  // photographs of (part of) the glass, not of level 0's region: left out there. The origin
  // stays: it is Type 1 for every image (Microscope Slide Layer Tile Organization, C.8.12.15;
  // dciodvfy names it when absent).
  const bool of_level0 = d.image_type[2] == "VOLUME" || d.image_type[2] == "THUMBNAIL";
  if (of_level0 && s.imaged_width_mm > 0) {
    ds.putAndInsertFloat32(DCM_ImagedVolumeWidth, static_cast<Float32>(s.imaged_width_mm));
    ds.putAndInsertFloat32(DCM_ImagedVolumeHeight, static_cast<Float32>(s.imaged_height_mm));
    if (s.imaged_depth_um > 0) ds.putAndInsertFloat32(DCM_ImagedVolumeDepth, static_cast<Float32>(s.imaged_depth_um));
  }
  {
    DcmItem* origin = nullptr;
    ds.findOrCreateSequenceItem(DCM_TotalPixelMatrixOriginSequence, origin, -2);
    if (origin) {
      origin->putAndInsertString(DCM_XOffsetInSlideCoordinateSystem, Ds(s.origin_x_mm).c_str());
      origin->putAndInsertString(DCM_YOffsetInSlideCoordinateSystem, Ds(s.origin_y_mm).c_str());
    }
  }
  // Rows run along slide -Y, columns along slide -X (C.8.12.2.1.1, label to the left).
  ds.putAndInsertString(DCM_ImageOrientationSlide, "0\\-1\\0\\-1\\0\\0");
  // Multi-frame Dimension (C.7.6.17): TILED_FULL frames are in row-major tile order; the
  // index names the tile's column and row positions (C.8.12.4.1.3).
  {
    DcmItem* org = nullptr;
    ds.findOrCreateSequenceItem(DCM_DimensionOrganizationSequence, org, -2);
    if (org) org->putAndInsertString(DCM_DimensionOrganizationUID, s.dimension_organization_uid.c_str());
    const DcmTagKey pointers[] = {DCM_ColumnPositionInTotalImagePixelMatrix, DCM_RowPositionInTotalImagePixelMatrix};
    const char* labels[] = {"Column position", "Row position"};
    for (int i = 0; i < 2; ++i) {
      DcmItem* idx = nullptr;
      ds.findOrCreateSequenceItem(DCM_DimensionIndexSequence, idx, -2);
      if (!idx) continue;
      idx->putAndInsertString(DCM_DimensionOrganizationUID, s.dimension_organization_uid.c_str());
      idx->putAndInsertTagKey(DCM_DimensionIndexPointer, pointers[i]);
      idx->putAndInsertTagKey(DCM_FunctionalGroupPointer, DCM_PlanePositionSlideSequence);
      idx->putAndInsertString(DCM_DimensionDescriptionLabel, labels[i]);
    }
  }
  // Specimen (C.7.6.22): one slide, one specimen; container type from CID 8101.
  ds.putAndInsertString(DCM_ContainerIdentifier, s.container_identifier.c_str());
  PutEmptySequence(ds, DCM_IssuerOfTheContainerIdentifierSequence);
  PutCode(ds, DCM_ContainerTypeCodeSequence, "433466003", "SCT", "Microscope slide");
  {
    DcmItem* spec = nullptr;
    ds.findOrCreateSequenceItem(DCM_SpecimenDescriptionSequence, spec, -2);
    if (spec) {
      spec->putAndInsertString(DCM_SpecimenIdentifier, s.container_identifier.c_str());
      spec->putAndInsertString(DCM_SpecimenUID, s.specimen_uid.c_str());
      PutEmptySequence(*spec, DCM_IssuerOfTheSpecimenIdentifierSequence);
      PutEmptySequence(*spec, DCM_SpecimenPreparationSequence);
    }
  }
  // Slide Label (C.8.12.8), for LABEL images: nothing read from the label.
  if (d.image_type[2] == "LABEL") {
    ds.putAndInsertString(DCM_BarcodeValue, "");
    ds.putAndInsertString(DCM_LabelText, "");
  }
  // Acquisition Context (C.7.6.14): Type 2, nothing known.
  PutEmptySequence(ds, DCM_AcquisitionContextSequence);
  // Optical Path (C.8.12.5): brightfield, full spectrum, the colour profile.
  {
    DcmItem* path = nullptr;
    ds.findOrCreateSequenceItem(DCM_OpticalPathSequence, path, -2);
    if (path) {
      path->putAndInsertString(DCM_OpticalPathIdentifier, "1");
      path->putAndInsertString(DCM_OpticalPathDescription, "Brightfield");
      PutCode(*path, DCM_IlluminationTypeCodeSequence, "111744", "DCM", "Brightfield illumination");
      PutCode(*path, DCM_IlluminationColorCodeSequence, "414298005", "SCT", "Full Spectrum");
      if (!s.icc_profile.empty()) {
        path->putAndInsertUint8Array(DCM_ICCProfile, s.icc_profile.data(), static_cast<unsigned long>(s.icc_profile.size()));
      }
    }
  }
  // Shared Functional Groups (C.8.12.4.1, A.32.8.3-1): Pixel Measures, frame type, optical path.
  {
    DcmItem* shared = nullptr;
    ds.findOrCreateSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, -2);
    if (shared) {
      DcmItem* pm = nullptr;
      shared->findOrCreateSequenceItem(DCM_PixelMeasuresSequence, pm, -2);
      if (pm) {
        if (d.spacing_row_mm > 0) {
          const std::string spacing = Ds(d.spacing_row_mm) + "\\" + Ds(d.spacing_column_mm);
          pm->putAndInsertString(DCM_PixelSpacing, spacing.c_str());
        }
        if (s.imaged_depth_um > 0) pm->putAndInsertString(DCM_SliceThickness, Ds(s.imaged_depth_um / 1000).c_str());
      }
      DcmItem* ft = nullptr;
      shared->findOrCreateSequenceItem(DCM_WholeSlideMicroscopyImageFrameTypeSequence, ft, -2);
      if (ft) ft->putAndInsertString(DCM_FrameType, image_type.c_str());
      DcmItem* op = nullptr;
      shared->findOrCreateSequenceItem(DCM_OpticalPathIdentificationSequence, op, -2);
      if (op) op->putAndInsertString(DCM_OpticalPathIdentifier, "1");
    }
  }
}

}  // namespace

WsmWriter::~WsmWriter() {
  if (f_) {
    std::fclose(f_);
    std::remove(path_.c_str());  // not finished: no partial file is left behind
  }
}

Result<std::unique_ptr<WsmWriter>> WsmWriter::Begin(const std::string& path, const SlideContext& slide,
                                                    const InstanceDescription& d, uint64_t bot_limit) {
  if (d.frames == 0 || d.tile_columns == 0 || d.tile_rows == 0 || d.tile_columns > 65535 || d.tile_rows > 65535) {
    return Status(ErrorCode::kInvalidArgument, "bad tile layout for " + path);
  }
  if (d.frames > kMaxFrames) {
    return Status(ErrorCode::kInvalidArgument, std::to_string(d.frames) + " frames: more than one instance holds (" +
                                                   std::to_string(kMaxFrames) + ")");
  }
  DcmFileFormat file;
  BuildDataset(*file.getDataset(), slide, d);
  OFCondition c = file.saveFile(path.c_str(), EXS_JPEGProcess1, EET_ExplicitLength, EGL_recalcGL, EPD_noChange,
                                0, 0, EWM_fileformat);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + path + ": " + c.text());
  std::unique_ptr<WsmWriter> w(new WsmWriter());
  w->path_ = path;
  w->bot_limit_ = bot_limit;
  w->uncompressed_ = static_cast<uint64_t>(d.frames) * d.tile_columns * d.tile_rows * 3;
  {
    std::FILE* in = std::fopen(path.c_str(), "rb");
    std::string header;
    if (in) {
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) header.append(buf, n);
      std::fclose(in);
    }
    const size_t at = header.find(kRatioPlaceholder);
    if (at == std::string::npos || header.find(kRatioPlaceholder, at + 1) != std::string::npos) {
      std::remove(path.c_str());
      return Status(ErrorCode::kInternal, "cannot place LossyImageCompressionRatio in " + path);
    }
    w->ratio_at_ = at;
  }
  w->f_ = std::fopen(path.c_str(), "r+b");  // r+: the offset table is patched in place
  if (!w->f_) return Status(ErrorCode::kIoError, "cannot append to " + path);
  w->frames_expected_ = d.frames;
  // The offset table is chosen now: the last fragment's offset is below the fragments' total.
  const uint64_t bound = d.max_fragment_bytes ? d.max_fragment_bytes : 2 * w->uncompressed_ + 1024ull * d.frames;
  w->extended_ = bound > bot_limit;
  std::fseek(w->f_, 0, SEEK_END);
  uint64_t at = static_cast<uint64_t>(std::ftell(w->f_));
  // Zeros written in pieces: a table of many frames is not held in memory twice.
  auto zeros = [&](uint64_t n) {
    static const uint8_t z[65536] = {};
    while (n > 0) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, sizeof z));
      if (std::fwrite(z, 1, k, w->f_) != k) return false;
      n -= k;
    }
    return true;
  };
  uint8_t h[12];
  bool ok = true;
  if (w->extended_) {
    // (7FE0,0001) OV Extended Offset Table, (7FE0,0002) OV its Lengths: one 64-bit value per
    // frame each, filled by Finish() (PS3.3 C.7.6.3.1.8).
    const uint32_t len = 8 * d.frames;
    for (uint16_t element : {uint16_t{0x0001}, uint16_t{0x0002}}) {
      Le16(h, 0x7FE0); Le16(h + 2, element); h[4] = 'O'; h[5] = 'V'; h[6] = 0; h[7] = 0; Le32(h + 8, len);
      ok = ok && std::fwrite(h, 1, 12, w->f_) == 12;
      if (element == 0x0001) w->bot_at_ = at + 12;
      else w->eotl_at_ = at + 12;
      ok = ok && zeros(len);
      at += 12 + len;
    }
  }
  // (7FE0,0010) OB, undefined length: encapsulated (PS3.5 A.4); the Basic Offset Table item
  // is empty when the Extended Offset Table is present.
  const uint32_t bot_len = w->extended_ ? 0 : 4 * d.frames;
  Le16(h, 0x7FE0); Le16(h + 2, 0x0010); h[4] = 'O'; h[5] = 'B'; h[6] = 0; h[7] = 0; Le32(h + 8, 0xFFFFFFFFu);
  ok = ok && std::fwrite(h, 1, 12, w->f_) == 12 && WriteItemHeader(w->f_, bot_len);
  if (!w->extended_) w->bot_at_ = at + 12 + 8;
  ok = ok && zeros(bot_len);
  if (!ok) return Status(ErrorCode::kIoError, "cannot write " + path);
  w->first_item_ = at + 12 + 8 + bot_len;
  w->offsets_.reserve(d.frames);
  if (w->extended_) w->lengths_.reserve(d.frames);
  return w;
}

Status WsmWriter::AddFrame(const Bytes& jpeg) {
  if (offsets_.size() >= frames_expected_) return Status(ErrorCode::kInternal, "more frames than announced");
  const uint64_t at = static_cast<uint64_t>(std::ftell(f_)) - first_item_;
  if (!extended_ && at > bot_limit_) {
    return Status(ErrorCode::kInternal, path_ + ": fragments beyond the Basic Offset Table's reach (bound too low)");
  }
  if (jpeg.size() >= 0xFFFFFFFEull) return Status(ErrorCode::kInvalidArgument, "a frame over 4 GiB");
  offsets_.push_back(at);
  const uint32_t len = static_cast<uint32_t>(jpeg.size() + (jpeg.size() & 1));  // even length, NUL pad
  if (extended_) lengths_.push_back(len);
  if (!WriteItemHeader(f_, len) || std::fwrite(jpeg.data(), 1, jpeg.size(), f_) != jpeg.size()) {
    return Status(ErrorCode::kIoError, "cannot write " + path_);
  }
  if (jpeg.size() & 1) std::fputc(0, f_);
  return Status::Ok();
}

Result<uint64_t> WsmWriter::Finish() {
  if (offsets_.size() != frames_expected_) {
    return Status(ErrorCode::kInternal, "frames written " + std::to_string(offsets_.size()) + ", announced " +
                                            std::to_string(frames_expected_));
  }
  uint8_t end[8];
  Le16(end, 0xFFFE); Le16(end + 2, 0xE0DD); Le32(end + 4, 0);  // Sequence Delimitation Item
  bool ok = std::fwrite(end, 1, 8, f_) == 8;
  const uint64_t size = static_cast<uint64_t>(std::ftell(f_));
  // Uncompressed frame bytes over the compressed fragments (C.7.6.1.1.5.2).
  const uint64_t compressed = size - first_item_ - 8 * offsets_.size() - 8;  // item headers, delimiter
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%-16.16s",
                Ds(compressed ? static_cast<double>(uncompressed_) / static_cast<double>(compressed) : 1).c_str());
  ok = ok && std::fseek(f_, static_cast<long>(ratio_at_), SEEK_SET) == 0 && std::fwrite(ratio, 1, 16, f_) == 16;
  if (extended_) {
    std::vector<uint8_t> eot(8 * offsets_.size()), eotl(8 * offsets_.size());
    for (size_t i = 0; i < offsets_.size(); ++i) {
      Le64(&eot[8 * i], offsets_[i]);
      Le64(&eotl[8 * i], lengths_[i]);
    }
    ok = ok && std::fseek(f_, static_cast<long>(bot_at_), SEEK_SET) == 0 &&
         std::fwrite(eot.data(), 1, eot.size(), f_) == eot.size();
    ok = ok && std::fseek(f_, static_cast<long>(eotl_at_), SEEK_SET) == 0 &&
         std::fwrite(eotl.data(), 1, eotl.size(), f_) == eotl.size();
  } else {
    std::vector<uint8_t> bot(4 * offsets_.size());
    for (size_t i = 0; i < offsets_.size(); ++i) Le32(&bot[4 * i], static_cast<uint32_t>(offsets_[i]));
    ok = ok && std::fseek(f_, static_cast<long>(bot_at_), SEEK_SET) == 0 &&
         std::fwrite(bot.data(), 1, bot.size(), f_) == bot.size();
  }
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok) {
    std::remove(path_.c_str());
    return Status(ErrorCode::kIoError, "cannot write " + path_);
  }
  return size;
}

}  // namespace radflow::wsi

