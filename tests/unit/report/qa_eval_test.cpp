// Measures report QA (docs/report-qa.md, "Measured"): builds report/finding pairs — correct
// reports written from the AI proposals, clean paraphrases of them, and copies with one known
// injected error each — runs CheckReport on every pair and prints the detection rate per
// check and the false alarms on clean reports. The assertions are the documented claims.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "report/lung_rads.h"
#include "report/prefill.h"
#include "report/qa.h"

namespace radflow::report {
namespace {

// splitmix64: the same sequence on every platform (std distributions are not portable).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform(double a, double b) { return a + (b - a) * static_cast<double>(Next() >> 11) / 9007199254740992.0; }
  int Int(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  bool Chance(double p) { return Uniform(0, 1) < p; }
};

std::string F1(double v) { char b[32]; std::snprintf(b, sizeof b, "%.1f", v); return b; }
std::string F2(double v) { char b[32]; std::snprintf(b, sizeof b, "%.2f", v); return b; }
std::string F0(double v) { char b[32]; std::snprintf(b, sizeof b, "%.0f", v); return b; }
std::string Vol(double v) { return std::fabs(v) < 1 ? F2(v) : F1(v); }

const TemplateLibrary& Lib() {
  static TemplateLibrary lib = LoadTemplates({std::string(RADFLOW_SOURCE_DIR) + "/templates"});
  return lib;
}

// What the text says about one finding; errors change one of these.
struct Told {
  int64_t id = 0;
  std::string kind;
  std::string side, lobe;         // lobe: upper | middle | lower | ''
  std::string type = "solid";
  double mean = 0, long_axis = 0, short_axis = 0, volume = 0, laa = 0;
  std::string category;           // nodule's Lung-RADS as stated
  std::string prior_clause;
};

struct Case {
  std::string name;
  std::string template_id;
  std::vector<AiFinding> findings;
  std::vector<Proposal> proposals;
  std::vector<Decision> decisions;
  std::vector<Told> told;
  bool screening = false;
  std::string risk;               // '' | low | high
  std::string exam_category;      // screening: as stated in the impression
  std::string followup;           // the follow-up sentence ('' none)
  std::string communication;      // a sentence in the impression, or ''
  std::string communicated_field; // Draft.critical_communicated
  int style = 0;                  // 0 canonical, 1 cm/cc, 2 rounded + abbreviations, 3 perturbed within tolerance
  bool extra_negatives = false;
  std::string extra;              // a sentence of the radiologist's own (a lesion the AI did not report)
};

std::string Abbrev(const std::string& side, const std::string& lobe) {
  std::string s = std::string(1, static_cast<char>(std::toupper(side[0]))) + std::string(1, static_cast<char>(std::toupper(lobe[0]))) + "L";
  return s;
}

std::string Site(const Told& t) { return t.lobe.empty() ? t.side + " lung" : t.side + " " + t.lobe + " lobe"; }

std::string NoduleSentence(const Told& t, int style) {
  const std::string type = t.type;
  const std::string Type = std::string(1, static_cast<char>(std::toupper(type[0]))) + type.substr(1);
  switch (style) {
    case 4: {
      static const char* kSegment[] = {"apical", "posterior", "anterior", "superior", "lateral basal"};
      const std::string seg = kSegment[static_cast<size_t>(t.id) % 5];
      return "There is a " + F0(t.mean) + "-mm " + type + " nodule in the " + seg + " segment of the " + Site(t) +
             " (series 3, image " + std::to_string(40 + t.id % 60) + ")" +
             (t.prior_clause.empty() ? "" : ", " + t.prior_clause) + ".";
    }
    case 1:
      return "A " + type + " nodule measuring " + F2(t.mean / 10) + " cm is seen in the " + Site(t) + " (volume " +
             Vol(t.volume) + " cc)" + (t.prior_clause.empty() ? "" : ", " + t.prior_clause) + ". Lung-RADS category " +
             t.category + ".";
    case 2:
      return F0(t.mean) + " mm " + type + " nodule in the " + (t.lobe.empty() ? t.side + " lung" : Abbrev(t.side, t.lobe)) +
             " (" + F0(t.long_axis) + " x " + F0(t.short_axis) + " mm; " + F0(t.volume * 1000) + " mm3). Lung-RADS " +
             t.category + ".";
    default:
      return Type + " nodule in the " + Site(t) + ", " + F1(t.mean) + " mm (mean diameter; " + F1(t.long_axis) + " x " +
             F1(t.short_axis) + " mm), " + Vol(t.volume) + " mL" + (t.prior_clause.empty() ? "" : "; " + t.prior_clause) +
             ". Lung-RADS " + t.category + ".";
  }
}

std::string BleedSentence(const Told& t, int style) {
  if (style == 4)
    return "There is an acute parenchymal bleed in the " + t.side + " hemisphere measuring " + F1(t.long_axis / 10) + " x " +
           F1(t.long_axis * 0.7 / 10) + " cm, volume approx. " + F0(t.volume) + " mL.";
  if (style == 1 || style == 2)
    return "Acute intraparenchymal haematoma in the " + t.side + " cerebral hemisphere measuring " + F1(t.long_axis / 10) +
           " cm, approximately " + F0(t.volume) + " cc.";
  return "Suspected intracranial haemorrhage in the " + t.side + " cerebral hemisphere, " + F1(t.volume) + " mL, " +
         F0(t.long_axis) + " mm in greatest axial diameter.";
}

std::string EmphysemaSentence(const Told& t, int style) {
  if (style == 4) return "Moderate centrilobular emphysema (%LAA-950 " + F1(t.laa) + "%).";
  if (style == 1 || style == 2) return "Centrilobular emphysema; %LAA-950 of " + F0(t.laa) + " % on quantitative analysis.";
  return "Emphysema quantification, both lungs: %LAA-950 " + F1(t.laa) + "%, lung volume " + F0(t.volume) + " mL.";
}

Draft Render(const Case& c) {
  Draft d;
  d.template_id = c.template_id;
  if (c.template_id == "ct-chest") d.fields["exam_type"] = c.screening ? "screening" : "diagnostic";
  if (!c.risk.empty()) d.fields["risk"] = c.risk;
  std::string findings, impression;
  for (const auto& t : c.told) {
    std::string s;
    if (t.kind == "lung_nodule") s = NoduleSentence(t, c.style);
    else if (t.kind == "haemorrhage") s = BleedSentence(t, c.style);
    else if (t.kind == "emphysema") s = EmphysemaSentence(t, c.style);
    else if (t.kind == "image_quality") s = "Image quality: gantry tilt 18.5 degrees, corrected by resampling.";
    findings += (findings.empty() ? "" : " ") + s;
  }
  if (c.extra_negatives) findings += " No pleural effusion. No other suspicious pulmonary nodule.";
  if (!c.extra.empty()) findings += " " + c.extra;
  if (c.style == 4 && c.template_id == "ct-chest") {
    // Confounders: findings the AI did not report, on the other side, with sizes.
    std::string other = "left";
    for (const auto& t : c.told) if (t.kind == "lung_nodule") other = t.side == "left" ? "right" : "left";
    findings += " Stable 3 mm calcified nodule in the " + other + " lower lobe, benign. Small " + other +
                " hilar lymph node, 9 mm. Slice thickness 1.25 mm.";
  }
  for (const auto& t : c.told) {
    if (t.kind == "lung_nodule") {
      impression += (impression.empty() ? "" : " ") +
                    (c.style == 4 ? "The " + Site(t) + " nodule as described above." : c.style == 2 ? F0(t.mean) + " mm " + t.type + " nodule, " + (t.lobe.empty() ? t.side + " lung" : Abbrev(t.side, t.lobe)) + "."
                                  : std::string("Solid") == t.type ? "Solid nodule in the " + Site(t) + "."
                                                                    : "Nodule in the " + Site(t) + ".");
    } else if (t.kind == "haemorrhage") {
      impression += (impression.empty() ? "" : " ") + std::string("Acute intracranial haemorrhage in the ") + t.side + " hemisphere.";
    }
  }
  if (c.screening && !c.exam_category.empty())
    impression += std::string(impression.empty() ? "" : " ") + (c.style == 1 ? "Lung-RADS v2022 category " : "Lung-RADS ") + c.exam_category + ".";
  if (!c.followup.empty()) impression += (impression.empty() ? "" : " ") + c.followup;
  if (!c.communication.empty()) impression += (impression.empty() ? "" : " ") + c.communication;
  d.findings_text = findings;
  d.impression_text = impression;
  d.critical_communicated = c.communicated_field;
  return d;
}

AiFinding MakeNodule(Rng& r, int64_t id, const std::string& side, const std::string& lobe, double mean, const std::string& type) {
  AiFinding f;
  f.id = id;
  f.app_id = "ct-lung-lesions";
  f.app_version = "1.2.0";
  f.type_code = "27925004^SCT";
  const double ratio = r.Uniform(0.7, 0.95);
  const double long_axis = 2 * mean / (1 + ratio), short_axis = long_axis * ratio;
  const double volume = 3.14159265 / 6 * long_axis * short_axis * short_axis / 1000;
  f.label = type + " nodule " + F0(long_axis) + " mm" + (lobe.empty() ? "" : ", " + side + " " + lobe + " lobe");
  f.x = (side == "left" ? 1 : -1) * r.Uniform(30, 120);
  f.size_mm = long_axis;
  f.volume_ml = volume;
  f.severity = mean < 6 ? "low" : mean < 8 ? "moderate" : "high";
  f.measurements = {{"Volume", "118565006", "SCT", volume, "ml"},
                    {"Long Axis", "103339001", "SCT", long_axis, "mm"},
                    {"Short Axis", "103340004", "SCT", short_axis, "mm"}};
  return f;
}

std::string ScreeningFollowup(const std::string& cat, int style) {
  if (style == 4) {
    if (cat == "1" || cat == "2") return "Return to annual low-dose CT screening.";
    if (cat == "3") return "Recommend a 6-month follow-up low-dose CT.";
    if (cat == "4A") return "A 3-month follow-up LDCT is recommended.";
    return "Further evaluation with PET/CT and tissue sampling is advised.";
  }
  if (cat == "1" || cat == "2")
    return style == 1 ? "Continue annual screening." : "Continue annual screening with low-dose CT in 12 months.";
  if (cat == "3") return style == 1 ? "Recommend repeat low-dose chest CT in six months." : "Follow-up low-dose CT in 6 months.";
  if (cat == "4A") return "Follow-up low-dose CT in 3 months; PET/CT may be considered.";
  return "Diagnostic chest CT with contrast and PET/CT recommended; tissue sampling as appropriate.";
}

std::string FleischnerFollowup(const FleischnerRecommendation& rec, int style) {
  if (style == 4) {
    if (rec.no_routine_followup) return "Per Fleischner 2017 guidelines, no routine follow-up imaging is required.";
    if (rec.pet_or_tissue) return "Per Fleischner 2017 guidelines, consider PET/CT or tissue sampling.";
    return "Per Fleischner 2017 guidelines, CT at " + F0(*rec.min_months) + " to " + F0(*rec.max_months) + " months is advised.";
  }
  if (rec.no_routine_followup) return style == 1 ? "This does not require follow-up." : "No routine follow-up is needed.";
  if (rec.pet_or_tissue) return "Consider CT at 3 months, PET/CT, or tissue sampling.";
  if (rec.min_months && rec.max_months) {
    if (style == 1) return "Recommend follow-up CT in " + F0(*rec.min_months) + " months.";
    return "Follow-up CT in " + F0(*rec.min_months) + "-" + F0(*rec.max_months) + " months is recommended.";
  }
  return "";
}

// The accepted mean diameters as text values (canonical): the expected category per nodule.
void Finish(Case& c) {
  const Template* t = Lib().Find(c.template_id);
  c.proposals = ProposeFindings(*t, c.findings);
  for (const auto& p : c.proposals) c.decisions.push_back(Decision{p.finding.id, "accepted", "", "dr.eval", 100, {}, ""});
  std::string exam;
  const Told* lead = nullptr;
  int nodules = 0;
  for (auto& told : c.told) {
    for (const auto& p : c.proposals) {
      if (p.finding.id != told.id) continue;
      if (told.kind == "lung_nodule") {
        told.category = p.lung_rads;
        if (LungRadsRank(p.lung_rads) > LungRadsRank(exam)) exam = p.lung_rads;
        ++nodules;
        if (!lead || told.mean > lead->mean) lead = &told;
      }
    }
  }
  if (nodules > 0) {
    if (c.screening) {
      c.exam_category = exam;
      c.followup = ScreeningFollowup(exam, c.style);
    } else {
      FleischnerInput in;
      in.mean_diameter_mm = lead->mean;
      in.multiple = nodules > 1;
      if (!c.risk.empty()) in.high_risk = c.risk == "high";
      c.followup = FleischnerFollowup(Fleischner2017(in), c.style);
    }
  }
}

std::vector<Case> BaseCases() {
  Rng r{20260115};
  std::vector<Case> out;
  const char* lobes_r[] = {"upper", "middle", "lower", ""};
  const char* lobes_l[] = {"upper", "lower", ""};
  int64_t next_id = 100;
  for (int i = 0; i < 40; ++i) {
    Case c;
    c.template_id = "ct-chest";
    c.screening = i % 2 == 0;
    c.name = (c.screening ? "screening-" : "incidental-") + std::to_string(i);
    if (!c.screening) c.risk = std::vector<std::string>{"", "low", "high"}[static_cast<size_t>(r.Int(3))];
    const int n = 1 + (r.Chance(0.3) ? 1 : 0);
    std::vector<std::string> sides_used;
    for (int k = 0; k < n; ++k) {
      const std::string side = (k == 0 ? r.Chance(0.5) : sides_used[0] == "right") ? "left" : "right";
      sides_used.push_back(side);
      const std::string lobe = side == "right" ? lobes_r[r.Int(4)] : lobes_l[r.Int(3)];
      const double mean = std::round(r.Uniform(3.5, 19) * 10) / 10;
      AiFinding f = MakeNodule(r, next_id++, side, lobe, mean, "solid");
      Told t;
      t.id = f.id;
      t.kind = "lung_nodule";
      t.side = side;
      t.lobe = lobe;
      t.long_axis = f.measurements[1].value;
      t.short_axis = f.measurements[2].value;
      t.mean = (t.long_axis + t.short_axis) / 2;
      t.volume = f.volume_ml;
      if (c.screening && r.Chance(0.35)) {
        PriorChange pc;
        pc.prior_study_uid = "1.2.826.0.1.3680043.2.1125." + std::to_string(i);
        pc.status = "tracked";
        pc.interval_days = 365;
        if (r.Chance(0.5)) {
          pc.trend = "growing";
          pc.diameter_change_mm = 2.0;
          pc.volume_change_pct = 100 * (std::pow(t.mean / (t.mean - 2.0), 3) - 1);
          pc.doubling_time_days = 365 * std::log(2.0) / std::log(1 + pc.volume_change_pct / 100);
          t.prior_clause = "grown " + F0(pc.volume_change_pct) + "% in volume since the prior study 365 days earlier";
        } else {
          pc.trend = "stable";
          pc.diameter_change_mm = 0.2;
          pc.volume_change_pct = 100 * (std::pow(t.mean / (t.mean - 0.2), 3) - 1);
          t.prior_clause = "stable over 365 days";
        }
        f.prior = pc;
      }
      c.findings.push_back(f);
      c.told.push_back(t);
    }
    if (i % 5 == 1) {  // emphysema in some chest cases
      AiFinding e;
      e.id = next_id++;
      e.app_id = "ct-emphysema";
      e.app_version = "1.0.0";
      e.type_code = "39607008^SCT";
      const double laa = std::round(r.Uniform(2, 25) * 10) / 10;
      e.volume_ml = std::round(r.Uniform(4000, 7000));
      e.label = "both lungs: " + F0(e.volume_ml) + " ml, LAA-950 " + F1(laa) + "%, Perc15 -940 HU";
      e.severity = laa < 6 ? "info" : laa < 10 ? "low" : laa < 20 ? "moderate" : "high";
      e.measurements = {{"Volume", "118565006", "SCT", e.volume_ml, "ml"},
                        {"Low attenuation area below -950 HU, percent of lung volume", "LAA950", "99RADFLOW", laa, "%"},
                        {"15th percentile of lung density", "PERC15", "99RADFLOW", -940, "[hnsf'U]"}};
      Told t;
      t.id = e.id;
      t.kind = "emphysema";
      t.side = "both";
      t.laa = laa;
      t.volume = e.volume_ml;
      c.findings.push_back(e);
      c.told.push_back(t);
    }
    Finish(c);
    out.push_back(c);
  }
  for (int i = 0; i < 12; ++i) {
    Case c;
    c.template_id = "ct-head";
    c.name = "head-" + std::to_string(i);
    AiFinding f;
    f.id = next_id++;
    f.app_id = "ct-head-bleed";
    f.app_version = "1.1.0";
    f.type_code = "1386000^SCT";
    const std::string side = r.Chance(0.5) ? "left" : "right";
    f.x = (side == "left" ? 1 : -1) * r.Uniform(15, 50);
    f.volume_ml = std::round(r.Uniform(1, 40) * 10) / 10;
    f.size_mm = std::round(2 * std::cbrt(f.volume_ml * 1000 * 3 / (4 * 3.14159265)) * 1.2);
    f.label = "suspected haemorrhage " + F1(f.volume_ml) + " mL, " + F0(f.size_mm) + " mm";
    f.severity = "critical";
    Told t;
    t.id = f.id;
    t.kind = "haemorrhage";
    t.side = side;
    t.volume = f.volume_ml;
    t.long_axis = f.size_mm;
    c.findings.push_back(f);
    c.told.push_back(t);
    if (i % 3 == 0) {
      AiFinding q;
      q.id = next_id++;
      q.app_id = "ct-quality";
      q.app_version = "1.0.0";
      q.type_code = "RFQC003^99RADFLOW";
      q.type_meaning = "Gantry tilt";
      q.label = "gantry tilt 18.5°, corrected by resampling";
      q.severity = "moderate";
      Told tq;
      tq.id = q.id;
      tq.kind = "image_quality";
      c.findings.push_back(q);
      c.told.push_back(tq);
    }
    if (i % 2 == 0) c.communication = "Findings discussed with Dr Meyer by telephone at 14:05.";
    else c.communicated_field = "Dr Meyer, emergency department, 14:05 by telephone";
    Finish(c);
    out.push_back(c);
  }
  return out;
}

struct Pair {
  Case c;
  std::string injected;   // '' clean; else the check expected to fire
  int64_t finding = 0;    // the finding the error is about (0: report level)
  std::string variant;
};

std::string OtherLobe(const std::string& side, const std::string& lobe, Rng& r) {
  std::vector<std::string> all = side == "right" ? std::vector<std::string>{"upper", "middle", "lower"}
                                                 : std::vector<std::string>{"upper", "lower"};
  std::vector<std::string> others;
  for (const auto& l : all) if (l != lobe) others.push_back(l);
  return others[static_cast<size_t>(r.Int(static_cast<int>(others.size())))];
}

// A length (or volume) wrong by more than the tolerance against every measurement of the finding.
double WrongValue(Rng& r, double ref, const std::vector<double>& legit, double abs_tol, double rel_tol) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const double v = r.Chance(0.5) ? ref * r.Uniform(1.5, 2.2) : ref * r.Uniform(0.35, 0.6);
    bool far = true;
    for (double l : legit) if (std::fabs(v - l) <= std::max(abs_tol, rel_tol * l) * 1.3) far = false;
    if (far) return v;
  }
  return ref * 3;
}

