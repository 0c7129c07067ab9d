// The shared model of reporting (issue 13): AI findings as reporting sees them, the
// proposals pre-fill makes of them, the radiologist's decisions, the draft that QA and
// signing read, and QA's issues. Plain structs; every module of reporting codes against them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace radflow::report {

struct Measurement { std::string name, code, scheme; double value = 0; std::string unit; };  // unit UCUM ("mm","ml","[hnsf'U]","%")
struct PriorChange {               // from lesion_tracks (issue 12) when the finding was tracked
  std::string prior_study_uid, status;   // tracked | new
  std::string trend;                      // growing | stable | shrinking | unknown
  double interval_days = 0, volume_change_pct = 0, diameter_change_mm = 0;
  std::optional<double> doubling_time_days;
};
struct AiFinding {                 // one AI finding of the study, from ai_findings rows or a TID 1500 SR
  int64_t id = 0;                  // ai_findings.id (SR-only findings get ids from the service, negative)
  int64_t job_id = 0;
  std::string app_id, app_version;
  std::string study_uid, series_uid;
  std::string type_code, type_meaning, label;   // type_code "value^scheme"
  double x = 0, y = 0, z = 0;      // LPS mm: x > 0 is the patient's LEFT
  double size_mm = 0, volume_ml = 0, score = 0;
  std::string severity = "info";   // info | low | moderate | high | critical
  std::vector<Measurement> measurements;
  std::optional<PriorChange> prior;
  std::string sr_series_uid, sr_sop_uid;   // the TID 1500 SR holding it ('' if none)
  std::string tracking_uid;
};
struct Proposal {                  // what pre-fill proposes for one finding
  AiFinding finding;
  std::string kind;                // lung_nodule | emphysema | haemorrhage | image_quality | other
  std::string section_id;          // template section it belongs to
  std::string sentence;            // proposed report sentence
  std::map<std::string, std::string> values;  // template field id -> value (as the field's type)
  std::string laterality;          // left | right | bilateral | midline | ''
  std::string site;                // e.g. "right upper lobe", "left frontal lobe", "" if unknown
  std::string lung_rads;           // "" unless lung nodule: "2", "3", "4A", "4B", "4X"
};
struct Decision {                  // the radiologist's current decision on a finding
  int64_t finding_id = 0;
  std::string decision;            // accepted | edited | rejected
  std::string reason, reader;
  int64_t at = 0;
  std::map<std::string, std::string> values;  // as accepted/edited
  std::string sentence;
};
struct Draft {                     // the report as QA and signing see it
  std::string template_id;
  std::map<std::string, std::string> fields;   // field id -> value
  std::string findings_text, impression_text;
  std::string critical_communicated;           // '' or "discussed with Dr X at 14:05"
};
struct QaIssue {
  std::string id;                  // stable: "<check>:<finding_id or sentence index>"
  std::string check;               // undecided_finding | laterality_mismatch | site_mismatch |
                                   // measurement_mismatch | lung_rads_inconsistent |
                                   // followup_inconsistent | critical_not_communicated
  std::string severity;            // error | warning
  std::string message;             // a sentence a radiologist understands
  int64_t finding_id = 0;          // 0: none
  std::string field;               // "findings_text" | "impression_text" | a field id | ''
  int offset = -1, length = 0;     // the sentence concerned in that text (UTF-8 bytes), -1 none
};

}  // namespace radflow::report
