// Relevant priors: which earlier studies of the same patient a radiologist wants beside the
// current one (docs/worklist.md, "Priors"). Pure functions.
//
// Score of a candidate (an earlier study of the same PatientID, and of the same
// IssuerOfPatientID when both carry one):
//   body region: same +50, related (head–neck, neck–chest, chest–abdomen, abdomen–pelvis,
//                whole body with any) +15, unknown on either side +10, otherwise 0;
//   modality:    a shared image modality (ModalitiesInStudy, SEG/SR/KO/PR ignored) +25;
//   recency:     20 · exp(−Δdays / 365), Δdays between the StudyDates.
// Sorted by score, then the most recent first. A candidate dated after the current study,
// or the current study itself, is not a prior.
#pragma once

#include <string>
#include <vector>

namespace radflow::workflow {

// A prior worth retrieving from a remote archive scores at least this (same region, or a
// related region in the same modality).
constexpr double kPrefetchMinScore = 50;

struct StudyFacts {
  std::string study_uid, patient_id, issuer_of_patient_id;
  std::string study_date;  // YYYYMMDD
  std::string modalities;  // '\'-joined
  std::string body_part, study_description;
};

struct RankedPrior {
  StudyFacts study;
  double score = 0;
  std::vector<std::string> reasons;  // "same region CHEST", "same modality CT", "412 days earlier"
};

// The body region of a study: BodyPartExamined (PS3.16 Annex L terms), or keywords of its
// description; "" when unknown. HEAD, NECK, CHEST, ABDOMEN, PELVIS, SPINE, EXTREMITY, WHOLEBODY.
std::string BodyRegion(const std::string& body_part, const std::string& description);

// Days from `from` to `to` (YYYYMMDD); nullopt-like -1e9 when either is not a date.
double DaysBetween(const std::string& from, const std::string& to);

std::vector<RankedPrior> RankPriors(const StudyFacts& current,
                                    const std::vector<StudyFacts>& candidates);

}  // namespace radflow::workflow
