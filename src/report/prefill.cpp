#include "report/prefill.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "report/lung_rads.h"
#include "report/measures.h"
#include "report/text_scan.h"

namespace radflow::report {
namespace detail {
namespace {
bool Contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
}  // namespace

// A measurement by code value, else by a word of its name.
std::optional<double> Meas(const AiFinding& f, const std::string& code, const std::string& name_word) {
  for (const auto& m : f.measurements)
    if (!code.empty() && m.code == code) return m.value;
  for (const auto& m : f.measurements)
    if (!name_word.empty() && Contains(scan::Lower(m.name), name_word)) return m.value;
  return std::nullopt;
}

NoduleFacts Nodule(const AiFinding& f) {
  NoduleFacts n;
  n.type = ParseNoduleType(f.label).value_or(NoduleType::kSolid);
  n.long_axis = Meas(f, "103339001", "long axis").value_or(f.size_mm);
  n.short_axis = Meas(f, "103340004", "short axis").value_or(0);
  if (auto md = Meas(f, "", "mean diameter")) n.mean = *md;
  else if (n.long_axis > 0 && n.short_axis > 0) n.mean = (n.long_axis + n.short_axis) / 2;
  else n.mean = n.long_axis > 0 ? n.long_axis : f.size_mm;
  n.volume = f.volume_ml > 0 ? f.volume_ml : Meas(f, "118565006", "volume").value_or(0);
  n.solid_component = Meas(f, "", "solid component");
  n.mass = Contains(scan::Lower(f.label), "mass") || n.long_axis >= 30;
  return n;
}

// Lung-RADS v2022 of a proposal's nodule, from its size and prior change.
LungRadsResult NoduleCategory(const AiFinding& f, const NoduleFacts& n, bool* known) {
  LungRadsInput in;
  in.type = n.type;
  in.mean_diameter_mm = n.mean;
  in.solid_component_mm = n.solid_component.value_or(0);
  *known = true;
  if (f.prior && f.prior->trend != "unknown") {
    in.baseline = false;
    const auto& p = *f.prior;
    if (p.status == "new") {
      in.is_new = true;
    } else if (p.diameter_change_mm != 0) {
      in.prior_mean_diameter_mm = n.mean - p.diameter_change_mm;
    } else if (p.volume_change_pct != 0 && p.volume_change_pct > -100) {
      in.prior_mean_diameter_mm = n.mean / std::cbrt(1 + p.volume_change_pct / 100.0);
    } else if (p.trend == "growing") {
      in.growing = true;
    } else {
      in.prior_mean_diameter_mm = n.mean;
    }
  }
  if (n.type == NoduleType::kPartSolid && !n.solid_component) {
    // The solid component decides part-solid categories >= 6 mm; without it only < 6 mm is known.
    LungRadsResult r;
    if (std::round(n.mean * 10) / 10 < 6 && in.baseline) {
      r.category = "2";
      r.reason = "part-solid, baseline, total < 6 mm";
    } else {
      *known = false;
    }
    return r;
  }
  return LungRadsCategory(in);
}

}  // namespace detail

namespace {
using detail::Meas;
using detail::Nodule;
using detail::NoduleCategory;
using detail::NoduleFacts;
using detail::Contains;
std::string SideFromX(double x) { return x > 0 ? "left" : x < 0 ? "right" : ""; }
std::string TypeValue(const std::string& type_code) { return type_code.substr(0, type_code.find('^')); }

std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string Mm(double v) { return Fmt("%.1f", v); }
std::string Ml(double v) { return std::fabs(v) < 1 ? Fmt("%.2f", v) : std::fabs(v) < 100 ? Fmt("%.1f", v) : Fmt("%.0f", v); }
std::string Int(double v) { return Fmt("%.0f", v); }

std::string Capitalise(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}


std::string PriorClause(const PriorChange& p, bool volume_based) {
  const std::string days = p.interval_days > 0 ? Int(p.interval_days) + " days" : "";
  if (p.status == "new") return "new since the prior study";
  if (p.trend == "growing") {
    std::string s = volume_based && p.volume_change_pct != 0 ? "grown " + Int(p.volume_change_pct) + "% in volume"
                    : p.diameter_change_mm != 0 ? "grown by " + Mm(p.diameter_change_mm) + " mm"
                                                : "grown";
    s += days.empty() ? " since the prior study" : " since the prior study " + days + " earlier";
    if (p.doubling_time_days) s += ", volume doubling time " + Int(*p.doubling_time_days) + " days";
    return s;
  }
  if (p.trend == "stable") return days.empty() ? "stable since the prior study" : "stable over " + days;
  if (p.trend == "shrinking") {
    std::string s = p.volume_change_pct != 0 ? "smaller by " + Int(-p.volume_change_pct) + "% in volume" : "smaller";
    return s + " than on the prior study";
  }
  return "";
}

void AddPrior(const AiFinding& f, std::map<std::string, std::string>* v) {
  if (!f.prior) return;
  const auto& p = *f.prior;
  (*v)["prior_status"] = p.status == "new" ? "new" : p.trend;
  if (p.volume_change_pct != 0) (*v)["growth_pct"] = Int(p.volume_change_pct);
  if (p.diameter_change_mm != 0) (*v)["diameter_change_mm"] = Mm(p.diameter_change_mm);
  if (p.doubling_time_days) (*v)["doubling_time_days"] = Int(*p.doubling_time_days);
  if (p.interval_days > 0) (*v)["prior_interval_days"] = Int(p.interval_days);
}

std::string SiteFromLabel(const std::string& label, const std::string& kind, const std::string& side) {
  const scan::Sites s = scan::FindSites(label);
  if (kind == "lung_nodule" && s.lung_lobes.size() == 1) {
    const std::string lobe = s.lung_lobes[0];
    const std::string l = scan::Lower(label);
    if (Contains(l, "lingula")) return "lingula";
    if (side.empty()) return "";
    return side + " " + lobe + " lobe";
  }
  if (kind == "haemorrhage" && s.brain_parts.size() == 1) {
    const std::string part = s.brain_parts[0];
    if (part == "frontal" || part == "parietal" || part == "temporal" || part == "occipital" || part == "insular")
      return side.empty() ? part + " lobe" : side + " " + part + " lobe";
    if (part == "cerebellar") return side.empty() ? "cerebellum" : side + " cerebellar hemisphere";
    if (part == "thalamic") return side.empty() ? "thalamus" : side + " thalamus";
    if (part == "pontine") return "pons";
    return side.empty() ? part : side + " " + part;
  }
  return "";
}

}  // namespace

std::string FindingKind(const AiFinding& f) {
  const std::string app = scan::Lower(f.app_id);
  const std::string type = TypeValue(f.type_code);
  if (Contains(app, "ct-lung-lesions") || Contains(app, "lung-nodule")) return "lung_nodule";
  if (Contains(app, "ct-emphysema")) return "emphysema";
  if (Contains(app, "ct-head-bleed")) return "haemorrhage";
  if (Contains(app, "ct-quality")) return "image_quality";
  if (type == "1386000") return "haemorrhage";
  if (type == "87433001") return "emphysema";
  if (type.rfind("RFQC", 0) == 0) return "image_quality";
  return "other";
}

std::string LateralityOf(const AiFinding& f, const std::string& kind) {
  const scan::Sites s = scan::FindSites(f.label);
  if (kind == "emphysema") {
    const std::string t = TypeValue(f.type_code);
    if (t == "44029006" || (s.left && !s.right && !s.bilateral)) return "left";
    if (t == "3341006" || (s.right && !s.left && !s.bilateral)) return "right";
    return "bilateral";
  }
  if (kind == "image_quality") return "";
  if (s.left && !s.right) return "left";
  if (s.right && !s.left) return "right";
  if (s.bilateral) return "bilateral";
  if (kind == "lung_nodule" || kind == "haemorrhage") return SideFromX(f.x);
  return "";
}

std::string SiteOf(const AiFinding& f, const std::string& kind) {
  const std::string side = LateralityOf(f, kind);
  if (std::string s = SiteFromLabel(f.label, kind, side); !s.empty()) return s;
  if (kind == "lung_nodule") return side == "left" || side == "right" ? side + " lung" : "";
  if (kind == "emphysema") return side == "bilateral" ? "both lungs" : side + " lung";
  if (kind == "haemorrhage") return side == "left" || side == "right" ? side + " cerebral hemisphere" : "";
  return "";
}

bool IsLungScreening(const StudyContext& study) {
  const std::string d = scan::Lower(study.study_description);
  if (Contains(d, "screen") || scan::HasWord(d, "ldct") || Contains(d, "low dose") || Contains(d, "low-dose"))
    return true;
  return false;
}

std::vector<Proposal> ProposeFindings(const Template& tmpl, const std::vector<AiFinding>& findings) {
  std::vector<Proposal> out;
  std::string default_section;
  if (tmpl.FindSection("findings")) default_section = "findings";
  else if (!tmpl.sections.empty()) default_section = tmpl.sections.front().id;
  for (const auto& f : findings) {
    Proposal p;
    p.finding = f;
    p.kind = FindingKind(f);
    p.laterality = LateralityOf(f, p.kind);
    p.site = SiteOf(f, p.kind);
    auto sk = tmpl.section_kinds.find(p.kind);
    p.section_id = sk != tmpl.section_kinds.end() ? sk->second : default_section;
    std::map<std::string, std::string> v;  // by ai_key
    if (!p.site.empty()) v["site"] = p.site;
    if (!p.laterality.empty()) v["laterality"] = p.laterality;
    v["ai_app"] = f.app_id + (f.app_version.empty() ? "" : " " + f.app_version);
    if (p.kind == "lung_nodule") {
      const NoduleFacts n = Nodule(f);
      bool known = true;
      const LungRadsResult cat = NoduleCategory(f, n, &known);
      p.lung_rads = known ? cat.category : "";
      std::string s = Capitalise(std::string(NoduleTypeName(n.type)) + (n.mass ? " mass" : " nodule"));
      s += p.site.empty() ? "" : " in the " + p.site;
      s += ", " + Mm(n.mean) + " mm (mean diameter";
      if (n.long_axis > 0 && n.short_axis > 0) s += "; " + Mm(n.long_axis) + " x " + Mm(n.short_axis) + " mm";
      s += ")";
      if (n.volume > 0) s += ", " + Ml(n.volume) + " mL";
      if (f.prior) {
        const std::string pc = PriorClause(*f.prior, true);
        if (!pc.empty()) s += "; " + pc;
      }
      s += ".";
      if (!p.lung_rads.empty()) s += " Lung-RADS " + p.lung_rads + ".";
      else s += " Lung-RADS category needs the size of the solid component.";
      p.sentence = s;
      if (p.site.find("lobe") != std::string::npos || p.site == "lingula") v["lobe"] = p.site;
      v["size_mm"] = Mm(n.long_axis);
      v["mean_diameter_mm"] = Mm(n.mean);
      v["long_axis_mm"] = Mm(n.long_axis);
      if (n.short_axis > 0) v["short_axis_mm"] = Mm(n.short_axis);
      if (n.volume > 0) v["volume_ml"] = Ml(n.volume);
      v["nodule_type"] = NoduleTypeName(n.type);
      if (!p.lung_rads.empty()) {
        v["lung_rads"] = p.lung_rads;
        v["lung_rads_management"] = LungRadsManagementFor(p.lung_rads).recommendation;
      }
      FleischnerInput fi;
      fi.type = n.type;
      fi.mean_diameter_mm = n.mean;
      fi.solid_component_mm = n.solid_component.value_or(0);
      v["fleischner"] = Fleischner2017(fi).text;
      AddPrior(f, &v);
    } else if (p.kind == "emphysema") {
      const double laa = Meas(f, "LAA950", "-950").value_or(0);
      const auto perc15 = Meas(f, "PERC15", "15th percentile");
      const double vol = f.volume_ml > 0 ? f.volume_ml : Meas(f, "118565006", "volume").value_or(0);
      const std::string where = p.laterality == "bilateral" ? "both lungs" : p.laterality + " lung";
      std::string s = "Emphysema quantification, " + where + ": %LAA-950 " + Fmt("%.1f", laa) + "%";
      if (vol > 0) s += ", lung volume " + Int(vol) + " mL";
      if (perc15) s += ", Perc15 " + Int(*perc15) + " HU";
      s += laa >= 6 ? "; above the 6% threshold commonly used for CT emphysema."
                    : "; below the 6% threshold commonly used for CT emphysema.";
      p.sentence = s;
      const std::string suffix = p.laterality == "left" ? "laa950_left_pct" : p.laterality == "right" ? "laa950_right_pct" : "laa950_pct";
      v[suffix] = Fmt("%.1f", laa);
      if (p.laterality == "bilateral") {
        if (vol > 0) v["emphysema_volume_ml"] = Int(vol);
        if (perc15) v["perc15_hu"] = Int(*perc15);
      }
      v.erase("site");
      v.erase("laterality");
    } else if (p.kind == "haemorrhage") {
      const double vol = f.volume_ml > 0 ? f.volume_ml : Meas(f, "118565006", "volume").value_or(0);
      const double size = f.size_mm > 0 ? f.size_mm : Meas(f, "103339001", "long axis").value_or(0);
      const auto hu = Meas(f, "373098007", "mean");
      std::string s = "Suspected intracranial haemorrhage";
      s += p.site.empty() ? "" : " in the " + p.site;
      if (vol > 0) s += ", " + Fmt("%.1f", vol) + " mL";
      if (size > 0) s += ", " + Int(size) + " mm in greatest axial diameter";
      if (hu) s += ", mean " + Int(*hu) + " HU";
      if (f.prior) {
        const std::string pc = PriorClause(*f.prior, true);
        if (!pc.empty()) s += "; " + pc;
      }
      p.sentence = s + ".";
      if (vol > 0) v["bleed_volume_ml"] = Fmt("%.1f", vol);
      if (size > 0) v["bleed_size_mm"] = Int(size);
      if (hu) v["bleed_mean_hu"] = Int(*hu);
      AddPrior(f, &v);
    } else if (p.kind == "image_quality") {
      if (f.severity != "info") {
        const std::string what = f.type_meaning.empty() ? "image quality" : scan::Lower(f.type_meaning);
        p.sentence = "Image quality (" + what + ", " + f.severity + "): " + f.label + ".";
        v["quality_warning"] = f.label;
      }
    } else {
      if (!f.label.empty()) p.sentence = Capitalise(f.label) + ".";
    }
    if (!p.sentence.empty()) v["sentence"] = p.sentence;
    // Template fields bound to these keys, each value as its field's type.
    for (const auto& sec : tmpl.sections) {
      for (const auto& field : sec.fields) {
        auto it = v.find(field.ai_key);
        if (field.ai_key.empty() || it == v.end()) continue;
        std::string value = it->second;
        if (field.type == "select" || field.type == "code") {
          auto opt = std::find_if(field.options.begin(), field.options.end(), [&](const FieldOption& o) {
            return scan::Lower(o.value) == scan::Lower(value) || scan::Lower(o.label) == scan::Lower(value);
          });
          if (opt == field.options.end()) continue;
          value = opt->value;
        } else if (field.type == "number") {
          char* end = nullptr;
          const double d = std::strtod(value.c_str(), &end);
          if (end == value.c_str()) continue;
          if ((field.min && d < *field.min) || (field.max && d > *field.max)) continue;
        } else if (field.type == "boolean" || field.type == "date") {
          continue;
        }
        p.values[field.id] = value;
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

Proposal ApplyDecision(const Proposal& p, const Decision& d, const std::map<std::string, std::string>& ai_keys) {
  Proposal out = p;
  for (const auto& [k, val] : d.values) {
    out.values[k] = val;
    auto it = ai_keys.find(k);
    const std::string key = it != ai_keys.end() ? it->second : k;
    if (key == "site") out.site = val;
    else if (key == "laterality") out.laterality = val;
    else if (key == "lung_rads") out.lung_rads = NormaliseLungRadsCategory(val);
  }
  if (!d.sentence.empty()) out.sentence = d.sentence;
  return out;
}

std::string ComposeFindingsText(const std::vector<Proposal>& proposals, const std::vector<Decision>& decisions) {
  std::map<int64_t, const Decision*> current;
  for (const auto& d : decisions) {
    auto it = current.find(d.finding_id);
    if (it == current.end() || d.at >= it->second->at) current[d.finding_id] = &d;
  }
  std::vector<std::string> order;
  std::map<std::string, std::string> paragraphs;
  for (const auto& p : proposals) {
    auto it = current.find(p.finding.id);
    if (it == current.end()) continue;
    const Decision& d = *it->second;
    std::string sentence;
    if (d.decision == "accepted") sentence = p.sentence;
    else if (d.decision == "edited") sentence = d.sentence.empty() ? p.sentence : d.sentence;
    if (sentence.empty()) continue;
    if (!paragraphs.count(p.section_id)) order.push_back(p.section_id);
    std::string& para = paragraphs[p.section_id];
    para += (para.empty() ? "" : " ") + sentence;
  }
  std::string out;
  for (const auto& s : order) out += (out.empty() ? "" : "\n\n") + paragraphs[s];
  return out;
}

}  // namespace radflow::report
