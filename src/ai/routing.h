// Routing: which apps run on a series. Pure functions over the series' attributes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ai/manifest.h"
#include "base/status.h"

namespace radflow::ai {

// The attributes routing rules see: every element of the series' first instance (by
// keyword, values as DICOM string values; multi-values joined by '\'), plus the computed
// "NumberOfSeriesRelatedInstances" and "SliceCount" (both = number of instances, or of
// frames for a single multi-frame instance).
using SeriesFacts = std::map<std::string, std::string>;

// Reads the first file's top-level elements (no pixel data) and adds the computed keys.
Result<SeriesFacts> ReadSeriesFacts(const std::vector<std::string>& files);

struct RuleVerdict {
  bool matched = false;
  std::string reason;  // for a miss: "Modality: 'MR' not equal to 'CT'"
};
// An absent attribute never matches (except kRange? no: absent never matches).
RuleVerdict EvaluateRule(const Rule& rule, const SeriesFacts& facts);
// All rules must match; the reason names the first that did not.
RuleVerdict EvaluateRules(const std::vector<Rule>& rules, const SeriesFacts& facts);

}  // namespace radflow::ai
