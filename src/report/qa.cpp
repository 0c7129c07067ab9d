// Report QA (issue 13). docs/report-qa.md states the rules and tolerances.
#include "report/qa.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "report/lung_rads.h"
#include "report/measures.h"
#include "report/prefill.h"
#include "report/text_scan.h"

namespace radflow::report {
namespace {

int SeverityRank(const std::string& s) {
  if (s == "low") return 1;
  if (s == "moderate") return 2;
  if (s == "high") return 3;
  if (s == "critical") return 4;
  return 0;  // info / unknown
}

std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string Num(double v) {
  std::string s = Fmt("%.2f", v);
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
    const bool dot = s.back() == '.';
    s.pop_back();
    if (dot) break;
  }
  return s;
}

bool IsAbbreviation(const std::string& text, size_t dot) {
  size_t b = dot;
  while (b > 0 && std::isalpha(static_cast<unsigned char>(text[b - 1]))) --b;
  const std::string w = scan::Lower(text.substr(b, dot - b));
  static const std::set<std::string> kAbbr = {"dr", "mr", "mrs", "ms", "prof", "e.g", "i.e", "eg", "ie", "vs",
                                              "approx", "fig", "no", "cf", "st", "resp", "incl", "ca"};
  if (kAbbr.count(w)) return true;
  // "e.g." / "i.e.": a single letter followed by a dot.
  return w.size() == 1 && b > 0 && text[b - 1] == '.';
}

const char* KindNoun(const std::string& kind) {
  if (kind == "lung_nodule") return "lung nodule";
  if (kind == "haemorrhage") return "haemorrhage";
  if (kind == "emphysema") return "emphysema";
  if (kind == "image_quality") return "image-quality finding";
  return "finding";
}

// Words that make a sentence speak of a finding of a kind.
bool MentionsKind(const std::string& lower, const std::string& kind) {
  static const std::vector<std::string> kNodule = {"nodule", "nodules", "mass", "masses", "lesion", "lesions",
                                                   "opacity", "ggn", "ggo", "nodular"};
  static const std::vector<std::string> kBleed = {"haemorrhage", "hemorrhage", "haemorrhages", "hemorrhages", "bleed",
                                                  "bleeding", "haematoma", "hematoma", "ich"};
  static const std::vector<std::string> kEmph = {"emphysema", "emphysematous", "laa-950", "laa", "perc15"};
  const auto& words = kind == "lung_nodule" ? kNodule : kind == "haemorrhage" ? kBleed : kind == "emphysema" ? kEmph
                                                                                                           : std::vector<std::string>{};
  for (const auto& w : words) {
    int pos = scan::FindWord(lower, w);
    while (pos >= 0) {
      if (!scan::Negated(lower, pos)) return true;
      pos = scan::FindWord(lower, w, pos + 1);
    }
  }
  return false;
}

struct Sentence {
  std::string field;   // findings_text | impression_text
  int index = 0;       // within its field
  int offset = 0, length = 0;
  std::string text, lower;
  std::vector<scan::Quantity> quantities;
  scan::Sites sites;
};

// An accepted finding with the measurements QA compares against.
struct Accepted {
  Proposal p;
  std::vector<double> lengths;  // mm: mean, long, short, size, prior size, change
  std::vector<double> volumes;  // mL: volume
  std::vector<double> prior_lengths, prior_volumes;  // the prior's sizes and the changes
  std::optional<double> laa;    // %LAA-950
  std::optional<double> mean_mm;  // lung nodule: accepted mean diameter
  detail::NoduleFacts nodule;
  std::string side, lobe, brain_part;
  bool single_length = false;   // one measured length (no short axis)
  std::vector<int> sentences;   // indexes into the sentence list assigned to it
};

std::optional<double> ValueOf(const Proposal& p, const std::map<std::string, std::string>& ai_keys, const std::string& key) {
  for (const auto& [field, value] : p.values) {
    auto it = ai_keys.find(field);
    const std::string k = it != ai_keys.end() ? it->second : field;
    if (k != key) continue;
    char* end = nullptr;
    const double d = std::strtod(value.c_str(), &end);
    if (end != value.c_str()) return d;
  }
  return std::nullopt;
}

bool Agrees(double stated, double ref, double abs_tol, double rel_tol) {
  return std::fabs(stated - ref) <= std::max(abs_tol, rel_tol * std::fabs(ref)) + 1e-9;
}

std::string Excerpt(const std::string& s) {
  if (s.size() <= 90) return s;
  return s.substr(0, 87) + "...";
}

std::string FindingName(const Proposal& p) {
  std::string app = p.finding.app_id + (p.finding.app_version.empty() ? "" : " " + p.finding.app_version);
  std::string what = p.finding.label.empty() ? KindNoun(p.kind) : p.finding.label;
  return "'" + what + "' (" + app + ")";
}

class Checker {
 public:
  Checker(const Draft& d, const std::vector<Proposal>& proposals, const std::vector<Decision>& decisions,
          const QaOptions& o)
      : draft_(d), proposals_(proposals), decisions_(decisions), o_(o) {}

