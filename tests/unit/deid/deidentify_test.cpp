#include "deid/deidentify.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <vector>

#include <dcmtk/dcmdata/dcvrobow.h>
#include <regex>

#include "deid/dataset_cleaner.h"
#include "deid_test_util.h"

namespace radflow::deid {
namespace {

using namespace test_util;  // NOLINT

TEST(DeidOptions, ParsesKnownNamesAndRejectsOthers) {
  auto o = ParseDeidOptions("retain-dates, clean-pixels,retain-device");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->retain_dates);
  EXPECT_TRUE(o->clean_pixels);
  EXPECT_TRUE(o->retain_device);
  EXPECT_FALSE(o->clean_descriptors);
  EXPECT_EQ(FormatDeidOptions(*o), "retain-dates,retain-device,clean-pixels");
  EXPECT_TRUE(ParseDeidOptions("").ok());
  auto codes = MethodCodes(*o, false);
  ASSERT_EQ(codes.size(), 4u);  // 113100, 113107, 113109, 113111 (113101 only when cleaned)
  EXPECT_EQ(codes.front().value, "113100");
  EXPECT_EQ(codes.back().value, "113111");
  EXPECT_EQ(MethodCodes(*o, true).at(1).value, "113101");
  auto bad = ParseDeidOptions("retain-dates,keep-everything");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("keep-everything"), std::string::npos);
}

