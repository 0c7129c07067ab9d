// Lung nodule categories and follow-up rules as pure functions:
//  - ACR Lung-RADS v2022 (lung cancer screening LDCT): categories 1-4X for solid,
//    part-solid and ground-glass nodules at baseline and follow-up, and their management;
//  - Fleischner Society 2017 (MacMahon et al., Radiology 2017;284:228-243) for incidental
//    nodules in adults >= 35 years outside screening.
// Sizes are mean diameters in mm ((long + short axis) / 2). Lung-RADS v2022 uses them to
// one decimal; Fleischner 2017 rounds them to the nearest millimetre.
#pragma once

#include <optional>
#include <string>

namespace radflow::report {

enum class NoduleType { kSolid, kPartSolid, kGroundGlass };

// "solid" | "part-solid" | "ground-glass" (also "ggn", "ggo", "subsolid non-solid").
std::optional<NoduleType> ParseNoduleType(const std::string& text);
const char* NoduleTypeName(NoduleType type);

// Lung-RADS v2022 growth: an increase in mean diameter of more than 1.5 mm within a
// 12-month interval. Intervals over 12 months count too (slow growth), the reason says so.
bool LungRadsGrowth(double prior_mean_mm, double current_mean_mm);

struct LungRadsInput {
  NoduleType type = NoduleType::kSolid;
  double mean_diameter_mm = 0;        // total mean diameter
  double solid_component_mm = 0;      // part-solid: mean diameter of the solid component
  bool baseline = true;               // false: an annual/interval screening CT with a prior
  bool is_new = false;                // follow-up: not present on the prior
  bool growing = false;               // follow-up: growth per LungRadsGrowth (or the caller's)
  std::optional<double> prior_mean_diameter_mm;   // if given, `growing` is computed from it
  std::optional<double> prior_solid_component_mm; // part-solid: growth of the solid component
  bool benign_features = false;       // benign calcification or fat: category 1
  bool juxtapleural = false;          // perifissural/juxtapleural solid, smooth, < 10 mm: category 2
  std::string prior_category;         // stepped management: "3" / "4A" at the prior, stable since
  bool suspicious_features = false;   // additional features raising suspicion: 3/4 → 4X
};

struct LungRadsResult {
  std::string category;  // "1" "2" "3" "4A" "4B" "4X"
  std::string reason;    // "solid, baseline, 6 to <8 mm"
  bool growing = false;
};

LungRadsResult LungRadsCategory(const LungRadsInput& in);

// Numeric order for comparisons: 1,2,3,4A,4B,4X → 1,2,3,4,5,6; 0 for unknown.
int LungRadsRank(const std::string& category);

// "4a" "Lung-RADS 4A" "category 4 B" → "4A"; '' if none.
std::string NormaliseLungRadsCategory(const std::string& text);

struct LungRadsManagement {
  std::string category;
  std::string recommendation;   // "12-month screening LDCT"
  std::optional<int> interval_months;  // 12 / 6 / 3; none for 4B/4X (diagnostic work-up)
  bool workup = false;          // 4B/4X: diagnostic CT, PET/CT, tissue sampling
};
LungRadsManagement LungRadsManagementFor(const std::string& category);

struct FleischnerInput {
  NoduleType type = NoduleType::kSolid;
  double mean_diameter_mm = 0;   // rounded to the nearest mm before the size class
  double solid_component_mm = 0; // part-solid
  bool multiple = false;
  std::optional<bool> high_risk; // none: unknown, both risk rows are acceptable
};

struct FleischnerRecommendation {
  std::string size_class;        // "<6" | "6-8" | ">8" (solid) ; "<6" | ">=6" (subsolid)
  std::string text;              // the published recommendation
  bool no_routine_followup = false;  // low risk <6 mm (and unknown-risk lower bound)
  bool optional_followup = false;    // "optional CT at 12 months"
  std::optional<int> min_months, max_months;  // first follow-up CT interval
  bool pet_or_tissue = false;    // ">8 mm: consider CT at 3 months, PET/CT, or tissue sampling"
};

FleischnerRecommendation Fleischner2017(const FleischnerInput& in);

// A follow-up interval (months) stated in a report is acceptable for the recommendation:
// within [min,max] (a 1-month slack either side for "3-6" style ranges is QaOptions').
// `stated_none`: the text says no follow-up is needed.
bool FleischnerAccepts(const FleischnerRecommendation& rec, std::optional<double> stated_min_months,
                       std::optional<double> stated_max_months, bool stated_none,
                       double slack_months = 0);

}  // namespace radflow::report
