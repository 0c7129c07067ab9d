// TID 2000 Basic Diagnostic Imaging Report as a Comprehensive SR, built node by node with
// DCMTK dcmsr (as ai/results/sr_writer.cpp builds TID 1500). See sr_tid2000.h for the tree.
#include "delivery/sr_tid2000.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "dicom/charset.h"

namespace radflow::delivery {

namespace {

constexpr const char* kComprehensive3dSr = "1.2.840.10008.5.1.4.1.1.88.34";
constexpr const char* kRadflowScheme = "99RADFLOW";

DSRCodedEntryValue Dcm(const char* value, const char* meaning) { return DSRCodedEntryValue(value, "DCM", meaning); }

void Check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw std::runtime_error(what + ": " + c.text());
}

// Adds children of the tree's current node (see ai/results/sr_writer.cpp): the first below,
// the rest after it; End() goes back up.
class Children {
 public:
  explicit Children(DSRDocumentTree& tree) : tree_(tree) {}
  DSRContentItem& Add(DSRTypes::E_RelationshipType rel, DSRTypes::E_ValueType type, const DSRCodedEntryValue& name) {
    OFCondition c =
        first_ ? tree_.addChildContentItem(rel, type, name, OFFalse) : tree_.addContentItem(rel, type, name, OFFalse);
    if (c.bad()) {
      throw std::runtime_error(std::string("SR content item ") + name.getCodeMeaning().c_str() + ": " + c.text());
    }
    first_ = false;
    return tree_.getCurrentContentItem();
  }
  void End() {
    if (!first_) tree_.goUp();
  }

 private:
  DSRDocumentTree& tree_;
  bool first_ = true;
};

// PS3.5 6.2: DS is at most 16 characters.
std::string FormatDS(double v) {
  if (!std::isfinite(v)) v = 0;
  if (std::abs(v) < 1e-9) v = 0;
  char buf[32];
  for (int prec = 10; prec > 1; --prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::char_traits<char>::length(buf) <= 16) break;
  }
  return buf;
}

// Local date, time and DT with offset for ms since the epoch (DICOM dates are local).
struct LocalTime {
  std::string date, time, datetime;
};
LocalTime Local(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char d[16], tm_s[16], off[8];
  std::strftime(d, sizeof d, "%Y%m%d", &tm);
  std::strftime(tm_s, sizeof tm_s, "%H%M%S", &tm);
  std::strftime(off, sizeof off, "%z", &tm);
  return {d, tm_s, std::string(d) + tm_s + off};
}

// The TEXT concept of a paragraph under a heading (CID 7002 "Diagnostic Imaging Report
// Element"; for headings without an element of their own, the heading's DCM concept).
DSRCodedEntryValue ElementFor(const std::string& heading_code) {
  if (heading_code == "59776-5") return Dcm("121071", "Finding");
  if (heading_code == "19005-8") return Dcm("121073", "Impression");
  if (heading_code == "18783-1") return Dcm("121075", "Recommendation");
  if (heading_code == "55110-1") return Dcm("121077", "Conclusion");
  if (heading_code == "55111-9" || heading_code == "55114-3") return Dcm("121065", "Procedure Description");
  if (heading_code == "18834-2") return Dcm("121069", "Previous Finding");
  if (heading_code == "11329-0") return Dcm("121060", "History");
  if (heading_code == "55115-0") return Dcm("121062", "Request");
  if (heading_code == "18785-6") return Dcm("121109", "Indications for Procedure");
  if (heading_code == "55108-5") return Dcm("121110", "Patient Presentation");
  if (heading_code == "55107-7") return Dcm("121078", "Addendum");
  if (heading_code == "55112-7") return Dcm("121111", "Summary");
  if (heading_code == "55109-3") return Dcm("121113", "Complications");
  return Dcm("121071", "Finding");
}

