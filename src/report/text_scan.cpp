#include "report/text_scan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

namespace radflow::report::scan {
namespace {

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c) || (static_cast<unsigned char>(c) >= 0x80); }

void SkipSpaces(const std::string& t, size_t& i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
}

// Reads a number at i ("8", "8.4", "0,8"), no sign. Returns false if none.
bool ReadNumber(const std::string& t, size_t& i, double* out) {
  size_t j = i;
  if (j >= t.size() || !IsDigit(t[j])) return false;
  std::string digits;
  while (j < t.size() && IsDigit(t[j])) digits += t[j++];
  if (j + 1 < t.size() && (t[j] == '.' || t[j] == ',') && IsDigit(t[j + 1])) {
    digits += '.';
    ++j;
    while (j < t.size() && IsDigit(t[j])) digits += t[j++];
  }
  *out = std::strtod(digits.c_str(), nullptr);
  i = j;
  return true;
}

// A dash or "to" between range ends; advances past it.
bool ReadRangeSep(const std::string& t, size_t& i) {
  size_t j = i;
  SkipSpaces(t, j);
  if (j < t.size() && t[j] == '-') { i = j + 1; return true; }
  if (t.compare(j, 3, "\xE2\x80\x93") == 0 || t.compare(j, 3, "\xE2\x80\x94") == 0) { i = j + 3; return true; }
  if (t.compare(j, 2, "to") == 0 && j + 2 < t.size() && !IsWordChar(t[j + 2])) { i = j + 2; return true; }
  return false;
}

// A dimension separator "x", "×", "by".
bool ReadTimes(const std::string& t, size_t& i) {
  size_t j = i;
  SkipSpaces(t, j);
  if (j < t.size() && (t[j] == 'x' || t[j] == 'X') && (j + 1 >= t.size() || !IsAlpha(t[j + 1]))) { i = j + 1; return true; }
  if (t.compare(j, 2, "\xC3\x97") == 0) { i = j + 2; return true; }
  if (t.compare(j, 2, "by") == 0 && j + 2 < t.size() && !IsWordChar(t[j + 2])) { i = j + 2; return true; }
  return false;
}

struct Unit { const char* text; const char* unit; double factor; };
// Longest first where prefixes collide.
const Unit kUnits[] = {
    {"millimetres", "mm", 1}, {"millimeters", "mm", 1}, {"millimetre", "mm", 1}, {"millimeter", "mm", 1},
    {"centimetres", "mm", 10}, {"centimeters", "mm", 10}, {"centimetre", "mm", 10}, {"centimeter", "mm", 10},
    {"millilitres", "ml", 1}, {"milliliters", "ml", 1}, {"millilitre", "ml", 1}, {"milliliter", "ml", 1},
    {"mm\xC2\xB3", "ml", 0.001}, {"mm^3", "ml", 0.001}, {"mm3", "ml", 0.001},
    {"cm\xC2\xB3", "ml", 1}, {"cm^3", "ml", 1}, {"cm3", "ml", 1}, {"cc", "ml", 1}, {"ml", "ml", 1},
    {"mm", "mm", 1}, {"cm", "mm", 10},
    {"%", "%", 1}, {"percent", "%", 1}, {"hu", "hu", 1},
    {"months", "month", 1}, {"month", "month", 1}, {"mo", "month", 1},
    {"years", "month", 12}, {"year", "month", 12}, {"yrs", "month", 12}, {"yr", "month", 12},
    {"weeks", "month", 12.0 / 52.0}, {"week", "month", 12.0 / 52.0}, {"wks", "month", 12.0 / 52.0},
    {"days", "month", 12.0 / 365.25}, {"day", "month", 12.0 / 365.25},
};

// Unit at i (after optional spaces or a hyphen: "3-month"); lower-case text.
const Unit* ReadUnit(const std::string& t, size_t& i) {
  size_t j = i;
  SkipSpaces(t, j);
  if (j < t.size() && t[j] == '-' && j + 1 < t.size() && IsAlpha(t[j + 1])) ++j;
  for (const auto& u : kUnits) {
    const size_t n = std::char_traits<char>::length(u.text);
    if (t.compare(j, n, u.text) != 0) continue;
    if (std::string(u.text) != "%" && j + n < t.size() && IsAlpha(t[j + n])) continue;
    i = j + n;
    return &u;
  }
  return nullptr;
}

