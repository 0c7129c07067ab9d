// Rules of extract.h, in its order. Everything works on one sentence at a time, on a
// lower-case copy split into word tokens; positions refer to that copy (same bytes as the
// original: ASCII lower-casing keeps lengths).
#include "followups/extract.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <mutex>
#include <regex>
#include <set>

namespace radflow::followups {

namespace {

// ---- text helpers ----------------------------------------------------------------------

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

template <size_t N>
bool In(const std::string& w, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), w) != set.end();
}

// ---- rule 1 and 2: sections and sentences ------------------------------------------------

// Sections whose text is about why or against what the study was done, never advice.
bool SkippedSection(const std::string& header) {
  static const std::array<std::string_view, 17> kSkipped = {
      "INDICATION", "INDICATIONS", "HISTORY", "CLINICAL HISTORY", "CLINICAL INDICATION",
      "CLINICAL INFORMATION", "CLINICAL DATA", "REASON", "REASON FOR EXAM",
      "REASON FOR STUDY", "REASON FOR EXAMINATION", "COMPARISON", "COMPARISONS",
      "TECHNIQUE", "EXAM", "EXAMINATION", "PROCEDURE"};
  return In(header, kSkipped);
}

// "FINDINGS:" at the start of a line: an upper-case header of letters, spaces and '/'.
size_t HeaderLength(std::string_view line, std::string* header) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  size_t start = i;
  while (i < line.size() && ((line[i] >= 'A' && line[i] <= 'Z') || line[i] == ' ' || line[i] == '/')) ++i;
  if (i == start || i >= line.size() || line[i] != ':' || i - start > 40) return 0;
  std::string h(line.substr(start, i - start));
  while (!h.empty() && h.back() == ' ') h.pop_back();
  if (h.size() < 2) return 0;
  *header = h;
  return i + 1;
}

bool AbbreviationBefore(std::string_view line, size_t dot) {
  size_t b = dot;
  while (b > 0 && (IsAlnum(line[b - 1]) || line[b - 1] == '.')) --b;
  std::string w = Lower(line.substr(b, dot - b));
  static const std::array<std::string_view, 12> kAbbrev = {
      "dr", "mr", "mrs", "ms", "vs", "approx", "e.g", "i.e", "st", "fig", "incl", "cf"};
  return In(w, kAbbrev);
}

// Removes a leading list marker "2. ", "3.", "(1) ".
size_t ListMarker(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '(') ++i;
  size_t d = i;
  while (i < s.size() && IsDigit(s[i]) && i - d < 2) ++i;
  if (i == d || i >= s.size() || (s[i] != '.' && s[i] != ')')) return 0;
  if (i + 1 < s.size() && IsDigit(s[i + 1])) return 0;  // "1.5 cm"
  ++i;
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// `pending_item`: a list marker split off as a piece of its own ("1." before "Right upper
// lobe opacity.") marks the next sentence as an item's first.
void AddSentence(std::string_view text, size_t begin, size_t end, const std::string& section,
                 bool* pending_item, std::vector<Sentence>* out) {
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  bool item_start = false;
  for (;;) {
    size_t m = ListMarker(text.substr(begin, end - begin));
    if (m == 0) break;
    begin += m;
    item_start = true;
  }
  std::string_view s = text.substr(begin, end - begin);
  if (std::none_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
    if (item_start || (!s.empty() && IsDigit(s.front()))) *pending_item = true;
    return;
  }
  out->push_back({std::string(s), static_cast<int>(begin), section, item_start || *pending_item});
  *pending_item = false;
}

}  // namespace

std::vector<Sentence> SplitSentences(const std::string& report_text) {
  std::vector<Sentence> out;
  std::string_view text = report_text;
  std::string section;
  bool skipped = false;
  bool pending_item = false;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    std::string header;
    size_t body = HeaderLength(line, &header);
    if (body > 0) {
      section = header;
      skipped = SkippedSection(header);
    }
    if (!skipped) {
      size_t begin = line_start + body;
      for (size_t i = begin; i < line_end; ++i) {
        char c = text[i];
        if (c != '.' && c != '!' && c != '?') continue;
        bool at_end = i + 1 >= line_end || IsSpace(text[i + 1]);
        if (!at_end) continue;
        if (c == '.' && AbbreviationBefore(text.substr(line_start, i - line_start), i - line_start)) continue;
        AddSentence(text, begin, i + 1, section, &pending_item, &out);
        begin = i + 1;
      }
      AddSentence(text, begin, line_end, section, &pending_item, &out);
    }
    line_start = line_end + 1;
  }
  return out;
}

namespace {

// ---- tokens -------------------------------------------------------------------------------

struct Token {
  std::string w;     // lower case
  std::string orig;  // as written
  size_t pos = 0;    // byte offset in the sentence
  bool punct = false;
  bool dot_after = false;  // "Mr." / "Dr."
  bool caps = false;       // the sentence is written in capitals ("RECOMMEND CT")
};

std::vector<Token> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (IsAlnum(c)) {
      size_t b = i;
      while (i < s.size()) {
        char d = s[i];
        if (IsAlnum(d)) {
          ++i;
        } else if ((d == '-' || d == '/' || d == '\'') && i + 1 < s.size() && IsAlnum(s[i + 1])) {
          ++i;
        } else if (d == '.' && i > b && IsDigit(s[i - 1]) && i + 1 < s.size() && IsDigit(s[i + 1])) {
          ++i;
        } else {
          break;
        }
      }
      std::string orig(s.substr(b, i - b));
      out.push_back({Lower(orig), orig, b, false, i < s.size() && s[i] == '.', false});
    } else {
      if (c == ',' || c == ';' || c == ':' || c == '(' || c == ')') {
        out.push_back({std::string(1, c), std::string(1, c), i, true, false, false});
      }
      ++i;
    }
  }
  size_t upper = 0, letters = 0;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      ++letters;
      upper += std::isupper(static_cast<unsigned char>(c)) ? 1 : 0;
    }
  }
  bool caps = letters > 0 && upper * 10 > letters * 8;
  for (auto& t : out) t.caps = caps;
  return out;
}