std::vector<std::string> Paragraphs(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t b = line.find_first_not_of(" \t");
    if (b != std::string::npos) out.push_back(line.substr(b));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

struct Context {
  const SignedReport& report;
  bool private_codes = false;  // 99RADFLOW used: declare it (PS3.3 C.12.1)
};

DSRCodedEntryValue MeasurementConcept(Context& ctx, const report::Measurement& m) {
  if (!m.code.empty() && !m.scheme.empty()) {
    return DSRCodedEntryValue(m.code.c_str(), m.scheme.c_str(), (m.name.empty() ? m.code : m.name).c_str());
  }
  // No code: a private one from the name (PS3.16 8.2, "99" designators).
  ctx.private_codes = true;
  std::string code = "RF-";
  for (char c : m.name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (code.size() >= 16) break;
  }
  return DSRCodedEntryValue(code.c_str(), kRadflowScheme, (m.name.empty() ? "Measurement" : m.name).c_str());
}

std::string SrClassOf(const SignedReport& r, const std::string& sop_uid) {
  auto it = r.sr_sop_classes.find(sop_uid);
  return it == r.sr_sop_classes.end() || it->second.empty() ? kComprehensive3dSr : it->second;
}

// NUM (TID 1404 via TID 2001 row 5) with, when the finding came from a TID 1500 SR,
// INFERRED FROM COMPOSITE (121112, DCM, "Source of Measurement") naming that SR.
void AddMeasurement(DSRDocumentTree& tree, Children& siblings, Context& ctx, const DeliveredMeasurement& dm,
                    DSRTypes::E_RelationshipType rel) {
  const report::Measurement& m = dm.measurement;
  const std::string unit = m.unit.empty() ? "1" : m.unit;
  DSRNumericMeasurementValue value(FormatDS(m.value).c_str(),
                                   DSRCodedEntryValue(unit.c_str(), "UCUM", UcumMeaning(unit).c_str()), OFFalse);
  Check(siblings.Add(rel, DSRTypes::VT_Num, MeasurementConcept(ctx, m)).setNumericValue(value, OFFalse),
        "measurement " + m.name);
  const report::AiFinding& f = dm.proposal->finding;
  if (!f.sr_sop_uid.empty()) {
    Children source(tree);
    Check(
        source.Add(DSRTypes::RT_inferredFrom, DSRTypes::VT_Composite, Dcm("121112", "Source of Measurement"))
            .setCompositeReference(
                DSRCompositeReferenceValue(SrClassOf(ctx.report, f.sr_sop_uid).c_str(), f.sr_sop_uid.c_str()), OFFalse),
        "source of measurement " + f.sr_sop_uid);
    source.End();
  }
}

void AddSection(DSRDocumentTree& tree, Children& top, Context& ctx, const ReportSection& s,
                const std::vector<DeliveredMeasurement>& measurements) {
  top.Add(DSRTypes::RT_contains, DSRTypes::VT_Container, DSRCodedEntryValue(s.code.c_str(), "LN", s.meaning.c_str()))
      .setContinuityOfContent(DSRTypes::COC_Separate);
  Children items(tree);
  const DSRCodedEntryValue element = ElementFor(s.code);
  std::vector<bool> placed(measurements.size(), false);
  for (const std::string& paragraph : Paragraphs(s.text)) {
    Check(items.Add(DSRTypes::RT_contains, DSRTypes::VT_Text, element).setStringValue(paragraph.c_str(), OFFalse),
          "text of " + s.title);
    if (!s.findings) continue;
    // TID 2002 row 4: the sentence of an accepted finding is INFERRED FROM its measurements.
    Children inferred(tree);
    for (size_t i = 0; i < measurements.size(); ++i) {
      const std::string& sentence = measurements[i].proposal->sentence;
      if (placed[i] || sentence.empty() || paragraph.find(sentence) == std::string::npos) continue;
      AddMeasurement(tree, inferred, ctx, measurements[i], DSRTypes::RT_inferredFrom);
      placed[i] = true;
    }
    inferred.End();
  }
  if (s.findings) {
    // TID 2002 row 5: measurements whose sentence is not in the text.
    for (size_t i = 0; i < measurements.size(); ++i) {
      if (!placed[i]) AddMeasurement(tree, items, ctx, measurements[i], DSRTypes::RT_contains);
    }
  }
  items.End();
}

void BuildTree(DSRDocument& doc, Context& ctx) {
  const SignedReport& r = ctx.report;
  DSRDocumentTree& tree = doc.getTree();
  if (tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container) == 0) throw std::runtime_error("SR root");
  DSRContentItem& root = tree.getCurrentContentItem();
  // TID 2000 row 1, CID 7000 "Diagnostic Imaging Report Document Title".
  root.setConceptName(DSRCodedEntryValue("18748-4", "LN", "Diagnostic Imaging Report"));
  root.setContinuityOfContent(DSRTypes::COC_Separate);
  root.setTemplateIdentification("2000", "DCMR");

  Children top(tree);
  // TID 2000 row 2 (procedure reported), row 5 (TID 1204 language), row 7 (TID 1001 observer).
  top.Add(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, Dcm("121058", "Procedure reported"))
      .setCodeValue(DSRCodedEntryValue("363679005", "SCT", "Imaging procedure"));
  top.Add(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, Dcm("121049", "Language of Content Item and Descendants"))
      .setCodeValue(DSRCodedEntryValue("en-US", "RFC5646", "English (United States)"), OFFalse);
  const std::string observer = r.author.empty() ? r.signed_by : r.author;
  if (!observer.empty()) {
    // TID 1002 Observer Context, person observer (the report's author).
    top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Code, Dcm("121005", "Observer Type"))
        .setCodeValue(Dcm("121006", "Person"));
    Check(top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_PName, Dcm("121008", "Person Observer Name"))
              .setStringValue(observer.substr(0, 64).c_str(), OFFalse),
          "person observer name");
  }
  const std::vector<DeliveredMeasurement> measurements = AcceptedMeasurements(r);
  for (const ReportSection& s : ReportSections(r)) {
    AddSection(tree, top, ctx, s, s.findings ? measurements : std::vector<DeliveredMeasurement>{});
  }
  top.End();
}

