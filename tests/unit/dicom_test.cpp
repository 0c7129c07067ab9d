#include <gtest/gtest.h>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <algorithm>

#include "dicom/charset.h"
#include "dicom/conformance.h"
#include "dicom/instance.h"
#include "dicom/json_model.h"
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

// Every real file of the shared data with a non-ASCII character set: the indexed PatientName
// is the UTF-8 text pydicom's test suite expects (pydicom/tests/test_charset.py; pydicom's
// str() drops an empty trailing component group, the index keeps the value as stored).
TEST(ParsePart10, CharacterSetsBecomeUtf8) {
  struct Case {
    const char* file;
    const char* name;
  };
  const Case cases[] = {
      {"chrArab", "قباني^لنزار"},
      {"chrFren", "Buc^Jérôme"},
      {"chrFrenMulti", "Buc^Jérôme"},
      {"chrGerm", "Äneas^Rüdiger"},
      {"chrGreek", "Διονυσιος"},
      {"chrH31", "Yamada^Tarou=山田^太郎=やまだ^たろう"},
      {"chrH32", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
      {"chrHbrw", "שרון^דבורה"},
      {"chrI2", "Hong^Gildong=洪^吉洞=홍^길동"},
      {"chrJapMulti", "やまだ^たろう"},
      {"chrJapMultiExplicitIR6", "やまだ^たろう"},
      {"chrKoreanMulti", "김희중"},
      {"chrRuss", "Люкceмбypг"},
      {"chrX1", "Wang^XiaoDong=王^小東="},
      {"chrX2", "Wang^XiaoDong=王^小东="},
  };
  for (const auto& c : cases) {
    auto r = ParsePart10File(DataPath(std::string("dicom/edgecases_pydicom/charset_files/") + c.file + ".dcm"));
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().ToString();
    EXPECT_EQ(r->attributes.Get(tags::kPatientName), c.name) << c.file;
    EXPECT_EQ(r->charset_problem, "") << c.file;
  }
  // Multi-valued: each value decoded, joined by '\'.
  auto multi = ParsePart10File(DataPath("dicom/edgecases_pydicom/charset_files/chrFrenMulti.dcm"));
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->attributes.Get(MakeTag(0x0010, 0x1001)), "Buc^Jérôme\\Buc^Jérôme");
  // A real object declaring ISO 2022 IR 13 / IR 87 whose text is all ASCII: unchanged.
  auto j2k = ParsePart10File(DataPath("dicom/edgecases_pydicom/test_files/J2K_pixelrep_mismatch.dcm"));
  ASSERT_TRUE(j2k.ok()) << j2k.status().ToString();
  EXPECT_EQ(j2k->charset_problem, "");
  EXPECT_EQ(j2k->attributes.Get(tags::kPatientName), "JXD191021006");
}

// PS3.5 6.1.2.5.3: a PN component group ('=') and a component ('^') start again in the
// initial sets, as do CR/LF and '\' in any VR; '=' outside PN does not.
TEST(TextDecoder, DelimitersReturnToTheInitialSets) {
  TextDecoder decoder("\\ISO 2022 IR 13");  // initial: ASCII, no G1
  bool lossy = false;
  EXPECT_EQ(decoder.Decode("\x1B)I\xB6=\xB6", true, &lossy), "\uFF76=\uFFFD");
  EXPECT_TRUE(lossy);
  lossy = false;
  EXPECT_EQ(decoder.Decode("\x1B)I\xB6^\xB6", true, &lossy), "\uFF76^\uFFFD");
  EXPECT_TRUE(lossy);
  lossy = false;
  EXPECT_EQ(decoder.Decode("\x1B)I\xB6\r\n\xB6", false, &lossy), "\uFF76\r\n\uFFFD");
  EXPECT_TRUE(lossy);
  lossy = false;
  EXPECT_EQ(decoder.Decode("\x1B)I\xB6=\xB6", false, &lossy), "\uFF76=\uFF76");
  EXPECT_FALSE(lossy);
  // A JIS X 0208 pair whose second byte is '^' is a character, not a delimiter.
  TextDecoder jis("\\ISO 2022 IR 87");
  lossy = false;
  EXPECT_EQ(jis.Decode("\x1B$B$^\x1B(B^x", true, &lossy), "\u307E^x");
  EXPECT_FALSE(lossy);
}