// ---- rule 5: the modality lexicon -----------------------------------------------------------

std::string ModalityOfWord(const Token& t) {
  const std::string& w = t.w;
  static const std::map<std::string, std::string, std::less<>> kWords = {
      {"ct", "CT"}, {"cts", "CT"}, {"cta", "CT"}, {"hrct", "CT"}, {"ctpa", "CT"},
      {"mri", "MR"}, {"mris", "MR"}, {"mra", "MR"},
      {"ultrasound", "US"}, {"ultrasounds", "US"}, {"ultrasonography", "US"},
      {"sonography", "US"}, {"sonogram", "US"}, {"sonographic", "US"}, {"doppler", "US"},
      {"echocardiogram", "US"}, {"echocardiography", "US"},
      {"radiograph", "XR"}, {"radiographs", "XR"}, {"radiography", "XR"},
      {"radiographic", "XR"}, {"radiographically", "XR"}, {"x-ray", "XR"}, {"x-rays", "XR"},
      {"xray", "XR"}, {"xrays", "XR"}, {"x-xxxx", "XR"}, {"film", "XR"}, {"films", "XR"},
      {"cxr", "XR"}, {"cxrs", "XR"}, {"view", "XR"}, {"views", "XR"}, {"fluoroscopy", "XR"},
      {"fluoroscopic", "XR"}, {"esophagram", "XR"}, {"esophagogram", "XR"}, {"decubitus", "XR"},
      {"mammogram", "MG"}, {"mammograms", "MG"}, {"mammography", "MG"}, {"mammographic", "MG"},
      {"pet", "PT"}, {"pet-ct", "PT"}, {"pet/ct", "PT"},
      {"scintigraphy", "NM"}, {"v/q", "NM"}, {"vq", "NM"}, {"nuclear", "NM"},
  };
  auto it = kWords.find(w);
  if (it != kWords.end()) return it->second;
  // "MR" and "US" only in capitals, and not "Mr." nor "US" in a sentence in capitals.
  if (t.orig == "MR" && !t.dot_after) return "MR";
  if (t.orig == "US" && !t.caps) return "US";
  // Compounds: "XXXX-CT", "CT-angiogram", "PET/CT".
  if (w.find_first_of("-/") != std::string::npos) {
    bool ct = false, pet = false;
    size_t b = 0;
    while (b <= w.size()) {
      size_t e = w.find_first_of("-/", b);
      if (e == std::string::npos) e = w.size();
      std::string part = w.substr(b, e - b);
      if (part == "pet") pet = true;
      if (part == "ct" || part == "cta") ct = true;
      b = e + 1;
    }
    if (pet) return "PT";
    if (ct) return "CT";
  }
  return "";
}

std::string RegionOfWord(const std::string& w, const std::string& next) {
  static const std::map<std::string, std::string, std::less<>> kRegions = {
      {"chest", "chest"}, {"thorax", "chest"}, {"lung", "chest"}, {"lungs", "chest"},
      {"pulmonary", "chest"}, {"rib", "chest"}, {"ribs", "chest"}, {"sternum", "chest"},
      {"sternal", "chest"}, {"mediastinum", "chest"}, {"mediastinal", "chest"},
      {"abdomen", "abdomen"}, {"abdominal", "abdomen"}, {"abd", "abdomen"},
      {"quadrant", "abdomen"}, {"ruq", "abdomen"}, {"luq", "abdomen"}, {"liver", "abdomen"},
      {"hepatic", "abdomen"}, {"gallbladder", "abdomen"}, {"kidney", "abdomen"},
      {"kidneys", "abdomen"}, {"renal", "abdomen"}, {"spleen", "abdomen"},
      {"splenic", "abdomen"}, {"adrenal", "abdomen"}, {"pancreas", "abdomen"},
      {"pelvis", "pelvis"}, {"pelvic", "pelvis"},
      {"head", "head"}, {"brain", "head"}, {"cranial", "head"}, {"skull", "head"},
      {"neck", "neck"}, {"thyroid", "neck"},
      {"spine", "spine"}, {"spinal", "spine"}, {"vertebra", "spine"}, {"vertebrae", "spine"},
      {"vertebral", "spine"}, {"lumbar", "spine"}, {"l-spine", "spine"}, {"t-spine", "spine"},
      {"c-spine", "spine"},
      {"breast", "breast"}, {"breasts", "breast"},
      {"shoulder", "extremity"}, {"shoulders", "extremity"}, {"humerus", "extremity"},
      {"humeral", "extremity"}, {"clavicle", "extremity"}, {"elbow", "extremity"},
      {"wrist", "extremity"}, {"hand", "extremity"}, {"hip", "extremity"},
      {"femur", "extremity"}, {"knee", "extremity"}, {"ankle", "extremity"},
      {"foot", "extremity"}, {"extremity", "extremity"}, {"extremities", "extremity"},
  };
  if ((w == "thoracic" || w == "cervical") && (next == "spine" || next == "vertebra" || next == "vertebral")) {
    return "spine";
  }
  if (w == "thoracic") return "chest";
  // Vertebral levels: "T10", "L1", "C5".
  if (w.size() >= 2 && w.size() <= 3 && (w[0] == 't' || w[0] == 'l' || w[0] == 'c') &&
      std::all_of(w.begin() + 1, w.end(), [](char c) { return IsDigit(c); })) {
    int level = std::stoi(w.substr(1));
    if (level >= 1 && level <= (w[0] == 't' ? 12 : w[0] == 'l' ? 5 : 7)) return "spine";
  }
  if (w == "cervical") return "neck";
  if (w == "whole" && next == "body") return "whole body";
  auto it = kRegions.find(w);
  return it == kRegions.end() ? "" : it->second;
}