// Patient, General Study and Patient Study attributes of the source (PS3.3 C.7.1.1, C.7.2.1,
// C.7.2.2): Type 2 ones stay present when empty.
void CopyPatientStudy(DcmItem& from, DcmItem& to) {
  const DcmTagKey kType2[] = {DCM_PatientName,    DCM_PatientID, DCM_PatientBirthDate,       DCM_PatientSex,
                              DCM_StudyDate,      DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID,
                              DCM_AccessionNumber};
  for (const auto& tag : kType2) {
    OFString v;
    from.findAndGetOFStringArray(tag, v);
    if (!v.empty()) to.putAndInsertOFStringArray(tag, v);
  }
  const DcmTagKey kOptional[] = {DCM_IssuerOfPatientID, DCM_PatientAge, DCM_PatientSize, DCM_PatientWeight,
                                 DCM_StudyDescription};
  for (const auto& tag : kOptional) {
    OFString v;
    if (from.findAndGetOFStringArray(tag, v).good() && !v.empty()) to.putAndInsertOFStringArray(tag, v);
  }
}

std::string Get(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  item.findAndGetOFString(tag, v);
  return v.c_str();
}

}  // namespace

Result<SrWritten> WriteReportSr(const SignedReport& r, const std::string& out_dir) {
  if (r.study_uid.empty()) return Status(ErrorCode::kInvalidArgument, "study_uid: missing");
  if (r.status != "preliminary" && r.status != "final") {
    return Status(ErrorCode::kInvalidArgument, "status: must be preliminary or final, got '" + r.status + "'");
  }
  if (r.status == "final" && r.signed_by.empty()) {
    return Status(ErrorCode::kInvalidArgument, "signed_by: a final report needs its verifying observer");
  }
  DcmFileFormat source;
  if (!r.source_file.empty()) {
    if (!std::filesystem::exists(r.source_file)) {
      return Status(ErrorCode::kNotFound, "source_file: no such file: " + r.source_file);
    }
    if (source.loadFile(r.source_file.c_str()).bad()) {
      return Status(ErrorCode::kInvalidDicom, "source_file: cannot read " + r.source_file);
    }
    const std::string src_study = Get(*source.getDataset(), DCM_StudyInstanceUID);
    if (src_study != r.study_uid) {
      return Status(ErrorCode::kInvalidArgument, "source_file: belongs to study " + src_study + ", not " + r.study_uid);
    }
    // The report's text is UTF-8; so are the copied patient and study attributes.
    dicom::ConvertToUtf8(*source.getDataset());
  }
  try {
    Context ctx{r};
    DSRDocument doc(DSRTypes::DT_ComprehensiveSR);
    Check(doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8), "character set");
    BuildTree(doc, ctx);
    if (!doc.isValid()) return Status(ErrorCode::kInternal, "SR document tree is not valid");
    Check(doc.createNewSeriesInStudy(r.study_uid.c_str()), "study_uid");
    doc.setSeriesNumber(std::to_string(9000 + std::max(1, r.version)).c_str());
    doc.setInstanceNumber("1");
    doc.setSeriesDescription("Radiology report");
    doc.setManufacturer("radflow");
    doc.setManufacturerModelName("radflow");
    doc.setSoftwareVersions("0.1.0");
    // Patient and study from the report (the source file, when given, overrides below).
    doc.setPatientName(r.patient_name.c_str(), OFFalse);
    doc.setPatientID(r.patient_id.c_str(), OFFalse);
    if (!r.issuer_of_patient_id.empty()) doc.setIssuerOfPatientID(r.issuer_of_patient_id.c_str(), OFFalse);
    doc.setPatientBirthDate(r.birth_date.c_str(), OFFalse);
    doc.setPatientSex(r.sex.c_str(), OFFalse);
    doc.setStudyDate(r.study_date.c_str(), OFFalse);
    doc.setStudyTime(r.study_time.c_str(), OFFalse);
    doc.setAccessionNumber(r.accession_number.c_str(), OFFalse);
    doc.setReferringPhysicianName(r.referring_physician.c_str(), OFFalse);
    if (!r.study_description.empty()) doc.setStudyDescription(r.study_description.c_str(), OFFalse);

    const LocalTime signed_at = Local(SignedAtMs(r));
    Check(doc.setContentDate(signed_at.date.c_str()), "content date");
    Check(doc.setContentTime(signed_at.time.c_str()), "content time");
    // PS3.3 C.17.2: the flags of a preliminary / final report.
    Check(doc.setPreliminaryFlag(r.status == "final" ? DSRTypes::PF_Final : DSRTypes::PF_Preliminary),
          "preliminary flag");
    Check(doc.completeDocument(), "completion flag");
    if (r.status == "final") {
      Check(doc.verifyDocument(r.signed_by.substr(0, 64).c_str(),
                               (r.organization.empty() ? std::string("radflow") : r.organization).substr(0, 64).c_str(),
                               signed_at.datetime.c_str(), OFFalse),
            "verifying observer");
    }
    if (!r.predecessor_sop_uid.empty()) {
      // PS3.3 C.17.2.1: the report version this one replaces.
      Check(
          doc.getPredecessorDocuments().addItem(
              r.study_uid.c_str(), r.predecessor_series_uid.c_str(),
              (r.predecessor_sop_class_uid.empty() ? UID_ComprehensiveSRStorage : r.predecessor_sop_class_uid.c_str()),
              r.predecessor_sop_uid.c_str()),
          "predecessor_sop_uid");
    }

    // Evidence (C.17.2.2, C.17.2.3): the study's instances and every cited AI SR.
    auto& current = doc.getCurrentRequestedProcedureEvidence();
    if (!r.evidence.empty()) {
      for (const InstanceRef& e : r.evidence) {
        // Stored UIDs are taken as they are (check off: real data has odd ones); incomplete
        // references are left out.
        if (e.series_uid.empty() || e.sop_class_uid.empty() || e.sop_instance_uid.empty()) continue;
        Check(current.addItem((e.study_uid.empty() ? r.study_uid : e.study_uid).c_str(), e.series_uid.c_str(),
                              e.sop_class_uid.c_str(), e.sop_instance_uid.c_str(), OFFalse),
              "evidence " + e.sop_instance_uid);
      }
    } else if (!r.source_file.empty()) {
      DcmDataset& s = *source.getDataset();
      Check(current.addItem(r.study_uid.c_str(), Get(s, DCM_SeriesInstanceUID).c_str(), Get(s, DCM_SOPClassUID).c_str(),
                            Get(s, DCM_SOPInstanceUID).c_str()),
            "source_file evidence");
    }
    for (const report::Proposal& p : r.accepted) {
      const report::AiFinding& f = p.finding;
      if (f.sr_sop_uid.empty() || f.sr_series_uid.empty()) continue;
      const bool same_study = f.study_uid.empty() || f.study_uid == r.study_uid;
      auto& list = same_study ? current : doc.getPertinentOtherEvidence();
      Check(list.addItem((same_study ? r.study_uid : f.study_uid).c_str(), f.sr_series_uid.c_str(),
                         SrClassOf(r, f.sr_sop_uid).c_str(), f.sr_sop_uid.c_str()),
            "AI SR evidence " + f.sr_sop_uid);
    }
    if (ctx.private_codes) {
      Check(doc.getCodingSchemeIdentification().addItem(kRadflowScheme, "", "radflow measurement names", "radflow"),
            "coding scheme");
    }

    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    Check(doc.write(ds), "write SR");
    if (!r.source_file.empty()) CopyPatientStudy(*source.getDataset(), ds);

    SrWritten out;
    out.sop_uid = Get(ds, DCM_SOPInstanceUID);
    out.series_uid = Get(ds, DCM_SeriesInstanceUID);
    out.sop_class_uid = Get(ds, DCM_SOPClassUID);
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    out.path = (std::filesystem::path(out_dir) / (out.sop_uid + ".dcm")).string();
    OFCondition c = file.saveFile(out.path.c_str(), EXS_LittleEndianExplicit);
    if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + out.path + ": " + c.text());
    return out;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("report SR: ") + e.what());
  }
}

}  // namespace radflow::delivery