std::vector<Pair> Pairs() {
  Rng r{7};
  const QaOptions o;
  std::vector<Pair> out;
  for (const auto& base : BaseCases()) {
    out.push_back({base, "", 0, "canonical"});
    // Clean variants.
    for (int style : {1, 2, 3, 4}) {
      Case c = base;
      c.style = style == 3 ? 0 : style;
      c.extra_negatives = style != 1;
      if (style == 3) {
        for (auto& t : c.told) {  // rounding / re-measurement within the tolerance
          const double f = r.Uniform(-0.7, 0.7);
          t.mean += f * std::max(o.size_abs_tolerance_mm, o.size_rel_tolerance * t.mean) * 0.5;
          t.volume *= 1 + r.Uniform(-0.5, 0.5) * o.volume_rel_tolerance;
          t.laa += r.Uniform(-0.5, 0.5) * o.percent_abs_tolerance;
        }
      }
      // Re-derive the follow-up wording of the style.
      Case fresh = base;
      fresh.style = c.style;
      fresh.told.clear();
      fresh.decisions.clear();
      fresh.told = base.told;
      Finish(fresh);
      c.followup = fresh.followup;
      if (style == 2 && !c.communication.empty()) {
        c.communication.clear();
        c.communicated_field = "Dr Meyer 14:05";
      }
      out.push_back({c, "", 0, style == 4 ? "clean-hard" : "clean-style" + std::to_string(style)});
    }
    for (const auto& t : base.told) {  // The radiologist adds a small nodule the AI did not report.
      if (t.kind != "lung_nodule") continue;
      Case c = base;
      const std::string lobe = t.lobe.empty() ? "lower" : OtherLobe(t.side, t.lobe, r);
      const double size = t.mean > 6 ? 3.0 : t.mean + 3.5;
      c.extra = "There is also a " + F0(size) + " mm solid nodule in the " + t.side + " " + lobe + " lobe.";
      out.push_back({c, "", 0, "clean-extra-nodule"});
      break;
    }
    {  // An edited decision: the radiologist re-measured; the text follows the edit.
      Case c = base;
      for (auto& t : c.told) {
        if (t.kind != "lung_nodule") continue;
        const double scale = 1.2;
        t.mean *= scale, t.long_axis *= scale, t.short_axis *= scale, t.volume *= scale * scale * scale;
        for (auto& d : c.decisions) {
          if (d.finding_id != t.id) continue;
          d.decision = "edited";
          d.values = {{"mean_diameter_mm", F1(t.mean)}, {"long_axis_mm", F1(t.long_axis)},
                      {"short_axis_mm", F1(t.short_axis)}, {"volume_ml", F2(t.volume)}};
        }
        // Category and follow-up of the edited size.
        AiFinding f;
        for (const auto& p : c.proposals) if (p.finding.id == t.id) f = p.finding;
        LungRadsInput in;
        in.mean_diameter_mm = t.mean;
        if (f.prior) {
          in.baseline = false;
          in.prior_mean_diameter_mm = t.mean - f.prior->diameter_change_mm;
        }
        t.category = LungRadsCategory(in).category;
        break;
      }
      std::string exam;
      const Told* lead = nullptr;
      int n = 0;
      for (const auto& t : c.told) {
        if (t.kind != "lung_nodule") continue;
        if (LungRadsRank(t.category) > LungRadsRank(exam)) exam = t.category;
        if (!lead || t.mean > lead->mean) lead = &t;
        ++n;
      }
      if (n > 0) {
        if (c.screening) {
          c.exam_category = exam;
          c.followup = ScreeningFollowup(exam, 0);
        } else {
          FleischnerInput in;
          in.mean_diameter_mm = lead->mean;
          in.multiple = n > 1;
          if (!c.risk.empty()) in.high_risk = c.risk == "high";
          c.followup = FleischnerFollowup(Fleischner2017(in), 0);
        }
        out.push_back({c, "", 0, "clean-edited"});
      }
    }
    // Errors, one per copy.
    for (size_t k = 0; k < base.told.size(); ++k) {
      const Told& t = base.told[k];
      if (t.kind == "lung_nodule" || t.kind == "haemorrhage") {
        Case c = base;
        c.told[k].side = t.side == "left" ? "right" : "left";
        out.push_back({c, "laterality_mismatch", t.id, "wrong-side"});
      }
      if (t.kind == "lung_nodule" && !t.lobe.empty()) {
        Case c = base;
        c.told[k].lobe = OtherLobe(t.side, t.lobe, r);
        out.push_back({c, "site_mismatch", t.id, "wrong-lobe"});
      }
      if (t.kind == "lung_nodule") {
        Case c = base;
        c.told[k].mean = WrongValue(r, t.mean, {t.mean, t.long_axis, t.short_axis, t.mean - 2.0, 2.0, t.mean - 0.2},
                                    o.size_abs_tolerance_mm, o.size_rel_tolerance);
        out.push_back({c, "measurement_mismatch", t.id, "size-off"});
        Case v = base;
        std::vector<double> volumes = {t.volume};
        for (const auto& f : base.findings) {
          if (f.id == t.id && f.prior && f.prior->volume_change_pct != 0) {
            const double prior = t.volume / (1 + f.prior->volume_change_pct / 100);
            volumes.push_back(prior);
            volumes.push_back(t.volume - prior);
          }
        }
        v.told[k].volume = WrongValue(r, t.volume, volumes, o.volume_abs_tolerance_ml, o.volume_rel_tolerance);
        out.push_back({v, "measurement_mismatch", t.id, "volume-off"});
      }
      if (t.kind == "haemorrhage") {
        Case c = base;
        c.told[k].volume = WrongValue(r, t.volume, {t.volume}, o.volume_abs_tolerance_ml, o.volume_rel_tolerance);
        out.push_back({c, "measurement_mismatch", t.id, "volume-off"});
        Case s = base;
        s.told[k].long_axis = WrongValue(r, t.long_axis, {t.long_axis}, o.size_abs_tolerance_mm, o.size_rel_tolerance);
        out.push_back({s, "measurement_mismatch", t.id, "size-off"});
        Case u = base;
        u.communication.clear();
        u.communicated_field.clear();
        out.push_back({u, "critical_not_communicated", t.id, "no-communication"});
      }
      if (t.kind == "emphysema") {
        Case c = base;
        c.told[k].laa = t.laa + (r.Chance(0.5) ? 1 : -1) * r.Uniform(2.5, 6) * (t.laa > 8 ? 1 : 0) + (t.laa <= 8 ? r.Uniform(3, 8) : 0);
        out.push_back({c, "measurement_mismatch", t.id, "laa-off"});
      }
    }
    // The same errors in the hard wording.
    {
      Case hard = base;
      hard.style = 4;
      Case fresh = base;
      fresh.style = 4;
      fresh.decisions.clear();
      Finish(fresh);
      hard.followup = fresh.followup;
      for (size_t k = 0; k < hard.told.size(); ++k) {
        const Told& t = hard.told[k];
        if (t.kind == "lung_nodule" || t.kind == "haemorrhage") {
          Case c = hard;
          c.told[k].side = t.side == "left" ? "right" : "left";
          out.push_back({c, "laterality_mismatch", t.id, "hard-wrong-side"});
        }
        if (t.kind == "lung_nodule") {
          Case c = hard;
          c.told[k].mean = WrongValue(r, t.mean, {t.mean, t.long_axis, t.short_axis, t.mean - 2.0, 2.0, t.mean - 0.2},
                                      o.size_abs_tolerance_mm + 0.5, o.size_rel_tolerance);  // "%.0f" rounds by up to 0.5
          out.push_back({c, "measurement_mismatch", t.id, "hard-size-off"});
        }
        if (t.kind == "haemorrhage") {
          Case c = hard;
          c.told[k].volume = WrongValue(r, t.volume, {t.volume}, o.volume_abs_tolerance_ml + 0.5, o.volume_rel_tolerance);
          out.push_back({c, "measurement_mismatch", t.id, "hard-volume-off"});
        }
      }
    }
    // Undecided: drop the decision of one moderate+ finding.
    for (const auto& p : base.proposals) {
      if (p.finding.severity == "moderate" || p.finding.severity == "high" || p.finding.severity == "critical") {
        Case c = base;
        std::erase_if(c.decisions, [&](const Decision& d) { return d.finding_id == p.finding.id; });
        out.push_back({c, "undecided_finding", p.finding.id, "undecided"});
        break;
      }
    }
    // Lung-RADS and follow-up errors (chest cases with nodules).
    const Told* first_nodule = nullptr;
    for (const auto& t : base.told) if (t.kind == "lung_nodule") { first_nodule = &t; break; }
    if (!first_nodule) continue;
    if (base.screening) {
      // A wrong category in the impression: not the exam category, not 4X of it.
      std::vector<std::string> wrong;
      for (const char* cand : {"1", "2", "3", "4A", "4B"}) {
        const std::string s = cand;
        if (s == base.exam_category) continue;
        if (s == "4B" && base.exam_category == "4X") continue;
        // No nodule's own category either: the statement would fit that nodule.
        bool own = false;
        for (const auto& t : base.told) if (t.kind == "lung_nodule" && t.category == s) own = true;
        if (!own) wrong.push_back(s);
      }
      Case c = base;
      c.exam_category = wrong[static_cast<size_t>(r.Int(static_cast<int>(wrong.size())))];
      out.push_back({c, "lung_rads_inconsistent", 0, "wrong-lung-rads"});
      Case f = base;  // a wrong category in the nodule's own sentence
      std::vector<std::string> wrong_own;
      for (const char* cand : {"1", "2", "3", "4A", "4B"}) {
        if (cand != first_nodule->category && !(std::string(cand) == "4B" && first_nodule->category == "4X") &&
            std::string(cand) != base.exam_category)
          wrong_own.push_back(cand);
      }
      for (auto& t : f.told) if (t.id == first_nodule->id) t.category = wrong_own[static_cast<size_t>(r.Int(static_cast<int>(wrong_own.size())))];
      out.push_back({f, "lung_rads_inconsistent", first_nodule->id, "wrong-lung-rads-finding"});
      // A wrong interval.
      const std::string cat = base.exam_category;
      std::vector<int> bad;
      const int right = cat == "1" || cat == "2" ? 12 : cat == "3" ? 6 : cat == "4A" ? 3 : 0;
      for (int m : {3, 6, 12, 24}) {
        if (right && std::abs(m - right) <= 1) continue;
        if (!right && m <= 4) continue;
        bad.push_back(m);
      }
      Case w = base;
      w.followup = "Follow-up low-dose CT in " + std::to_string(bad[static_cast<size_t>(r.Int(static_cast<int>(bad.size())))]) + " months.";
      out.push_back({w, "followup_inconsistent", 0, "wrong-interval"});
      Case none = base;
      none.followup = "No further follow-up is needed.";
      out.push_back({none, "followup_inconsistent", 0, "no-followup-stated"});
      if (LungRadsRank(cat) >= 3) {
        Case m = base;
        m.followup.clear();
        out.push_back({m, "followup_inconsistent", 0, "missing-followup"});
      }
    } else {
      const Told* lead = nullptr;
      int n = 0;
      for (const auto& t : base.told) if (t.kind == "lung_nodule") { ++n; if (!lead || t.mean > lead->mean) lead = &t; }
      FleischnerInput in;
      in.mean_diameter_mm = lead->mean;
      in.multiple = n > 1;
      if (!base.risk.empty()) in.high_risk = base.risk == "high";
      const auto rec = Fleischner2017(in);
      std::vector<int> bad;
      for (int m : {3, 6, 12, 24}) {
        if (FleischnerAccepts(rec, m, m, false, o.interval_slack_months) || (rec.pet_or_tissue && m <= 4)) continue;
        bad.push_back(m);
      }
      if (!bad.empty()) {
        Case w = base;
        w.followup = "Follow-up CT in " + std::to_string(bad[static_cast<size_t>(r.Int(static_cast<int>(bad.size())))]) + " months.";
        out.push_back({w, "followup_inconsistent", 0, "wrong-interval"});
      }
      if (!rec.no_routine_followup && !rec.optional_followup) {
        Case none = base;
        none.followup = "No follow-up needed.";
        out.push_back({none, "followup_inconsistent", 0, "no-followup-stated"});
        Case m = base;
        m.followup.clear();
        out.push_back({m, "followup_inconsistent", 0, "missing-followup"});
      }
    }
  }
  return out;
}