// Regions named by one token, "abdomen/pelvis" giving two.
std::vector<std::string> RegionsOfToken(const std::vector<Token>& t, size_t i) {
  std::vector<std::string> out;
  const std::string next = i + 1 < t.size() ? t[i + 1].w : "";
  std::string r = RegionOfWord(t[i].w, next);
  if (!r.empty()) {
    out.push_back(r);
    return out;
  }
  if (t[i].w.find('/') != std::string::npos) {
    size_t b = 0;
    const std::string& w = t[i].w;
    while (b <= w.size()) {
      size_t e = w.find('/', b);
      if (e == std::string::npos) e = w.size();
      std::string p = RegionOfWord(w.substr(b, e - b), "");
      if (!p.empty()) out.push_back(p);
      b = e + 1;
    }
  }
  return out;
}

struct Mention {
  std::string modality;
  size_t begin = 0, end = 0;  // tokens [begin, end)
  bool generic = false;       // "further imaging": an examination, the modality unsaid
  std::vector<std::string> regions;
};

bool Boundary(const std::string& w) {
  static const std::array<std::string_view, 15> kBoundary = {
      ",", ";", ":", "(", ")", "or", "alternatively", "if", "than", "then", "otherwise",
      "but", "however", "although", "unless"};
  return In(w, kBoundary);
}

// The clause before a mention makes it a comparison or a history (rule 5).
bool HistoricalBefore(const std::vector<Token>& t, size_t begin) {
  static const std::array<std::string_view, 22> kHistory = {
      "prior", "previous", "previously", "old", "outside", "recent", "recently", "earlier",
      "comparison", "compare", "compared", "comparing", "correlation", "correlate",
      "correlated", "reference", "reviewed", "review", "seen", "on", "since", "comparisons"};
  for (size_t k = begin, n = 0; k > 0 && n < 6; --k, ++n) {
    const std::string& w = t[k - 1].w;
    if (Boundary(w)) break;
    // "prior films available for comparison XXXX scan": the comparison is of the films.
    if (w == "comparison" && k >= 2 && t[k - 2].w == "for") break;
    if (In(w, kHistory)) return true;
    // "no previous chest x-XXXX from elsewhere … XXXX scan": the history word has its
    // own object, another examination, between it and this one.
    if (!ModalityOfWord(t[k - 1]).empty()) break;
  }
  return false;
}

const std::array<std::string_view, 26> kModifiers = {
    "the", "a", "an", "noncontrast", "noncontrasted", "non-contrast", "enhanced", "contrast",
    "contrast-enhanced", "dedicated", "followup", "follow-up", "short-term", "nonemergent",
    "non-emergent", "thin-section", "low-dose", "repeat", "additional", "further", "pa",
    "lateral", "frontal", "portable", "interval", "single"};

bool CurrentExamBefore(const std::vector<Token>& t, size_t begin) {
  static const std::array<std::string_view, 6> kCurrent = {"this", "current", "present",
                                                           "today's", "todays", "same"};
  for (size_t k = begin; k > 0; --k) {
    const std::string& w = t[k - 1].w;
    if (In(w, kCurrent)) return true;
    if (w == "chest" || w == "and" || In(w, kModifiers)) continue;
    break;
  }
  return false;
}

bool HistoricalAfter(const std::vector<Token>& t, size_t end) {
  static const std::array<std::string_view, 20> kPast = {
      "showed", "shows", "show", "demonstrated", "demonstrates", "demonstrating", "revealed",
      "reveals", "revealing", "dated", "from", "was", "were", "performed", "obtained", "done",
      "report", "reports", "guided", "confirmed"};
  for (size_t k = end, n = 0; k < t.size() && n < 5; ++k, ++n) {
    const std::string& w = t[k].w;
    if (In(w, kPast)) return true;
    if (w == "scan" || w == "scans" || w == "of" || w == "the" || w == "xxxx" || w == "and" ||
        w == "," || !RegionsOfToken(t, k).empty()) {
      continue;
    }
    break;
  }
  return false;
}