TEST(SiteSecret, CreatedOnceWith32BytesMode0600) {
  TempDir dir;
  auto a = LoadOrCreateSiteSecret(dir.path());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("deid-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto b = LoadOrCreateSiteSecret(dir.path());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  std::ofstream(dir.File("short")) << "tooshort";
  EXPECT_FALSE(LoadSecretFile(dir.File("short")).ok());
}

TEST(MapUid, StableValidAndKeyed) {
  Deidentifier a(Options()), b(Options());
  DeidOptions other = Options();
  other.secret = "another secret of enough length!";
  Deidentifier c(other);
  const std::string uid = a.MapUid(kStudyUid);
  EXPECT_EQ(uid, b.MapUid(kStudyUid));
  EXPECT_NE(uid, c.MapUid(kStudyUid));
  EXPECT_NE(uid, a.MapUid(kSeriesUid));
  EXPECT_LE(uid.size(), 64u);
  EXPECT_TRUE(std::regex_match(uid, std::regex(R"(2\.25\.(0|[1-9][0-9]{0,38}))"))) << uid;
  for (int i = 0; i < 200; ++i) {
    const std::string u = a.MapUid("1.2.3." + std::to_string(i));
    EXPECT_LE(u.size(), 44u);
    EXPECT_TRUE(std::regex_match(u, std::regex(R"(2\.25\.(0|[1-9][0-9]*))"))) << u;
  }
}

TEST(Pseudonym, StablePerPatientAndKeyed) {
  Deidentifier a(Options());
  EXPECT_EQ(a.PseudonymFor("PID-221B"), a.PseudonymFor("PID-221B"));
  EXPECT_NE(a.PseudonymFor("PID-221B"), a.PseudonymFor("PID-221C"));
  EXPECT_TRUE(std::regex_match(a.PseudonymFor("x"), std::regex("RF[0-9A-F]{16}")));
}

TEST(Actions, EachCodeOnAHandBuiltDataSet) {
  auto ff = MakeCt();
  auto out = RunDeid(*ff, Options());
  ASSERT_NE(out, nullptr);
  DcmDataset* ds = out->getDataset();
  Deidentifier d(Options());
  // Z: present, zero length.
  EXPECT_EQ(Get(ds, DCM_AccessionNumber), "");
  EXPECT_EQ(Get(ds, DCM_StudyDate), "");
  EXPECT_EQ(Get(ds, DCM_PatientSex), "");
  EXPECT_EQ(Get(ds, DCM_PatientBirthDate), "");
  EXPECT_EQ(Get(ds, DCM_ReferringPhysicianName), "");
  // X: removed.
  EXPECT_EQ(Get(ds, DCM_InstitutionAddress), "<absent>");
  EXPECT_EQ(Get(ds, DCM_PatientAddress), "<absent>");
  EXPECT_EQ(Get(ds, DCM_PatientAge), "<absent>");
  EXPECT_EQ(Get(ds, DCM_SeriesDescription), "<absent>");
  // D (X/Z/D and Z/D resolved to D): dummies valid for the VR.
  EXPECT_EQ(Get(ds, DCM_StationName), "ANONYMIZED");
  EXPECT_EQ(Get(ds, DCM_InstitutionName), "ANONYMIZED");
  EXPECT_EQ(Get(ds, DCM_DeviceSerialNumber), "ANONYMIZED");
  EXPECT_EQ(Get(ds, DCM_SeriesDate), "19000101");
  EXPECT_EQ(Get(ds, DCM_AcquisitionDateTime), "19000101000000");
  EXPECT_EQ(Get(ds, DCM_ContentTime), "000000");
  EXPECT_EQ(Get(ds, DCM_InstanceCreationDate), "19000101");  // not listed: dates never kept
  // K: attributes outside the profile are kept.
  EXPECT_EQ(Get(ds, DCM_Modality), "CT");
  EXPECT_EQ(Get(ds, DCM_Manufacturer), "ACME");
  EXPECT_EQ(Get(ds, DCM_SliceThickness), "5");
  EXPECT_EQ(Get(ds, DCM_SOPClassUID), UID_CTImageStorage);
  // U: mapped, in sequences too.
  EXPECT_EQ(Get(ds, DCM_StudyInstanceUID), d.MapUid(kStudyUid));
  EXPECT_EQ(Get(ds, DCM_SeriesInstanceUID), d.MapUid(kSeriesUid));
  EXPECT_EQ(Get(ds, DCM_SOPInstanceUID), d.MapUid(kSopUid));
  EXPECT_EQ(Get(ds, DCM_FrameOfReferenceUID), d.MapUid(kFrameUid));
  DcmItem* ref = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_ReferencedImageSequence, ref, 0).good());
  EXPECT_EQ(Get(ref, DCM_ReferencedSOPInstanceUID), d.MapUid("1.2.826.0.1.3680043.8.498.1099"));
  EXPECT_EQ(Get(ref, DCM_ReferencedSOPClassUID), UID_CTImageStorage);
  // Pseudonyms and the record of what was done.
  EXPECT_EQ(Get(ds, DCM_PatientID), d.PseudonymFor("PID-221B"));
  EXPECT_EQ(Get(ds, DCM_PatientName), d.PseudonymFor("PID-221B"));
  EXPECT_EQ(Get(ds, DCM_PatientIdentityRemoved), "YES");
  EXPECT_EQ(Get(ds, DCM_LongitudinalTemporalInformationModified), "REMOVED");
  EXPECT_NE(Get(ds, DCM_DeidentificationMethod).find("Basic Profile"), std::string::npos);
  DcmItem* code = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_DeidentificationMethodCodeSequence, code, 0).good());
  EXPECT_EQ(Get(code, DCM_CodeValue), "113100");
  EXPECT_EQ(Get(code, DCM_CodingSchemeDesignator), "DCM");
  // The meta header follows the new SOP Instance UID.
  EXPECT_EQ(Get(out->getMetaInfo(), DCM_MediaStorageSOPInstanceUID), d.MapUid(kSopUid));
}

TEST(Options, RetainPatientCharacteristicsAndDeviceIdentity) {
  auto ff = MakeCt();
  auto out = RunDeid(*ff, Options("retain-patient-chars,retain-device"));
  ASSERT_NE(out, nullptr);
  DcmDataset* ds = out->getDataset();
  EXPECT_EQ(Get(ds, DCM_PatientSex), "M");
  EXPECT_EQ(Get(ds, DCM_PatientAge), "060Y");
  EXPECT_EQ(Get(ds, DCM_PatientWeight), "70");
  EXPECT_EQ(Get(ds, DCM_StationName), "CTSTATION7");
  EXPECT_EQ(Get(ds, DCM_DeviceSerialNumber), "SN-4711");
  EXPECT_EQ(Get(ds, DCM_InstitutionName), "ANONYMIZED");  // institution identity not retained
  EXPECT_EQ(Get(ds, DCM_PatientBirthDate), "");
  std::string codes;
  DcmItem* item = nullptr;
  for (int i = 0; ds->findAndGetSequenceItem(DCM_DeidentificationMethodCodeSequence, item, i).good(); ++i) {
    codes += Get(item, DCM_CodeValue) + " ";
  }
  EXPECT_NE(codes.find("113108"), std::string::npos);
  EXPECT_NE(codes.find("113109"), std::string::npos);
}

