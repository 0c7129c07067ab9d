// The OP dataset (DCMTK is included here only). Modules of PS3.3 A.39.1 (OP 8 Bit) and
// A.41 (OP 16 Bit): Patient, General Study, General Series, Ophthalmic Photography Series,
// General Equipment, General Image, General Acquisition, Image Pixel, Multi-frame,
// Acquisition Context, Ophthalmic Photography Image, Ocular Region Imaged, Ophthalmic
// Photography Acquisition Parameters, Ophthalmic Photographic Parameters, ICC Profile (a
// JPEG's APP2 profile), SOP Common.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/clock.h"
#include "base/log.h"
#include "dicom/instance.h"
#include "op/jpeg_header.h"
#include "op/op_codes.h"
#include "op/op_import.h"
#include "op/png_reader.h"

namespace radflow::op {

namespace {

constexpr const char* kOp8 = UID_OphthalmicPhotography8BitImageStorage;    // 1.2.840.10008.5.1.4.1.1.77.1.5.1
constexpr const char* kOp16 = UID_OphthalmicPhotography16BitImageStorage;  // 1.2.840.10008.5.1.4.1.1.77.1.5.2

using dicom::NewUid;

std::string Ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void PutCode(DcmItem& ds, const DcmTagKey& seq, const CodedConcept& c) {
  DcmItem* item = nullptr;
  ds.findOrCreateSequenceItem(seq, item, -2);
  if (!item) return;
  item->putAndInsertString(DCM_CodeValue, std::string(c.code_value).c_str());
  item->putAndInsertString(DCM_CodingSchemeDesignator, std::string(c.coding_scheme).c_str());
  item->putAndInsertString(DCM_CodeMeaning, std::string(c.code_meaning).c_str());
}

void PutEmptySequence(DcmItem& ds, const DcmTagKey& tag) { ds.insertEmptyElement(tag); }

// What the source image is, once read.
struct Pixels {
  std::string format;  // jpeg | png
  int rows = 0, columns = 0, samples = 0, bits = 8;
  std::string photometric;
  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  std::string jpeg;                 // the stream, for JPEG
  std::vector<unsigned char> raw;   // the samples, for PNG
  std::vector<std::string> removed;  // JPEG segments not stored (CleanJpegStream)
  int exif_orientation = 0;
  std::string icc_profile;  // the JPEG's APP2 profile, for ICCProfile (0028,2000)
};

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, path + ": cannot be opened");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Status(ErrorCode::kIoError, path + ": read error");
  return ss.str();
}

Result<Pixels> FromJpeg(const std::string& path, std::string bytes) {
  auto h = ReadJpegHeader(bytes);
  if (!h.ok()) return Status(h.status().code(), path + ": " + h.status().message());
  if (h->sof != 0 && h->sof != 1) {
    return Status(ErrorCode::kUnsupported,
                  path + ": " + JpegProcessName(h->sof) +
                      " JPEG cannot be stored without re-encoding (OP takes the baseline or extended "
                      "sequential process, PS3.5 A.4.1); save it as a baseline JPEG or a PNG");
  }
  if (h->precision != 8) {
    return Status(ErrorCode::kUnsupported, path + ": " + std::to_string(h->precision) +
                                               "-bit JPEG; Ophthalmic Photography 8 Bit needs 8-bit samples "
                                               "(a 16-bit photograph can come as PNG)");
  }
  Pixels p;
  p.format = "jpeg";
  p.rows = h->height;
  p.columns = h->width;
  p.samples = h->components;
  p.xfer = h->sof == 0 ? EXS_JPEGProcess1 : EXS_JPEGProcess2_4;
  if (h->components == 1) {
    p.photometric = "MONOCHROME2";
  } else if (h->components == 3) {
    // Colour transform as the stream declares it (PS3.5 8.2.1): Adobe transform 0 or
    // component IDs R,G,B without JFIF mean RGB; otherwise YCbCr, full range.
    const bool rgb = h->adobe_transform == 0 || (h->rgb_component_ids && !h->jfif);
    if (rgb) {
      p.photometric = "RGB";
    } else if (h->chroma_subsampled) {
      p.photometric = "YBR_FULL_422";
    } else {
      // YBR_FULL is not among the Photometric Interpretations of the Ophthalmic Photography
      // Image Module (PS3.3 C.8.17.2; dciodvfy: "Unrecognized enumerated value").
      return Status(ErrorCode::kUnsupported,
                    path + ": YCbCr JPEG without chroma subsampling (4:4:4) is YBR_FULL, which Ophthalmic "
                           "Photography does not allow (PS3.3 C.8.17.2); save it with 4:2:2 or 4:2:0 sampling, "
                           "or as a PNG");
    }
  } else {
    return Status(ErrorCode::kUnsupported,
                  path + ": JPEG with " + std::to_string(h->components) + " components (only grey or colour)");
  }
  // Metadata segments and bytes after EOI are dropped, the entropy-coded data copied as it
  // is (jpeg_header.h); a stream cut inside its scan is refused here.
  auto stream = CleanJpegStream(bytes);
  if (!stream.ok()) return Status(stream.status().code(), path + ": " + stream.status().message());
  p.jpeg = std::move(stream->bytes);
  p.removed = std::move(stream->removed);
  p.exif_orientation = stream->exif_orientation;
  if (p.samples == 3) p.icc_profile = std::move(stream->icc_profile);
  return p;
}