  std::vector<QaIssue> Run() {
    std::map<int64_t, const Decision*> current;
    for (const auto& d : decisions_) {
      auto it = current.find(d.finding_id);
      if (it == current.end() || d.at >= it->second->at) current[d.finding_id] = &d;
    }
    const int min_rank = SeverityRank(o_.undecided_min_severity);
    for (const auto& p : proposals_) {
      auto it = current.find(p.finding.id);
      const bool decided = it != current.end() &&
                           (it->second->decision == "accepted" || it->second->decision == "edited" ||
                            it->second->decision == "rejected");
      if (!decided || it->second->decision == "rejected") others_.push_back(Prepare(p));
      if (!decided) {
        if (SeverityRank(p.finding.severity) >= std::max(1, min_rank)) {
          Add("undecided_finding", "error",
              "The AI finding " + FindingName(p) + " of " + p.finding.severity +
                  " severity is neither accepted nor rejected.",
              p.finding.id, "", -1, 0, std::to_string(p.finding.id));
        }
        continue;
      }
      if (it->second->decision == "rejected") continue;
      accepted_.push_back(Prepare(ApplyDecision(p, *it->second, o_.ai_keys)));
    }
    Split("findings_text", draft_.findings_text);
    Split("impression_text", draft_.impression_text);
    Assign();
    for (auto& a : accepted_) {
      for (int si : a.sentences) {
        const Sentence& s = sentences_[si];
        const bool multi = MultiFinding(s, a.p.kind);
        if (!multi) CheckSide(a, s);
        CheckMeasurement(a, s, multi);
      }
    }
    CheckLungRads();
    CheckFollowup();
    CheckCritical();
    return issues_;
  }

 private:
  void Add(const std::string& check, const std::string& severity, const std::string& message, int64_t finding,
           const std::string& field, int offset, int length, const std::string& key) {
    QaIssue i;
    i.id = check + ":" + key;
    int n = 2;
    while (ids_.count(i.id)) i.id = check + ":" + key + "#" + std::to_string(n++);
    ids_.insert(i.id);
    i.check = check;
    i.severity = severity;
    i.message = message;
    i.finding_id = finding;
    i.field = field;
    i.offset = offset;
    i.length = length;
    issues_.push_back(std::move(i));
  }
  void AddAt(const std::string& check, const std::string& severity, const std::string& message, int64_t finding,
             const Sentence& s) {
    Add(check, severity, message, finding, s.field, s.offset, s.length,
        finding != 0 ? std::to_string(finding) : s.field.substr(0, 1) + std::to_string(s.index));
  }

  Accepted Prepare(Proposal p) {
    Accepted a;
    a.side = p.laterality;
    if (p.kind == "lung_nodule") a.lobe = scan::LungLobeOf(p.site);
    if (p.kind == "haemorrhage") a.brain_part = scan::BrainPartOf(p.site);
    const AiFinding& f = p.finding;
    auto value = [&](const std::string& key) { return ValueOf(p, o_.ai_keys, key); };
    auto add_len = [&](std::optional<double> v) { if (v && *v > 0) a.lengths.push_back(*v); };
    auto add_vol = [&](std::optional<double> v) { if (v && *v > 0) a.volumes.push_back(*v); };
    if (p.kind == "lung_nodule") {
      a.nodule = detail::Nodule(f);
      const double mean = value("mean_diameter_mm").value_or(a.nodule.mean);
      a.mean_mm = mean;
      const auto long_axis = value("long_axis_mm").value_or(value("size_mm").value_or(a.nodule.long_axis));
      add_len(mean);
      add_len(long_axis);
      add_len(value("size_mm"));
      add_len(value("short_axis_mm").value_or(a.nodule.short_axis));
      add_len(value("solid_component_mm").has_value() ? value("solid_component_mm") : a.nodule.solid_component);
      const double vol = value("volume_ml").value_or(a.nodule.volume);
      add_vol(vol);
      if (f.prior) {
        if (f.prior->diameter_change_mm != 0) {
          a.prior_lengths.push_back(std::fabs(f.prior->diameter_change_mm));
          a.prior_lengths.push_back(mean - f.prior->diameter_change_mm);
        } else if (f.prior->volume_change_pct != 0 && f.prior->volume_change_pct > -100) {
          a.prior_lengths.push_back(mean / std::cbrt(1 + f.prior->volume_change_pct / 100.0));
        }
        if (f.prior->volume_change_pct != 0 && f.prior->volume_change_pct > -100 && vol > 0) {
          const double prior_vol = vol / (1 + f.prior->volume_change_pct / 100.0);
          a.prior_volumes.push_back(prior_vol);
          a.prior_volumes.push_back(std::fabs(vol - prior_vol));
        }
      }
    } else if (p.kind == "haemorrhage") {
      a.single_length = true;
      add_len(value("bleed_size_mm").value_or(f.size_mm > 0 ? f.size_mm : detail::Meas(f, "103339001", "long axis").value_or(0)));
      const double vol = value("bleed_volume_ml").value_or(f.volume_ml);
      add_vol(vol);
      if (f.prior && f.prior->volume_change_pct != 0 && f.prior->volume_change_pct > -100 && vol > 0) {
        const double prior_vol = vol / (1 + f.prior->volume_change_pct / 100.0);
        a.prior_volumes.push_back(prior_vol);
        a.prior_volumes.push_back(std::fabs(vol - prior_vol));
      }
    } else if (p.kind == "emphysema") {
      const std::string key = p.laterality == "left" ? "laa950_left_pct" : p.laterality == "right" ? "laa950_right_pct" : "laa950_pct";
      a.laa = value(key).has_value() ? value(key) : detail::Meas(f, "LAA950", "-950");
      add_vol(value("emphysema_volume_ml").value_or(f.volume_ml));
    }
    a.p = std::move(p);
    return a;
  }