TEST(QaEval, DetectionAndFalseAlarms) {
  const auto pairs = Pairs();
  std::map<std::string, std::pair<int, int>> per_check;    // injected, detected
  std::map<std::string, std::pair<int, int>> per_variant;  // injected, detected
  int clean = 0, clean_alarmed = 0, clean_issue_count = 0, collateral = 0;
  std::map<std::string, int> alarm_checks, collateral_checks;
  int shown = 0;
  std::map<std::string, std::pair<int, int>> clean_variant;  // reports, with an issue
  for (const auto& p : pairs) {
    const Draft d = Render(p.c);
    const auto issues = CheckReport(d, p.c.proposals, p.c.decisions);
    if (p.injected.empty()) {
      ++clean;
      clean_variant[p.variant].first++;
      if (!issues.empty()) clean_variant[p.variant].second++;
      clean_issue_count += static_cast<int>(issues.size());
      if (!issues.empty()) ++clean_alarmed;
      for (const auto& i : issues) ++alarm_checks[i.check];
      if (!issues.empty() && shown++ < 8) {
        std::printf("FALSE ALARM %s %s: %s\n  findings: %s\n  impression: %s\n", p.c.name.c_str(), p.variant.c_str(),
                    issues[0].message.c_str(), d.findings_text.c_str(), d.impression_text.c_str());
      }
      continue;
    }
    bool hit = false;
    for (const auto& i : issues) {
      if (i.check == p.injected && (p.finding == 0 || i.finding_id == p.finding || i.finding_id == 0)) hit = true;
      else if (i.check != p.injected) {
        ++collateral;
        ++collateral_checks[p.variant + " -> " + i.check];
        if (std::getenv("RADFLOW_QA_EVAL_VERBOSE") && p.variant.find("size") != std::string::npos)
          std::printf("COLLATERAL %s %s: %s\n  findings: %s\n  impression: %s\n", p.c.name.c_str(), p.variant.c_str(),
                      i.message.c_str(), d.findings_text.c_str(), d.impression_text.c_str());
      }
    }
    per_check[p.injected].first++;
    per_variant[p.variant].first++;
    if (hit) per_check[p.injected].second++, per_variant[p.variant].second++;
    if (!hit && shown++ < 30) {
      std::printf("MISSED %s %s (%s)\n  findings: %s\n  impression: %s\n", p.c.name.c_str(), p.variant.c_str(),
                  p.injected.c_str(), d.findings_text.c_str(), d.impression_text.c_str());
    }
  }
  int injected = 0, detected = 0;
  std::printf("\nReport QA measured on %zu report/finding pairs (%d clean, %zu with one injected error)\n", pairs.size(), clean,
              pairs.size() - static_cast<size_t>(clean));
  for (const auto& [check, n] : per_check) {
    std::printf("  %-26s %3d / %3d detected (%.1f%%)\n", check.c_str(), n.second, n.first, 100.0 * n.second / n.first);
    injected += n.first;
    detected += n.second;
  }
  for (const auto& [variant, n] : per_variant)
    std::printf("    %-24s %3d / %3d\n", variant.c_str(), n.second, n.first);
  std::printf("  all checks                 %3d / %3d detected (%.1f%%)\n", detected, injected, 100.0 * detected / injected);
  std::printf("  false alarms: %d of %d clean reports with an issue (%.1f%%), %d issues\n", clean_alarmed, clean,
              100.0 * clean_alarmed / clean, clean_issue_count);
  for (const auto& [check, n] : alarm_checks) std::printf("    %-26s %d\n", check.c_str(), n);
  for (const auto& [variant, n] : clean_variant)
    std::printf("    clean %-20s %3d reports, %d with an issue\n", variant.c_str(), n.first, n.second);
  std::printf("  issues of another check on error copies: %d\n", collateral);
  for (const auto& [what, n] : collateral_checks) std::printf("    %-40s %d\n", what.c_str(), n);

  // The documented claims (docs/report-qa.md).
  // On this set every injected error is found (each of the 7 checks: 100 %) and no clean
  // report gets an issue (0 of 340).
  EXPECT_EQ(clean, 340);             // the doc's set (fixed seeds): 340 clean + 557 error copies
  EXPECT_EQ(pairs.size(), 897u);
  EXPECT_EQ(per_check.size(), 7u);
  for (const auto& [check, n] : per_check) EXPECT_EQ(n.second, n.first) << check;
  EXPECT_EQ(clean_alarmed, 0);
}

}  // namespace
}  // namespace radflow::report