TEST(TextDecoder, UndecodableBytesBecomeReplacementCharacters) {
  struct Case {
    const char* charset;
    std::string raw;
    const char* utf8;
  };
  const Case cases[] = {
      {"ISO_IR 999", "Buc^J\xE9r\xF4me", "Buc^J\uFFFDr\uFFFDme"},   // unknown term
      {"", "Buc^J\xE9r\xF4me", "Buc^J\uFFFDr\uFFFDme"},             // default repertoire
      {"ISO_IR 192", "Buc^J\xE9r\xC3\xB4me", "Buc^J\uFFFDrôme"},     // Latin-1 byte in UTF-8
      {"ISO_IR 192", "\xED\xA0\x80x", "\uFFFD\uFFFD\uFFFDx"},         // a surrogate
      {"ISO_IR 126", "\xC4\xAE", "Δ\uFFFD"},                            // 0xAE: not in ISO 8859-7
      {"\\ISO 2022 IR 87", "\x1B$B;3E", "山\uFFFD"},                    // JIS X 0208 pair cut off
      {"\\ISO 2022 IR 87", "\x1B%GA", "\uFFFD%GA"},                    // unknown escape sequence
  };
  for (const auto& c : cases) {
    TextDecoder decoder(c.charset);
    bool lossy = false;
    EXPECT_EQ(decoder.Decode(c.raw, true, &lossy), c.utf8) << c.charset;
    EXPECT_TRUE(lossy) << c.charset;
  }
  TextDecoder latin1("ISO_IR 100");
  bool lossy = false;
  EXPECT_EQ(latin1.Decode("Buc^J\xE9r\xF4me", true, &lossy), "Buc^Jérôme");
  EXPECT_FALSE(lossy);
}

// Kept, indexed with U+FFFD, and reported as a conformance problem; the file is untouched.
TEST(ParsePart10, UndecodableTextIsStoredAndReported) {
  radflow::testing::ScratchDir dir;
  const std::string path = dir.str() + "/unknown_charset.dcm";
  {
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(DataPath("dicom/edgecases_pydicom/charset_files/chrFren.dcm").c_str()).good());
    ff.getDataset()->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 999");
    ASSERT_TRUE(ff.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  }
  auto r = ParsePart10File(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes.Get(tags::kPatientName), "Buc^J\uFFFDr\uFFFDme");
  EXPECT_NE(r->charset_problem.find("'ISO_IR 999'"), std::string::npos) << r->charset_problem;
  EXPECT_NE(r->charset_problem.find("PatientName (0010,0010)"), std::string::npos) << r->charset_problem;
  const auto problems = CheckConformance(r.value());
  EXPECT_EQ(std::count(problems.begin(), problems.end(), r->charset_problem), 1);
  DcmFileFormat again;
  ASSERT_TRUE(again.loadFile(path.c_str()).good());
  OFString raw;
  again.getDataset()->findAndGetOFString(DCM_PatientName, raw);
  EXPECT_EQ(std::string(raw.c_str()), "Buc^J\xE9r\xF4me");
}

// Sequence items with their own SpecificCharacterSet (chrSQEncoding*, FileInfo.txt).
TEST(InstanceToDicomJson, NestedCharacterSetsBecomeUtf8) {
  for (const char* file : {"chrSQEncoding", "chrSQEncoding1"}) {
    auto json = InstanceToDicomJson(DataPath(std::string("dicom/edgecases_pydicom/charset_files/") + file + ".dcm"), {});
    ASSERT_TRUE(json.ok()) << file << ": " << json.status().ToString();
    EXPECT_NE(json->find("ﾔﾏﾀﾞ^ﾀﾛｳ"), std::string::npos) << file << ": " << *json;
    EXPECT_NE(json->find("山田^太郎"), std::string::npos) << file;
  }
}

}  // namespace radflow::dicom
