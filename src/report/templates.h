// Report templates in the IHE MRRT form (IHE Radiology TF Supplement "Management of
// Radiology Report Templates", Rev. 1.x): an HTML5 document whose <head> carries the Dublin
// Core metadata (dcterms.title, dcterms.identifier, ...) and a <script type="text/xml">
// block of coded content (template attributes, term bindings), and whose <body> holds
// <section data-section-name> elements with typed fields (<input data-field-type>,
// <select>, <textarea>, <label for>). docs/report-templates.md describes the radflow
// additions (applicability meta, data-ai-key) and the selection rule.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radflow::report {

struct FieldOption {
  std::string value, label;
  std::string code_value, code_scheme, code_meaning;  // from a term binding, '' if none
};

struct TemplateField {
  std::string id, label;
  std::string type;                 // text | number | select | code | date | boolean
  std::string unit;                 // UCUM, numbers only ("mm", "ml", "%", "[hnsf'U]")
  std::optional<double> min, max;
  std::vector<FieldOption> options; // select / code
  bool multiple = false, required = false;
  std::string default_value;
  std::string ai_key;               // the Proposal value this field takes ('' none), data-ai-key
};

struct TemplateSection {
  std::string id, title;
  std::vector<TemplateField> fields;
};

struct Template {
  std::string id, title, version, description, language;
  std::vector<std::string> modalities, body_parts, procedure_codes;  // applicability
  std::vector<std::string> keywords;   // StudyDescription keywords (radflow.keywords), upper case
  bool general = false;                // radflow.fallback: chosen when nothing more specific fits
  std::vector<TemplateSection> sections;
  // Proposal kind → the section its sentences go to (data-radflow-kinds on a <section>);
  // kinds not listed go to the section "findings", else the first section.
  std::map<std::string, std::string> section_kinds;
  std::string html, file;

  const TemplateField* FindField(const std::string& field_id) const;
  const TemplateSection* FindSection(const std::string& section_id) const;
};

// Parses and validates one MRRT template. Errors name the file and the field:
// "ct-chest.html: field 'nodule_size': NUMBER without a unit".
Result<Template> ParseMrrtTemplate(const std::string& html, const std::string& file);

struct TemplateLibrary {
  std::vector<Template> templates;
  std::vector<std::pair<std::string, std::string>> rejected;  // file, error
  const Template* Find(const std::string& id) const;
};

// Every *.html of each folder (sorted by name); a later folder's template replaces an
// earlier one with the same id (site templates override the built-in ones). Invalid files
// land in `rejected`; a missing folder is skipped.
TemplateLibrary LoadTemplates(const std::vector<std::string>& folders);

struct StudyContext {
  std::vector<std::string> modalities;      // ModalitiesInStudy
  std::string body_part, study_description; // BodyPartExamined, StudyDescription
  std::vector<std::string> procedure_codes; // RequestedProcedureCodeSequence / ProcedureCodeSequence values
};

struct TemplateChoice {
  const Template* chosen = nullptr;
  std::string rule;   // "CT + CHEST → ct-chest (modality and body part)"
};

// The selection rule (docs/report-templates.md):
//  1. candidates: templates whose modalities include one of the study's modalities
//     (a template without modalities fits every modality);
//  2. score each: procedure code match 4, plus BodyPartExamined equal to one of body_parts
//     (case-insensitive) 2, else a keyword found as a whole word in the StudyDescription 1;
//  3. the highest score above 0 wins; ties go to a template limited to modalities, then to
//     the one listing fewer modalities + body parts + codes (the more specific), then the id;
//  4. when no candidate scores, the general template (radflow.fallback) of the modality,
//     else a general template for any modality; chosen is nullptr only when there is none.
TemplateChoice SelectTemplate(const TemplateLibrary& library, const StudyContext& study);

// Field id → ai_key of every field with a data-radflow-ai-key (QaOptions::ai_keys).
std::map<std::string, std::string> FieldAiKeys(const Template& t);

}  // namespace radflow::report
