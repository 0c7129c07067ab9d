#include "followups/match.h"

#include "base/civil_date.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace radflow::followups {

namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void AddRegion(std::vector<std::string>* out, const std::string& r) {
  if (!Has(*out, r)) out->push_back(r);
}

// Words of a description or body part code: runs of letters ("CT CHEST W/O" → CT CHEST W O).
std::vector<std::string> Words(const std::string& upper) {
  std::vector<std::string> out;
  std::string w;
  for (char c : upper) {
    if (c >= 'A' && c <= 'Z') {
      w += c;
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

struct Keyword {
  std::string_view word;
  std::string_view region;
  bool part_of_code;  // also found inside a concatenated code ("CHESTABDOMEN")
};

constexpr std::array<Keyword, 48> kKeywords = {{
    {"WHOLEBODY", "whole body", true}, {"SPINE", "spine", true}, {"TSPINE", "spine", true},
    {"LSPINE", "spine", true}, {"CSPINE", "spine", true}, {"LUMBAR", "spine", true},
    {"SACRUM", "spine", true}, {"CHEST", "chest", true}, {"THORAX", "chest", true},
    {"LUNG", "chest", true}, {"LUNGS", "chest", false}, {"RIB", "chest", false},
    {"RIBS", "chest", false}, {"STERNUM", "chest", true}, {"PULMONARY", "chest", false},
    {"ABDOMEN", "abdomen", true}, {"ABD", "abdomen", false}, {"LIVER", "abdomen", false},
    {"RENAL", "abdomen", false}, {"KIDNEY", "abdomen", false}, {"PANCREAS", "abdomen", false},
    {"PELVIS", "pelvis", true}, {"PELVIC", "pelvis", false}, {"HEAD", "head", true},
    {"BRAIN", "head", true}, {"SKULL", "head", true}, {"NECK", "neck", true},
    {"THYROID", "neck", false}, {"BREAST", "breast", true}, {"MAMMO", "breast", true},
    {"MAMMOGRAM", "breast", false}, {"SHOULDER", "extremity", true}, {"HUMERUS", "extremity", true},
    {"ELBOW", "extremity", true}, {"WRIST", "extremity", true}, {"HAND", "extremity", false},
    {"HIP", "extremity", false}, {"FEMUR", "extremity", true}, {"KNEE", "extremity", true},
    {"ANKLE", "extremity", true}, {"FOOT", "extremity", false}, {"EXTREMITY", "extremity", true},
    {"LEG", "extremity", false}, {"ARM", "extremity", false}, {"TIBIA", "extremity", true},
    {"FOREARM", "extremity", true}, {"CLAVICLE", "extremity", true}, {"ORBIT", "head", true},
}};

void RegionsOfText(const std::string& text, std::vector<std::string>* out) {
  std::vector<std::string> words = Words(Upper(text));
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const std::string next = i + 1 < words.size() ? words[i + 1] : "";
    if (w == "WHOLE" && next == "BODY") {
      AddRegion(out, "whole body");
      continue;
    }
    if ((w == "THORACIC" || w == "CERVICAL") && next == "SPINE") continue;  // SPINE follows
    if (w == "THORACIC") {
      AddRegion(out, "chest");
      continue;
    }
    if (w == "CAP") {  // "CT CAP": chest, abdomen and pelvis
      AddRegion(out, "chest");
      AddRegion(out, "abdomen");
      AddRegion(out, "pelvis");
      continue;
    }
    bool whole = false;
    for (const auto& k : kKeywords) {
      if (w == k.word) {
        AddRegion(out, std::string(k.region));
        whole = true;
      }
    }
    if (whole) continue;
    for (const auto& k : kKeywords) {  // "CHESTABDOMENPELVIS", "TSPINE"
      if (k.part_of_code && w.size() > k.word.size() && w.find(k.word) != std::string::npos) {
        AddRegion(out, std::string(k.region));
      }
    }
  }
}

}  // namespace

bool ModalityMatches(std::string_view recommended, const std::vector<std::string>& study_modalities) {
  std::vector<std::string> m;
  for (const auto& s : study_modalities) m.push_back(Upper(s));
  if (recommended == "XR") return Has(m, "CR") || Has(m, "DX") || Has(m, "RF") || Has(m, "RG");
  if (recommended == "CT") return Has(m, "CT") && !Has(m, "PT");
  if (recommended.empty()) return false;
  return Has(m, recommended);
}

std::vector<std::string> StudyRegions(const StudyFacts& study) {
  std::vector<std::string> out;
  RegionsOfText(study.body_part, &out);
  RegionsOfText(study.study_description, &out);
  return out;
}

bool RegionMatches(std::string_view body_region, const StudyFacts& study) {
  if (body_region.empty() || body_region == "whole body") return true;
  return Has(StudyRegions(study), body_region);
}

bool SatisfiesRecommendation(std::string_view modality, std::string_view body_region,
                             const StudyFacts& study, std::string_view base_yyyymmdd) {
  if (!ModalityMatches(modality, study.modalities)) return false;
  if (!RegionMatches(body_region, study)) return false;
  auto base = DaysFromDate(base_yyyymmdd);
  auto date = DaysFromDate(study.study_date);
  if (base && date && *date < *base) return false;
  return true;
}

bool SatisfiesRecommendation(const Recommendation& rec, const StudyFacts& study,
                             std::string_view base_yyyymmdd) {
  return SatisfiesRecommendation(rec.modality, rec.body_region, study, base_yyyymmdd);
}

int DefaultIntervalDays(std::string_view modality, bool conditional) {
  if (conditional) return 90;
  if (modality == "XR") return 56;
  return 30;
}

std::optional<long> DaysFromDate(std::string_view date) {
  std::string digits;
  for (char c : date) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != '-') {
      return std::nullopt;
    }
  }
  if (digits.size() != 8 || (date.size() != 8 && date.size() != 10)) return std::nullopt;
  const long y = std::stol(digits.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoul(digits.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoul(digits.substr(6, 2)));
  if (!IsCivilDate(y, m, d)) return std::nullopt;
  return static_cast<long>(DaysFromCivil(y, m, d));
}

std::string DateFromDays(long z) {
  const CivilDate c = CivilFromDays(z);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04ld-%02u-%02u", static_cast<long>(c.year), c.month, c.day);
  return buf;
}

std::string DueDate(std::string_view base_yyyymmdd, std::optional<int> interval_max_days,
                    int default_days) {
  auto base = DaysFromDate(base_yyyymmdd);
  if (!base) return "";
  return DateFromDays(*base + (interval_max_days ? *interval_max_days : default_days));
}

std::string DueDate(std::string_view base_yyyymmdd, const Recommendation& rec) {
  return DueDate(base_yyyymmdd, rec.interval_max_days,
                 DefaultIntervalDays(rec.modality, rec.conditional));
}

}  // namespace radflow::followups
