// Routing: a series' facts (its first instance's attributes) against an app's rules.
#include "ai/routing.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "dicom/charset.h"

namespace radflow::ai {
namespace {

std::string Trim(std::string_view s) {
  const auto is_pad = [](char c) {
    return c == ' ' || c == '\0' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && is_pad(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_pad(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> SplitValues(const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = value.find('\\', start);
    parts.push_back(Trim(std::string_view(value).substr(start, end - start)));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// Each value trimmed (DICOM pads to even length with spaces, UIDs with NUL).
std::string NormaliseValue(const std::string& value) {
  std::string out;
  for (const auto& part : SplitValues(value)) out += part + '\\';
  if (!out.empty()) out.pop_back();
  return out;
}

bool IsBinaryOrSequence(DcmEVR vr) {
  switch (vr) {
    case EVR_SQ:
    case EVR_OB:
    case EVR_OW:
    case EVR_OF:
    case EVR_OD:
    case EVR_OL:
    case EVR_OV:
    case EVR_UN:
    case EVR_ox:
    case EVR_px:
    case EVR_pixelSQ:
    case EVR_lt:
    case EVR_na:
    case EVR_up:
    case EVR_item:
    case EVR_metainfo:
    case EVR_dataset:
    case EVR_fileFormat:
    case EVR_dicomDir:
    case EVR_dirRecord:
    case EVR_pixelItem:
    case EVR_PixelData:
    case EVR_OverlayData:
    case EVR_UNKNOWN:
      return true;
    default:
      return false;
  }
}

void AddElements(DcmItem* item, SeriesFacts* facts) {
  if (item == nullptr) return;
  for (unsigned long i = 0; i < item->card(); ++i) {
    DcmElement* element = item->getElement(i);
    if (element == nullptr || IsBinaryOrSequence(element->ident())) continue;
    DcmTag tag = element->getTag();
    if (tag.isPrivate() || tag.getElement() == 0x0000) continue;  // group lengths
    const std::string keyword = tag.getTagName();
    if (keyword.empty() || keyword.find(' ') != std::string::npos) continue;  // unknown tag
    OFString value;
    if (element->getOFStringArray(value).bad()) continue;
    std::string normalised = NormaliseValue(value.c_str());
    // An empty value (Type 2, unknown) is treated as absent.
    if (normalised.empty() || normalised.find_first_not_of('\\') == std::string::npos) continue;
    (*facts)[keyword] = std::move(normalised);
  }
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<double> ParseNumber(const std::string& text) {
  const std::string s = Trim(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::string FormatNumber(double d) {
  std::ostringstream out;
  out.precision(10);
  out << d;
  return out.str();
}

RuleVerdict Miss(std::string reason) { return RuleVerdict{false, std::move(reason)}; }
RuleVerdict Match() { return RuleVerdict{true, ""}; }

// equals / in: the whole value or any one of its values (PS3.4 C.2.2.2: a multi-valued
// attribute matches when one of its values does).
bool MatchesValue(const Rule& rule, const std::string& value, const std::string& expected) {
  const std::string want = rule.case_sensitive ? Trim(expected) : Lower(Trim(expected));
  const auto same = [&](const std::string& v) {
    return (rule.case_sensitive ? v : Lower(v)) == want;
  };
  if (same(value)) return true;
  const auto parts = SplitValues(value);
  return parts.size() > 1 && std::any_of(parts.begin(), parts.end(), same);
}

RuleVerdict EvaluateRange(const Rule& rule, const std::string& value) {
  const std::string first = SplitValues(value).front();
  const std::optional<double> number = ParseNumber(first);
  if (!number) return Miss(rule.attribute + ": '" + first + "' is not a number");
  if (rule.min && *number < *rule.min) {
    return Miss(rule.attribute + ": " + FormatNumber(*number) + " is below " +
                FormatNumber(*rule.min));
  }
  if (rule.max && *number > *rule.max) {
    return Miss(rule.attribute + ": " + FormatNumber(*number) + " is above " +
                FormatNumber(*rule.max));
  }
  return Match();
}

RuleVerdict EvaluateRegex(const Rule& rule, const std::string& value) {
  try {
    auto flags = std::regex::ECMAScript;
    if (!rule.case_sensitive) flags |= std::regex::icase;
    const std::regex re(rule.pattern, flags);
    if (std::regex_match(value, re)) return Match();
    return Miss(rule.attribute + ": '" + value + "' does not match /" + rule.pattern + "/");
  } catch (const std::regex_error& e) {
    // Invalid patterns are rejected at load; this is a too-complex match.
    return Miss(rule.attribute + ": regex /" + rule.pattern + "/ failed: " + e.what());
  }
}

}  // namespace

Result<SeriesFacts> ReadSeriesFacts(const std::vector<std::string>& files) {
  if (files.empty()) return Status(ErrorCode::kInvalidArgument, "series has no files");
  DcmFileFormat file;
  // Values over 4 KiB (Pixel Data above all) are skipped, not read; they would be read
  // from the file on access, and only binary ones (never accessed here) are that large.
  // (loadFileUntilTag would log a warning for every series.)
  const OFCondition cond =
      file.loadFile(files.front().c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
  if (cond.bad()) {
    return Status(ErrorCode::kInvalidDicom, files.front() + ": " + cond.text());
  }
  DcmDataset* dataset = file.getDataset();
  // Rules are written in UTF-8; the index's conversion (with its ISO 2022 fallback) is used:
  // bytes that do not decode become U+FFFD.
  if (dataset != nullptr) (void)dicom::ConvertToUtf8(*dataset);

  SeriesFacts facts;
  AddElements(file.getMetaInfo(), &facts);
  AddElements(dataset, &facts);

  const std::string count = std::to_string(files.size());
  facts["NumberOfSeriesRelatedInstances"] = count;
  facts["SliceCount"] = count;
  Sint32 frames = 0;
  if (files.size() == 1 && dataset != nullptr &&
      dataset->findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) {
    facts["SliceCount"] = std::to_string(frames);
  }
  return facts;
}

RuleVerdict EvaluateRule(const Rule& rule, const SeriesFacts& facts) {
  auto it = facts.find(rule.attribute);
  if (it == facts.end()) return Miss(rule.attribute + ": absent or empty");
  const std::string& value = it->second;
  switch (rule.op) {
    case Rule::Op::kEquals:
      if (!rule.values.empty() && MatchesValue(rule, value, rule.values.front())) return Match();
      return Miss(rule.attribute + ": '" + value + "' not equal to '" +
                  (rule.values.empty() ? "" : rule.values.front()) + "'");
    case Rule::Op::kIn: {
      std::string list;
      for (const auto& v : rule.values) {
        if (MatchesValue(rule, value, v)) return Match();
        list += (list.empty() ? "" : ", ") + v;
      }
      return Miss(rule.attribute + ": '" + value + "' not in [" + list + "]");
    }
    case Rule::Op::kRegex:
      return EvaluateRegex(rule, value);
    case Rule::Op::kRange:
      return EvaluateRange(rule, value);
  }
  return Miss(rule.attribute + ": unknown rule");
}

RuleVerdict EvaluateRules(const std::vector<Rule>& rules, const SeriesFacts& facts) {
  for (const auto& rule : rules) {
    RuleVerdict verdict = EvaluateRule(rule, facts);
    if (!verdict.matched) return verdict;
  }
  return Match();
}

}  // namespace radflow::ai