Result<Pixels> FromPng(const std::string& path) {
  auto png = ReadPng(path);
  if (!png.ok()) return png.status();
  Pixels p;
  p.format = "png";
  p.rows = png->height;
  p.columns = png->width;
  p.samples = png->samples;
  p.bits = png->bits;
  p.photometric = png->samples == 1 ? "MONOCHROME2" : "RGB";
  p.raw = std::move(png->pixels);
  if (p.rows > 65535 || p.columns > 65535) {
    return Status(ErrorCode::kUnsupported, path + ": image larger than 65535 pixels (Rows/Columns are US)");
  }
  return p;
}

void BuildDataset(DcmDataset& ds, const Pixels& px, const OpOptions& o, OpObject& out) {
  const bool sixteen = px.bits == 16;
  out.sop_class_uid = sixteen ? kOp16 : kOp8;
  out.sop_instance_uid = NewUid();
  out.study_instance_uid = o.study_instance_uid.empty() ? NewUid() : o.study_instance_uid;
  out.series_instance_uid = NewUid();
  const std::string date = UtcNow("%Y%m%d");
  const std::string time = UtcNow("%H%M%S");

  ds.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  // SOP Common (C.12.1)
  ds.putAndInsertString(DCM_SOPClassUID, out.sop_class_uid.c_str());
  ds.putAndInsertString(DCM_SOPInstanceUID, out.sop_instance_uid.c_str());
  // Patient (C.7.1.1): Type 2 present even when empty.
  ds.putAndInsertString(DCM_PatientName, o.patient_name.c_str());
  ds.putAndInsertString(DCM_PatientID, o.patient_id.c_str());
  ds.putAndInsertString(DCM_PatientBirthDate, "");
  ds.putAndInsertString(DCM_PatientSex, "");
  // General Study (C.7.2.1)
  ds.putAndInsertString(DCM_StudyInstanceUID, out.study_instance_uid.c_str());
  ds.putAndInsertString(DCM_StudyDate, date.c_str());
  ds.putAndInsertString(DCM_StudyTime, time.c_str());
  ds.putAndInsertString(DCM_ReferringPhysicianName, "");
  ds.putAndInsertString(DCM_StudyID, "");
  ds.putAndInsertString(DCM_AccessionNumber, o.accession_number.c_str());
  // General Series (C.7.3.1) and Ophthalmic Photography Series (C.8.17.1): Modality OP.
  ds.putAndInsertString(DCM_Modality, "OP");
  ds.putAndInsertString(DCM_SeriesInstanceUID, out.series_instance_uid.c_str());
  ds.putAndInsertString(DCM_SeriesNumber, "1");
  ds.putAndInsertString(DCM_SeriesDate, date.c_str());
  ds.putAndInsertString(DCM_SeriesTime, time.c_str());
  ds.putAndInsertString(DCM_SeriesDescription,
                        (o.series_description.empty() ? std::string("Fundus photograph") : o.series_description).c_str());
  // General Equipment (C.7.5.1): radflow wrapped a photograph of an unknown camera.
  ds.putAndInsertString(DCM_Manufacturer, "");
  ds.putAndInsertString(DCM_SoftwareVersions, "radflow op import");
  // General Image / Ophthalmic Photography Image (C.8.17.2): the photograph as taken.
  ds.putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY");
  ds.putAndInsertString(DCM_InstanceNumber, "1");
  ds.putAndInsertString(DCM_ContentDate, date.c_str());
  ds.putAndInsertString(DCM_ContentTime, time.c_str());
  ds.putAndInsertString(DCM_AcquisitionDateTime, (date + time).c_str());
  ds.putAndInsertString(DCM_PatientOrientation, "");
  ds.putAndInsertString(DCM_BurnedInAnnotation, "NO");
  if (px.format == "jpeg") {
    const double raw = static_cast<double>(px.rows) * px.columns * px.samples;
    ds.putAndInsertString(DCM_LossyImageCompression, "01");
    ds.putAndInsertString(DCM_LossyImageCompressionRatio, Ratio(raw / static_cast<double>(px.jpeg.size())).c_str());
    ds.putAndInsertString(DCM_LossyImageCompressionMethod, "ISO_10918_1");
  } else {
    ds.putAndInsertString(DCM_LossyImageCompression, "00");
  }
  if (px.samples == 1) ds.putAndInsertString(DCM_PresentationLUTShape, "IDENTITY");  // C.8.17.2.1.8
  // Image Pixel (C.7.6.3)
  ds.putAndInsertUint16(DCM_SamplesPerPixel, static_cast<Uint16>(px.samples));
  ds.putAndInsertString(DCM_PhotometricInterpretation, px.photometric.c_str());
  if (px.samples == 3) ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(px.rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(px.columns));
  ds.putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(px.bits));
  ds.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(px.bits));
  ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(px.bits - 1));
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  // Multi-frame (C.7.6.6): one frame; the pointer names Frame Time (C.8.17.2.1.2).
  ds.putAndInsertString(DCM_NumberOfFrames, "1");
  ds.putAndInsertTagKey(DCM_FrameIncrementPointer, DCM_FrameTime);
  ds.putAndInsertString(DCM_FrameTime, "0");
  // Synchronization (C.7.4.2): the OP IODs include it (dciodvfy requires it); one image,
  // nothing to synchronise with.
  ds.putAndInsertString(DCM_SynchronizationFrameOfReferenceUID, NewUid().c_str());
  ds.putAndInsertString(DCM_SynchronizationTrigger, "NO TRIGGER");
  ds.putAndInsertString(DCM_AcquisitionTimeSynchronized, "N");
  // Acquisition Context (C.7.6.14): Type 2, nothing known.
  PutEmptySequence(ds, DCM_AcquisitionContextSequence);
  // Ocular Region Imaged (C.8.17.5): laterality and the structure (CID 4209).
  ds.putAndInsertString(DCM_ImageLaterality, o.laterality.c_str());
  PutCode(ds, DCM_AnatomicRegionSequence, *FindAnatomy(o.anatomy));
  // Ophthalmic Photography Acquisition Parameters (C.8.17.4): Type 2, unknown.
  ds.putAndInsertString(DCM_PatientEyeMovementCommanded, "");
  ds.putAndInsertString(DCM_HorizontalFieldOfView, "");
  PutEmptySequence(ds, DCM_RefractiveStateSequence);
  ds.putAndInsertString(DCM_EmmetropicMagnification, "");
  ds.putAndInsertString(DCM_IntraOcularPressure, "");
  ds.putAndInsertString(DCM_PupilDilated, "");
  // Ophthalmic Photographic Parameters (C.8.17.3): the device (CID 4202); Type 2 others.
  PutCode(ds, DCM_AcquisitionDeviceTypeCodeSequence, *FindDevice(o.device));
  PutEmptySequence(ds, DCM_IlluminationTypeCodeSequence);
  PutEmptySequence(ds, DCM_LightPathFilterTypeStackCodeSequence);
  PutEmptySequence(ds, DCM_ImagePathFilterTypeStackCodeSequence);
  PutEmptySequence(ds, DCM_LensesCodeSequence);
  ds.putAndInsertString(DCM_DetectorType, "");
  // ICC Profile (C.11.15, U in the OP IODs): a colour JPEG's APP2 profile moves here, out of
  // the stream (jpeg_header.h), so that the colours are still rendered as taken.
  if (!px.icc_profile.empty()) {
    ds.putAndInsertUint8Array(DCM_ICCProfile, reinterpret_cast<const Uint8*>(px.icc_profile.data()),
                              static_cast<unsigned long>(px.icc_profile.size()));
  }
}

}  // namespace