const std::map<std::string, double> kNumberWords = {
    {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}, {"six", 6}, {"seven", 7},
    {"eight", 8}, {"nine", 9}, {"ten", 10}, {"eleven", 11}, {"twelve", 12}, {"eighteen", 18},
    {"twenty-four", 24}, {"a", 1}, {"an", 1}};

}  // namespace

std::string Lower(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int FindWord(const std::string& t, const std::string& w, int from) {
  size_t pos = static_cast<size_t>(std::max(0, from));
  while ((pos = t.find(w, pos)) != std::string::npos) {
    const bool start_ok = pos == 0 || !IsAlpha(t[pos - 1]);
    const bool end_ok = pos + w.size() >= t.size() || !IsAlpha(t[pos + w.size()]);
    if (start_ok && end_ok) return static_cast<int>(pos);
    ++pos;
  }
  return -1;
}

bool HasWord(const std::string& t, const std::string& w) { return FindWord(t, w) >= 0; }

std::vector<Quantity> FindQuantities(const std::string& text) {
  const std::string t = Lower(text);
  std::vector<Quantity> out;
  size_t i = 0;
  while (i < t.size()) {
    double v = 0;
    const bool word_before = i > 0 && (IsAlpha(t[i - 1]) || IsDigit(t[i - 1]));
    bool is_number = false;
    size_t start = i;
    if (!word_before && IsDigit(t[i])) {
      is_number = true;
    } else if (!word_before && IsAlpha(t[i])) {
      // Number words for intervals ("six months", "one year", "a year").
      size_t j = i;
      while (j < t.size() && (IsAlpha(t[j]) || t[j] == '-')) ++j;
      auto it = kNumberWords.find(t.substr(i, j - i));
      if (it != kNumberWords.end()) {
        size_t k = j;
        const Unit* u = ReadUnit(t, k);
        if (u && std::string(u->unit) == "month") {
          Quantity q;
          q.value = q.value_max = it->second * u->factor;
          q.unit = u->unit;
          q.offset = static_cast<int>(i);
          q.length = static_cast<int>(k - i);
          out.push_back(q);
          i = k;
          continue;
        }
      }
      i = j;
      continue;
    }
    if (!is_number) { ++i; continue; }
    // A minus sign directly before (with no letter before it: "LAA-950" is a name).
    bool negative = false;
    if (start > 0 && t[start - 1] == '-' && (start < 2 || !IsWordChar(t[start - 2]))) negative = true;
    size_t j = i;
    ReadNumber(t, j, &v);
    if (j < t.size() && IsAlpha(t[j])) {
      size_t m = j;
      if (!ReadUnit(t, m)) {  // "15th", "2nd": part of a word
        while (j < t.size() && IsWordChar(t[j])) ++j;
        i = j;
        continue;
      }
    }
    std::vector<double> dims = {v};
    bool range = false;
    double v2 = v;
    size_t k = j;
    if (ReadRangeSep(t, k)) {
      SkipSpaces(t, k);
      double w = 0;
      if (ReadNumber(t, k, &w)) {
        range = true;
        v2 = w;
        j = k;
      }
    }
    if (!range) {
      while (true) {
        size_t m = j;
        double w = 0;
        if (!ReadTimes(t, m)) break;
        SkipSpaces(t, m);
        // "9 mm x 7 mm": a unit between dimensions.
        if (!ReadNumber(t, m, &w)) break;
        dims.push_back(w);
        j = m;
      }
    }
    size_t u_end = j;
    const Unit* u = ReadUnit(t, u_end);
    if (!u) {
      // "9 mm x 7 mm": the first number carries its own unit, keep scanning after it.
      i = j;
      continue;
    }
    for (size_t d = 0; d < dims.size(); ++d) {
      Quantity q;
      q.unit = u->unit;
      q.value = dims[d] * u->factor * (negative ? -1 : 1);
      q.value_max = (range ? v2 : dims[d]) * u->factor * (negative ? -1 : 1);
      q.range = range;
      q.dims = static_cast<int>(dims.size());
      q.dim_index = static_cast<int>(d);
      q.offset = static_cast<int>(negative ? start - 1 : start);
      q.length = static_cast<int>(u_end - q.offset);
      out.push_back(q);
    }
    i = u_end;
  }
  return out;
}

Sites FindSites(const std::string& sentence) {
  const std::string t = Lower(sentence);
  Sites s;
  s.left = HasWord(t, "left") || HasWord(t, "lul") || HasWord(t, "lll") || HasWord(t, "lingula") ||
           HasWord(t, "lingular") || t.find("left-sided") != std::string::npos;
  s.right = HasWord(t, "right") || HasWord(t, "rul") || HasWord(t, "rml") || HasWord(t, "rll") ||
            t.find("right-sided") != std::string::npos;
  s.bilateral = HasWord(t, "bilateral") || HasWord(t, "bilaterally") || HasWord(t, "both");
  auto add = [](std::vector<std::string>& v, const std::string& x) {
    for (const auto& e : v) if (e == x) return;
    v.push_back(x);
  };
  if (HasWord(t, "upper lobe") || HasWord(t, "rul") || HasWord(t, "lul") || HasWord(t, "lingula") ||
      HasWord(t, "lingular"))
    add(s.lung_lobes, "upper");
  if (HasWord(t, "middle lobe") || HasWord(t, "rml")) add(s.lung_lobes, "middle");
  if (HasWord(t, "lower lobe") || HasWord(t, "rll") || HasWord(t, "lll")) add(s.lung_lobes, "lower");
  for (const char* p : {"frontal", "parietal", "temporal", "occipital", "cerebellar", "cerebellum", "thalamic",
                        "thalamus", "basal ganglia", "pons", "pontine", "insular"}) {
    if (HasWord(t, p)) {
      std::string name = p;
      if (name == "cerebellum") name = "cerebellar";
      if (name == "thalamus") name = "thalamic";
      if (name == "pons") name = "pontine";
      add(s.brain_parts, name);
    }
  }
  return s;
}

std::string LungLobeOf(const std::string& site) {
  const Sites s = FindSites(site);
  return s.lung_lobes.size() == 1 ? s.lung_lobes[0] : "";
}

std::string BrainPartOf(const std::string& site) {
  const Sites s = FindSites(site);
  return s.brain_parts.size() == 1 ? s.brain_parts[0] : "";
}

bool Negated(const std::string& t, int pos) {
  // Look back up to 6 words within the sentence for a negation cue.
  int words = 0;
  int i = pos - 1;
  while (i >= 0 && words < 6) {
    while (i >= 0 && !IsAlpha(t[i])) {
      if (t[i] == ',' || t[i] == ';' || t[i] == ':') return false;  // a new clause
      --i;
    }
    int end = i + 1;
    while (i >= 0 && IsAlpha(t[i])) --i;
    const std::string w = t.substr(i + 1, end - (i + 1));
    if (w == "no" || w == "without" || w == "nor" || w == "absence" || w == "negative" || w == "excluded" ||
        w == "resolved")
      return true;
    if (w == "but" || w == "and" || w == "with" || w == "however") return false;
    ++words;
  }
  return false;
}

FollowupStatement ParseFollowup(const std::string& sentence) {
  const std::string t = Lower(sentence);
  FollowupStatement f;
  const bool follow = t.find("follow-up") != std::string::npos || t.find("follow up") != std::string::npos ||
                      t.find("followup") != std::string::npos;
  const bool cue = follow || HasWord(t, "recommend") || HasWord(t, "recommended") ||
                   HasWord(t, "recommendation") || HasWord(t, "repeat") || HasWord(t, "surveillance") ||
                   HasWord(t, "ldct") || HasWord(t, "screening") || HasWord(t, "suggest") ||
                   HasWord(t, "suggested") || HasWord(t, "advised") || HasWord(t, "consider") ||
                   HasWord(t, "considered") || HasWord(t, "should");
  if (!cue) return f;
  // "no (further|routine|additional) (imaging) follow-up", "follow-up is not needed",
  // "does not require follow-up", "no further imaging".
  static const char* kNone[] = {"no follow-up", "no follow up", "no followup", "no further follow",
                                "no routine follow", "no additional follow", "no imaging follow",
                                "no further imaging", "not required", "not needed", "not necessary",
                                "not recommended", "not indicated", "does not require", "do not require",
                                "no need for"};
  for (const char* n : kNone) {
    if (t.find(n) != std::string::npos) f.none = true;
  }
  static const char* kWorkup[] = {"pet", "tissue sampling", "biopsy", "diagnostic ct", "diagnostic chest ct",
                                  "further evaluation", "referral", "refer ", "multidisciplinary",
                                  "bronchoscop", "sampling"};
  for (const char* w : kWorkup) {
    const std::string ws = w;
    if (ws == "pet" ? HasWord(t, "pet") || t.find("pet/ct") != std::string::npos ||
                          t.find("pet-ct") != std::string::npos
                    : t.find(ws) != std::string::npos)
      f.workup = true;
  }
  for (const auto& q : FindQuantities(sentence)) {
    if (q.unit != "month") continue;
    f.min_months = q.value;
    f.max_months = q.value_max;
    break;
  }
  if (!f.min_months && (HasWord(t, "annual") || HasWord(t, "annually") || HasWord(t, "yearly"))) {
    f.min_months = f.max_months = 12;
  }
  if (f.min_months && f.none) {
    // "not required before 12 months" is rare; an interval wins over a negation word that
    // belongs to another clause ("not needed earlier than ...").
    f.none = false;
  }
  f.found = f.none || f.workup || f.min_months.has_value();
  return f;
}

bool HasCommunication(const std::string& text) {
  const std::string t = Lower(text);
  static const char* kVerbs[] = {"discussed", "communicated", "notified", "informed", "telephoned", "phoned",
                                 "called", "conveyed", "relayed", "paged", "reported to", "told"};
  for (const char* v : kVerbs) {
    int pos = FindWord(t, v);
    while (pos >= 0) {
      // "was not discussed", "not communicated": a negation right before.
      const std::string before = t.substr(static_cast<size_t>(std::max(0, pos - 12)), static_cast<size_t>(std::min(pos, 12)));
      const bool negated = before.find("not ") != std::string::npos || before.find("n't ") != std::string::npos ||
                           before.find("never ") != std::string::npos;
      if (!negated) return true;
      pos = FindWord(t, v, pos + 1);
    }
  }
  return false;
}

std::vector<StatedCategory> FindLungRads(const std::string& sentence) {
  const std::string t = Lower(sentence);
  std::vector<StatedCategory> out;
  size_t pos = 0;
  while (true) {
    size_t a = t.find("lung-rads", pos), b = t.find("lung rads", pos), c = t.find("lungrads", pos);
    size_t at = std::min({a, b, c});
    if (at == std::string::npos) break;
    size_t i = at + (at == c ? 8 : 9);
    // Optional "v2022", "version 2022", "category", "cat", ":".
    for (int guard = 0; guard < 6; ++guard) {
      SkipSpaces(t, i);
      if (i < t.size() && (t[i] == ':' || t[i] == '(' || t[i] == ',')) { ++i; continue; }
      bool skipped = false;
      for (const char* w : {"v2022", "v1.1", "2022", "version", "category", "cat.", "cat", "assessment", "of", "is"}) {
        const size_t n = std::char_traits<char>::length(w);
        if (t.compare(i, n, w) == 0 && (i + n >= t.size() || !IsAlpha(t[i + n]) || std::string(w) == "cat.")) {
          i += n;
          skipped = true;
          break;
        }
      }
      if (!skipped) break;
    }
    if (i < t.size() && t[i] >= '0' && t[i] <= '4') {
      std::string cat(1, t[i]);
      size_t j = i + 1;
      if (cat == "4") {
        size_t k = j;
        while (k < t.size() && t[k] == ' ') ++k;
        if (k < t.size() && (t[k] == 'a' || t[k] == 'b' || t[k] == 'x') &&
            (k + 1 >= t.size() || !IsAlpha(t[k + 1]) || t[k + 1] == 's')) {
          cat += static_cast<char>(std::toupper(static_cast<unsigned char>(t[k])));
        }
      }
      if (!(j < t.size() && IsDigit(t[j]))) out.push_back({cat, static_cast<int>(at)});
    }
    pos = at + 1;
  }
  return out;
}

}  // namespace radflow::report::scan
