// Pre-fill: AI findings of a study become proposed report sentences and template field
// values (issue 13), pending the radiologist's decision.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report/model.h"
#include "report/templates.h"

namespace radflow::report {

// Kind of a finding by its app and type: ct-lung-lesions → lung_nodule, ct-emphysema →
// emphysema, ct-head-bleed → haemorrhage, ct-quality → image_quality, else other.
std::string FindingKind(const AiFinding& f);

// "left" (x > 0, LPS), "right" (x < 0), "midline" (|x| < 2 mm for midline kinds) ...
std::string LateralityOf(const AiFinding& f, const std::string& kind);

// The site named in the label ("right upper lobe"), else from the position: lung nodules
// "right lung"/"left lung", haemorrhage "left cerebral hemisphere" ...
std::string SiteOf(const AiFinding& f, const std::string& kind);

// A lung cancer screening examination (LDCT): StudyDescription with SCREENING, LDCT, LOW DOSE or
// LUNG CANCER SCREEN (whole words, any case). The service sets
// the draft field "exam_type" to "screening" for these (QA then applies Lung-RADS management
// rather than Fleischner 2017).
bool IsLungScreening(const StudyContext& study);

// One proposal per finding, in the order given. values hold, for every template field with
// an ai_key the proposal knows, the value as the field's type (numbers with the field's
// decimals, select values as option values). The keys (data-radflow-ai-key) are listed in
// docs/report-templates.md: site, laterality, lobe, size_mm, mean_diameter_mm, long_axis_mm,
// short_axis_mm, volume_ml, nodule_type, lung_rads, lung_rads_management, fleischner,
// growth_pct, diameter_change_mm, doubling_time_days, prior_interval_days, prior_status,
// laa950_pct, laa950_left_pct, laa950_right_pct, emphysema_volume_ml, perc15_hu,
// bleed_volume_ml, bleed_size_mm, bleed_mean_hu, quality_warning, sentence, ai_app.
// Sections: the template's section for the kind (data-radflow-kinds), else "findings".
std::vector<Proposal> ProposeFindings(const Template& tmpl, const std::vector<AiFinding>& findings);

// The findings text of the decided proposals: for each proposal with an accepted decision its
// proposed sentence, with an edited one the decision's sentence (or the proposal's if empty),
// rejected and undecided proposals left out; one paragraph per template section, in the
// order of the proposals.
std::string ComposeFindingsText(const std::vector<Proposal>& proposals,
                                const std::vector<Decision>& decisions);

// The proposal with a decision's edits applied (values merged, sentence replaced) — what QA
// and signing treat as the accepted finding.
// ai_keys (FieldAiKeys of the template) say which edited field is the site, laterality or
// Lung-RADS category; without them a field id equal to the key counts.
Proposal ApplyDecision(const Proposal& p, const Decision& d,
                       const std::map<std::string, std::string>& ai_keys = {});

}  // namespace radflow::report