// Rule 8: region words in the examination's own phrase.
std::vector<std::string> PhraseRegions(const std::vector<Token>& t, size_t begin, size_t end) {
  std::vector<std::string> out;
  auto add = [&](const std::vector<std::string>& rs) {
    for (const auto& r : rs) {
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
  };
  for (size_t k = begin, n = 0; k > 0 && n < 4; --k, ++n) {
    auto rs = RegionsOfToken(t, k - 1);
    if (!rs.empty()) {
      add(rs);
      continue;
    }
    const std::string& w = t[k - 1].w;
    if (In(w, kModifiers) || w == "xxxx" || w == "and" || w == "right" || w == "left" ||
        w == "bilateral" || !ModalityOfWord(t[k - 1]).empty()) {
      continue;
    }
    break;
  }
  for (size_t k = end, n = 0; k < t.size() && n < 8; ++k, ++n) {
    auto rs = RegionsOfToken(t, k);
    if (!rs.empty()) {
      add(rs);
      continue;
    }
    const std::string& w = t[k].w;
    if (w == "of" || w == "the" || w == "," || w == "and" || w == "or" || w == "right" ||
        w == "left" || w == "bilateral" || w == "scan" || w == "scans" || w == "upper" ||
        w == "lower" || w == "entire") {
      continue;
    }
    break;
  }
  return out;
}

std::vector<Mention> FindMentions(const std::vector<Token>& t) {
  std::vector<Mention> out;
  for (size_t i = 0; i < t.size(); ++i) {
    const std::string& w = t[i].w;
    const std::string next = i + 1 < t.size() ? t[i + 1].w : "";
    Mention m;
    m.begin = i;
    m.end = i + 1;
    if (w == "computed" && next == "tomography") {
      m.modality = "CT";
      m.end = i + 2;
    } else if (w == "magnetic" && next == "resonance") {
      m.modality = "MR";
      m.end = i + 2;
    } else if (w == "bone" && (next == "scan" || next == "scans" || next == "scintigraphy")) {
      m.modality = "NM";
      m.end = i + 2;
      m.regions = {"whole body"};
    } else if (w == "nuclear" && next == "medicine") {
      m.modality = "NM";
      m.end = i + 2;
    } else if ((w == "ventilation/perfusion" || w == "ventilation-perfusion")) {
      m.modality = "NM";
      m.regions = {"chest"};
    } else if (w == "rib" && next == "series") {
      m.modality = "XR";
      m.end = i + 2;
    } else if (w == "pa" && next == "and" && i + 2 < t.size() && t[i + 2].w == "lateral") {
      m.modality = "XR";  // "PA and lateral (views / chest)"
      m.end = i + 3;
    } else if (w == "nipple" && (next == "marker" || next == "markers")) {
      m.modality = "XR";  // a repeat radiograph with nipple markers
      m.end = i + 2;
    } else if ((w == "barium" && (next == "swallow" || next == "esophagram")) ||
               (w == "upper" && next == "gi")) {
      m.modality = "XR";  // fluoroscopy
      m.end = i + 2;
    } else if (w == "high-resolution" || (w == "high" && next == "resolution")) {
      size_t after = w == "high" ? i + 2 : i + 1;
      if (after < t.size() && (t[after].w == "ct" || t[after].w == "chest")) continue;
      m.modality = "CT";
      m.end = after;
    } else if ((w == "study" || w == "studies" || w == "exam" || w == "exams" ||
                w == "examination" || w == "examinations" || w == "imaging") && i > 0) {
      // "repeat study", "follow-up exam", "follow up imaging": a repeat radiograph.
      size_t k = i;
      while (k > 0 && (t[k - 1].w == "chest" || t[k - 1].w == "radiographic" || t[k - 1].w == "an" || t[k - 1].w == "a")) --k;
      if (k == 0) continue;
      const std::string& p = t[k - 1].w;
      const std::string pp = k > 1 ? t[k - 2].w : "";
      if (p == "repeat" || p == "followup" || p == "follow-up" || p == "interval" ||
          (p == "up" && pp == "follow")) {
        m.modality = "XR";
      } else if (p == "further" || p == "additional" || p == "dedicated" || p == "more") {
        m.modality = "XR";
        m.generic = true;
      } else {
        continue;
      }
    } else {
      m.modality = ModalityOfWord(t[i]);
      if (m.modality.empty()) continue;
      if (w.find("guided") != std::string::npos) continue;
    }
    if (m.modality == "MG") m.regions = {"breast"};
    if (m.modality == "PT") m.regions = {"whole body"};
    out.push_back(m);
    i = m.end - 1;
  }
  return out;
}

bool Excluded(const std::vector<Token>& t, const Mention& m) {
  return HistoricalBefore(t, m.begin) || CurrentExamBefore(t, m.begin) || HistoricalAfter(t, m.end);
}

// ---- rule 6: a masked word where an examination goes --------------------------------------

bool InMention(const std::vector<Mention>& ms, size_t i) {
  for (const auto& m : ms) {
    if (i >= m.begin && i < m.end) return true;
  }
  return false;
}

bool InNamedMention(const std::vector<Mention>& ms, size_t i) {
  for (const auto& m : ms) {
    if (!m.generic && i >= m.begin && i < m.end) return true;
  }
  return false;
}

bool MaskedExam(const std::vector<Token>& t, const std::vector<Mention>& ms, size_t i) {
  if (t[i].w != "xxxx" || InMention(ms, i)) return false;
  if (HistoricalBefore(t, i) || HistoricalAfter(t, i + 1)) return false;
  // Next to a named examination it is part of that examination's phrase ("an XXXX chest
  // radiograph", "CXR XXXX").
  size_t n = i + 1;
  while (n < t.size() && (!RegionsOfToken(t, n).empty() || t[n].w == "of" || t[n].w == "the")) ++n;
  if (n < t.size() && InNamedMention(ms, n) && n <= i + 2) return false;
  if (i > 0 && InNamedMention(ms, i - 1)) return false;
  const std::string next = i + 1 < t.size() ? t[i + 1].w : "";
  if (next == "scan" || next == "scans") return true;
  size_t r = i + 1;
  while (r < t.size() && (t[r].w == "of" || t[r].w == "the")) ++r;
  // "XXXX of the chest", "XXXX chest, abdomen and pelvis" (a region noun, not an organ).
  static const std::array<std::string_view, 9> kRegionNouns = {
      "chest", "thorax", "abdomen", "pelvis", "head", "neck", "brain", "abd", "abdomen/pelvis"};
  if (r < t.size() && In(t[r].w, kRegionNouns)) return true;
  // "additional evaluation XXXX advised": the mask is a verb after a noun that names no
  // examination (docs/followups-labelling.md, adjudication).
  const std::string prev = i > 0 ? t[i - 1].w : "";
  if (prev == "evaluation" || prev == "investigation" || prev == "workup" || prev == "work-up" ||
      prev == "assessment" || prev == "characterization") {
    return false;
  }
  // "recommend XXXX correlation": the mask is not an examination.
  static const std::array<std::string_view, 9> kNotExam = {
      "correlation", "consultation", "biopsy", "bronchoscopy", "referral", "treatment",
      "therapy", "antibiotics", "evaluation"};
  if (In(next, kNotExam)) return false;
  // "XXXX would be needed to evaluate", "a XXXX is recommended", "XXXX recommended".
  static const std::array<std::string_view, 5> kAdvised = {"recommended", "suggested", "advised",
                                                           "indicated", "warranted"};
  if (In(next, kAdvised)) return true;
  static const std::array<std::string_view, 9> kModal = {"would", "may", "should", "could", "can",
                                                         "might", "will", "is", "are"};
  if (In(next, kModal)) {
    static const std::array<std::string_view, 14> kAction = {
        "helpful", "useful", "needed", "necessary", "required", "indicated", "warranted",
        "recommended", "suggested", "advised", "considered", "reasonable", "of", "better"};
    for (size_t k = i + 2; k < t.size() && k <= i + 6; ++k) {
      const std::string& w = t[k].w;
      if (In(w, kAction) || w.rfind("perform", 0) == 0 || w.rfind("obtain", 0) == 0 ||
          w.rfind("confirm", 0) == 0 || w.rfind("evaluat", 0) == 0 || w.rfind("characteri", 0) == 0 ||
          w.rfind("clarif", 0) == 0 || w.rfind("provid", 0) == 0 || w.rfind("help", 0) == 0 ||
          w.rfind("assess", 0) == 0) {
        return true;
      }
      if (t[k].punct) break;
    }
  }
  size_t p = i;
  while (p > 0 && In(t[p - 1].w, kModifiers)) --p;
  if (p == 0) return false;
  const std::string& before = t[p - 1].w;
  static const std::array<std::string_view, 14> kBefore = {
      "recommend", "recommended", "recommends", "consider", "suggest", "imaging", "study",
      "evaluation", "evaluated", "obtain", "perform", "advise", "advised", "considered"};
  if (In(before, kBefore)) return true;
  if (before == "with" && p >= 2) {
    static const std::array<std::string_view, 10> kWith = {
        "evaluation", "evaluated", "imaging", "assessment", "characterization",
        "characterized", "assessed", "followup", "follow-up", "up"};
    if (In(t[p - 2].w, kWith)) return true;
  }
  return false;
}

// ---- rules 3, 4, 9: sentence cues ---------------------------------------------------------

const std::regex& Re(const char* pattern) {
  // One compiled regex per pattern literal (the callers pass literals).
  static std::mutex mutex;
  static std::map<const char*, std::regex> cache;  // references stay valid across inserts
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript | std::regex::optimize)).first;
  return it->second;
}