TEST(Options, CleanDescriptorsKeepsTextWithoutIdentifiers) {
  auto ff = MakeCt();
  auto out = RunDeid(*ff, Options("clean-descriptors"));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(Get(out->getDataset(), DCM_SeriesDescription), "Chest follow-up");
}

TEST(DateShift, ConsistentPerPatientAndDatesOnly) {
  Deidentifier d(Options("retain-dates"));
  const int shift = d.DateShiftDays("PID-221B");
  EXPECT_EQ(shift, Deidentifier(Options()).DateShiftDays("PID-221B"));
  EXPECT_LE(shift, -365);
  EXPECT_GE(shift, -3650);
  EXPECT_EQ(ShiftDa("20200301", -1), "20200229");
  EXPECT_EQ(ShiftDa("20210101", -366), "20200101");
  EXPECT_EQ(ShiftDt("20200301101600.5", -1), "20200229101600.5");
  EXPECT_EQ(ShiftDt("2020", -1), "2019");
  EXPECT_EQ(ShiftDa("notadate", -1), "");

  auto first = MakeCt();
  auto second = MakeCt();
  second->getDataset()->putAndInsertString(DCM_StudyDate, "20200401");
  second->getDataset()->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.8.498.2003");
  auto a = RunDeid(*first, Options("retain-dates"));
  auto b = RunDeid(*second, Options("retain-dates"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Get(a->getDataset(), DCM_StudyDate), ShiftDa("20200301", shift));
  EXPECT_EQ(Get(b->getDataset(), DCM_StudyDate), ShiftDa("20200401", shift));
  EXPECT_EQ(Get(a->getDataset(), DCM_SeriesDate), ShiftDa("20200301", shift));
  EXPECT_EQ(Get(a->getDataset(), DCM_InstanceCreationDate), ShiftDa("20200302", shift));
  EXPECT_EQ(Get(a->getDataset(), DCM_AcquisitionDateTime),
            ShiftDa("20200301", shift) + "101600.5");
  EXPECT_EQ(Get(a->getDataset(), DCM_StudyTime), "101500");  // TM kept: whole-day shift
  EXPECT_EQ(Get(a->getDataset(), DCM_PatientBirthDate), "");  // Z with no date option
  EXPECT_EQ(Get(a->getDataset(), DCM_LongitudinalTemporalInformationModified), "MODIFIED");
}

TEST(PrivateTags, OnlyTheSafeListSurvives) {
  auto ff = MakeCt();
  DcmDataset* ds = ff->getDataset();
  ds->putAndInsertString(DcmTag(0x0019, 0x0010, EVR_LO), "GEMS_ACQU_01");
  ds->putAndInsertString(DcmTag(0x0019, 0x1023, EVR_DS), "39.375");   // Table Speed: safe
  ds->putAndInsertString(DcmTag(0x0019, 0x1099, EVR_LO), "Holmes");   // not on the list
  ds->putAndInsertString(DcmTag(0x0029, 0x0010, EVR_LO), "SIEMENS CSA HEADER");
  ds->putAndInsertString(DcmTag(0x0029, 0x1010, EVR_LO), "PID-221B");
  ds->putAndInsertString(DcmTag(0x0043, 0x1027, EVR_SH), "1.375:1");  // no creator: removed
  EXPECT_TRUE(IsSafePrivate("GEMS_ACQU_01", 0x0019, 0x23));
  EXPECT_FALSE(IsSafePrivate("GEMS_ACQU_01", 0x0019, 0x99));
  auto out = RunDeid(*ff, Options());
  ASSERT_NE(out, nullptr);
  DcmDataset* o = out->getDataset();
  EXPECT_EQ(Get(o, DcmTagKey(0x0019, 0x0010)), "GEMS_ACQU_01");
  EXPECT_EQ(Get(o, DcmTagKey(0x0019, 0x1023)), "39.375");
  EXPECT_EQ(Get(o, DcmTagKey(0x0019, 0x1099)), "<absent>");
  EXPECT_EQ(Get(o, DcmTagKey(0x0029, 0x0010)), "<absent>");
  EXPECT_EQ(Get(o, DcmTagKey(0x0029, 0x1010)), "<absent>");
  EXPECT_EQ(Get(o, DcmTagKey(0x0043, 0x1027)), "<absent>");
}

TEST(CleanGraphics, OverlaysAndTextObjectsGo) {
  auto ff = MakeCt();
  DcmDataset* ds = ff->getDataset();
  ds->putAndInsertUint16(DcmTag(0x6000, 0x0010, EVR_US), 4);
  ds->putAndInsertString(DcmTag(0x6000, 0x4000, EVR_LT), "Holmes");
  auto* ann = new DcmSequenceOfItems(DCM_GraphicAnnotationSequence);
  auto* item = new DcmItem();
  item->putAndInsertString(DCM_GraphicLayer, "LAYER1");
  auto* text = new DcmSequenceOfItems(DCM_TextObjectSequence);
  auto* t = new DcmItem();
  t->putAndInsertString(DCM_UnformattedTextValue, "Sherlock Holmes");
  text->append(t);
  item->insert(text);
  auto* graphics = new DcmSequenceOfItems(DCM_GraphicObjectSequence);
  auto* g = new DcmItem();
  g->putAndInsertString(DCM_GraphicType, "POINT");
  graphics->append(g);
  item->insert(graphics);
  ann->append(item);
  ds->insert(ann);

  auto basic = RunDeid(*ff, Options());
  ASSERT_NE(basic, nullptr);
  EXPECT_EQ(Get(basic->getDataset(), DcmTagKey(0x6000, 0x0010)), "<absent>");
  DcmItem* text_item = nullptr;
  ASSERT_TRUE(basic->getDataset()->findAndGetSequenceItem(DCM_GraphicAnnotationSequence, item, 0).good());
  ASSERT_TRUE(item->findAndGetSequenceItem(DCM_TextObjectSequence, text_item, 0).good());
  EXPECT_EQ(Get(text_item, DCM_UnformattedTextValue), "ANONYMIZED");  // D: a dummy text

  auto cleaned = RunDeid(*ff, Options("clean-graphics"));
  ASSERT_NE(cleaned, nullptr);
  ASSERT_TRUE(cleaned->getDataset()->findAndGetSequenceItem(DCM_GraphicAnnotationSequence, item, 0).good());
  EXPECT_FALSE(item->tagExists(DCM_TextObjectSequence));
  EXPECT_TRUE(item->tagExists(DCM_GraphicObjectSequence));
  EXPECT_EQ(Get(item, DCM_GraphicLayer), "LAYER1");
}

// An SR content tree: TEXT with the patient's name, PNAME, CODE, UIDREF, DATE, nested.
std::unique_ptr<DcmFileFormat> MakeSr() {
  auto ff = MakeCt();
  DcmDataset* ds = ff->getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_ComprehensiveSRStorage);
  ds->putAndInsertString(DCM_Modality, "SR");
  auto item = [](const char* type) {
    auto* i = new DcmItem();
    i->putAndInsertString(DCM_RelationshipType, "CONTAINS");
    i->putAndInsertString(DCM_ValueType, type);
    return i;
  };
  auto* content = new DcmSequenceOfItems(DCM_ContentSequence);
  auto* text = item("TEXT");
  text->putAndInsertString(DCM_TextValue, "Nodule seen; Sherlock Holmes informed");
  content->append(text);
  auto* pname = item("PNAME");
  pname->putAndInsertString(DCM_PersonName, "Watson^John");
  content->append(pname);
  auto* code = item("CODE");
  auto* cc = new DcmSequenceOfItems(DCM_ConceptCodeSequence);
  auto* c = new DcmItem();
  c->putAndInsertString(DCM_CodeValue, "27925004");
  c->putAndInsertString(DCM_CodingSchemeDesignator, "SCT");
  c->putAndInsertString(DCM_CodeMeaning, "Nodule");
  cc->append(c);
  code->insert(cc);
  auto* nested = new DcmSequenceOfItems(DCM_ContentSequence);
  auto* uidref = item("UIDREF");
  uidref->putAndInsertString(DCM_UID, kSeriesUid);
  nested->append(uidref);
  auto* date = item("DATE");
  date->putAndInsertString(DCM_Date, "20200301");
  nested->append(date);
  code->insert(nested);
  content->append(code);
  ds->insert(content);
  return ff;
}

