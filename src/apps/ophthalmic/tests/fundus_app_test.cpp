// fundus-quality end to end on the real photograph (../shared/data/ophthalmic/skimage_retina,
// wrapped as Ophthalmic Photography 8 Bit by DCMTK img2dcm -oph): findings, its SEG and SR
// (dciodvfy: no errors), references, and bad input.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>
#include <string>

#include <dcmtk/dcmdata/dcuid.h>

#include "ai/results/results.h"
#include "pixel/pixel_data.h"
#include "apps/ophthalmic/fundus_codes.h"
#include "apps/ophthalmic/fundus_dicom.h"
#include "apps/ophthalmic/fundus_quality.h"

namespace radflow::apps::ophthalmic {
namespace {

namespace fs = std::filesystem;
const std::string kRetina = std::string(RADFLOW_SHARED_DATA) + "/ophthalmic/skimage_retina/retina.jpg";

std::string Shell(const std::string& command) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>&1").c_str(), "r"), pclose);
  if (!pipe) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  return out;
}

// dciodvfy's error lines (it prints "Error - ..." per problem); a missing dciodvfy is an
// error too, not a pass.
std::string DciodvfyErrors(const std::string& path) {
  if (Shell("command -v dciodvfy").empty()) return "dciodvfy (dicom3tools) is not on PATH\n";
  std::string errors, line;
  std::istringstream in(Shell("dciodvfy '" + path + "'"));
  while (std::getline(in, line)) {
    if (line.rfind("Error", 0) == 0) errors += line + "\n";
  }
  return errors;
}

const ai::Measurement* Find(const ai::Finding& f, const ai::Code& code) {
  for (const auto& m : f.measurements) {
    if (m.name.value == code.value) return &m;
  }
  return nullptr;
}

// An OP instance in Explicit VR Little Endian with the patient and study of `like`.
struct OpPixels {
  int rows, columns, samples;
  const char* photometric;
  int bits_allocated, bits_stored;
  const void* data;
  size_t bytes;
  const char* pixel_spacing = nullptr;
};
void WriteOp(const std::string& like, const std::string& path, const OpPixels& p) {
  DcmFileFormat op;
  ASSERT_TRUE(op.loadFile(like.c_str()).good());
  DcmFileFormat out;
  DcmDataset* ds = out.getDataset();
  for (const DcmTagKey& tag : {DCM_PatientName, DCM_PatientID, DCM_StudyInstanceUID, DCM_SeriesInstanceUID,
                               DCM_StudyDate, DCM_StudyTime, DCM_Modality, DCM_ImageLaterality}) {
    OFString v;
    op.getDataset()->findAndGetOFString(tag, v);
    ds->putAndInsertOFStringArray(tag, v);
  }
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, p.bits_allocated == 16 ? "1.2.840.10008.5.1.4.1.1.77.1.5.2"
                                                                 : "1.2.840.10008.5.1.4.1.1.77.1.5.1");
  ds->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertString(DCM_InstanceNumber, "1");
  ds->putAndInsertString(DCM_PhotometricInterpretation, p.photometric);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, Uint16(p.samples));
  if (p.samples == 3) ds->putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds->putAndInsertUint16(DCM_Rows, Uint16(p.rows));
  ds->putAndInsertUint16(DCM_Columns, Uint16(p.columns));
  ds->putAndInsertUint16(DCM_BitsAllocated, Uint16(p.bits_allocated));
  ds->putAndInsertUint16(DCM_BitsStored, Uint16(p.bits_stored));
  ds->putAndInsertUint16(DCM_HighBit, Uint16(p.bits_stored - 1));
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  if (p.pixel_spacing) ds->putAndInsertString(DCM_PixelSpacing, p.pixel_spacing);
  if (p.bits_allocated == 16) {
    ds->putAndInsertUint16Array(DCM_PixelData, static_cast<const Uint16*>(p.data),
                                static_cast<unsigned long>(p.bytes / 2));
  } else {
    ds->putAndInsertUint8Array(DCM_PixelData, static_cast<const Uint8*>(p.data), static_cast<unsigned long>(p.bytes));
  }
  ASSERT_TRUE(out.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
}

