#include "workflow/priors.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <sstream>

namespace radflow::workflow {

namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::set<std::string> ImageModalities(const std::string& joined) {
  std::set<std::string> out;
  std::stringstream in(joined);
  for (std::string m; std::getline(in, m, '\\');) {
    if (!m.empty() && m != "SEG" && m != "SR" && m != "KO" && m != "PR") out.insert(m);
  }
  return out;
}

bool Related(const std::string& a, const std::string& b) {
  static const std::set<std::pair<std::string, std::string>> kPairs = {
      {"HEAD", "NECK"}, {"NECK", "CHEST"}, {"CHEST", "ABDOMEN"}, {"ABDOMEN", "PELVIS"},
      {"CHEST", "SPINE"}, {"ABDOMEN", "SPINE"}};
  if (a == "WHOLEBODY" || b == "WHOLEBODY") return true;
  return kPairs.count({a, b}) || kPairs.count({b, a});
}

}  // namespace

std::string BodyRegion(const std::string& body_part, const std::string& description) {
  // Keywords of BodyPartExamined (PS3.16 Annex L) and of free-text descriptions, first match.
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kRegions = {
      {"WHOLEBODY", {"WHOLEBODY", "WHOLE BODY", "WHOLE-BODY"}},
      {"HEAD", {"HEAD", "BRAIN", "SKULL", "CRANI", "ORBIT", "SINUS", "IAC"}},
      {"NECK", {"NECK", "LARYNX", "THYROID", "CSPINE"}},
      {"CHEST", {"CHEST", "THORAX", "LUNG", "THOR", "BREAST", "HEART", "CARDIAC", "CTPA"}},
      {"ABDOMEN", {"ABDOMEN", "ABD", "LIVER", "KIDNEY", "RENAL", "PANCREA"}},
      {"PELVIS", {"PELVIS", "HIP", "PROSTATE", "BLADDER"}},
      {"SPINE", {"SPINE", "LSPINE", "TSPINE", "LUMBAR", "THORACIC SPINE"}},
      {"EXTREMITY", {"KNEE", "ANKLE", "FOOT", "HAND", "WRIST", "ELBOW", "SHOULDER", "LEG",
                     "ARM", "EXTREMITY", "FEMUR"}},
  };
  for (const std::string& text : {Upper(body_part), Upper(description)}) {
    if (text.empty()) continue;
    for (const auto& [region, words] : kRegions) {
      for (const auto& w : words) {
        if (text.find(w) != std::string::npos) return region;
      }
    }
  }
  return "";
}

double DaysBetween(const std::string& from, const std::string& to) {
  auto parse = [](const std::string& d) -> std::optional<std::chrono::sys_days> {
    if (d.size() < 8 || !std::all_of(d.begin(), d.begin() + 8, ::isdigit)) return std::nullopt;
    using namespace std::chrono;
    year_month_day ymd{year(std::stoi(d.substr(0, 4))), month(std::stoul(d.substr(4, 2))),
                       day(std::stoul(d.substr(6, 2)))};
    if (!ymd.ok()) return std::nullopt;
    return sys_days(ymd);
  };
  auto a = parse(from), b = parse(to);
  if (!a || !b) return -1e9;
  return static_cast<double>((*b - *a).count());
}

std::vector<RankedPrior> RankPriors(const StudyFacts& current,
                                    const std::vector<StudyFacts>& candidates) {
  const std::string region = BodyRegion(current.body_part, current.study_description);
  const auto modalities = ImageModalities(current.modalities);
  std::vector<RankedPrior> out;
  for (const auto& c : candidates) {
    if (c.study_uid == current.study_uid || c.patient_id != current.patient_id) continue;
    if (!c.issuer_of_patient_id.empty() && !current.issuer_of_patient_id.empty() &&
        c.issuer_of_patient_id != current.issuer_of_patient_id) {
      continue;
    }
    const double days = DaysBetween(c.study_date, current.study_date);
    if (days < 0 && days > -1e8) continue;  // after the current study: not a prior
    RankedPrior r{c, 0, {}};
    const std::string other = BodyRegion(c.body_part, c.study_description);
    if (!region.empty() && region == other) {
      r.score += 50;
      r.reasons.push_back("same region " + region);
    } else if (region.empty() || other.empty()) {
      r.score += 10;
      r.reasons.push_back("region unknown");
    } else if (Related(region, other)) {
      r.score += 15;
      r.reasons.push_back("related region " + other);
    } else {
      r.reasons.push_back("other region " + other);
    }
    for (const auto& m : ImageModalities(c.modalities)) {
      if (modalities.count(m)) {
        r.score += 25;
        r.reasons.push_back("same modality " + m);
        break;
      }
    }
    if (days >= 0) {
      r.score += 20 * std::exp(-days / 365.0);
      r.reasons.push_back(std::to_string(static_cast<int64_t>(days)) + " days earlier");
    } else {
      r.reasons.push_back("date unknown");
    }
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const RankedPrior& a, const RankedPrior& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.study.study_date > b.study.study_date;
  });
  return out;
}

}  // namespace radflow::workflow