TEST(StructuredContent, BasicReplacesTextCleanKeepsItScrubbed) {
  auto ff = MakeSr();
  Deidentifier d(Options());
  for (const std::string opts : {"", "clean-structured"}) {
    auto out = RunDeid(*ff, Options(opts));
    ASSERT_NE(out, nullptr) << opts;
    DcmDataset* ds = out->getDataset();
    DcmItem *text = nullptr, *pname = nullptr, *code = nullptr, *concept_item = nullptr,
            *uidref = nullptr, *date = nullptr;
    ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_ContentSequence, text, 0).good());
    ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_ContentSequence, pname, 1).good());
    ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_ContentSequence, code, 2).good());
    EXPECT_EQ(Get(text, DCM_TextValue), opts.empty() ? "ANONYMIZED" : "Nodule seen; informed");
    EXPECT_EQ(Get(pname, DCM_PersonName), "ANONYMOUS");
    ASSERT_TRUE(code->findAndGetSequenceItem(DCM_ConceptCodeSequence, concept_item, 0).good());
    EXPECT_EQ(Get(concept_item, DCM_CodeValue), "27925004");  // codes kept
    EXPECT_EQ(Get(concept_item, DCM_CodeMeaning), "Nodule");
    ASSERT_TRUE(code->findAndGetSequenceItem(DCM_ContentSequence, uidref, 0).good());
    ASSERT_TRUE(code->findAndGetSequenceItem(DCM_ContentSequence, date, 1).good());
    EXPECT_EQ(Get(uidref, DCM_UID), d.MapUid(kSeriesUid));
    EXPECT_EQ(Get(date, DCM_Date), "19000101");
  }
}