bool Search(const std::string& s, const char* pattern) { return std::regex_search(s, Re(pattern)); }

bool Negated(const std::string& s) {
  return Search(s, R"(\bno (further |additional |dedicated |repeat |specific )?(follow[- ]?up|followup|imaging|evaluation|workup|work-up|ct|mri|radiographs?|films?|studies|study)\b[^.]*\b(needed|necessary|required|indicated|recommended|warranted)\b)") ||
         Search(s, R"(\b(is|are) not (needed|necessary|required|indicated|warranted|recommended)\b)") ||
         Search(s, R"(\bnot (be )?(needed|necessary|required)\b)") || Search(s, R"(\bno need\b)") ||
         Search(s, R"(\b(was|were|had been|has been|have been) (previously |already )?(recommended|suggested|advised|ordered|scheduled)\b)") ||
         Search(s, R"(\bpreviously (recommended|suggested|advised)\b)") ||
         Search(s, R"(\balready (been )?(ordered|obtained|performed|scheduled|done)\b)") ||
         // "follow-up of the known nodule shows stability": a follow-up already done.
         Search(s, R"(\bfollow[- ]?up\b[^.;]*\b(shows|showed|demonstrates|demonstrated|reveals|revealed|(was|were|has been|have been) (performed|obtained|done))\b)");
}

