// A signed report on real data for the delivery tests: the chest CT Lung_Dx-A0001 of
// ../shared/data (source_file, patient and study as stored there) with two accepted AI lung
// nodule findings, one citing a real TID 1500 SR (RSNA 2018 dataset 3, an Enhanced SR of a
// LIDC chest CT, so of another study) and one without an SR.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "delivery/signed_report.h"

namespace radflow::delivery::testing {

inline std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

inline std::string ChestCtFile() { return Data("dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel/1-01.dcm"); }

// The TID 1500 SR and its UIDs (dcmdump of the file).
inline std::string Tid1500File() {
  return Data(
      "seg_sr/tid1500_rsna2018/examples/rsna2018_dataset3/"
      "1.2.276.0.7230010.3.1.4.0.13541.1541454323.848792.dcm");
}
inline const char* kTid1500Sop = "1.2.276.0.7230010.3.1.4.0.13541.1541454323.848792";
inline const char* kTid1500Series = "1.2.276.0.7230010.3.1.3.0.13541.1541454323.848794";
inline const char* kTid1500Study = "1.3.6.1.4.1.14519.5.2.1.6279.6001.265704884949271879044145982159";
inline const char* kEnhancedSr = "1.2.840.10008.5.1.4.1.1.88.22";

inline const char* kStudyUid = "1.3.6.1.4.1.14519.5.2.1.6655.2359.165554066086145834377508507990";

inline SignedReport SampleReport() {
  SignedReport r;
  r.report_id = 42;
  r.version = 1;
  r.status = "final";
  r.signed_by = "Curie^Marie";
  r.signed_at = 1714564800000;  // 2024-05-01T12:00:00Z
  r.author = "Curie^Marie";
  r.organization = "Radiology, radflow hospital";
  r.template_id = "ct-chest";
  r.template_title = "CT chest";
  r.sections = {{"Clinical history", "Smoker, 30 pack-years. Screening."},
                {"Technique", "Low-dose CT of the chest without contrast."},
                {"Comparison", "None."}};
  r.findings_text =
      "Solid nodule in the right upper lobe measuring 7.2 mm (volume 0.19 ml).\n"
      "No pleural effusion.\n"
      "Part-solid nodule in the left lower lobe, 12 mm.";
  r.impression_text = "Lung-RADS 4A: right upper lobe nodule 7.2 mm.\nRecommend low-dose CT in 3 months.";
  r.critical_communicated = "";

  report::Proposal p1;
  p1.kind = "lung_nodule";
  p1.section_id = "findings";
  p1.sentence = "Solid nodule in the right upper lobe measuring 7.2 mm (volume 0.19 ml).";
  p1.site = "right upper lobe";
  p1.laterality = "right";
  p1.lung_rads = "4A";
  p1.finding.id = 7;
  p1.finding.app_id = "lung-nodules";
  p1.finding.app_version = "1.2.0";
  p1.finding.study_uid = kTid1500Study;
  p1.finding.label = "Nodule 1";
  p1.finding.size_mm = 7.2;
  p1.finding.volume_ml = 0.19;
  p1.finding.measurements = {{"Mean attenuation", "373098007", "SCT", -35.5, "[hnsf'U]"}};
  p1.finding.sr_sop_uid = kTid1500Sop;
  p1.finding.sr_series_uid = kTid1500Series;
  r.accepted.push_back(p1);

  report::Proposal p2;
  p2.kind = "lung_nodule";
  p2.sentence = "Part-solid nodule in the left lower lobe, 12 mm.";
  p2.site = "left lower lobe";
  p2.laterality = "left";
  p2.finding.id = 8;
  p2.finding.app_id = "lung-nodules";
  p2.finding.app_version = "1.2.0";
  p2.finding.study_uid = kStudyUid;
  p2.finding.label = "Nodule 2";
  p2.finding.measurements = {{"Solid component", "", "", 4.5, "mm"}};  // no code: private 99RADFLOW
  p2.finding.size_mm = 12;
  r.accepted.push_back(p2);

  r.sr_sop_classes[kTid1500Sop] = kEnhancedSr;
  r.study_uid = kStudyUid;
  r.patient_id = "Lung_Dx-A0001";
  r.issuer_of_patient_id = "TCIA";
  r.patient_name = "Lung_Dx-A0001";
  r.sex = "M";
  r.accession_number = "ACC-2007-0404";
  r.study_date = "20070404";
  r.study_time = "185824";
  r.study_description = "Chest";
  r.referring_physician = "House^Gregory";
  r.modalities = "CT";
  r.source_file = ChestCtFile();
  return r;
}

}  // namespace radflow::delivery::testing
