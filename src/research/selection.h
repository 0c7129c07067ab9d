// Criteria → a study set (docs/research.md, "What a cohort contains"): the matching is pure
// (MatchSeries, MatchFinding); Select reads the facts from the index, the AI findings and
// the cached lesion features.
//
// A study is in the set when at least one of its image series matches the series criteria
// (modality, body part, manufacturer, model, the study's date), and — when finding or
// feature criteria are given — carries an AI finding that matches them all. Its set holds
// those image series, and the study's derived series (SEG, SR, …) that share a matched
// series' Frame of Reference or have none; its findings are the matching findings of those
// image series (all of their findings when no finding criteria are given).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "research/criteria.h"
#include "storage/job_store.h"
#include "storage/research_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
class AiAdminStore;
}  // namespace radflow::storage

namespace radflow::research {

using Counts = storage::CohortCounts;

// What the matching needs of one series (the index's columns, and ManufacturerModelName and
// FrameOfReferenceUID read from one of its files).
struct SeriesFacts {
  std::string patient_id, study_uid, series_uid;
  std::string study_date, modality, body_part, manufacturer, model, frame_of_reference;
  int64_t instances = 0;
};

// A finding with its lesion's IBSI features (research/ibsi_features.h order; empty when none
// is cached).
struct FindingFacts {
  storage::FindingRow row;
  std::vector<double> ibsi;
};

// Modalities of objects derived from images (never matched as image series).
bool IsDerivedModality(const std::string& modality);

// The series criteria (not the findings).
bool MatchSeries(const Criteria& criteria, const SeriesFacts& series);
// The finding and feature criteria (true when none is given).
bool MatchFinding(const Criteria& criteria, const FindingFacts& finding);

struct SelectedStudy {
  std::string study_uid, patient_id;
  std::vector<std::string> series_uids;  // image series first, then derived ones
  std::vector<int64_t> finding_ids;
  int64_t instances = 0;
};

struct StudySet {
  std::vector<SelectedStudy> studies;  // by study UID
  Counts counts;
};

// Pure: the set from every series of the archive and the findings of the image series
// (keyed by series UID).
StudySet SelectStudies(const Criteria& criteria, const std::vector<SeriesFacts>& series,
                       const std::map<std::string, std::vector<FindingFacts>>& findings);

// Where Select reads from. `model_of` reads ManufacturerModelName and FrameOfReferenceUID of
// one instance file (absolute path); the default parses it (dicom::ParsePart10File).
struct SelectionSources {
  storage::Index* index = nullptr;
  storage::BlobStore* blobs = nullptr;
  storage::JobStore* jobs = nullptr;
  storage::AiAdminStore* features = nullptr;  // null: no features (feature criteria match nothing)
  std::function<std::pair<std::string, std::string>(const std::string& path)> model_of;
};

// Reads the facts (series-level index rows, one file per candidate series, the findings and
// cached features of the candidates) and selects.
Result<StudySet> Select(const Criteria& criteria, const SelectionSources& sources);

}  // namespace radflow::research