// A recommendation verb, a modal with an action, or a purpose (rule 4, without follow-up).
bool AdviceCue(const std::string& s) {
  if (Search(s, R"(\brecommend)") || Search(s, R"(\badvis(e|ed|able)\b)") ||
      Search(s, R"(\bconsider(ed)?\b)")) {
    return true;
  }
  // "suggest" as advice: "suggest CT", "is suggested"; not "to suggest", "would suggest".
  static const std::regex suggest(R"(\b(\w+ )?suggest(ed)?\b)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), suggest); it != std::sregex_iterator(); ++it) {
    std::string before = (*it)[1].matched ? (*it)[1].str() : "";
    if (!before.empty()) before.pop_back();
    bool passive = (*it)[2].matched;
    if (passive && (before == "is" || before == "are" || before == "be" || before == "was")) return true;
    if (!passive && before != "to" && before != "would" && before != "may" && before != "might" &&
        before != "could" && before != "not" && before != "that" && before != "which") {
      return true;
    }
  }
  if (Search(s, R"(\b(may|might|could|would|will|can|should)( [^ .;,]+){0,4} (helpful|useful|benefi\w*|value|need\w*|necessary|requir\w*|indicated|warranted|perform\w*|obtain\w*|consider\w*|reasonable|confirm\w*|evaluat\w*|characteri[sz]\w*|clarif\w*|provid\w*|help\w*|follow\w*|assess\w*|better|further|exclud\w*|determin\w*|document\w*|delineat\w*|re-?evaluat\w*|re-?assess\w*)\b)")) {
    return true;
  }
  return Search(s, R"(\b(is|are) (indicated|warranted|needed|necessary|required|advisable)\b)") ||
         Search(s, R"(\bbe of\b)") ||
         Search(s, R"(\bfor (further )?(evaluation|characterization|clarification|assessment|workup|work-up)\b)") ||
         Search(s, R"(\bto (further )?(evaluate|characterize|assess|exclude|confirm|determine|document|rule[- ]out|ensure|establish|identify|clarify|re-?evaluate|re-?assess)\b)") ||
         Search(s, R"(\bfurther (evaluation|characterization|assessment|imaging|study|workup|work-up|evaluated|characterized|assessed)\b)") ||
         Search(s, R"(\b(evaluated|characterized|assessed) further\b)");
}

// A follow-up word, not one about an examination already done ("on follow-up imaging").
bool FollowupCue(const std::string& s) {
  static const std::regex re(
      R"(\b(follow[- ]?ups?|followed[- ]up|be followed|following (this|these|the) (process|finding|abnormalit|opacit)\w*|follow (this|these)|repeat|short[- ](interval|term)|interval (film|radiograph|chest|study|exam|followup|follow))\b)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    size_t p = static_cast<size_t>(it->position(0));
    std::string before = s.substr(p >= 24 ? p - 24 : 0, p >= 24 ? 24 : p);
    std::string after = s.substr(p + static_cast<size_t>(it->length(0)));
    if (std::regex_search(before, Re(R"(\b(on|at|prior|previous|since|initial|last|recent)( the)?\s*$)"))) continue;
    // Not imaging: "clinical follow-up", "follow-up with the primary care physician".
    if (std::regex_search(before, Re(R"(\bclinical(ly)?( and laboratory)?\s*$)"))) continue;
    if (std::regex_search(after, Re(R"(^\s*(with|by) (dr\b|the\b[^.;]{0,30}\b(physician|clinician|doctor|pcp|provider|clinic|team|service|specialist)|his|her|their|your|primary|pcp|pulmon|oncolog|cardiolog|surg|a (physician|specialist)))"))) continue;
    return true;
  }
  return false;
}

}  // namespace

bool IsConditional(std::string_view sentence) {
  std::string s = Lower(sentence);
  static const std::regex if_re(R"(\b(\w+ )?(if|whether)\b)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), if_re); it != std::sregex_iterator(); ++it) {
    if ((*it)[2].str() == "whether") continue;
    std::string before = (*it)[1].matched ? (*it)[1].str() : "";
    if (!before.empty()) before.pop_back();
    static const std::array<std::string_view, 9> kQuestion = {
        "determine", "see", "assess", "evaluate", "know", "establish", "confirm", "decide", "whether"};
    if (In(before, kQuestion)) continue;
    return true;
  }
  return Search(s, R"(\bunless\b)") || Search(s, R"(\bshould\b[^.]*\bpersist)") ||
         Search(s, R"(\b(as|when) clinically (indicated|warranted|needed|appropriate)\b)") ||
         Search(s, R"(\bas needed\b)") || Search(s, R"(\bin case\b)") ||
         // "XXXX clinically feasible": the mask stands for "if" / "when".
         Search(s, R"(\bxxxx clinically (indicated|warranted|feasible|appropriate|needed)\b)") ||
         Search(s, R"(\bdepend(s|ing)? (on|upon)\b)") ||
         Search(s, R"(\bwhen (the )?(patient|clinically|able|stable|feasible|tolerated)\b)");
}

