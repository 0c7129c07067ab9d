// Routing: which apps run on a series. Pure functions over the series' attributes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ai/manifest.h"
#include "base/status.h"

namespace radflow::ai {

// The attributes routing rules see: every non-sequence, non-binary element of the series'
// first instance, File Meta Information included (by keyword, values as DICOM string
// values, each value trimmed, multi-values joined by '\'), plus the computed
// "NumberOfSeriesRelatedInstances" (the number of files) and "SliceCount" (the number of
// files, or of frames when the series is a single multi-frame file).
using SeriesFacts = std::map<std::string, std::string>;

// Reads the first file's top-level elements (values over 4 KiB, Pixel Data among them, are
// not read) and adds the computed keys. kInvalidArgument for no files; kInvalidDicom when
// the first file is unreadable.
Result<SeriesFacts> ReadSeriesFacts(const std::vector<std::string>& files);

struct RuleVerdict {
  bool matched = false;
  std::string reason;  // for a miss: "Modality: 'MR' not equal to 'CT'"
};
// An absent attribute never matches. equals / in: trimmed values, case-insensitive unless
// case_sensitive; a multi-valued attribute matches when its whole value or any one value
// does (PS3.4 C.2.2.2). regex: the whole value (std::regex_match, ECMAScript; icase unless
// case_sensitive). range: the first value read as a number, bounds inclusive; a value that
// is not a number does not match. Reasons: "SliceThickness: 5 is above 2.5".
RuleVerdict EvaluateRule(const Rule& rule, const SeriesFacts& facts);
// All rules must match; the reason names the first that did not.
RuleVerdict EvaluateRules(const std::vector<Rule>& rules, const SeriesFacts& facts);

}  // namespace radflow::ai