class FundusApp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("fundus-app-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    op_ = new std::string((*dir_ / "op.dcm").string());
    const std::string out = Shell(
        "img2dcm -oph '" + kRetina + "' '" + *op_ + "' -k PatientID=FQ1 -k PatientName=Fundus^Test"
        " -k ImageLaterality=L -k 'AcquisitionDeviceTypeCodeSequence[0].CodeValue=409898007'"
        " -k 'AcquisitionDeviceTypeCodeSequence[0].CodingSchemeDesignator=SCT'"
        " -k 'AcquisitionDeviceTypeCodeSequence[0].CodeMeaning=Fundus Camera'"
        " -k 'AnatomicRegionSequence[0].CodeValue=5665001'"
        " -k 'AnatomicRegionSequence[0].CodingSchemeDesignator=SCT'"
        " -k 'AnatomicRegionSequence[0].CodeMeaning=Retina'");
    ASSERT_TRUE(fs::exists(*op_)) << "img2dcm (DCMTK) failed: " << out;
    ai::AppInput in;
    in.files = {*op_};
    in.out_dir = (*dir_ / "out").string();
    output_ = new Result<ai::AppOutput>(RunFundusQuality(in));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!std::getenv("FUNDUS_TEST_KEEP")) fs::remove_all(*dir_, ec);  // set: keep the objects to look at
    delete output_;
    delete op_;
    delete dir_;
  }
  static fs::path* dir_;
  static std::string* op_;
  static Result<ai::AppOutput>* output_;
};
fs::path* FundusApp::dir_ = nullptr;
std::string* FundusApp::op_ = nullptr;
Result<ai::AppOutput>* FundusApp::output_ = nullptr;

TEST_F(FundusApp, RealPhotographIsGradableWithDiscAndVessels) {
  ASSERT_TRUE(output_->ok()) << output_->status().message();
  const auto& findings = (*output_)->findings;
  ASSERT_GE(findings.size(), 3u);
  EXPECT_EQ(findings[0].type.value, codes::kGradability.value);
  EXPECT_EQ(findings[0].severity, "info") << findings[0].label;  // gradable
  EXPECT_GE(findings[0].score, 0.5);
  // Hand marks (docs/apps/fundus-quality.md, "The real photograph"): the disc's extreme
  // points on the contrast-stretched green channel, nasal 118, temporal 310, superior 578,
  // inferior 760 -> centre (214, 669), diameter 187 px (DD); the fovea, the darkest point of
  // the blurred green channel, (707, 705). Claims: disc centre within 0.25 DD, diameter
  // within +-20 %, fovea within 0.25 DD.
  const ai::Finding* disc = nullptr;
  for (const auto& f : findings) {
    if (f.type.value == codes::kOpticDisc.value) disc = &f;
  }
  ASSERT_NE(disc, nullptr);
  const auto* x = Find(*disc, codes::kCentreColumn);
  const auto* y = Find(*disc, codes::kCentreRow);
  const auto* d = Find(*disc, codes::kDiameterPixels);
  ASSERT_TRUE(x && y && d);
  constexpr double kDiscX = 214, kDiscY = 669, kDd = 187;
  std::printf("real photograph: disc (%.1f, %.1f) %.1f px: %.3f DD from the hand mark, diameter %+.1f %%\n",
              x->value, y->value, d->value, std::hypot(x->value - kDiscX, y->value - kDiscY) / kDd,
              100 * (d->value / kDd - 1));
  EXPECT_LE(std::hypot(x->value - kDiscX, y->value - kDiscY), 0.25 * kDd);
  EXPECT_GE(d->value, 0.8 * kDd);
  EXPECT_LE(d->value, 1.2 * kDd);
  // Vessels: DRIVE's manual masks cover ~12-13 % of the field.
  const auto* density = Find(findings[1], codes::kVesselDensity);
  ASSERT_NE(density, nullptr);
  EXPECT_GE(density->value, 8.0);
  EXPECT_LE(density->value, 18.0);
  // The macula.
  bool macula = false;
  for (const auto& f : findings) {
    if (f.type.value != codes::kMacula.value) continue;
    macula = true;
    const double mx = Find(f, codes::kCentreColumn)->value, my = Find(f, codes::kCentreRow)->value;
    std::printf("real photograph: macula (%.1f, %.1f): %.3f DD from the hand mark; vessels %.1f %%\n", mx, my,
                std::hypot(mx - 707, my - 705) / kDd, density->value);
    EXPECT_LE(std::hypot(mx - 707, my - 705), 0.25 * kDd);
  }
  EXPECT_TRUE(macula);
}

