// Internal to radflow_report: scanning report prose for quantities, sides, sites and
// follow-up statements. Byte offsets into UTF-8 text; ASCII case folding only.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace radflow::report::scan {

std::string Lower(const std::string& s);

// A number with its unit: "8 mm", "0.8 cm" (value 8, unit "mm"), "9.1 mL", "310 mm3"
// (0.31, "ml"), "13.6%", "-946 HU", "6-12 months" (6..12, "month"), "3-month".
// Dimension lists "9 x 7 mm" give one quantity per number, each with the unit.
struct Quantity {
  double value = 0, value_max = 0;  // value_max == value unless a range
  std::string unit;                 // mm | ml | % | hu | month (days/weeks/years converted)
  int offset = 0, length = 0;
  bool range = false;
  int dims = 1, dim_index = 0;      // "9 x 7 mm": dims 2, dim_index 0 and 1
};
std::vector<Quantity> FindQuantities(const std::string& text);

// Side and site words of a sentence.
struct Sites {
  bool left = false, right = false, bilateral = false;
  std::vector<std::string> lung_lobes;   // "upper" "middle" "lower" (lingula → "upper", left)
  std::vector<std::string> brain_parts;  // "frontal" "parietal" "temporal" "occipital" "cerebellar" ...
};
Sites FindSites(const std::string& sentence);

// The lung lobe / brain part a site names ("right upper lobe" → "upper"), '' if none.
std::string LungLobeOf(const std::string& site);
std::string BrainPartOf(const std::string& site);

// Whole-word search (ASCII word boundaries), text already lower case.
bool HasWord(const std::string& lower_text, const std::string& word);
// Position of a whole word or -1.
int FindWord(const std::string& lower_text, const std::string& word, int from = 0);

// A follow-up statement of a sentence.
struct FollowupStatement {
  bool found = false;     // the sentence recommends (or declines) follow-up
  bool none = false;      // "no follow-up needed"
  bool workup = false;    // PET/CT, tissue sampling, biopsy, diagnostic CT, referral
  std::optional<double> min_months, max_months;  // the first interval stated
};
FollowupStatement ParseFollowup(const std::string& sentence);

// A communication statement ("discussed with Dr X", "communicated to", "notified").
bool HasCommunication(const std::string& text);

// "Lung-RADS 4A" / "Lung-RADS category 3" / "Lung-RADS v2022 category 4B" → "4A"...; every
// stated category of the sentence in order, with its offset.
struct StatedCategory { std::string category; int offset = 0; };
std::vector<StatedCategory> FindLungRads(const std::string& sentence);

// The sentence negates the word at `pos` ("no nodule", "without haemorrhage").
bool Negated(const std::string& lower_sentence, int pos);

}  // namespace radflow::report::scan
