// Tracking a follow-up recommendation: does a later study satisfy it, and when is it due
// (issue 13; docs/followups.md "Tracking"). Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "followups/extract.h"

namespace radflow::followups {

// What the index knows of a candidate study of the same patient.
struct StudyFacts {
  std::vector<std::string> modalities;  // ModalitiesInStudy / the series' Modality (PS3.3 C.7.3.1.1.1)
  std::string body_part;                // BodyPartExamined of any series (PS3.16 CID 4031 terms)
  std::string study_description;        // StudyDescription
  std::string study_date;               // StudyDate YYYYMMDD; '' unknown
};

// The study's modality codes cover the recommended modality:
//   XR ← CR, DX, RF, RG (computed / digital radiography, fluoroscopy);
//   CT ← CT, unless the study is a PET-CT (PT present: its CT is for attenuation);
//   PT ← PT (with or without CT); NM ← NM; MR ← MR; US ← US; MG ← MG.
bool ModalityMatches(std::string_view recommended, const std::vector<std::string>& study_modalities);

// Regions named by BodyPartExamined and StudyDescription, as extract.h's region names:
// "CHEST", "THORAX", "LUNG", "RIBS" → chest; "ABDOMEN", "ABD" → abdomen; "PELVIS";
// "HEAD", "BRAIN", "SKULL" → head; "NECK", "THYROID"; "SPINE", "TSPINE", "LSPINE",
// "CSPINE" → spine; "BREAST", "MAMMO" → breast; "SHOULDER", "KNEE", "HIP", … → extremity;
// "WHOLEBODY", "WHOLE BODY" → whole body; "CAP" → chest, abdomen, pelvis. Concatenated
// codes ("CHESTABDOMENPELVIS") name each part.
std::vector<std::string> StudyRegions(const StudyFacts& study);

// The region of a recommendation is covered by the study: '' (none said) and "whole body"
// match any study; otherwise the study's regions must include it; a study naming no
// region at all does not satisfy a regional recommendation (a person closes it instead).
bool RegionMatches(std::string_view body_region, const StudyFacts& study);

// Satisfied by `study` when the modality and the region match and the study is not
// earlier than the recommending study's date `base_yyyymmdd` (the same day counts: the CT
// done the afternoon after the radiograph). An unknown date on either side does not
// reject. The caller checks that the study is of the same patient and is another study.
bool SatisfiesRecommendation(std::string_view modality, std::string_view body_region,
                             const StudyFacts& study, std::string_view base_yyyymmdd = "");
bool SatisfiesRecommendation(const Recommendation& rec, const StudyFacts& study,
                             std::string_view base_yyyymmdd = "");

// Days until a recommendation without an interval is due (documented in docs/followups.md):
// conditional ones 90 (a reminder to decide whether the condition arose); XR 56 (a
// radiograph to resolution: 6-8 weeks after treatment); every other modality 30 (a
// "CT for further evaluation" is a work-up, done within the month).
int DefaultIntervalDays(std::string_view modality, bool conditional);

// base (YYYYMMDD or YYYY-MM-DD) + interval_max_days, or + default_days when there is no
// interval, as "YYYY-MM-DD"; "" when base is not a valid date.
std::string DueDate(std::string_view base_yyyymmdd, std::optional<int> interval_max_days,
                    int default_days);
// DueDate with the recommendation's interval and DefaultIntervalDays.
std::string DueDate(std::string_view base_yyyymmdd, const Recommendation& rec);

// "YYYYMMDD" or "YYYY-MM-DD" → days since 1970-01-01; nullopt when not a valid date.
std::optional<long> DaysFromDate(std::string_view date);
// days since 1970-01-01 → "YYYY-MM-DD".
std::string DateFromDays(long days);

}  // namespace radflow::followups
