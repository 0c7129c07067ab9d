// The report SR (TID 2000 in a Comprehensive SR) for a real stored CT, citing a real TID 1500
// SR: dciodvfy (dicom3tools) reports no error, DCMTK reads it back, and the tree, flags,
// observers, evidence and predecessor are what sr_tid2000.h promises.
#include "delivery/sr_tid2000.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmsr/dsrdoc.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sample_report.h"

namespace radflow::delivery {
namespace {

using testing::SampleReport;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("radflow-sr-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

struct Validation {
  std::vector<std::string> errors, warnings;
  std::string all;
};
Validation Dciodvfy(const std::string& path) {
  Validation v;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(("dciodvfy '" + path + "' 2>&1").c_str(), "r"), pclose);
  char line[4096];
  while (pipe && fgets(line, sizeof line, pipe.get())) {
    std::string s(line);
    v.all += s;
    if (s.rfind("Error", 0) == 0) v.errors.push_back(s);
    if (s.rfind("Warning", 0) == 0) v.warnings.push_back(s);
  }
  return v;
}
// A copy of each checked SR under build/test-artifacts/delivery/ (inspect with dsrdump).
void KeepArtifact(const std::string& path, const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(RADFLOW_BUILD_DIR) / "test-artifacts" / "delivery";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::copy_file(path, dir / name, std::filesystem::copy_options::overwrite_existing, ec);
}

bool HaveDciodvfy() { return std::system("command -v dciodvfy > /dev/null 2>&1") == 0; }

std::string Get(DcmItem* item, const DcmTagKey& tag) {
  OFString v;
  if (item) item->findAndGetOFString(tag, v);
  return v.c_str();
}

struct Loaded {
  DcmFileFormat file;
  DSRDocument doc;
  DcmDataset* ds() { return file.getDataset(); }
};
std::unique_ptr<Loaded> Load(const std::string& path) {
  auto l = std::make_unique<Loaded>();
  EXPECT_TRUE(l->file.loadFile(path.c_str()).good()) << path;
  EXPECT_TRUE(l->doc.read(*l->file.getDataset()).good()) << "DCMTK cannot read the SR back";
  return l;
}

// Every content item of the tree: (relationship, value type, concept code value).
struct Item {
  std::string rel, type, code, parent_type;
};
std::vector<Item> Walk(DSRDocumentTree& tree) {
  std::vector<Item> out;
  if (tree.gotoRoot() == 0) return out;
  std::vector<std::string> types_by_level;  // pre-order: the last item seen at each level
  do {
    DSRContentItem& item = tree.getCurrentContentItem();
    const size_t level = tree.getLevel();
    types_by_level.resize(level);
    Item it;
    it.rel = DSRTypes::relationshipTypeToDefinedTerm(item.getRelationshipType());
    it.type = DSRTypes::valueTypeToDefinedTerm(item.getValueType());
    it.code = item.getConceptName().getCodeValue().c_str();
    it.parent_type = level >= 2 ? types_by_level[level - 2] : "";
    types_by_level[level - 1] = it.type;
    out.push_back(it);
  } while (tree.iterate());
  return out;
}

TEST(ReportSr, FinalReportPassesDciodvfyAndReadsBack) {
  if (!HaveDciodvfy()) GTEST_SKIP() << "dciodvfy (dicom3tools) not installed";
  ASSERT_TRUE(std::filesystem::exists(testing::Tid1500File()));
  TempDir dir;
  SignedReport r = SampleReport();
  auto written = WriteReportSr(r, dir.str());
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->sop_class_uid, UID_ComprehensiveSRStorage);
  EXPECT_EQ(written->path, dir.str() + "/" + written->sop_uid + ".dcm");

  KeepArtifact(written->path, "report_final.dcm");
  const Validation v = Dciodvfy(written->path);
  EXPECT_TRUE(v.errors.empty()) << v.all;
  for (const auto& w : v.warnings) std::printf("dciodvfy: %s", w.c_str());

