// Cohort criteria (docs/research.md, "Criteria"): which studies a cohort selects, by
// metadata of the index, the AI findings of their series and the IBSI radiomics features of
// each lesion. Every part is optional; a study matches the AND of what is given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::research {

struct FeatureRange {
  std::string name;  // an IBSI feature tag (research/ibsi_features.h), e.g. "morph_volume"
  std::optional<double> min, max;
};

struct FindingCriteria {
  std::string type;      // finding type: its code value, or a case-insensitive part of its meaning or label
  std::optional<double> min_size_mm, max_size_mm;
  std::string severity;  // at least this severity: info < low < moderate < high < critical
  bool empty() const { return type.empty() && !min_size_mm && !max_size_mm && severity.empty(); }
};

struct Criteria {
  std::vector<std::string> modality;   // any of (case-insensitive); of an image series
  std::vector<std::string> body_part;  // BodyPartExamined, any of (case-insensitive)
  std::string study_date_from, study_date_to;  // YYYYMMDD, inclusive
  std::string manufacturer, model;     // case-insensitive part of Manufacturer / ManufacturerModelName
  std::optional<FindingCriteria> finding;
  std::vector<FeatureRange> features;
  // True when a finding must match (finding or feature criteria given).
  bool SelectsFindings() const { return (finding && !finding->empty()) || !features.empty(); }
};

// Parses the criteria JSON object. InvalidArgument naming the field for a wrong type, a bad
// date, an unknown severity or feature name, an unknown key, or a min above its max.
Result<Criteria> ParseCriteria(std::string_view json);
// The criteria as a JSON object (only the parts given), for the store and the manifest.
std::string CriteriaJson(const Criteria& criteria);

// Severity rank: info 1 … critical 5; 0 for an unknown name.
int SeverityRank(std::string_view severity);

}  // namespace radflow::research
