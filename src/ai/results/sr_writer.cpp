// TID 1500 Measurement Report (PS3.16 TID 1500) as a Comprehensive 3D SR (PS3.3 A.35.13),
// the content tree built node by node with DCMTK dcmsr (the cmr template classes live in
// libcmr, which radflow does not link). A finding with a SEG segment becomes a TID 1411
// Volumetric ROI group referencing that segment; any other finding a TID 1501 Measurement
// Group. A finding's centre, when set, is a SCOORD3D POINT (111010, DCM, "Center"). A finding
// compared with a prior examination (Finding::prior) keeps its Tracking Identifier / UID and
// carries its status and growth measures (private 99RADFLOW codes: no standard concept for
// them); the prior's report is listed in PertinentOtherEvidenceSequence (PS3.3 C.17.2).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <stdexcept>

#include "ai/codes.h"
#include "ai/results/results_internal.h"

namespace radflow::ai {
using namespace results_internal;

namespace {

DSRCodedEntryValue Coded(const Code& c) {
  return DSRCodedEntryValue(c.value.c_str(), c.scheme.c_str(), c.meaning.c_str());
}
DSRCodedEntryValue Dcm(const char* value, const char* meaning) {
  return DSRCodedEntryValue(value, "DCM", meaning);
}

// Longitudinal tracking (docs/ai-results.md, "Longitudinal tracking"): PS3.16 has no
// concepts for a lesion's status across examinations, its volume change, long-axis change
// or doubling time, so these are private (PS3.16 8.2: designator "99…", declared in the
// CodingSchemeIdentificationSequence).
constexpr const char* kRadflowScheme = "99RADFLOW";
DSRCodedEntryValue Radflow(const char* value, const char* meaning) {
  return DSRCodedEntryValue(value, kRadflowScheme, meaning);
}
const Code kLongitudinalStatus{"RFLT-STATUS", kRadflowScheme, "Longitudinal status"};
const Code kVolumeChange{"RFLT-VOLCHG", kRadflowScheme, "Volume change"};
const Code kLongAxisChange{"RFLT-AXISCHG", kRadflowScheme, "Long axis change"};
const Code kDoublingTime{"RFLT-VDT", kRadflowScheme, "Volume doubling time"};
const Code kInterval{"RFLT-INTERVAL", kRadflowScheme, "Interval since prior examination"};
const Code kDays{"d", "UCUM", "day"};

DSRCodedEntryValue StatusCode(const std::string& status) {
  if (status == "new") return Radflow("RFLT-NEW", "New lesion");
  if (status == "resolved") return Radflow("RFLT-RESOLVED", "Resolved lesion");
  return Radflow("RFLT-TRACKED", "Tracked lesion");
}

// Adds the children of the tree's current node: the first with addChildContentItem, the
// rest as its siblings; End() moves the cursor back to the parent.
class Children {
 public:
  explicit Children(DSRDocumentTree& tree) : tree_(tree) {}
  DSRContentItem& Add(DSRTypes::E_RelationshipType rel, DSRTypes::E_ValueType type,
                      const DSRCodedEntryValue& name) {
    OFCondition c = first_ ? tree_.addChildContentItem(rel, type, name, OFFalse)
                           : tree_.addContentItem(rel, type, name, OFFalse);
    if (c.bad()) throw std::runtime_error(std::string("SR content item: ") + c.text());
    first_ = false;
    return tree_.getCurrentContentItem();
  }
  // An item without a concept name (an Image Library entry, TID 1601).
  DSRContentItem& AddUnnamed(DSRTypes::E_RelationshipType rel, DSRTypes::E_ValueType type) {
    size_t id = tree_.addContentItem(rel, type, first_ ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent);
    if (id == 0) throw std::runtime_error("SR content item rejected");
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

void Check(const OFCondition& c, const std::string& what) {
  if (c.bad()) throw std::runtime_error(what + ": " + c.text());
}

// Finding.measurements plus volume and longest diameter when set (TID 1419 / TID 300).
std::vector<Measurement> AllMeasurements(const Finding& f) {
  std::vector<Measurement> out = f.measurements;
  auto has = [&](const std::string& value) {
    for (const auto& m : out) {
      if (m.name.value == value) return true;
    }
    return false;
  };
  if (f.volume_ml > 0 && !has(codes::kVolume.value)) out.push_back({codes::kVolume, f.volume_ml, codes::kMl});
  if (f.size_mm > 0 && !has(codes::kLongAxis.value)) out.push_back({codes::kLongAxis, f.size_mm, codes::kMm});
  return out;
}

// The growth measures of a finding compared with a prior examination (after its own).
std::vector<Measurement> LongitudinalMeasurements(const PriorComparison& p) {
  std::vector<Measurement> out;
  if (p.status == "tracked") {
    out.push_back({kVolumeChange, p.volume_change_pct, codes::kPercent});
    out.push_back({kLongAxisChange, p.diameter_change_mm, codes::kMm});
    if (p.doubling_time_days) out.push_back({kDoublingTime, *p.doubling_time_days, kDays});
  }
  if (p.interval_days > 0) out.push_back({kInterval, p.interval_days, kDays});
  return out;
}

// One Measurement Group (TID 1501 / TID 1411 rows), below the tree's current node.
void AddGroup(DSRDocumentTree& tree, Children& groups, const Finding& f, const LoadedSource& src,
              const WrittenObject* segmentation) {
  DSRContentItem& group = groups.Add(DSRTypes::RT_contains, DSRTypes::VT_Container,
                                     Dcm("125007", "Measurement Group"));
  group.setContinuityOfContent(DSRTypes::COC_Separate);
  group.setTemplateIdentification(segmentation ? "1411" : "1501", "DCMR");
  Children rows(tree);
  const std::string tracking = !f.tracking_id.empty() ? f.tracking_id : f.label.empty() ? f.type.meaning : f.label;
  Check(rows.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, Dcm("112039", "Tracking Identifier"))
            .setStringValue(tracking.substr(0, 64).c_str(), OFFalse), "tracking identifier");
  // The same UID in every examination's report names the same lesion (TID 1500 tracking).
  const std::string uid = f.tracking_uid.empty() ? NewUid() : f.tracking_uid;
  Check(rows.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, Dcm("112040", "Tracking Unique Identifier"))
            .setStringValue(uid.c_str()), "tracking UID");
  if (!f.type.empty()) {
    Check(rows.Add(DSRTypes::RT_contains, DSRTypes::VT_Code, Dcm("121071", "Finding"))
              .setCodeValue(Coded(f.type), OFFalse), "finding");
  }
  if (segmentation) {
    DSRImageReferenceValue segment(UID_SegmentationStorage, segmentation->sop_instance_uid.c_str());
    segment.getSegmentList().addItem(static_cast<Uint16>(f.segment_number));
    Check(rows.Add(DSRTypes::RT_contains, DSRTypes::VT_Image, Dcm("121191", "Referenced Segment"))
              .setImageReference(segment, OFFalse), "referenced segment");
    Check(rows.Add(DSRTypes::RT_contains, DSRTypes::VT_UIDRef, Dcm("121232", "Source series for segmentation"))
              .setStringValue(src.series_instance_uid.c_str()), "source series");
  }
  const bool has_center = f.center[0] != 0 || f.center[1] != 0 || f.center[2] != 0;
  if (has_center && !src.frame_of_reference_uid.empty()) {
    DSRContentItem& item = rows.Add(DSRTypes::RT_contains, DSRTypes::VT_SCoord3D, Dcm("111010", "Center"));
    DSRSpatialCoordinates3DValue* point = item.getSpatialCoordinates3DPtr();
    if (point) {
      *point = DSRSpatialCoordinates3DValue(DSRTypes::GT3_Point);
      point->getGraphicDataList().addItem(static_cast<Float32>(f.center[0]), static_cast<Float32>(f.center[1]),
                                          static_cast<Float32>(f.center[2]));
      Check(point->setFrameOfReferenceUID(src.frame_of_reference_uid.c_str()), "centre frame of reference");
    }
  }
  if (f.prior) {
    Check(rows.Add(DSRTypes::RT_contains, DSRTypes::VT_Code, Coded(kLongitudinalStatus))
              .setCodeValue(StatusCode(f.prior->status), OFFalse), "longitudinal status");
  }
  std::vector<Measurement> measurements = AllMeasurements(f);
  if (f.prior) {
    for (auto& m : LongitudinalMeasurements(*f.prior)) measurements.push_back(std::move(m));
  }
  for (const auto& m : measurements) {
    DSRNumericMeasurementValue value(FormatDS(m.value).c_str(), Coded(m.unit), OFFalse);
    Check(rows.Add(DSRTypes::RT_contains, DSRTypes::VT_Num, Coded(m.name)).setNumericValue(value, OFFalse),
          "measurement " + m.name.meaning);
  }
  rows.End();
}

void BuildTree(DSRDocument& doc, const std::vector<Finding>& findings, const LoadedSource& src,
               const Algorithm& algorithm, const WrittenObject* segmentation) {
  DSRDocumentTree& tree = doc.getTree();
  if (tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container) == 0) {
    throw std::runtime_error("SR root");
  }
  DSRContentItem& root = tree.getCurrentContentItem();
  root.setConceptName(Dcm("126000", "Imaging Measurement Report"));
  root.setContinuityOfContent(DSRTypes::COC_Separate);
  root.setTemplateIdentification("1500", "DCMR");
  const Equipment equipment = EquipmentOf(algorithm);