  auto l = Load(written->path);
  DcmDataset* ds = l->ds();
  EXPECT_EQ(Get(ds, DCM_StudyInstanceUID), r.study_uid);
  EXPECT_EQ(Get(ds, DCM_PatientID), "Lung_Dx-A0001");
  EXPECT_EQ(Get(ds, DCM_PatientName), "Lung_Dx-A0001");
  EXPECT_EQ(Get(ds, DCM_StudyDate), "20070404");
  EXPECT_EQ(Get(ds, DCM_AccessionNumber), "ACC-2007-0404");  // the source has none: the report's
  EXPECT_EQ(Get(ds, DCM_SpecificCharacterSet), "ISO_IR 192");
  EXPECT_EQ(Get(ds, DCM_Modality), "SR");
  EXPECT_EQ(Get(ds, DCM_SeriesDescription), "Radiology report");
  EXPECT_EQ(Get(ds, DCM_SeriesInstanceUID), written->series_uid);
  EXPECT_NE(written->series_uid, "1.3.6.1.4.1.14519.5.2.1.6655.2359.182839591934546014355786493011");
  EXPECT_EQ(Get(ds, DCM_CompletionFlag), "COMPLETE");
  EXPECT_EQ(Get(ds, DCM_VerificationFlag), "VERIFIED");
  EXPECT_EQ(Get(ds, DCM_PreliminaryFlag), "FINAL");
  // ContentDate/Time: the signing time (local).
  EXPECT_EQ(Get(ds, DCM_ContentDate).size(), 8u);
  DcmItem* verifier = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_VerifyingObserverSequence, verifier, 0).good());
  EXPECT_EQ(Get(verifier, DCM_VerifyingObserverName), "Curie^Marie");
  EXPECT_EQ(Get(verifier, DCM_VerifyingOrganization), "Radiology, radflow hospital");
  EXPECT_EQ(Get(verifier, DCM_VerificationDateTime).substr(0, 8), Get(ds, DCM_ContentDate));

  // Evidence: the CT instance (current), the TID 1500 SR of the other study (pertinent other).
  DcmItem* current = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_CurrentRequestedProcedureEvidenceSequence, current, 0).good());
  EXPECT_EQ(Get(current, DCM_StudyInstanceUID), r.study_uid);
  DcmItem* other = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_PertinentOtherEvidenceSequence, other, 0).good());
  EXPECT_EQ(Get(other, DCM_StudyInstanceUID), testing::kTid1500Study);
  DcmItem* series = nullptr;
  ASSERT_TRUE(other->findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series, 0).good());
  DcmItem* sop = nullptr;
  ASSERT_TRUE(series->findAndGetSequenceItem(DCM_ReferencedSOPSequence, sop, 0).good());
  EXPECT_EQ(Get(sop, DCM_ReferencedSOPInstanceUID), testing::kTid1500Sop);
  EXPECT_EQ(Get(sop, DCM_ReferencedSOPClassUID), testing::kEnhancedSr);

  // The tree: TID 2000 root, headings, finding text INFERRED FROM NUM INFERRED FROM COMPOSITE.
  DSRDocumentTree& tree = l->doc.getTree();
  ASSERT_TRUE(tree.gotoRoot() > 0);
  EXPECT_EQ(std::string(tree.getCurrentContentItem().getConceptName().getCodeValue().c_str()), "18748-4");
  OFString tid, mapping;
  tree.getCurrentContentItem().getTemplateIdentification(tid, mapping);
  EXPECT_EQ(std::string(tid.c_str()), "2000");
  const std::vector<Item> items = Walk(tree);
  auto count = [&](auto pred) { return std::count_if(items.begin(), items.end(), pred); };
  EXPECT_EQ(count([](const Item& i) { return i.code == "121049"; }), 1);                       // language
  EXPECT_EQ(count([](const Item& i) { return i.code == "121008" && i.type == "PNAME"; }), 1);  // observer
  for (const char* heading : {"11329-0", "55111-9", "55114-3", "59776-5", "19005-8"}) {
    EXPECT_EQ(count([&](const Item& i) { return i.code == heading && i.type == "CONTAINER"; }), 1) << heading;
  }
  // Finding paragraphs: 3 lines of findings_text.
  EXPECT_EQ(count([](const Item& i) { return i.code == "121071" && i.type == "TEXT"; }), 3);
  // Nodule 1: long axis, volume, mean HU, each under its sentence, each citing the TID 1500 SR;
  // nodule 2: solid component and long axis under its sentence, no SR.
  EXPECT_EQ(count([](const Item& i) { return i.type == "NUM" && i.parent_type == "TEXT" && i.rel == "INFERRED FROM"; }),
            5);
  EXPECT_EQ(count([](const Item& i) { return i.type == "COMPOSITE" && i.parent_type == "NUM" && i.code == "121112"; }),
            3);
  EXPECT_EQ(count([](const Item& i) { return i.code == "RF-SOLIDCOMPONEN"; }), 1);

  // The COMPOSITE items name the real TID 1500 SR, whose root is TID 1500.
  size_t composites = 0;
  if (tree.gotoRoot() > 0) {
    do {
      DSRContentItem& item = tree.getCurrentContentItem();
      if (item.getValueType() == DSRTypes::VT_Composite) {
        ++composites;
        EXPECT_EQ(std::string(item.getCompositeReference().getSOPInstanceUID().c_str()), testing::kTid1500Sop);
        EXPECT_EQ(std::string(item.getCompositeReference().getSOPClassUID().c_str()), testing::kEnhancedSr);
      }
    } while (tree.iterate());
  }
  EXPECT_EQ(composites, 3u);
  DcmFileFormat ai;
  ASSERT_TRUE(ai.loadFile(testing::Tid1500File().c_str()).good());
  DSRDocument ai_doc;
  ASSERT_TRUE(ai_doc.read(*ai.getDataset()).good());
  OFString ai_tid, ai_map;
  ai_doc.getTree().gotoRoot();
  ai_doc.getTree().getCurrentContentItem().getTemplateIdentification(ai_tid, ai_map);
  EXPECT_EQ(std::string(ai_tid.c_str()), "1500");

  // The private code is declared.
  DcmItem* scheme = nullptr;
  ASSERT_TRUE(ds->findAndGetSequenceItem(DCM_CodingSchemeIdentificationSequence, scheme, 0).good());
  EXPECT_EQ(Get(scheme, DCM_CodingSchemeDesignator), "99RADFLOW");
}