TEST_F(FundusApp, WritesSegAndSrThatPassDciodvfyAndReferenceThePhotograph) {
  ASSERT_TRUE(output_->ok()) << output_->status().message();
  const auto& objects = (*output_)->objects;
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].kind, "seg");
  EXPECT_EQ(objects[1].kind, "sr");
  for (const auto& o : objects) {
    ASSERT_TRUE(fs::exists(o.path)) << o.path;
    EXPECT_EQ(fs::path(o.path).parent_path(), *dir_ / "out");
    EXPECT_EQ(DciodvfyErrors(o.path), "") << o.path;
  }

  // The SEG: the photograph's study and grid, each frame deriving from the photograph.
  DcmFileFormat op, seg;
  ASSERT_TRUE(op.loadFile(op_->c_str()).good());
  ASSERT_TRUE(seg.loadFile((*output_)->objects[0].path.c_str()).good());
  OFString op_uid, op_study, seg_study, rows, frames, ref;
  op.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, op_uid);
  op.getDataset()->findAndGetOFString(DCM_StudyInstanceUID, op_study);
  DcmDataset* ds = seg.getDataset();
  ds->findAndGetOFString(DCM_StudyInstanceUID, seg_study);
  ds->findAndGetOFString(DCM_Rows, rows);
  ds->findAndGetOFString(DCM_NumberOfFrames, frames);
  EXPECT_EQ(seg_study, op_study);
  EXPECT_EQ(rows, "1411");
  EXPECT_EQ(frames, "2");  // vessels, disc
  for (unsigned long f = 0; f < 2; ++f) {
    DcmItem* frame = nullptr;
    ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, long(f)).good());
    DcmItem* derivation = nullptr;
    ASSERT_TRUE(frame->findAndGetSequenceItem(DCM_DerivationImageSequence, derivation, 0).good());
    DcmItem* source = nullptr;
    ASSERT_TRUE(derivation->findAndGetSequenceItem(DCM_SourceImageSequence, source, 0).good());
    source->findAndGetOFString(DCM_ReferencedSOPInstanceUID, ref);
    EXPECT_EQ(ref, op_uid);
  }
  // The SR's groups point at the SEG's segments (1 vessels, 2 disc).
  auto sr = ai::ReadMeasurementReport((*output_)->objects[1].path);
  ASSERT_TRUE(sr.ok()) << sr.status().message();
  OFString seg_uid;
  ds->findAndGetOFString(DCM_SOPInstanceUID, seg_uid);
  int referenced = 0;
  for (const auto& g : sr->groups) {
    if (g.referenced_segment == std::string(seg_uid.c_str()) + "#1" ||
        g.referenced_segment == std::string(seg_uid.c_str()) + "#2") {
      ++referenced;
    }
  }
  EXPECT_EQ(referenced, 2);
}

