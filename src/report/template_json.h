// The REST shape of a template (contract: GET /api/v1/report-templates/{id}).
#pragma once

#include <nlohmann/json.hpp>

#include "report/templates.h"

namespace radflow::report {

// {"id","title","version","description","modalities","body_parts","procedure_codes",
//  "sections":[{"id","title","fields":[{"id","label","type","unit","min","max",
//  "options":[{"value","label","code":{"value","scheme","meaning"}|null}],"multiple",
//  "required","default","ai_key"}]}]}
nlohmann::json TemplateJson(const Template& t);
// The list entry: {"id","title","version","modalities","body_parts","procedure_codes"}.
nlohmann::json TemplateSummaryJson(const Template& t);

}  // namespace radflow::report
