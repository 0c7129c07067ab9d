#include <gtest/gtest.h>

#include "dicom/instance.h"
#include "dicom/tag.h"
#include "test_data.h"

namespace radflow::dicom {

using radflow::testing::DataPath;

TEST(Tag, KeywordsFromTheDictionary) {
  EXPECT_EQ(ParseTag("PatientName"), tags::kPatientName);
  EXPECT_EQ(ParseTag("00100020"), tags::kPatientID);
  EXPECT_EQ(ParseTag("NoSuchKeyword"), std::nullopt);
  EXPECT_EQ(KeywordOf(tags::kStudyInstanceUID), "StudyInstanceUID");
  EXPECT_EQ(VrOf(tags::kStudyDate), "DA");
  EXPECT_EQ(TagToString(tags::kPixelData), "(7FE0,0010)");
}

TEST(Uid, ValidityIsSafeForKeys) {
  EXPECT_TRUE(IsValidUid("1.2.840.10008.5.1.4.1.1.2"));
  EXPECT_TRUE(IsValidUid("1.3.12.2.1107.5.1.4.0123"));  // leading zero: seen in the wild
  EXPECT_FALSE(IsValidUid(""));
  EXPECT_FALSE(IsValidUid("1.2.abc"));
  EXPECT_FALSE(IsValidUid("../../etc/passwd"));
  EXPECT_TRUE(IsValidUid(std::string(65, '1')));   // over PS3.5's 64, seen on slides: stored
  EXPECT_TRUE(IsValidUid(std::string(128, '1')));
  EXPECT_FALSE(IsValidUid(std::string(129, '1')));
}

TEST(ParsePart10, RealCtSlice) {
  auto files = radflow::testing::ChestCtFiles();
  ASSERT_FALSE(files.empty());
  auto r = ParsePart10File(files[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");  // CT Image Storage
  EXPECT_EQ(r->attributes.Get(tags::kModality), "CT");
  EXPECT_EQ(r->attributes.Get(tags::kPatientID), "Lung_Dx-A0001");
  EXPECT_EQ(r->attributes.Get(tags::kRows), "512");
  EXPECT_FALSE(r->study_instance_uid.empty());
  EXPECT_FALSE(r->attributes.Has(tags::kPixelData));  // not loaded
}

// The structure the IOD check reads (dicom/conformance.h), recorded by the same parse.
TEST(ParsePart10, RecordsPresenceForTheConformanceCheck) {
  auto r = ParsePart10File(radflow::testing::ChestCtFiles()[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ItemPresence& top = r->presence.top;
  ASSERT_NE(top.Find(tags::kAccessionNumber), nullptr);
  EXPECT_TRUE(top.Find(tags::kAccessionNumber)->empty);  // zero length in the file
  ASSERT_NE(top.Find(tags::kPixelData), nullptr);         // present, though not loaded
  EXPECT_FALSE(top.Find(tags::kPixelData)->empty);
  ASSERT_NE(top.Find(MakeTag(0x0008, 0x1140)), nullptr);  // ReferencedImageSequence, 1 item
  EXPECT_FALSE(top.Find(MakeTag(0x0008, 0x1140))->empty);
  EXPECT_EQ(top.Find(MakeTag(0x0048, 0x0105)), nullptr);  // no OpticalPathSequence
  // Items only of the sequences the check looks into: none in a CT slice.
  EXPECT_TRUE(r->presence.sequences.empty());
  EXPECT_TRUE(r->presence.ItemsOf(MakeTag(0x0008, 0x1140)).empty());
}

TEST(ParsePart10, RejectsWithTheReason) {
  struct Case {
    const char* file;
    ErrorCode code;
    const char* reason;
  };
  const Case cases[] = {
      {"dicom/edgecases_pydicom/test_files/no_meta.dcm", ErrorCode::kInvalidDicom, "PS3.10"},
      {"dicom/edgecases_pydicom/test_files/MR_truncated.dcm", ErrorCode::kInvalidDicom, "premature end"},
      {"dicom/edgecases_pydicom/test_files/rtplan_truncated.dcm", ErrorCode::kInvalidDicom, "parse"},
      {"dicom/edgecases_pydicom/test_files/zipMR.gz", ErrorCode::kInvalidDicom, "PS3.10"},
      {"dicom/edgecases_pydicom/README.md", ErrorCode::kInvalidDicom, "not a DICOM"},
      {"dicom/codecs/files/JLSL_RGB_ILV0.dcm", ErrorCode::kInvalidDicom, "preamble"},
      // An HTJ2K file (a syntax DCMTK 3.6.7 does not know) parses, and lacks its study.
      {"dicom/codecs/files/HTJ2K_08_RGB.dcm", ErrorCode::kMissingAttribute, "StudyInstanceUID"},
  };
  for (const auto& c : cases) {
    auto r = ParsePart10File(DataPath(c.file));
    ASSERT_FALSE(r.ok()) << c.file;
    EXPECT_EQ(r.status().code(), c.code) << c.file << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos)
        << c.file << ": " << r.status().ToString();
  }
}

TEST(ParsePart10, CharacterSetsBecomeUtf8) {
  // chrFren.dcm: ISO_IR 100, PatientName "Buc^Jérôme" (FileInfo.txt).
  auto r = ParsePart10File(DataPath("dicom/edgecases_pydicom/charset_files/chrFren.dcm"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.Get(tags::kPatientName), "Buc^J\xC3\xA9r\xC3\xB4me");
}

TEST(ParsePart10, UnsupportedCharacterSetIsStillStored) {
  auto r = ParsePart10File(DataPath("dicom/edgecases_pydicom/charset_files/chrH32.dcm"));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST(ParsePart10, Iso2022JapaneseBecomesUtf8) {
  // chrH31.dcm: "\ISO 2022 IR 87", which DCMTK's converter cannot open here.
  auto r = ParsePart10File(DataPath("dicom/edgecases_pydicom/charset_files/chrH31.dcm"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.Get(tags::kPatientName),
            "Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E="
            "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\xA0^\xE3\x81\x9F\xE3\x82\x8D\xE3\x81\x86");
}

}  // namespace radflow::dicom