  Children top(tree);
  // TID 1204 language, TID 1001/1004 device observer (the algorithm), procedure reported.
  top.Add(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, Dcm("121049", "Language of Content Item and Descendants"))
      .setCodeValue(DSRCodedEntryValue("en-US", "RFC5646", "English (United States)"), OFFalse);
  top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Code, Dcm("121005", "Observer Type"))
      .setCodeValue(Dcm("121007", "Device"));
  top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_UIDRef, Dcm("121012", "Device Observer UID"))
      .setStringValue(NewUid().c_str());
  top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, Dcm("121013", "Device Observer Name"))
      .setStringValue(equipment.model_name.c_str(), OFFalse);
  top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, Dcm("121014", "Device Observer Manufacturer"))
      .setStringValue(equipment.manufacturer.c_str(), OFFalse);
  top.Add(DSRTypes::RT_hasObsContext, DSRTypes::VT_Text, Dcm("121015", "Device Observer Model Name"))
      .setStringValue(equipment.model_name.c_str(), OFFalse);
  top.Add(DSRTypes::RT_hasConceptMod, DSRTypes::VT_Code, Dcm("121058", "Procedure reported"))
      .setCodeValue(DSRCodedEntryValue("363679005", "SCT", "Imaging procedure"));

  // TID 1600 Image Library: one group, one IMAGE entry per source image.
  top.Add(DSRTypes::RT_contains, DSRTypes::VT_Container, Dcm("111028", "Image Library"))
      .setContinuityOfContent(DSRTypes::COC_Separate);
  Children library(tree);
  library.Add(DSRTypes::RT_contains, DSRTypes::VT_Container, Dcm("126200", "Image Library Group"))
      .setContinuityOfContent(DSRTypes::COC_Separate);
  Children entries(tree);
  for (const auto& inst : src.instances) {
    entries.AddUnnamed(DSRTypes::RT_contains, DSRTypes::VT_Image)
        .setImageReference(DSRImageReferenceValue(inst.sop_class_uid.c_str(), inst.sop_instance_uid.c_str()),
                           OFFalse);
  }
  entries.End();
  library.End();

  if (!findings.empty()) {
    top.Add(DSRTypes::RT_contains, DSRTypes::VT_Container, Dcm("126010", "Imaging Measurements"))
        .setContinuityOfContent(DSRTypes::COC_Separate);
    Children groups(tree);
    for (const Finding& f : findings) {
      AddGroup(tree, groups, f, src, f.segment_number > 0 ? segmentation : nullptr);
    }
    groups.End();
  }
  top.End();
}

}  // namespace