Result<OpObject> WriteOphthalmicPhotograph(const std::string& image_path, const OpOptions& options,
                                           const std::string& out_path) {
  RADFLOW_RETURN_IF_ERROR(CheckOptions(options));
  auto bytes = ReadAll(image_path);
  if (!bytes.ok()) return bytes.status();
  Result<Pixels> px = Status(ErrorCode::kInvalidArgument, "");
  const std::string& b = bytes.value();
  if (b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8) {
    px = FromJpeg(image_path, std::move(bytes.value()));
  } else if (b.size() >= 8 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    bytes.value().clear();
    px = FromPng(image_path);
  } else {
    return Status(ErrorCode::kInvalidArgument, image_path + ": not a JPEG or PNG file");
  }
  if (!px.ok()) return px.status();
  if (!px->removed.empty()) {
    std::string list;
    for (const auto& r : px->removed) list += (list.empty() ? "" : ", ") + r;
    log::Info(image_path + ": not stored (metadata outside the image data): " + list);
  }
  if (px->exif_orientation > 1) {
    // radflow stores the pixels as coded; viewers do not apply EXIF (it is not stored).
    log::Warn(image_path + ": EXIF Orientation is " + std::to_string(px->exif_orientation) +
              ", not 1: the photograph is stored as coded and may display rotated or mirrored");
  }

  OpObject out;
  out.removed_segments = px->removed;
  out.exif_orientation = px->exif_orientation;
  out.icc_profile_bytes = px->icc_profile.size();
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  BuildDataset(ds, *px, options, out);
  OFCondition c;
  if (px->format == "jpeg") {
    // One fragment holding the file's stream, padded to even length (PS3.5 A.4), after an
    // empty Basic Offset Table.
    std::string& s = px->jpeg;
    if (s.size() % 2) s.push_back('\0');
    auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
    seq->insert(new DcmPixelItem(DCM_PixelItemTag));
    auto* frag = new DcmPixelItem(DCM_PixelItemTag);
    frag->putUint8Array(reinterpret_cast<const Uint8*>(s.data()), static_cast<Uint32>(s.size()));
    seq->insert(frag);
    auto* pixel = new DcmPixelData(DCM_PixelData);
    pixel->putOriginalRepresentation(px->xfer, nullptr, seq);
    ds.insert(pixel);
  } else if (px->bits == 16) {
    ds.putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(px->raw.data()),
                               static_cast<unsigned long>(px->raw.size() / 2));
  } else {
    ds.putAndInsertUint8Array(DCM_PixelData, px->raw.data(), static_cast<unsigned long>(px->raw.size()));
  }
  c = file.saveFile(out_path.c_str(), px->xfer, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0,
                    EWM_fileformat);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + out_path + ": " + c.text());
  out.path = out_path;
  out.transfer_syntax_uid = DcmXfer(px->xfer).getXferID();
  out.photometric_interpretation = px->photometric;
  out.source_format = px->format;
  out.rows = px->rows;
  out.columns = px->columns;
  out.samples_per_pixel = px->samples;
  out.bits_allocated = px->bits;
  out.copied = px->format == "jpeg";
  std::error_code ec;
  out.bytes = std::filesystem::file_size(out_path, ec);
  return out;
}

}  // namespace radflow::op