  void Split(const std::string& field, const std::string& text) {
    int index = 0;
    for (const auto& span : SplitSentences(text)) {
      Sentence s;
      s.field = field;
      s.index = index++;
      s.offset = span.offset;
      s.length = span.length;
      s.text = text.substr(static_cast<size_t>(span.offset), static_cast<size_t>(span.length));
      s.lower = scan::Lower(s.text);
      s.quantities = scan::FindQuantities(s.text);
      s.sites = scan::FindSites(s.text);
      sentences_.push_back(std::move(s));
    }
  }

  double Similarity(const std::string& a, const std::string& b) {
    auto tokens = [](const std::string& s) {
      std::set<std::string> out;
      std::string cur;
      for (char c : scan::Lower(s) + " ") {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.') cur += c;
        else {
          if (cur.size() > 1 || (!cur.empty() && std::isdigit(static_cast<unsigned char>(cur[0])))) out.insert(cur);
          cur.clear();
        }
      }
      return out;
    };
    const auto ta = tokens(a), tb = tokens(b);
    if (ta.empty() || tb.empty()) return 0;
    size_t common = 0;
    for (const auto& t : ta) common += tb.count(t);
    return static_cast<double>(common) / static_cast<double>(ta.size() + tb.size() - common);
  }

  bool SideIn(const scan::Sites& s, const std::string& side) {
    return (side == "left" && s.left) || (side == "right" && s.right);
  }

  double Score(const Accepted& a, const Sentence& s) {
    double score = 2 * Similarity(a.p.sentence, s.text);
    if (SideIn(s.sites, a.side)) score += 1;
    if (!a.lobe.empty() && std::find(s.sites.lung_lobes.begin(), s.sites.lung_lobes.end(), a.lobe) != s.sites.lung_lobes.end()) score += 1;
    if (!a.brain_part.empty() && std::find(s.sites.brain_parts.begin(), s.sites.brain_parts.end(), a.brain_part) != s.sites.brain_parts.end()) score += 1;
    for (const auto& q : s.quantities) {
      if (q.unit == "mm") {
        for (double l : a.lengths) if (Agrees(q.value, l, o_.size_abs_tolerance_mm, o_.size_rel_tolerance)) { score += 1.5; break; }
      } else if (q.unit == "ml") {
        for (double v : a.volumes) if (Agrees(q.value, v, o_.volume_abs_tolerance_ml, o_.volume_rel_tolerance)) { score += 1; break; }
      }
    }
    return score;
  }

  static bool SpeaksOfChange(const std::string& lower) {
    for (const char* w : {"prior", "previous", "previously", "earlier", "from", "compared", "comparison", "increase",
                          "increased", "decrease", "decreased", "grown", "grew", "growing", "growth", "enlarged",
                          "enlarging", "larger", "smaller", "shrunk", "reduced", "by", "change", "changed", "then"})
      if (scan::HasWord(lower, w)) return true;
    return false;
  }

  bool SharesSize(const Accepted& a, const Sentence& s) {
    for (const auto& q : s.quantities) {
      if (q.unit == "mm")
        for (double l : a.lengths) if (Agrees(q.value, l, o_.size_abs_tolerance_mm, o_.size_rel_tolerance)) return true;
      if (q.unit == "ml")
        for (double v : a.volumes) if (Agrees(q.value, v, o_.volume_abs_tolerance_ml, o_.volume_rel_tolerance)) return true;
    }
    return false;
  }