// A red-free photograph (the green channel alone) as OP 16 Bit, MONOCHROME2, 12 bits
// stored, native: the 16-bit and monochrome paths find the same disc.
TEST_F(FundusApp, RedFreeSixteenBitPhotograph) {
  ASSERT_TRUE(output_->ok()) << output_->status().message();
  auto rgb = pixel::DecodeFrame(*op_, 0);
  ASSERT_TRUE(rgb.ok()) << rgb.status().message();
  std::vector<Uint16> grey(1411 * 1411);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = Uint16(uint8_t((*rgb)[3 * i + 1]) * 4095 / 255);
  const std::string path = (*dir_ / "red-free.dcm").string();
  WriteOp(*op_, path, {1411, 1411, 1, "MONOCHROME2", 16, 12, grey.data(), grey.size() * 2, "0.01\\0.01"});

  ai::AppInput in;
  in.files = {path};
  in.out_dir = (*dir_ / "red-free").string();
  auto r = RunFundusQuality(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const ai::Finding* disc = nullptr;
  const ai::Finding* colour_disc = nullptr;
  for (const auto& f : r->findings) {
    if (f.type.value == codes::kOpticDisc.value) disc = &f;
  }
  for (const auto& f : (*output_)->findings) {
    if (f.type.value == codes::kOpticDisc.value) colour_disc = &f;
  }
  ASSERT_TRUE(disc && colour_disc);
  EXPECT_LE(std::hypot(Find(*disc, codes::kCentreColumn)->value - Find(*colour_disc, codes::kCentreColumn)->value,
                       Find(*disc, codes::kCentreRow)->value - Find(*colour_disc, codes::kCentreRow)->value), 5);
  // PixelSpacing known: the diameter in mm too (0.01 mm per pixel).
  const auto* mm = Find(*disc, codes::kDiameter);
  ASSERT_NE(mm, nullptr);
  EXPECT_NEAR(mm->value, 0.01 * Find(*disc, codes::kDiameterPixels)->value, 1e-9);
}

// YBR_FULL outside the JPEG family (PS3.3 C.7.6.3.1.2): pixel::DecodeFrame gives native,
// RLE and deflated frames as stored, so the app converts them itself. A 400 x 400 crop of
// the photograph around the disc, converted to YBR_FULL (rounded), as native, RLE Lossless
// (DCMTK dcmcrle) and Deflated Explicit VR Little Endian (dcmconv +td): each reads back
// within 2 of the RGB it was made from (the rounding of Y, CB, CR), and a copy labelled
// RGB proves the conversion runs (read as RGB it would be far off).
TEST_F(FundusApp, YbrFullOutsideJpegIsConvertedToRgb) {
  auto rgb = pixel::DecodeFrame(*op_, 0);
  ASSERT_TRUE(rgb.ok()) << rgb.status().message();
  constexpr int kSize = 400, kX0 = 20, kY0 = 460;
  std::vector<Uint8> crop(size_t(kSize) * kSize * 3), ybr(crop.size());
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      for (int c = 0; c < 3; ++c) {
        crop[(size_t(y) * kSize + x) * 3 + c] = uint8_t((*rgb)[(size_t(y + kY0) * 1411 + size_t(x + kX0)) * 3 + c]);
      }
    }
  }
  auto clamp8 = [](double v) { return Uint8(std::lround(std::min(255.0, std::max(0.0, v)))); };
  for (size_t i = 0; i < crop.size(); i += 3) {
    const double r = crop[i], g = crop[i + 1], b = crop[i + 2];
    ybr[i] = clamp8(0.2990 * r + 0.5870 * g + 0.1140 * b);
    ybr[i + 1] = clamp8(-0.1687 * r - 0.3313 * g + 0.5000 * b + 128);
    ybr[i + 2] = clamp8(0.5000 * r - 0.4187 * g - 0.0813 * b + 128);
  }
  const std::string native = (*dir_ / "ybr-native.dcm").string();
  const std::string rle = (*dir_ / "ybr-rle.dcm").string();
  const std::string deflated = (*dir_ / "ybr-deflated.dcm").string();
  WriteOp(*op_, native, {kSize, kSize, 3, "YBR_FULL", 8, 8, ybr.data(), ybr.size()});
  ASSERT_FALSE(HasFatalFailure());
  const std::string out =
      Shell("dcmcrle '" + native + "' '" + rle + "' && dcmconv +td '" + native + "' '" + deflated + "'");
  ASSERT_TRUE(fs::exists(rle) && fs::exists(deflated)) << out;
  for (const auto& [path, syntax] : {std::pair{native, UID_LittleEndianExplicitTransferSyntax},
                                     std::pair{rle, UID_RLELosslessTransferSyntax},
                                     std::pair{deflated, UID_DeflatedExplicitVRLittleEndianTransferSyntax}}) {
    SCOPED_TRACE(path);
    auto info = pixel::ReadImageInfo(path);
    ASSERT_TRUE(info.ok()) << info.status().message();
    EXPECT_EQ(info->transfer_syntax_uid, syntax);
    EXPECT_EQ(info->photometric_interpretation, "YBR_FULL");
    auto photo = ReadOphthalmicPhoto({path});
    ASSERT_TRUE(photo.ok()) << photo.status().message();
    ASSERT_EQ(photo->image.rgb.size(), crop.size());
    int worst = 0;
    for (size_t i = 0; i < crop.size(); ++i) worst = std::max(worst, std::abs(int(photo->image.rgb[i]) - int(crop[i])));
    std::printf("%s: largest difference from the RGB %d\n", syntax, worst);
    EXPECT_LE(worst, 2);
  }
  // The same bytes labelled RGB: no conversion, and far from the original.
  const std::string as_rgb = (*dir_ / "ybr-as-rgb.dcm").string();
  WriteOp(*op_, as_rgb, {kSize, kSize, 3, "RGB", 8, 8, ybr.data(), ybr.size()});
  auto wrong = ReadOphthalmicPhoto({as_rgb});
  ASSERT_TRUE(wrong.ok()) << wrong.status().message();
  int worst = 0;
  for (size_t i = 0; i < crop.size(); ++i) worst = std::max(worst, std::abs(int(wrong->image.rgb[i]) - int(crop[i])));
  std::printf("labelled RGB: largest difference %d\n", worst);
  EXPECT_GT(worst, 50);
}