Result<WrittenObject> results_internal::WriteMeasurementReport(const std::vector<Finding>& findings,
                                                               const LoadedSource& src,
                                                               const Algorithm& algorithm,
                                                               const WrittenObject* segmentation,
                                                               const std::string& path, int series_number) {
  try {
    DSRDocument doc(DSRTypes::DT_Comprehensive3DSR);
    BuildTree(doc, findings, src, algorithm, segmentation);
    if (!doc.isValid()) return Status(ErrorCode::kInternal, "SR document tree is not valid");
    const Equipment equipment = EquipmentOf(algorithm);
    Check(doc.createNewSeriesInStudy(src.study_instance_uid.c_str()), "study");
    doc.setSeriesNumber(std::to_string(series_number).c_str());
    doc.setInstanceNumber("1");
    doc.setSeriesDescription(("AI " + equipment.model_name + " measurements").substr(0, 64).c_str(), OFFalse);
    doc.setManufacturer(equipment.manufacturer.c_str(), OFFalse);
    doc.setManufacturerModelName(equipment.model_name.c_str(), OFFalse);
    doc.setSoftwareVersions(equipment.software_versions.c_str(), OFFalse);
    doc.setDeviceSerialNumber(equipment.serial_number.c_str(), OFFalse);
    doc.completeDocument();

    // CurrentRequestedProcedureEvidenceSequence (C.17.2.2): the source images and the SEG.
    auto& evidence = doc.getCurrentRequestedProcedureEvidence();
    for (const auto& inst : src.instances) {
      evidence.addItem(src.study_instance_uid.c_str(), src.series_instance_uid.c_str(),
                       inst.sop_class_uid.c_str(), inst.sop_instance_uid.c_str());
    }
    if (segmentation) {
      evidence.addItem(src.study_instance_uid.c_str(), segmentation->series_instance_uid.c_str(),
                       segmentation->sop_class_uid.c_str(), segmentation->sop_instance_uid.c_str());
    }
    // PertinentOtherEvidenceSequence (C.17.2.3): the prior examinations' objects the
    // findings were compared with (each once); the private codes' scheme declared (C.12.1).
    bool compared = false;
    for (const Finding& f : findings) {
      if (!f.prior) continue;
      compared = true;
      const PriorComparison& p = *f.prior;
      if (p.sop_instance_uid.empty()) continue;
      Check(doc.getPertinentOtherEvidence().addItem(p.study_uid.c_str(), p.series_uid.c_str(), p.sop_class_uid.c_str(),
                                                    p.sop_instance_uid.c_str()),
            "pertinent other evidence");
    }
    if (compared) {
      Check(doc.getCodingSchemeIdentification().addItem(kRadflowScheme, "", "radflow longitudinal tracking",
                                                        "radflow"),
            "coding scheme");
    }

    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    Check(doc.write(ds), "write SR");
    CopyPatientStudy(*src.first->getDataset(), ds);
    AddContributingEquipment(ds, algorithm);
    if (Status st = SaveDataset(file, path); !st.ok()) return st;

    WrittenObject out;
    out.path = path;
    out.kind = "sr";
    OFString v;
    ds.findAndGetOFString(DCM_SOPClassUID, v);
    out.sop_class_uid = v.c_str();
    ds.findAndGetOFString(DCM_SOPInstanceUID, v);
    out.sop_instance_uid = v.c_str();
    ds.findAndGetOFString(DCM_SeriesInstanceUID, v);
    out.series_instance_uid = v.c_str();
    return out;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("SR writer: ") + e.what());
  }
}

Result<WrittenObject> WriteMeasurementReport(const std::vector<Finding>& findings,
                                             const SourceSeries& source,
                                             const Algorithm& algorithm,
                                             const WrittenObject* segmentation,
                                             const std::string& path, int series_number) {
  auto src = LoadSource(source);
  if (!src.ok()) return src.status();
  return results_internal::WriteMeasurementReport(findings, *src, algorithm, segmentation, path, series_number);
}

}  // namespace radflow::ai