TEST(Skips, UnsafeObjectsAreNotWritten) {
  TempDir dir;
  auto ff = MakeCt();
  ff->getDataset()->putAndInsertString(DCM_BurnedInAnnotation, "YES");
  Save(*ff, dir.File("burned.dcm"));
  Deidentifier d(Options());
  auto r = d.DeidentifyFile(dir.File("burned.dcm"), dir.File("out/burned.dcm"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->skipped);
  EXPECT_NE(r->reason.find("clean-pixels"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.File("out/burned.dcm")));

  auto pdf = MakeCt();
  pdf->getDataset()->putAndInsertString(DCM_SOPClassUID, UID_EncapsulatedPDFStorage);
  pdf->getDataset()->putAndInsertUint8Array(DCM_EncapsulatedDocument,
                                            reinterpret_cast<const Uint8*>("%PDF-1.4 Holmes"), 16);
  Save(*pdf, dir.File("pdf.dcm"));
  auto p = d.DeidentifyFile(dir.File("pdf.dcm"), dir.File("out/pdf.dcm"));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->skipped);
  EXPECT_FALSE(std::filesystem::exists(dir.File("out/pdf.dcm")));
}

TEST(Inputs, NonDicomAndMissingFilesFail) {
  TempDir dir;
  std::ofstream(dir.File("notes.txt")) << "Sherlock Holmes, 221B Baker Street, and more text";
  Deidentifier d(Options());
  EXPECT_FALSE(LooksLikeDicomFile(dir.File("notes.txt")));
  auto r = d.DeidentifyFile(dir.File("notes.txt"), dir.File("out.dcm"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidDicom);
  EXPECT_EQ(d.DeidentifyFile(dir.File("missing.dcm"), dir.File("o.dcm")).status().code(),
            ErrorCode::kNotFound);
  auto ff = MakeCt();
  Save(*ff, dir.File("ct.dcm"));
  EXPECT_TRUE(LooksLikeDicomFile(dir.File("ct.dcm")));
}


TEST(Actions, SequencesWithXOrZAreRemovedNotLeftEmpty) {
  auto ff = MakeCt();
  auto* study = new DcmSequenceOfItems(DCM_ReferencedStudySequence);  // X/Z, Type 3
  auto* item = new DcmItem();
  item->putAndInsertString(DCM_ReferencedSOPClassUID, "1.2.840.10008.3.1.2.3.1");
  item->putAndInsertString(DCM_ReferencedSOPInstanceUID, kStudyUid);
  study->append(item);
  ff->getDataset()->insert(study);
  auto out = RunDeid(*ff, Options());
  ASSERT_NE(out, nullptr);
  EXPECT_FALSE(out->getDataset()->tagExists(DCM_ReferencedStudySequence));
}

TEST(Actions, StandardAttributesStoredAsUnAreHandled) {
  auto ff = MakeCt();
  DcmDataset* ds = ff->getDataset();
  // Explicit VR UN for standard attributes (written by a tool without a dictionary).
  auto put_un = [&](const DcmTagKey& key, const std::string& v) {
    ds->findAndDeleteElement(key);
    auto* e = new DcmOtherByteOtherWord(DcmTag(key, EVR_UN));
    std::string padded = v.size() % 2 ? v + " " : v;
    e->putUint8Array(reinterpret_cast<const Uint8*>(padded.data()), padded.size());
    ds->insert(e, true);
  };
  put_un(DCM_PatientName, "Holmes^Sherlock");
  put_un(DCM_InstitutionName, "St Bartholomew Hospital");
  put_un(DCM_StudyInstanceUID, kStudyUid);
  TempDir dir;
  Save(*ff, dir.File("un.dcm"));
  Deidentifier d(Options());
  auto r = d.DeidentifyFile(dir.File("un.dcm"), dir.File("out.dcm"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto out = Load(dir.File("out.dcm"));
  ASSERT_NE(out, nullptr);
  std::ifstream in(dir.File("out.dcm"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("Holmes"), std::string::npos);
  EXPECT_EQ(bytes.find("Bartholomew"), std::string::npos);
  EXPECT_EQ(bytes.find(kStudyUid), std::string::npos);
}

TEST(Skips, DicomdirIsRebuiltNotRewritten) {
  auto ff = MakeCt();
  ff->getDataset()->insert(new DcmSequenceOfItems(DCM_DirectoryRecordSequence));
  DeidFileReport report;
  EXPECT_EQ(RunDeid(*ff, Options(), &report), nullptr);
  EXPECT_TRUE(report.skipped);
  EXPECT_NE(report.reason.find("DICOMDIR"), std::string::npos);
}

TEST(CleanPixels, ImageWithoutTextIsWrittenUncompressedAndMarked) {
  auto ff = MakeCt();
  DcmDataset* ds = ff->getDataset();
  ds->putAndInsertUint16(DCM_Rows, 64);
  ds->putAndInsertUint16(DCM_Columns, 64);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds->putAndInsertUint16(DCM_BitsAllocated, 16);
  ds->putAndInsertUint16(DCM_BitsStored, 12);
  ds->putAndInsertUint16(DCM_HighBit, 11);
  ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds->putAndInsertString(DCM_BurnedInAnnotation, "YES");
  std::vector<Uint16> pixels(64 * 64);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<Uint16>((i % 64) * 16);  // a ramp
  ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
  DeidFileReport report;
  auto out = RunDeid(*ff, Options("clean-pixels"), &report);
  ASSERT_NE(out, nullptr) << report.reason;
  EXPECT_EQ(report.pixels_masked_regions, 0);
  EXPECT_EQ(Get(out->getDataset(), DCM_BurnedInAnnotation), "NO");
  EXPECT_EQ(Get(out->getMetaInfo(), DCM_TransferSyntaxUID), UID_LittleEndianExplicitTransferSyntax);
  std::string codes;
  DcmItem* item = nullptr;
  for (int i = 0; out->getDataset()->findAndGetSequenceItem(DCM_DeidentificationMethodCodeSequence, item, i).good(); ++i) {
    codes += Get(item, DCM_CodeValue) + " ";
  }
  EXPECT_NE(codes.find("113101"), std::string::npos);
  DcmElement* px = nullptr;
  Uint16* data = nullptr;
  ASSERT_TRUE(out->getDataset()->findAndGetElement(DCM_PixelData, px).good());
  ASSERT_TRUE(px->getUint16Array(data).good());
  for (size_t i = 0; i < pixels.size(); ++i) ASSERT_EQ(data[i], pixels[i]) << i;
}

}  // namespace
}  // namespace radflow::deid