TEST(ReportSr, PreliminaryIsUnverified) {
  if (!HaveDciodvfy()) GTEST_SKIP() << "dciodvfy (dicom3tools) not installed";
  TempDir dir;
  SignedReport r = SampleReport();
  r.status = "preliminary";
  auto written = WriteReportSr(r, dir.str());
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  KeepArtifact(written->path, "report_preliminary.dcm");
  const Validation v = Dciodvfy(written->path);
  EXPECT_TRUE(v.errors.empty()) << v.all;
  auto l = Load(written->path);
  EXPECT_EQ(Get(l->ds(), DCM_PreliminaryFlag), "PRELIMINARY");
  EXPECT_EQ(Get(l->ds(), DCM_VerificationFlag), "UNVERIFIED");
  DcmItem* verifier = nullptr;
  EXPECT_FALSE(l->ds()->findAndGetSequenceItem(DCM_VerifyingObserverSequence, verifier, 0).good());
}

TEST(ReportSr, AddendumListsItsPredecessor) {
  if (!HaveDciodvfy()) GTEST_SKIP() << "dciodvfy (dicom3tools) not installed";
  TempDir dir;
  SignedReport first = SampleReport();
  auto v1 = WriteReportSr(first, dir.str());
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  SignedReport second = SampleReport();
  second.version = 2;
  second.corrected = true;
  second.impression_text += "\nAddendum: the left lower lobe nodule was present in 2005 (outside study).";
  second.predecessor_sop_uid = v1->sop_uid;
  second.predecessor_series_uid = v1->series_uid;
  auto v2 = WriteReportSr(second, dir.str());
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  KeepArtifact(v2->path, "report_addendum.dcm");
  EXPECT_NE(v2->sop_uid, v1->sop_uid);
  const Validation v = Dciodvfy(v2->path);
  EXPECT_TRUE(v.errors.empty()) << v.all;
  auto l = Load(v2->path);
  DcmItem* study = nullptr;
  ASSERT_TRUE(l->ds()->findAndGetSequenceItem(DCM_PredecessorDocumentsSequence, study, 0).good());
  DcmItem* series = nullptr;
  ASSERT_TRUE(study->findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series, 0).good());
  EXPECT_EQ(Get(series, DCM_SeriesInstanceUID), v1->series_uid);
  DcmItem* sop = nullptr;
  ASSERT_TRUE(series->findAndGetSequenceItem(DCM_ReferencedSOPSequence, sop, 0).good());
  EXPECT_EQ(Get(sop, DCM_ReferencedSOPInstanceUID), v1->sop_uid);
  EXPECT_EQ(Get(sop, DCM_ReferencedSOPClassUID), UID_ComprehensiveSRStorage);
  EXPECT_EQ(Get(l->ds(), DCM_SeriesNumber), "9002");
}

TEST(ReportSr, WithoutSourceFileUsesTheReportsAttributesAndUtf8) {
  if (!HaveDciodvfy()) GTEST_SKIP() << "dciodvfy (dicom3tools) not installed";
  TempDir dir;
  SignedReport r = SampleReport();
  r.source_file.clear();
  r.patient_name = "Müller^Jürgen";
  r.birth_date = "19500101";
  r.findings_text += "\nKein Erguss — «no effusion».";
  r.evidence = {{r.study_uid, "1.2.3.4.5", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5.6"}};
  auto written = WriteReportSr(r, dir.str());
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  const Validation v = Dciodvfy(written->path);
  EXPECT_TRUE(v.errors.empty()) << v.all;
  auto l = Load(written->path);
  EXPECT_EQ(Get(l->ds(), DCM_PatientName), "Müller^Jürgen");
  EXPECT_EQ(Get(l->ds(), DCM_IssuerOfPatientID), "TCIA");
  EXPECT_EQ(Get(l->ds(), DCM_PatientBirthDate), "19500101");
}

TEST(ReportSr, RefusesWhatItCannotWrite) {
  TempDir dir;
  SignedReport r = SampleReport();
  r.status = "draft";
  auto bad_status = WriteReportSr(r, dir.str());
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.status().message().rfind("status:", 0), 0u);
  r = SampleReport();
  r.signed_by.clear();
  EXPECT_EQ(WriteReportSr(r, dir.str()).status().message().rfind("signed_by:", 0), 0u);
  r = SampleReport();
  r.study_uid = "1.2.3";
  auto other = WriteReportSr(r, dir.str());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message().rfind("source_file:", 0), 0u);
  r = SampleReport();
  r.source_file = dir.str() + "/missing.dcm";
  EXPECT_EQ(WriteReportSr(r, dir.str()).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::delivery
