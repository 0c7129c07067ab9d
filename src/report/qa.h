// Report QA before signing (issue 13): five checks on a draft against the AI proposals and
// the radiologist's decisions. Tolerances are documented in docs/report-qa.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "report/model.h"

namespace radflow::report {

struct QaOptions {
  // undecided_finding: findings at or above this severity need a decision.
  std::string undecided_min_severity = "moderate";
  // measurement_mismatch: a size in the text agrees when |text - measured| <= max(abs, rel*measured).
  double size_abs_tolerance_mm = 1.0;
  double size_rel_tolerance = 0.10;
  double volume_abs_tolerance_ml = 0.05;
  double volume_rel_tolerance = 0.15;
  // %LAA-950 in the text agrees within this many percentage points.
  double percent_abs_tolerance = 1.0;
  // followup_inconsistent: slack around a published interval range, months.
  double interval_slack_months = 1.0;
  // Lung-RADS vs Fleischner: a report is a screening report when the template field
  // "exam_type" is "screening", or the text says "screening" / "Lung-RADS". Overrides: 1 yes, 0 no.
  int screening = -1;
  // Fleischner risk when the draft's field "risk" is empty: -1 unknown (both rows accepted).
  int high_risk = -1;
  // Template field id → ai_key (FieldAiKeys(template)), to read decision values; without it a
  // field id equal to an ai_key counts.
  std::map<std::string, std::string> ai_keys;
};

// Issues in a stable order: undecided findings, then per accepted finding the side, site and
// measurement checks, then Lung-RADS, follow-up and critical communication. Severity error
// for every check but site_mismatch (a warning). Ids "<check>:<finding id>" (docs/report-qa.md).
std::vector<QaIssue> CheckReport(const Draft& draft, const std::vector<Proposal>& proposals,
                                 const std::vector<Decision>& decisions, const QaOptions& options = {});

// Sentence boundaries of a report text (UTF-8 byte offsets): '.', '!', '?' or a newline
// ends a sentence; decimals ("8.5 mm") and abbreviations ("Dr.", "e.g.") do not.
struct SentenceSpan { int offset = 0, length = 0; };
std::vector<SentenceSpan> SplitSentences(const std::string& text);

}  // namespace radflow::report