std::optional<Interval> ParseInterval(std::string_view sentence) {
  std::string s = Lower(sentence);
  static const std::map<std::string, int, std::less<>> kNumbers = {
      {"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}, {"five", 5}, {"six", 6},
      {"seven", 7}, {"eight", 8}, {"nine", 9}, {"ten", 10}, {"eleven", 11}, {"twelve", 12},
      {"a", 1}, {"an", 1}};
  auto number = [&](const std::string& w) -> int {
    if (!w.empty() && IsDigit(w[0])) return std::stoi(w);
    auto it = kNumbers.find(w);
    return it == kNumbers.end() ? 0 : it->second;
  };
  auto unit_days = [](const std::string& u) {
    if (u.rfind("day", 0) == 0) return 1;
    if (u.rfind("week", 0) == 0 || u.rfind("wk", 0) == 0) return 7;
    if (u.rfind("mo", 0) == 0) return 30;
    if (u.rfind("year", 0) == 0 || u.rfind("yr", 0) == 0) return 365;
    return 0;
  };
  static const char* kNum = R"((\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))";
  static const std::regex range(std::string(R"(\b)") + kNum + R"(\s*(?:-|–|to|or)\s*)" + kNum +
                                R"(\s*-?\s*(days?|weeks?|wks?|months?|mos?|years?|yrs?|xxxx)\b(?!\s+(ago|old|prior|earlier)))");
  static const std::regex single(std::string(R"(\b)") + R"((\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an))" +
                                 R"(\s*-?\s*(days?|weeks?|wks?|months?|mos?|years?|yrs?)\b(?!\s+(ago|old|prior|earlier)))");
  std::smatch m;
  if (std::regex_search(s, m, range)) {
    int a = number(m[1].str()), b = number(m[2].str());
    // "4 to 6 XXXX post treatment": the masked unit of a range is read as weeks (rule 10).
    int u = m[3].str() == "xxxx" ? 7 : unit_days(m[3].str());
    if (a > 0 && b > 0 && u > 0) return Interval{std::min(a, b) * u, std::max(a, b) * u};
  }
  if (std::regex_search(s, m, single)) {
    int a = number(m[1].str()), u = unit_days(m[2].str());
    if (a > 0 && u > 0) return Interval{a * u, a * u};
  }
  if (Search(s, R"(\b(annual|yearly)\b)")) return Interval{365, 365};
  return std::nullopt;
}

namespace {

// ---- rule 12: the finding ---------------------------------------------------------------------

// A noun phrase from token `b` that names a finding (has a finding noun), else "".
std::string FindingPhraseAt(const std::vector<Token>& t, size_t b) {
  static const std::array<std::string_view, 36> kStop = {
      "is", "are", "was", "were", "may", "might", "could", "would", "should", "can", "which",
      "that", "seen", "noted", "projecting", "measuring", "likely", "most", "as", "without",
      "recommend", "recommended", "consider", "suggest", "suggesting", "represents",
      "represent", "has", "have", "not", "to", "for", "with", "xxxx", "also", "concerning"};
  static const std::array<std::string_view, 12> kSkip = {
      "xxxx", "stable", "approximately", "again", "any", "possible", "this", "these", "the",
      "a", "an", "underlying"};
  static const std::array<std::string_view, 57> kNouns = {
      "nodule", "nodules", "opacity", "opacities", "density", "densities", "mass", "masses",
      "lesion", "lesions", "lucency", "lucencies", "consolidation", "pneumonia", "infiltrate",
      "infiltrates", "effusion", "effusions", "fracture", "fractures", "disease", "prominence",
      "fullness", "adenopathy", "lymphadenopathy", "pattern", "deformity", "widening",
      "contour", "structure", "thickening", "irregularity", "aneurysm", "air", "pneumothorax",
      "atelectasis", "granuloma", "shadow", "abnormality", "abnormalities", "calcification",
      "convexity", "process", "cardiomegaly", "enlargement", "hernia", "mediastinum",
      "dissection", "malignancy", "edema", "disruption", "stripe", "hilum", "node", "nodes",
      "pneumoperitoneum", "fibrosis"};
  while (b < t.size() && In(t[b].w, kSkip)) ++b;
  // A negated or listed finding is not what the examination is for.
  if (b < t.size() && (t[b].w == "no" || t[b].w == "differential" || t[b].w == "other" ||
                       t[b].w == "without" || t[b].w == "findings")) {
    return "";
  }
  size_t i = b;
  bool noun = false;
  while (i < t.size() && !t[i].punct && !In(t[i].w, kStop) && i - b < 12) {
    if (!ModalityOfWord(t[i]).empty()) return "";
    noun = noun || In(t[i].w, kNouns);
    ++i;
  }
  // Trailing prepositions of a cut phrase ("opacity in the").
  while (i > b && (t[i - 1].w == "in" || t[i - 1].w == "of" || t[i - 1].w == "the" ||
                   t[i - 1].w == "at" || t[i - 1].w == "within" || t[i - 1].w == "and")) {
    --i;
  }
  if (!noun || i == b) return "";
  std::string out;
  for (size_t k = b; k < i; ++k) {
    if (!out.empty()) out += ' ';
    out += t[k].w;
  }
  if (out == "findings" || out == "these findings" || out == "finding") return "";
  return out;
}

// Rule 12: the sentence's leading phrase, what it is "for" ("concern for occult fracture",
// "evaluation of this nodule"), else the leading phrase of up to three sentences before
// it in the same section and list item.
std::string FindingOf(const std::vector<Sentence>& sentences, size_t si) {
  auto t = Tokenize(sentences[si].text);
  static const std::array<std::string_view, 8> kNotSubject = {
      "if", "please", "in", "with", "as", "although", "however", "otherwise"};
  if (!t.empty() && !In(t[0].w, kNotSubject)) {
    std::string lead = FindingPhraseAt(t, 0);
    if (!lead.empty()) return lead;
  }
  for (size_t k = 0; k + 1 < t.size(); ++k) {
    const std::string& w = t[k].w;
    const std::string& n = t[k + 1].w;
    if ((w == "concern" && n == "for") || (w == "evaluation" && n == "of") ||
        (w == "evaluate" && n == "for") || w == "rule-out" || (w == "rule" && n == "out") ||
        (w == "exclude" && n != "the")) {
      size_t b = (w == "rule-out" || w == "exclude") ? k + 1 : k + 2;
      std::string obj = FindingPhraseAt(t, b);
      if (!obj.empty() && obj != "nodule" && obj != "nodules") return obj;
    }
  }
  for (size_t back = 1; back <= 3 && back <= si; ++back) {
    const Sentence& prev = sentences[si - back];
    if (prev.section != sentences[si].section) break;
    std::string lead = FindingPhraseAt(Tokenize(prev.text), 0);
    if (!lead.empty()) return lead;
    if (prev.item_start) break;
  }
  return "";
}

struct Candidate {
  Recommendation rec;
  size_t sentence = 0;
  bool impression = false;
};

}  // namespace

std::vector<Recommendation> ExtractRecommendations(const std::string& report_text) {
  std::vector<Sentence> sentences = SplitSentences(report_text);
  std::vector<Candidate> candidates;
  for (size_t si = 0; si < sentences.size(); ++si) {
    const Sentence& sent = sentences[si];
    std::string s = Lower(sent.text);
    if (Negated(s)) continue;
    bool advice = AdviceCue(s);
    bool followup = FollowupCue(s);
    if (!advice && !followup) continue;
    std::vector<Token> t = Tokenize(sent.text);
    std::vector<Mention> mentions = FindMentions(t);
    std::vector<Mention> exams, generic;
    for (auto& m : mentions) {
      if (Excluded(t, m)) continue;
      if (m.regions.empty()) m.regions = PhraseRegions(t, m.begin, m.end);
      (m.generic ? generic : exams).push_back(m);
    }
    if (exams.empty()) {
      for (size_t i = 0; i < t.size(); ++i) {
        if (!MaskedExam(t, mentions, i)) continue;
        Mention m;
        m.modality = "CT";
        m.begin = i;
        m.end = i + 1;
        m.regions = PhraseRegions(t, i, i + 1);
        exams.push_back(m);
      }
    }
    if (exams.empty() && (followup || !generic.empty())) {
      Mention m;
      m.modality = "XR";
      if (!generic.empty()) m.regions = generic.front().regions;
      exams.push_back(m);
    }
    if (exams.empty()) continue;

    // Rule 8 defaults: the sentence's own region words, then (MR / US / NM) the finding's.
    std::vector<std::string> context;
    auto context_of = [&](const std::string& text) {
      auto ct = Tokenize(text);
      for (size_t k = 0; k < ct.size(); ++k) {
        for (const auto& r : RegionsOfToken(ct, k)) {
          if (std::find(context.begin(), context.end(), r) == context.end()) context.push_back(r);
        }
      }
    };
    context_of(sent.text);
    std::vector<std::string> earlier;
    for (size_t back = 1; back <= 2 && back <= si; ++back) {
      if (sentences[si - back].section != sent.section) break;
      std::swap(context, earlier);
      context_of(sentences[si - back].text);
      std::swap(context, earlier);
    }
    auto pick_default = [&](const std::string& modality) -> std::string {
      auto first_non_chest = [](const std::vector<std::string>& rs) -> std::string {
        for (const auto& r : rs) {
          if (r != "chest") return r;
        }
        return "";
      };
      std::string r = first_non_chest(context);
      if (!r.empty() && (modality != "CT" && modality != "XR")) return r;
      if (modality == "MR" || modality == "US" || modality == "NM") {
        std::string e = first_non_chest(earlier);
        if (!e.empty()) return e;
      }
      return "chest";
    };

    auto interval = ParseInterval(sent.text);
    bool conditional = IsConditional(sent.text);
    std::string finding = FindingOf(sentences, si);
    for (const auto& m : exams) {
      std::vector<std::string> regions = m.regions;
      if (regions.empty()) regions.push_back(pick_default(m.modality));
      for (const auto& region : regions) {
        Candidate c;
        c.rec.finding = finding;
        c.rec.modality = m.modality;
        c.rec.body_region = region;
        if (interval) {
          c.rec.interval_min_days = interval->min_days;
          c.rec.interval_max_days = interval->max_days;
        }
        c.rec.conditional = conditional;
        c.rec.text = sent.text;
        c.rec.offset = sent.offset;
        c.sentence = si;
        c.impression = sent.section == "IMPRESSION" || sent.section == "CONCLUSION" ||
                       sent.section == "RECOMMENDATION" || sent.section == "RECOMMENDATIONS";
        candidates.push_back(std::move(c));
      }
    }
  }

  // Rule 11: one per (modality, body region); the impression's sentence, else the first.
  std::vector<Candidate> kept;
  for (auto& c : candidates) {
    auto same = std::find_if(kept.begin(), kept.end(), [&](const Candidate& k) {
      return k.rec.modality == c.rec.modality && k.rec.body_region == c.rec.body_region;
    });
    if (same == kept.end()) {
      kept.push_back(c);
      continue;
    }
    if (c.impression && !same->impression) {
      if (!c.rec.interval_max_days && same->rec.interval_max_days) {
        c.rec.interval_min_days = same->rec.interval_min_days;
        c.rec.interval_max_days = same->rec.interval_max_days;
      }
      *same = c;
    } else if (!same->rec.interval_max_days && c.rec.interval_max_days) {
      same->rec.interval_min_days = c.rec.interval_min_days;
      same->rec.interval_max_days = c.rec.interval_max_days;
    }
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Candidate& a, const Candidate& b) { return a.sentence < b.sentence; });
  std::vector<Recommendation> out;
  for (auto& k : kept) out.push_back(std::move(k.rec));
  return out;
}

nlohmann::json RecommendationJson(const Recommendation& r) {
  nlohmann::json interval = nullptr;
  if (r.interval_min_days && r.interval_max_days) {
    if (*r.interval_min_days == *r.interval_max_days) {
      interval = *r.interval_max_days;
    } else {
      interval = nlohmann::json::array({*r.interval_min_days, *r.interval_max_days});
    }
  } else if (r.interval_max_days) {
    interval = *r.interval_max_days;
  }
  return {{"finding", r.finding},       {"modality", r.modality},       {"body_region", r.body_region},
          {"interval_days", interval}, {"conditional", r.conditional}, {"text", r.text}};
}

nlohmann::json RecommendationsJson(const std::vector<Recommendation>& recs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : recs) list.push_back(RecommendationJson(r));
  return {{"recommendations", list}};
}

}  // namespace radflow::followups
