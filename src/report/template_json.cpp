#include "report/template_json.h"

namespace radflow::report {

nlohmann::json TemplateSummaryJson(const Template& t) {
  return {{"id", t.id},
          {"title", t.title},
          {"version", t.version},
          {"modalities", t.modalities},
          {"body_parts", t.body_parts},
          {"procedure_codes", t.procedure_codes}};
}

nlohmann::json TemplateJson(const Template& t) {
  nlohmann::json j = TemplateSummaryJson(t);
  j["description"] = t.description;
  j["language"] = t.language;
  nlohmann::json sections = nlohmann::json::array();
  for (const auto& s : t.sections) {
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : s.fields) {
      nlohmann::json options = nlohmann::json::array();
      for (const auto& o : f.options) {
        nlohmann::json code = nullptr;
        if (!o.code_value.empty())
          code = {{"value", o.code_value}, {"scheme", o.code_scheme}, {"meaning", o.code_meaning}};
        options.push_back({{"value", o.value}, {"label", o.label}, {"code", code}});
      }
      fields.push_back({{"id", f.id},
                        {"label", f.label},
                        {"type", f.type},
                        {"unit", f.unit},
                        {"min", f.min ? nlohmann::json(*f.min) : nlohmann::json(nullptr)},
                        {"max", f.max ? nlohmann::json(*f.max) : nlohmann::json(nullptr)},
                        {"options", options},
                        {"multiple", f.multiple},
                        {"required", f.required},
                        {"default", f.default_value},
                        {"ai_key", f.ai_key}});
    }
    sections.push_back({{"id", s.id}, {"title", s.title}, {"fields", fields}});
  }
  j["sections"] = sections;
  return j;
}

}  // namespace radflow::report