// Segments Overlap (PS3.3 C.8.20.2) says what the frames hold: YES exactly when a pixel is
// in both the vessel and the disc frame; a SEG of one segment (no disc found, here a black
// photograph) says NO and still passes dciodvfy.
TEST_F(FundusApp, SegmentsOverlapFollowsTheMasks) {
  ASSERT_TRUE(output_->ok()) << output_->status().message();
  DcmFileFormat seg;
  ASSERT_TRUE(seg.loadFile((*output_)->objects[0].path.c_str()).good());
  DcmDataset* ds = seg.getDataset();
  OFString overlap;
  ds->findAndGetOFString(DCM_SegmentsOverlap, overlap);
  const Uint8* bits = nullptr;
  unsigned long length = 0;
  ASSERT_TRUE(ds->findAndGetUint8Array(DCM_PixelData, bits, &length).good());
  const size_t n = 1411 * 1411;  // BINARY frames are packed back to back, LSB first
  ASSERT_GE(length * 8, 2 * n);
  auto bit = [&](size_t b) { return (bits[b >> 3] >> (b & 7)) & 1; };
  bool both = false;
  for (size_t i = 0; i < n && !both; ++i) both = bit(i) && bit(n + i);
  std::printf("real photograph SEG: SegmentsOverlap %s\n", overlap.c_str());
  EXPECT_EQ(overlap, both ? "YES" : "NO");

  std::vector<Uint8> black(128 * 128, 0);
  const std::string path = (*dir_ / "black.dcm").string();
  WriteOp(*op_, path, {128, 128, 1, "MONOCHROME2", 8, 8, black.data(), black.size()});
  ai::AppInput in;
  in.files = {path};
  in.out_dir = (*dir_ / "black").string();
  auto r = RunFundusQuality(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  DcmFileFormat one;
  ASSERT_TRUE(one.loadFile(r->objects[0].path.c_str()).good());
  OFString frames, one_overlap;
  one.getDataset()->findAndGetOFString(DCM_NumberOfFrames, frames);
  one.getDataset()->findAndGetOFString(DCM_SegmentsOverlap, one_overlap);
  EXPECT_EQ(frames, "1");
  EXPECT_EQ(one_overlap, "NO");
  EXPECT_EQ(DciodvfyErrors(r->objects[0].path), "");
  EXPECT_EQ(DciodvfyErrors(r->objects[1].path), "");
}

TEST_F(FundusApp, BadInputIsAnError) {
  ai::AppInput in;
  in.out_dir = (*dir_ / "bad").string();
  auto none = RunFundusQuality(in);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidArgument);

  const std::string text = (*dir_ / "not-dicom.txt").string();
  std::ofstream(text) << "not a DICOM file";
  in.files = {text};
  auto garbage = RunFundusQuality(in);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("Ophthalmic Photography"), std::string::npos);

  ASSERT_TRUE(output_->ok());
  in.files = {(*output_)->objects[0].path};  // a SEG is not a photograph
  EXPECT_FALSE(RunFundusQuality(in).ok());

  // Rows x Columns over the 64-megapixel limit: refused from the header, before decoding.
  std::vector<Uint8> few(64, 0);
  const std::string huge = (*dir_ / "huge.dcm").string();
  WriteOp(*op_, huge, {9000, 9000, 1, "MONOCHROME2", 8, 8, few.data(), few.size()});
  in.files = {huge};
  auto too_big = RunFundusQuality(in);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("9000 x 9000"), std::string::npos) << too_big.status().message();

  in.files = {*op_};
  in.out_dir.clear();
  auto no_dir = RunFundusQuality(in);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.status().message().find("out_dir"), std::string::npos);
}

}  // namespace
}  // namespace radflow::apps::ophthalmic
