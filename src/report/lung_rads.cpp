#include "report/lung_rads.h"

#include <cctype>
#include <cmath>
#include <string_view>

#include "report/text_scan.h"

namespace radflow::report {
namespace {

// Lung-RADS v2022 measures mean diameters to one decimal place.
double OneDecimal(double mm) { return std::round(mm * 10.0) / 10.0; }

// Baseline category of a nodule by size alone (v2022 table, baseline rows).
std::string BaselineCategory(NoduleType type, double d, double solid, std::string* reason) {
  switch (type) {
    case NoduleType::kSolid:
      if (d < 6) { *reason = "solid, baseline, < 6 mm"; return "2"; }
      if (d < 8) { *reason = "solid, baseline, 6 to < 8 mm"; return "3"; }
      if (d < 15) { *reason = "solid, baseline, 8 to < 15 mm"; return "4A"; }
      *reason = "solid, baseline, >= 15 mm";
      return "4B";
    case NoduleType::kPartSolid:
      if (d < 6) { *reason = "part-solid, baseline, total < 6 mm"; return "2"; }
      if (solid < 6) { *reason = "part-solid, baseline, total >= 6 mm with solid component < 6 mm"; return "3"; }
      if (solid < 8) { *reason = "part-solid, baseline, solid component 6 to < 8 mm"; return "4A"; }
      *reason = "part-solid, baseline, solid component >= 8 mm";
      return "4B";
    case NoduleType::kGroundGlass:
      if (d < 30) { *reason = "ground-glass, baseline, < 30 mm"; return "2"; }
      *reason = "ground-glass, baseline, >= 30 mm";
      return "3";
  }
  return "";
}

}  // namespace

std::optional<NoduleType> ParseNoduleType(const std::string& text) {
  const std::string t = scan::Lower(text);
  if (t.find("part-solid") != std::string::npos || t.find("part solid") != std::string::npos ||
      t.find("partly solid") != std::string::npos || t.find("semi-solid") != std::string::npos ||
      t.find("semisolid") != std::string::npos || t.find("mixed") != std::string::npos)
    return NoduleType::kPartSolid;
  if (t.find("ground-glass") != std::string::npos || t.find("ground glass") != std::string::npos ||
      scan::HasWord(t, "ggn") || scan::HasWord(t, "ggo") || t.find("non-solid") != std::string::npos ||
      t.find("nonsolid") != std::string::npos)
    return NoduleType::kGroundGlass;
  if (scan::HasWord(t, "solid")) return NoduleType::kSolid;
  return std::nullopt;
}

const char* NoduleTypeName(NoduleType type) {
  switch (type) {
    case NoduleType::kSolid: return "solid";
    case NoduleType::kPartSolid: return "part-solid";
    case NoduleType::kGroundGlass: return "ground-glass";
  }
  return "solid";
}

bool LungRadsGrowth(double prior_mean_mm, double current_mean_mm) {
  return OneDecimal(current_mean_mm) - OneDecimal(prior_mean_mm) > 1.5 + 1e-9;
}

int LungRadsRank(const std::string& c) {
  if (c == "0") return 0;
  if (c == "1") return 1;
  if (c == "2") return 2;
  if (c == "3") return 3;
  if (c == "4A") return 4;
  if (c == "4B") return 5;
  if (c == "4X") return 6;
  return 0;
}

std::string NormaliseLungRadsCategory(const std::string& text) {
  auto found = scan::FindLungRads(text.find("ung") == std::string::npos ? "Lung-RADS " + text : text);
  if (!found.empty()) return found.front().category;
  // Bare "4a", "category 3".
  std::string t;
  for (char c : text) if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (t.rfind("CATEGORY", 0) == 0) t = t.substr(8);
  if (t == "1" || t == "2" || t == "3" || t == "4A" || t == "4B" || t == "4X") return t;
  return "";
}

LungRadsResult LungRadsCategory(const LungRadsInput& in) {
  LungRadsResult r;
  const double d = OneDecimal(in.mean_diameter_mm);
  const double solid = OneDecimal(in.type == NoduleType::kSolid ? in.mean_diameter_mm : in.solid_component_mm);
  if (in.benign_features) return LungRadsResult{"1", "benign calcification or fat", false};
  bool growing = in.growing;
  if (!in.baseline && !in.is_new && in.prior_mean_diameter_mm) {
    if (in.type == NoduleType::kPartSolid && in.prior_solid_component_mm) {
      growing = LungRadsGrowth(*in.prior_solid_component_mm, in.solid_component_mm) ||
                LungRadsGrowth(*in.prior_mean_diameter_mm, in.mean_diameter_mm);
    } else {
      growing = LungRadsGrowth(*in.prior_mean_diameter_mm, in.mean_diameter_mm);
    }
  }
  if (in.baseline) growing = false;
  r.growing = growing;
  std::string cat;
  auto set = [&](std::string_view c, std::string_view why) {
    cat.assign(c);
    r.reason.assign(why);
  };
  if (in.type == NoduleType::kSolid && in.juxtapleural && d < 10 && (in.baseline || in.is_new)) {
    set("2", "juxtapleural solid nodule < 10 mm");
  } else if (in.baseline) {
    cat = BaselineCategory(in.type, d, solid, &r.reason);
  } else if (in.is_new) {
    switch (in.type) {
      case NoduleType::kSolid:
        if (d < 4) set("2", "solid, new, < 4 mm");
        else if (d < 6) set("3", "solid, new, 4 to < 6 mm");
        else if (d < 8) set("4A", "solid, new, 6 to < 8 mm");
        else set("4B", "solid, new, >= 8 mm");
        break;
      case NoduleType::kPartSolid:
        if (d < 6) set("3", "part-solid, new, total < 6 mm");
        else if (solid < 4) set("4A", "part-solid, new, solid component < 4 mm");
        else set("4B", "part-solid, new, solid component >= 4 mm");
        break;
      case NoduleType::kGroundGlass:
        if (d < 30) set("2", "ground-glass, new, < 30 mm");
        else set("3", "ground-glass, new, >= 30 mm");
        break;
    }
  } else if (growing) {
    switch (in.type) {
      case NoduleType::kSolid:
        if (d < 8) set("4A", "solid, growing, < 8 mm");
        else set("4B", "solid, growing, >= 8 mm");
        break;
      case NoduleType::kPartSolid:
        if (d < 6) set("3", "part-solid, growing, total < 6 mm");
        else if (solid < 4) set("4A", "part-solid, growing, solid component < 4 mm");
        else set("4B", "part-solid, growing, solid component >= 4 mm");
        break;
      case NoduleType::kGroundGlass:
        // v2022: growing < 30 mm is 2; >= 30 mm only "unchanged or slowly growing" is 2 —
        // without the rate, a growing >= 30 mm GGN stays 3.
        if (d < 30) set("2", "ground-glass, growing, < 30 mm");
        else set("3", "ground-glass, growing, >= 30 mm");
        break;
    }
  } else {
    // Follow-up, present before, not growing: stepped management. The prior category is the
    // caller's, else the baseline category at the prior size (or the current size).
    std::string prior = in.prior_category;
    if (prior.empty()) {
      std::string unused;
      const double pd = in.prior_mean_diameter_mm ? OneDecimal(*in.prior_mean_diameter_mm) : d;
      const double ps = in.prior_solid_component_mm ? OneDecimal(*in.prior_solid_component_mm) : solid;
      prior = BaselineCategory(in.type, pd, in.type == NoduleType::kSolid ? pd : ps, &unused);
    }
    std::string size_reason;
    const std::string by_size = BaselineCategory(in.type, d, solid, &size_reason);
    if (prior == "3") {
      set("2", "category 3 nodule stable or decreased at follow-up");
    } else if (prior == "4A") {
      set("3", "category 4A nodule stable or decreased at follow-up");
    } else if (prior == "1" || prior == "2") {
      set("2", "nodule stable at follow-up");
    } else {
      cat = by_size, r.reason = size_reason + " (stable at follow-up)";
    }
  }
  if (in.suspicious_features && (cat == "3" || cat == "4A" || cat == "4B")) {
    cat = "4X";
    r.reason += "; additional features raising suspicion";
  }
  r.category = cat;
  return r;
}

LungRadsManagement LungRadsManagementFor(const std::string& category) {
  LungRadsManagement m;
  m.category = category;
  if (category == "1" || category == "2") {
    m.recommendation = "continue annual screening with LDCT in 12 months";
    m.interval_months = 12;
  } else if (category == "3") {
    m.recommendation = "6-month LDCT";
    m.interval_months = 6;
  } else if (category == "4A") {
    m.recommendation = "3-month LDCT; PET/CT may be considered if there is a solid component >= 8 mm";
    m.interval_months = 3;
  } else if (category == "4B" || category == "4X") {
    m.recommendation = "diagnostic chest CT with or without contrast; PET/CT may be considered if there is a "
                       "solid component >= 8 mm; tissue sampling; and/or referral for further clinical evaluation";
    m.workup = true;
  }
  return m;
}

FleischnerRecommendation Fleischner2017(const FleischnerInput& in) {
  FleischnerRecommendation r;
  const double d = std::round(in.mean_diameter_mm);  // Fleischner 2017: nearest millimetre
  const bool unknown_risk = !in.high_risk.has_value();
  const bool high = in.high_risk.value_or(false);
  if (in.type == NoduleType::kSolid) {
    r.size_class = d < 6 ? "<6" : d <= 8 ? "6-8" : ">8";
    if (d < 6) {
      if (high || unknown_risk) {
        r.optional_followup = true;
        r.min_months = r.max_months = 12;
      }
      if (!high) r.no_routine_followup = true;
      r.text = unknown_risk ? "low risk: no routine follow-up; high risk: optional CT at 12 months"
               : high       ? "optional CT at 12 months"
                            : "no routine follow-up";
      return r;
    }
    if (d <= 8) {
      if (!in.multiple) {
        r.min_months = 6, r.max_months = 12;
        r.text = high ? "CT at 6-12 months, then CT at 18-24 months"
                      : "CT at 6-12 months, then consider CT at 18-24 months";
      } else {
        r.min_months = 3, r.max_months = 6;
        r.text = high ? "CT at 3-6 months, then CT at 18-24 months"
                      : "CT at 3-6 months, then consider CT at 18-24 months";
      }
      return r;
    }
    if (!in.multiple) {
      r.min_months = r.max_months = 3;
      r.pet_or_tissue = true;
      r.text = "consider CT at 3 months, PET/CT, or tissue sampling";
    } else {
      r.min_months = 3, r.max_months = 6;
      r.text = "CT at 3-6 months, then consider CT at 18-24 months";
    }
    return r;
  }
  // Subsolid nodules (same rows for low and high risk).
  r.size_class = d < 6 ? "<6" : ">=6";
  if (in.multiple) {
    r.min_months = 3, r.max_months = 6;
    r.text = d < 6 ? "CT at 3-6 months; if stable, consider CT at 2 and 4 years"
                   : "CT at 3-6 months; subsequent management based on the most suspicious nodule(s)";
    return r;
  }
  if (d < 6) {
    r.no_routine_followup = true;
    r.text = "no routine follow-up";
    return r;
  }
  if (in.type == NoduleType::kGroundGlass) {
    r.min_months = 6, r.max_months = 12;
    r.text = "CT at 6-12 months to confirm persistence, then CT every 2 years until 5 years";
  } else {
    r.min_months = 3, r.max_months = 6;
    r.text = "CT at 3-6 months to confirm persistence; if unchanged and solid component remains < 6 mm, "
             "annual CT for 5 years";
  }
  return r;
}

bool FleischnerAccepts(const FleischnerRecommendation& rec, std::optional<double> lo, std::optional<double> hi,
                       bool stated_none, double slack) {
  if (stated_none) return rec.no_routine_followup || rec.optional_followup;
  if (!lo) return false;
  const double a = *lo, b = hi.value_or(*lo);
  if (!rec.min_months) return false;  // no routine follow-up, yet an interval was stated
  // ">8 mm single: consider CT at 3 months" also accepts an earlier CT.
  const double min_ok = rec.pet_or_tissue ? 0.0 : *rec.min_months - slack;
  return a >= min_ok - 1e-9 && b <= *rec.max_months + slack + 1e-9;
}

}  // namespace radflow::report