  // A sentence about another finding: it calls the lesion benign/calcified, or it names the
  // other side and gives sizes none of which is the finding's.
  bool Plausible(const Accepted& a, const Sentence& s) {
    for (const char* w : {"calcified", "calcification", "granuloma", "granulomas", "benign"})
      if (scan::HasWord(s.lower, w)) return false;
    const std::string other = a.side == "left" ? "right" : a.side == "right" ? "left" : "";
    const bool other_side = !other.empty() && SideIn(s.sites, other) && !SideIn(s.sites, a.side);
    bool sizes = false;
    for (const auto& q : s.quantities) sizes = sizes || q.unit == "mm" || q.unit == "ml";
    return !(other_side && sizes && !SharesSize(a, s));
  }

  // Each sentence that speaks of a kind goes to a finding of that kind (accepted or not, so
  // that the text of an undecided or rejected finding is not read as another's): per text
  // field, the best-scoring sentence/finding pairs first, one sentence per finding, then any
  // remaining sentence to the finding it fits best. Only accepted findings are checked.
  void Assign() {
    for (const char* kind : {"lung_nodule", "haemorrhage", "emphysema"}) {
      std::vector<Accepted*> cands;
      for (auto& a : accepted_) if (a.p.kind == kind) cands.push_back(&a);
      if (cands.empty()) continue;
      for (auto& a : others_) if (a.p.kind == kind) cands.push_back(&a);
      for (const char* field : {"findings_text", "impression_text"}) {
        std::vector<int> mentions;
        for (size_t si = 0; si < sentences_.size(); ++si)
          if (sentences_[si].field == field && MentionsKind(sentences_[si].lower, kind)) mentions.push_back(static_cast<int>(si));
        struct Pair { double score; int sentence; size_t cand; };
        std::vector<Pair> pairs;
        for (int si : mentions)
          for (size_t c = 0; c < cands.size(); ++c)
            if (Plausible(*cands[c], sentences_[si])) pairs.push_back({Score(*cands[c], sentences_[si]), si, c});
        std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.score > b.score; });
        std::set<int> done;
        std::set<size_t> served;
        for (const auto& pr : pairs) {
          if (done.count(pr.sentence) || served.count(pr.cand)) continue;
          cands[pr.cand]->sentences.push_back(pr.sentence);
          done.insert(pr.sentence);
          served.insert(pr.cand);
        }
        for (const auto& pr : pairs) {  // best-first: the first pair of a sentence is its best
          if (done.count(pr.sentence)) continue;
          // A further sentence must share a size with the finding, or, without sizes, its side
          // (else it describes a lesion the AI did not report).
          const Sentence& fs = sentences_[pr.sentence];
          const bool sizes = std::any_of(fs.quantities.begin(), fs.quantities.end(),
                                         [](const scan::Quantity& q) { return q.unit == "mm" || q.unit == "ml"; });
          if (sizes ? !SharesSize(*cands[pr.cand], fs) : !SideIn(fs.sites, cands[pr.cand]->side)) continue;
          cands[pr.cand]->sentences.push_back(pr.sentence);
          done.insert(pr.sentence);
        }
      }
    }
  }

  int CountKind(const std::string& kind) const {
    return static_cast<int>(std::count_if(accepted_.begin(), accepted_.end(), [&](const Accepted& a) { return a.p.kind == kind; }));
  }

  // A sentence naming both sides, or two lobes, speaks of several findings.
  bool MultiFinding(const Sentence& s, const std::string& kind) {
    if (s.sites.left && s.sites.right) return true;
    if (kind == "lung_nodule" && s.sites.lung_lobes.size() > 1) return true;
    if (kind == "haemorrhage" && s.sites.brain_parts.size() > 1) return true;
    if (CountKind(kind) > 1 && (scan::HasWord(s.lower, "nodules") || scan::HasWord(s.lower, "lesions") ||
                                scan::HasWord(s.lower, "masses") || scan::HasWord(s.lower, "haemorrhages") ||
                                scan::HasWord(s.lower, "hemorrhages")))
      return true;
    return false;
  }

  void CheckSide(const Accepted& a, const Sentence& s) {
    if (a.side != "left" && a.side != "right") return;
    const std::string other = a.side == "left" ? "right" : "left";
    if (SideIn(s.sites, other) && !SideIn(s.sites, a.side)) {
      AddAt("laterality_mismatch", "error",
            "The text says " + other + " but the " + KindNoun(a.p.kind) + " " + FindingName(a.p) + " lies in the " +
                (a.p.site.empty() ? a.side + " side" : a.p.site) + ": \"" + Excerpt(s.text) + "\"",
            a.p.finding.id, s);
      return;
    }
    if (!a.lobe.empty() && !s.sites.lung_lobes.empty() &&
        std::find(s.sites.lung_lobes.begin(), s.sites.lung_lobes.end(), a.lobe) == s.sites.lung_lobes.end()) {
      AddAt("site_mismatch", "warning",
            "The text names the " + s.sites.lung_lobes.front() + " lobe but the nodule " + FindingName(a.p) +
                " lies in the " + a.p.site + ": \"" + Excerpt(s.text) + "\"",
            a.p.finding.id, s);
      return;
    }
    if (!a.brain_part.empty() && !s.sites.brain_parts.empty() &&
        std::find(s.sites.brain_parts.begin(), s.sites.brain_parts.end(), a.brain_part) == s.sites.brain_parts.end()) {
      AddAt("site_mismatch", "warning",
            "The text names the " + s.sites.brain_parts.front() + " region but the finding " + FindingName(a.p) +
                " lies in the " + a.p.site + ": \"" + Excerpt(s.text) + "\"",
            a.p.finding.id, s);
    }
  }

  void CheckMeasurement(const Accepted& a, const Sentence& s, bool multi) {
    std::vector<const Accepted*> refs = {&a};
    if (multi)
      for (const auto& b : accepted_) if (&b != &a && b.p.kind == a.p.kind) refs.push_back(&b);
    // The prior's sizes and the change count where the sentence speaks of the comparison.
    const bool comparison = SpeaksOfChange(s.lower);
    auto length_ok = [&](double v) {
      for (const auto* r : refs) {
        for (double l : r->lengths) if (Agrees(v, l, o_.size_abs_tolerance_mm, o_.size_rel_tolerance)) return true;
        if (comparison)
          for (double l : r->prior_lengths) if (Agrees(v, l, o_.size_abs_tolerance_mm, o_.size_rel_tolerance)) return true;
      }
      return false;
    };
    auto volume_ok = [&](double v) {
      for (const auto* r : refs) {
        for (double l : r->volumes) if (Agrees(v, l, o_.volume_abs_tolerance_ml, o_.volume_rel_tolerance)) return true;
        if (comparison)
          for (double l : r->prior_volumes) if (Agrees(v, l, o_.volume_abs_tolerance_ml, o_.volume_rel_tolerance)) return true;
      }
      return false;
    };
    auto describe_lengths = [&]() {
      std::string out;
      for (double l : a.lengths) out += (out.empty() ? "" : ", ") + Num(l) + " mm";
      return out;
    };
    auto describe_volumes = [&]() {
      std::string out;
      for (double l : a.volumes) out += (out.empty() ? "" : ", ") + Num(l) + " mL";
      return out;
    };
    for (const auto& q : s.quantities) {
      // Thresholds quoted with a comparison ("< 6 mm", ">= 8 mm") are not measurements.
      if (q.offset > 0) {
        size_t b = static_cast<size_t>(q.offset);
        while (b > 0 && s.text[b - 1] == ' ') --b;
        if (b > 0 && (s.text[b - 1] == '<' || s.text[b - 1] == '>' || s.text[b - 1] == '=')) continue;
        if (b >= 2 && (s.text.compare(b - 2, 2, "\xA5") == 0 || s.text.compare(b - 2, 2, "\xA4") == 0)) continue;
        if (b >= 3 && (s.text.compare(b - 3, 3, "\xE2\x89\xA5") == 0 || s.text.compare(b - 3, 3, "\xE2\x89\xA4") == 0)) continue;
      }
      // "28 x 21 mm" for a finding with one measured length (a haemorrhage's long axis): the
      // largest dimension is compared, the others only need to be no longer than it.
      if (q.unit == "mm" && q.dims > 1 && a.single_length) {
        double largest = 0;
        for (const auto& o : s.quantities)
          if (o.offset == q.offset) largest = std::max(largest, o.value);
        if (q.value < largest) continue;
      }
      for (double v : {q.value, q.value_max}) {
        if (q.unit == "mm" && !a.lengths.empty() && !length_ok(v)) {
          AddAt("measurement_mismatch", "error",
                "The text gives " + Num(v) + " mm for the " + KindNoun(a.p.kind) + " " + FindingName(a.p) +
                    ", measured " + describe_lengths() + " (tolerance " + Num(o_.size_abs_tolerance_mm) + " mm or " +
                    Num(o_.size_rel_tolerance * 100) + "%): \"" + Excerpt(s.text) + "\"",
                a.p.finding.id, s);
          return;
        }
        if (q.unit == "ml" && !a.volumes.empty() && !volume_ok(v)) {
          AddAt("measurement_mismatch", "error",
                "The text gives " + Num(v) + " mL for the " + KindNoun(a.p.kind) + " " + FindingName(a.p) +
                    ", measured " + describe_volumes() + " (tolerance " + Num(o_.volume_abs_tolerance_ml) +
                    " mL or " + Num(o_.volume_rel_tolerance * 100) + "%): \"" + Excerpt(s.text) + "\"",
                a.p.finding.id, s);
          return;
        }
        if (!q.range) break;
      }
    }
    if (a.laa) {
      // The first percentage after "LAA" is the %LAA-950.
      int pos = scan::FindWord(s.lower, "laa");
      if (pos < 0) pos = scan::FindWord(s.lower, "low attenuation");
      if (pos >= 0) {
        for (const auto& q : s.quantities) {
          if (q.unit != "%" || q.offset < pos) continue;
          if (std::fabs(q.value - *a.laa) > o_.percent_abs_tolerance + 1e-9) {
            AddAt("measurement_mismatch", "error",
                  "The text gives %LAA-950 " + Num(q.value) + "% for the " + (a.p.site.empty() ? std::string("lungs") : a.p.site) +
                      ", measured " + Num(*a.laa) + "% (tolerance " + Num(o_.percent_abs_tolerance) + " points): \"" +
                      Excerpt(s.text) + "\"",
                  a.p.finding.id, s);
          }
          break;
        }
      }
    }
  }

  // Lung-RADS of a nodule at a given mean diameter ('' unknown).
  std::string CategoryAt(const Accepted& a, double mean) {
    detail::NoduleFacts n = a.nodule;
    n.mean = mean;
    bool known = true;
    auto r = detail::NoduleCategory(a.p.finding, n, &known);
    return known ? r.category : "";
  }

  // The categories a nodule may carry: from the accepted measurement, from the size the text
  // states for it, 4X in place of 3/4A/4B, and a category the radiologist set that is 1 or
  // higher than computed.
  std::set<std::string> AllowedCategories(const Accepted& a, bool* known) {
    std::set<std::string> out;
    *known = false;
    std::vector<double> means;
    if (a.mean_mm) means.push_back(*a.mean_mm);
    if (auto r = ReportedSize(a)) means.push_back(*r);
    int max_rank = 0;
    for (double m : means) {
      const std::string c = CategoryAt(a, m);
      if (c.empty()) continue;
      *known = true;
      out.insert(c);
      max_rank = std::max(max_rank, LungRadsRank(c));
      if (c == "3" || c == "4A" || c == "4B") out.insert("4X");
    }
    const std::string edited = a.p.lung_rads;
    if (*known && !edited.empty() && (edited == "1" || LungRadsRank(edited) >= max_rank)) out.insert(edited);
    return out;
  }

  // The first length the text states in a sentence assigned to the nodule (findings first).
  std::optional<double> ReportedSize(const Accepted& a) {
    for (const char* field : {"findings_text", "impression_text"}) {
      for (int si : a.sentences) {
        const Sentence& s = sentences_[si];
        if (s.field != field || MultiFinding(s, a.p.kind)) continue;
        for (const auto& q : s.quantities) if (q.unit == "mm") return q.value;
      }
    }
    return std::nullopt;
  }

  const Accepted* AssignedTo(int si, const std::string& kind) {
    for (const auto& a : accepted_)
      if (a.p.kind == kind && std::find(a.sentences.begin(), a.sentences.end(), si) != a.sentences.end()) return &a;
    return nullptr;
  }

  // The exam category is that of the most suspicious nodule: every category some nodule may
  // carry that is not below the highest of the nodules' lowest allowed categories.
  // *lower_rank: that bound; *all_known false when a nodule's category is unknown.
  std::set<std::string> ExamCategories(int* lower_rank, bool* all_known) {
    std::set<std::string> all;
    *lower_rank = 0;
    *all_known = true;
    for (const auto& a : accepted_) {
      if (a.p.kind != "lung_nodule") continue;
      bool known = false;
      auto allowed = AllowedCategories(a, &known);
      if (!known) {
        *all_known = false;
        continue;
      }
      int lowest = 99;
      for (const auto& c : allowed) if (c != "4X") lowest = std::min(lowest, LungRadsRank(c));
      *lower_rank = std::max(*lower_rank, lowest == 99 ? 0 : lowest);
      all.insert(allowed.begin(), allowed.end());
    }
    std::set<std::string> out;
    for (const auto& c : all) if (LungRadsRank(c) >= *lower_rank) out.insert(c);
    return out;
  }

  void CheckLungRads() {
    if (CountKind("lung_nodule") == 0) return;
    bool all_known = true;
    int exam_rank = 0;
    const std::set<std::string> exam = ExamCategories(&exam_rank, &all_known);
    for (size_t si = 0; si < sentences_.size(); ++si) {
      const Sentence& s = sentences_[si];
      const auto stated = scan::FindLungRads(s.text);
      if (stated.empty()) continue;
      const Accepted* a = AssignedTo(static_cast<int>(si), "lung_nodule");
      // "Lung-RADS 2." right after a nodule's sentence is that nodule's category.
      if (!a && si > 0 && sentences_[si - 1].field == s.field) a = AssignedTo(static_cast<int>(si) - 1, "lung_nodule");
      std::set<std::string> allowed = exam;
      bool known = all_known || !exam.empty();
      if (a) {
        bool k = false;
        auto own = AllowedCategories(*a, &k);
        if (!k) continue;
        allowed.insert(own.begin(), own.end());
        known = true;
      } else if (!all_known) {
        // A nodule of unknown category may justify an exam category above the known ones.
        for (const auto& st : stated) if (LungRadsRank(st.category) >= exam_rank) allowed.insert(st.category);
      }
      if (!known) continue;
      for (const auto& st : stated) {
        if (allowed.count(st.category)) continue;
        const Accepted* ref = a;
        if (!ref) {
          for (const auto& b : accepted_) {
            if (b.p.kind != "lung_nodule" || !b.mean_mm) continue;
            if (!ref || *b.mean_mm > *ref->mean_mm) ref = &b;
          }
        }
        std::string expect;
        for (const auto& c : allowed) if (c != "4X") expect += (expect.empty() ? "" : " or ") + c;
        std::string what = ref ? Fmt("%.1f", ReportedSize(*ref).value_or(ref->mean_mm.value_or(0))) + " mm " +
                                     NoduleTypeName(ref->nodule.type) + " nodule" + (ref->p.site.empty() ? "" : " in the " + ref->p.site)
                               : "the nodules";
        AddAt("lung_rads_inconsistent", "error",
              "Lung-RADS " + st.category + " is stated, but Lung-RADS v2022 gives " + expect + " for the " + what +
                  (ref && ref->p.finding.prior ? " (with its prior)" : " (baseline)") + ": \"" + Excerpt(s.text) + "\"",
              ref ? ref->p.finding.id : 0, s);
        break;
      }
    }
  }

  bool Screening() const {
    if (o_.screening == 1) return true;
    if (o_.screening == 0) return false;
    auto it = draft_.fields.find("exam_type");
    if (it != draft_.fields.end() && !it->second.empty()) return scan::Lower(it->second) == "screening";
    const std::string t = scan::Lower(draft_.findings_text + " " + draft_.impression_text);
    return scan::HasWord(t, "screening") || scan::HasWord(t, "ldct");
  }

  std::optional<bool> HighRisk() const {
    auto it = draft_.fields.find("risk");
    if (it != draft_.fields.end()) {
      const std::string r = scan::Lower(it->second);
      if (r == "high" || r == "high risk") return true;
      if (r == "low" || r == "low risk") return false;
    }
    if (o_.high_risk == 1) return true;
    if (o_.high_risk == 0) return false;
    return std::nullopt;
  }

  // A follow-up sentence about another organ ("CT head in 24 hours") is not a nodule's.
  bool OtherOrgan(const Sentence& s) {
    return MentionsKind(s.lower, "haemorrhage") || scan::HasWord(s.lower, "head") || scan::HasWord(s.lower, "brain") ||
           scan::HasWord(s.lower, "abdomen") || scan::HasWord(s.lower, "pelvis") || scan::HasWord(s.lower, "liver") ||
           scan::HasWord(s.lower, "kidney") || scan::HasWord(s.lower, "adrenal") || scan::HasWord(s.lower, "thyroid");
  }

  void CheckFollowup() {
    std::vector<const Accepted*> nodules;
    for (const auto& a : accepted_) if (a.p.kind == "lung_nodule") nodules.push_back(&a);
    if (nodules.empty()) return;
    const bool screening = Screening();
    struct Stated { const Sentence* s; scan::FollowupStatement f; };
    std::vector<Stated> stated;
    for (const auto& s : sentences_) {
      if (OtherOrgan(s)) continue;
      auto f = scan::ParseFollowup(s.text);
      if (f.found) stated.push_back({&s, f});
    }
    const double slack = o_.interval_slack_months;
    if (screening) {
      // Lung-RADS management of the exam category (highest nodule category).
      int rank = 0;
      bool all_known = true;
      std::set<std::string> cats = ExamCategories(&rank, &all_known);
      if (cats.empty()) return;
      // 4X (work-up) counts for the follow-up only where the text calls the nodule 4X.
      bool says_4x = false;
      for (const auto& s : sentences_)
        for (const auto& st : scan::FindLungRads(s.text)) says_4x = says_4x || st.category == "4X";
      if (!says_4x && cats.size() > 1) cats.erase("4X");
      auto accepts = [&](const scan::FollowupStatement& f) {
        for (const auto& c : cats) {
          const auto m = LungRadsManagementFor(c);
          if (f.none) continue;
          if (m.workup) {
            if (f.workup || (f.min_months && f.max_months.value_or(*f.min_months) <= 3 + slack)) return true;
            continue;
          }
          if (c == "4A" && f.workup) return true;  // PET/CT may be considered
          if (f.min_months && m.interval_months && *f.min_months >= *m.interval_months - slack - 1e-9 &&
              f.max_months.value_or(*f.min_months) <= *m.interval_months + slack + 1e-9)
            return true;
        }
        return false;
      };
      std::string expected;
      for (const auto& c : cats) {
        if (c == "4X" && cats.size() > 1) continue;
        expected += (expected.empty() ? "" : " / ") + ("Lung-RADS " + c + ": " + LungRadsManagementFor(c).recommendation);
      }
      Judge(stated, accepts, rank >= 3, expected, nodules);
      return;
    }
    // Fleischner 2017: the most suspicious (largest) nodule guides; multiple when more than one.
    const Accepted* lead = nullptr;
    for (const auto* a : nodules) {
      if (!a->mean_mm) continue;
      if (!lead || *a->mean_mm > *lead->mean_mm) lead = a;
    }
    if (!lead) return;
    std::vector<FleischnerRecommendation> recs;
    std::vector<double> sizes = {*lead->mean_mm};
    if (auto r = ReportedSize(*lead)) sizes.push_back(*r);
    for (double size : sizes) {
      FleischnerInput in;
      in.type = lead->nodule.type;
      in.mean_diameter_mm = size;
      in.solid_component_mm = lead->nodule.solid_component.value_or(0);
      in.multiple = nodules.size() > 1;
      in.high_risk = HighRisk();
      recs.push_back(Fleischner2017(in));
    }
    auto accepts = [&](const scan::FollowupStatement& f) {
      for (const auto& r : recs) {
        if (FleischnerAccepts(r, f.min_months, f.max_months, f.none, slack)) return true;
        if (r.pet_or_tissue && f.workup) return true;
      }
      return false;
    };
    bool needed = true;
    for (const auto& r : recs) if (r.no_routine_followup || r.optional_followup) needed = false;
    std::string expected = "Fleischner 2017 (" + std::string(nodules.size() > 1 ? "multiple" : "single") + " " +
                           NoduleTypeName(lead->nodule.type) + ", " + Fmt("%.0f", std::round(*lead->mean_mm)) +
                           " mm): " + recs.front().text;
    Judge(stated, accepts, needed, expected, nodules);
  }

  template <typename Stated, typename Accepts>
  void Judge(const std::vector<Stated>& stated, Accepts accepts, bool needed, const std::string& expected,
             const std::vector<const Accepted*>& nodules) {
    const int64_t fid = nodules.size() == 1 ? nodules.front()->p.finding.id : 0;
    for (const auto& st : stated) {
      if (accepts(st.f)) continue;
      AddAt("followup_inconsistent", "error",
            "The follow-up in the text does not match the nodule size: expected " + expected + ": \"" +
                Excerpt(st.s->text) + "\"",
            fid, *st.s);
    }
    if (stated.empty() && needed) {
      Add("followup_inconsistent", "error", "No follow-up recommendation for the lung nodule(s); expected " + expected + ".",
          fid, "impression_text", -1, 0, fid ? std::to_string(fid) : "missing");
    }
  }

  void CheckCritical() {
    auto trim = [](const std::string& s) {
      return std::any_of(s.begin(), s.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
    };
    if (trim(draft_.critical_communicated)) return;
    if (scan::HasCommunication(draft_.findings_text) || scan::HasCommunication(draft_.impression_text)) return;
    for (const auto& a : accepted_) {
      if (a.p.finding.severity != "critical") continue;
      Add("critical_not_communicated", "error",
          "The critical finding " + FindingName(a.p) +
              " is accepted without a statement that it was communicated (who was told, when): fill in the "
              "communication or write e.g. \"Discussed with Dr X at 14:05\".",
          a.p.finding.id, "critical_communicated", -1, 0, std::to_string(a.p.finding.id));
    }
  }

  const Draft& draft_;
  const std::vector<Proposal>& proposals_;
  const std::vector<Decision>& decisions_;
  const QaOptions& o_;
  std::vector<Accepted> accepted_, others_;  // others_: undecided or rejected
  std::vector<Sentence> sentences_;
  std::vector<QaIssue> issues_;
  std::set<std::string> ids_;
};

}  // namespace

std::vector<SentenceSpan> SplitSentences(const std::string& text) {
  std::vector<SentenceSpan> out;
  size_t start = 0;
  auto emit = [&](size_t end) {  // [start, end)
    size_t a = start, b = end;
    while (a < b && std::isspace(static_cast<unsigned char>(text[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(text[b - 1]))) --b;
    if (b > a) out.push_back({static_cast<int>(a), static_cast<int>(b - a)});
    start = end;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      emit(i);
      continue;
    }
    if (c != '.' && c != '!' && c != '?') continue;
    const bool at_end = i + 1 >= text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]));
    if (!at_end) continue;  // "8.5", "e.g.x"
    if (c == '.' && IsAbbreviation(text, i)) continue;
    emit(i + 1);
  }
  emit(text.size());
  return out;
}

std::vector<QaIssue> CheckReport(const Draft& draft, const std::vector<Proposal>& proposals,
                                 const std::vector<Decision>& decisions, const QaOptions& options) {
  return Checker(draft, proposals, decisions, options).Run();
}

}  // namespace radflow::report
