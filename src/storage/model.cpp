#include "storage/model.h"

namespace radflow::storage {

namespace t = dicom::tags;
using L = ResourceLevel;
using K = ValueKind;

namespace {
constexpr IndexedAttribute kAttributes[] = {
    {t::kPatientID, L::kPatient, "p.patient_id", K::kText},
    {t::kPatientName, L::kPatient, "p.patient_name", K::kPersonName},
    {t::kPatientBirthDate, L::kPatient, "p.birth_date", K::kDate},
    {t::kPatientSex, L::kPatient, "p.sex", K::kText},
    {t::kNumberOfPatientRelatedStudies, L::kPatient, "p.num_studies", K::kComputed},
    {t::kNumberOfPatientRelatedSeries, L::kPatient, "p.num_series", K::kComputed},
    {t::kNumberOfPatientRelatedInstances, L::kPatient, "p.num_instances", K::kComputed},
    {t::kStudyInstanceUID, L::kStudy, "s.study_uid", K::kUid},
    {t::kStudyDate, L::kStudy, "s.study_date", K::kDate},
    {t::kStudyTime, L::kStudy, "s.study_time", K::kTime},
    {t::kAccessionNumber, L::kStudy, "s.accession_number", K::kText},
    {t::kStudyID, L::kStudy, "s.study_id", K::kText},
    {t::kStudyDescription, L::kStudy, "s.study_description", K::kText},
    {t::kReferringPhysicianName, L::kStudy, "s.referring_physician", K::kPersonName},
    {t::kModalitiesInStudy, L::kStudy, "s.modalities", K::kComputed},
    {t::kNumberOfStudyRelatedSeries, L::kStudy, "s.num_series", K::kComputed},
    {t::kNumberOfStudyRelatedInstances, L::kStudy, "s.num_instances", K::kComputed},
    {t::kSeriesInstanceUID, L::kSeries, "se.series_uid", K::kUid},
    {t::kModality, L::kSeries, "se.modality", K::kText},
    {t::kSeriesNumber, L::kSeries, "se.series_number", K::kNumber},
    {t::kSeriesDescription, L::kSeries, "se.series_description", K::kText},
    {t::kBodyPartExamined, L::kSeries, "se.body_part", K::kText},
    {t::kSeriesDate, L::kSeries, "se.series_date", K::kDate},
    {t::kSeriesTime, L::kSeries, "se.series_time", K::kTime},
    {t::kManufacturer, L::kSeries, "se.manufacturer", K::kText},
    {t::kNumberOfSeriesRelatedInstances, L::kSeries, "se.num_instances", K::kComputed},
    {t::kSOPInstanceUID, L::kInstance, "i.sop_uid", K::kUid},
    {t::kSOPClassUID, L::kInstance, "i.sop_class_uid", K::kUid},
    {t::kInstanceNumber, L::kInstance, "i.instance_number", K::kNumber},
    {t::kRows, L::kInstance, "i.rows", K::kNumber},
    {t::kColumns, L::kInstance, "i.columns", K::kNumber},
    {t::kNumberOfFrames, L::kInstance, "i.number_of_frames", K::kNumber},
    {t::kAvailableTransferSyntaxUID, L::kInstance, "i.transfer_syntax_uid", K::kUid},
};
}  // namespace

std::span<const IndexedAttribute> IndexedAttributes() { return kAttributes; }

const IndexedAttribute* FindIndexedAttribute(dicom::Tag tag) {
  for (const auto& a : kAttributes) {
    if (a.tag == tag) return &a;
  }
  return nullptr;
}

const char* LevelName(ResourceLevel level) {
  switch (level) {
    case L::kPatient: return "PATIENT";
    case L::kStudy: return "STUDY";
    case L::kSeries: return "SERIES";
    case L::kInstance: return "IMAGE";
  }
  return "";
}

std::optional<ResourceLevel> ParseLevel(std::string_view name) {
  if (name == "PATIENT") return L::kPatient;
  if (name == "STUDY") return L::kStudy;
  if (name == "SERIES") return L::kSeries;
  if (name == "IMAGE" || name == "INSTANCE") return L::kInstance;
  return std::nullopt;
}

}  // namespace radflow::storage
