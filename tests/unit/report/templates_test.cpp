// MRRT template parsing, validation, selection and JSON (src/report/templates.h).
#include "report/templates.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "report/template_json.h"

namespace radflow::report {
namespace {

const std::string kTemplates = std::string(RADFLOW_SOURCE_DIR) + "/templates";

TemplateLibrary Shipped() { return LoadTemplates({kTemplates}); }

// A minimal valid template with one field line the test replaces.
std::string Doc(const std::string& body_fields, const std::string& head_extra = "",
                const std::string& coded = "") {
  return R"(<!DOCTYPE html>
<html><head><meta charset="UTF-8"/>
<meta name="dcterms.title" content="Test"/>
<meta name="dcterms.identifier" content="test-template"/>)" +
         head_extra + R"(
<script type="text/xml"><template_attributes><coded_content>)" +
         coded + R"(</coded_content></template_attributes></script>
</head><body>
<section id="findings" data-section-name="Findings"><header class="level1">Findings</header>
<p>)" + body_fields +
         R"(</p></section></body></html>)";
}

TEST(Templates, ShippedTemplatesLoadWithoutRejections) {
  auto lib = Shipped();
  for (const auto& [file, error] : lib.rejected) ADD_FAILURE() << file << ": " << error;
  for (const char* id : {"ct-chest", "ct-head", "ct-general", "xr-chest", "general"}) {
    EXPECT_NE(lib.Find(id), nullptr) << id;
  }
}

TEST(Templates, CtChestFieldsAreTyped) {
  auto lib = Shipped();
  const Template* t = lib.Find("ct-chest");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->title, "CT Chest");
  EXPECT_EQ(t->version, "1.0");
  EXPECT_EQ(t->modalities, std::vector<std::string>{"CT"});
  EXPECT_EQ(t->body_parts, (std::vector<std::string>{"CHEST", "THORAX", "LUNG"}));
  ASSERT_NE(t->FindSection("impression"), nullptr);
  ASSERT_NE(t->FindSection("lungs"), nullptr);
  EXPECT_EQ(t->section_kinds.at("lung_nodule"), "lungs");
  EXPECT_EQ(t->section_kinds.at("emphysema"), "emphysema");
  EXPECT_EQ(t->section_kinds.at("image_quality"), "technique");

  const TemplateField* md = t->FindField("mean_diameter_mm");
  ASSERT_NE(md, nullptr);
  EXPECT_EQ(md->type, "number");
  EXPECT_EQ(md->unit, "mm");
  EXPECT_EQ(md->ai_key, "mean_diameter_mm");
  ASSERT_TRUE(md->min && md->max);
  EXPECT_EQ(*md->max, 300);

  const TemplateField* lr = t->FindField("lung_rads");
  ASSERT_NE(lr, nullptr);
  EXPECT_EQ(lr->type, "select");
  ASSERT_EQ(lr->options.size(), 6u);
  EXPECT_EQ(lr->options[3].value, "4A");
  EXPECT_EQ(lr->options[3].label, "4A Suspicious");

  const TemplateField* side = t->FindField("laterality");
  ASSERT_NE(side, nullptr);
  EXPECT_EQ(side->type, "code");  // every option has a term binding
  EXPECT_EQ(side->options[0].code_value, "24028007");
  EXPECT_EQ(side->options[0].code_scheme, "SCT");

  const TemplateField* exam = t->FindField("exam_type");
  ASSERT_NE(exam, nullptr);
  EXPECT_EQ(exam->default_value, "diagnostic");
  EXPECT_TRUE(t->FindField("impression_text")->required);  // data-field-completion-action PROHIBIT
  EXPECT_EQ(t->FindField("comparison_text")->default_value, "None.");
  EXPECT_EQ(t->FindField("indication")->label, "Indication");

  auto keys = FieldAiKeys(*t);
  EXPECT_EQ(keys.at("site"), "site");
  EXPECT_EQ(keys.count("indication"), 0u);
}

TEST(Templates, ParsesMrrtRev0AndCheckboxAndDatalist) {
  const std::string fields = R"(
<label for="a">Diameter:</label><input type="number" id="a" data-field-units="mm" min="0" max="50" value="3"/>
<label for="b">Notes</label><textarea id="b">free</textarea>
<label for="c">Gallbladder:</label><input list="c_list" id="c" data-field-type="SELECTION_LIST" value="Normal."/>
<datalist id="c_list"><option id="c_0" value="Normal.">Normal.</option><option id="c_1" value="Absent.">Absent.</option></datalist>
<label for="d">Technique:</label><span id="d" data-field-type="CHECKBOX">
  <input id="d_0" type="checkbox" value="IV contrast" checked=""/>IV contrast
  <input id="d_1" type="checkbox" value="Oral contrast"/>Oral contrast</span>
<label for="e">Seen</label><input id="e" type="checkbox" data-field-type="CHECKBOX"/>
<label for="f">Date</label><input id="f" data-field-type="DATE" value="2026-01-02"/>)";
  const std::string coded = R"(<entry ORIGTXT="c_0"><term><code meaning="normal" value="RID13173" scheme="RADLEX"/></term></entry>)";
  auto t = ParseMrrtTemplate(Doc(fields, "", coded), "/x/rev0.html");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const auto& f = t->sections.at(0).fields;
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].type, "number");
  EXPECT_EQ(f[0].default_value, "3");
  EXPECT_EQ(f[1].type, "text");
  EXPECT_EQ(f[1].default_value, "free");
  EXPECT_EQ(f[2].type, "select");  // only one option is coded
  EXPECT_EQ(f[2].options.size(), 2u);
  EXPECT_EQ(f[2].options[0].code_value, "RID13173");
  EXPECT_EQ(f[2].default_value, "Normal.");
  EXPECT_EQ(f[3].type, "select");
  EXPECT_TRUE(f[3].multiple);
  EXPECT_EQ(f[3].default_value, "IV contrast");
  EXPECT_EQ(f[4].type, "boolean");
  EXPECT_EQ(f[5].type, "date");
}

struct BadCase { std::string fields, head, coded, error; };

TEST(Templates, ValidationErrorsNameTheField) {
  const std::vector<BadCase> cases = {
      {R"(<label for="nodule_size">Size</label><input id="nodule_size" data-field-type="NUMBER"/>)", "", "",
       "ct-chest.html: field 'nodule_size': NUMBER without a unit (data-field-units)"},
      {R"(<input id="a" data-field-type="TEXT"/><input id="a" data-field-type="TEXT"/>)", "", "",
       "ct-chest.html: field 'a': duplicate id 'a'"},
      {R"(<select id="s" data-field-type="SELECTION_LIST"><option value=""></option></select>)", "", "",
       "ct-chest.html: field 's': SELECTION_LIST without options"},
      {R"(<input id="t" data-field-type="SLIDER"/>)", "", "",
       "ct-chest.html: field 't': unknown data-field-type 'SLIDER' (MRRT: TEXT, NUMBER, SELECTION_LIST, DATE, TIME, CHECKBOX, RADIO)"},
      {R"(<input id="n" data-field-type="NUMBER" data-field-units="mm" min="10" max="2"/>)", "", "",
       "ct-chest.html: field 'n': min is greater than max"},
      {R"(<input id="n" data-field-type="NUMBER" data-field-units="mm" value="big"/>)", "", "",
       "ct-chest.html: field 'n': value 'big' is not a number"},
      {R"(<input id="k" data-field-type="TEXT" data-radflow-ai-key="nonsense"/>)", "", "",
       "ct-chest.html: field 'k': unknown data-radflow-ai-key 'nonsense'"},
      {R"(<label for="ghost">x</label><input id="k" data-field-type="TEXT"/>)", "", "",
       "ct-chest.html: <label for=\"ghost\"> names no element"},
      {R"(<input id="k" data-field-type="TEXT" data-field-completion-action="MAYBE"/>)", "", "",
       "ct-chest.html: field 'k': data-field-completion-action 'MAYBE' (MRRT: NONE, ALERT, PROHIBIT)"},
      {R"(<select id="s" data-field-type="SELECTION_LIST"><option>a</option><option>a</option></select>)", "", "",
       "ct-chest.html: field 's': option 'a' appears twice"},
      {R"(<input id="k" data-field-type="TEXT"/>)", R"(<meta name="radflow.modalities" content="Computed Tomography"/>)", "",
       "ct-chest.html: radflow.modalities: 'COMPUTED TOMOGRAPHY' is not a DICOM modality (CT, MR, DX, CR, ...)"},
      {R"(<input id="k" data-field-type="TEXT"/>)", "", R"(<entry ORIGTXT="k"><term><code value="1"/></term></entry>)",
       "ct-chest.html: coded content entry 'k': <code> needs value, scheme and meaning"},
      {R"(<input id="k" data-field-type="TEXT"/>)", "", R"(<entry ORIGTXT="zz"><term><code value="1" scheme="SCT" meaning="m"/></term></entry>)",
       "ct-chest.html: coded content entry ORIGTXT=\"zz\" names no element"},
      {R"(<input id="k" data-field-type="TEXT"/>)", "", R"(<entry ORIGTXT="k"><term><code value="1" scheme="SCT" meaning="m">)",
       "ct-chest.html: coded content (<script type=\"text/xml\">) is not well-formed XML"},
  };
  for (const auto& c : cases) {
    auto t = ParseMrrtTemplate(Doc(c.fields, c.head, c.coded), "/site/templates/ct-chest.html");
    ASSERT_FALSE(t.ok()) << c.error;
    EXPECT_EQ(t.status().message(), c.error);
  }
}

TEST(Templates, DocumentLevelErrors) {
  auto no_id = ParseMrrtTemplate(R"(<html><head><meta name="dcterms.title" content="X"/></head><body>
<section data-section-name="A"><input id="a" data-field-type="TEXT"/></section></body></html>)", "a.html");
  ASSERT_FALSE(no_id.ok());
  EXPECT_EQ(no_id.status().message(), "a.html: no <meta name=\"dcterms.identifier\">");
  auto no_body = ParseMrrtTemplate(R"(<html><head><meta name="dcterms.title" content="X"/>
<meta name="dcterms.identifier" content="x"/></head></html>)", "b.html");
  ASSERT_FALSE(no_body.ok());
  EXPECT_EQ(no_body.status().message(), "b.html: no <body> element");
  auto outside = ParseMrrtTemplate(R"(<html><head><meta name="dcterms.title" content="X"/>
<meta name="dcterms.identifier" content="x"/></head><body><input id="a" data-field-type="TEXT"/>
<section data-section-name="A"></section></body></html>)", "c.html");
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.status().message(), "c.html: field 'a': outside any <section data-section-name>");
  auto nosec = ParseMrrtTemplate(R"(<html><head><meta name="dcterms.title" content="X"/>
<meta name="dcterms.identifier" content="x"/></head><body><p>hi</p></body></html>)", "d.html");
  ASSERT_FALSE(nosec.ok());
  EXPECT_EQ(nosec.status().message(), "d.html: no <section data-section-name> in <body>");
}

TEST(Templates, LibraryRejectsBadFilesAndLaterFoldersOverride) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("radflow_tpl_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "bad.html") << Doc(R"(<input id="n" data-field-type="NUMBER"/>)");
    std::string chest = Doc(R"(<input id="k" data-field-type="TEXT"/>)",
                            R"(<meta name="radflow.modalities" content="CT"/><meta name="radflow.body-parts" content="CHEST"/>)");
    const std::string from = "content=\"test-template\"";
    chest.replace(chest.find(from), from.size(), "content=\"ct-chest\"");
    std::ofstream(dir / "site-chest.html") << chest;
  }
  auto lib = LoadTemplates({kTemplates, dir.string(), (dir / "missing").string()});
  ASSERT_EQ(lib.rejected.size(), 1u);
  EXPECT_EQ(lib.rejected[0].second, "bad.html: field 'n': NUMBER without a unit (data-field-units)");
  const Template* t = lib.Find("ct-chest");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->title, "Test");  // the site's replaced the built-in one
  EXPECT_EQ(lib.templates.size(), 5u);
  fs::remove_all(dir);
}

TEST(Templates, SelectionRule) {
  auto lib = Shipped();
  auto pick = [&](StudyContext s) { return SelectTemplate(lib, s); };
  auto chest = pick({{"CT"}, "CHEST", "CT THORAX", {}});
  ASSERT_NE(chest.chosen, nullptr);
  EXPECT_EQ(chest.chosen->id, "ct-chest");
  EXPECT_EQ(chest.rule, "CT + CHEST \xE2\x86\x92 ct-chest (modality and body part)");

  auto by_desc = pick({{"CT", "SR"}, "", "LOW DOSE CT LUNG SCREENING", {}});
  EXPECT_EQ(by_desc.chosen->id, "ct-chest");
  EXPECT_EQ(by_desc.rule, "CT/SR + 'LOW DOSE CT LUNG SCREENING' \xE2\x86\x92 ct-chest (modality and StudyDescription keyword LUNG)");

  // A procedure code outweighs the body part.
  auto by_code = pick({{"CT"}, "CHEST", "", {"30799-1^LN"}});
  EXPECT_EQ(by_code.chosen->id, "ct-head");
  EXPECT_EQ(by_code.rule, "CT + 30799-1 \xE2\x86\x92 ct-head (modality and procedure code)");

  EXPECT_EQ(pick({{"CT"}, "HEAD", "", {}}).chosen->id, "ct-head");
  EXPECT_EQ(pick({{"CT"}, "", "CT BRAIN NATIVE", {}}).chosen->id, "ct-head");
  EXPECT_EQ(pick({{"DX"}, "CHEST", "", {}}).chosen->id, "xr-chest");
  EXPECT_EQ(pick({{"CR"}, "", "CHEST PA LAT", {}}).chosen->id, "xr-chest");
  // The modality comes first: a CT of the chest never gets the radiograph template.
  EXPECT_NE(pick({{"CT"}, "CHEST", "", {}}).chosen->id, "xr-chest");

  auto abdo = pick({{"CT"}, "ABDOMEN", "CT ABDOMEN PELVIS", {}});
  EXPECT_EQ(abdo.chosen->id, "ct-general");
  EXPECT_EQ(abdo.rule, "CT + ABDOMEN \xE2\x86\x92 ct-general (general template of the modality: no specific template fits)");

  auto mr = pick({{"MR"}, "KNEE", "", {}});
  EXPECT_EQ(mr.chosen->id, "general");
  EXPECT_EQ(mr.rule, "MR + KNEE \xE2\x86\x92 general (general template: no specific template fits)");

  TemplateLibrary empty;
  auto none = SelectTemplate(empty, {{"MR"}, "", "", {}});
  EXPECT_EQ(none.chosen, nullptr);
  EXPECT_EQ(none.rule, "MR: no template fits and the library has no general template");
}

TEST(Templates, SelectionPrefersTheMoreSpecificTemplate) {
  auto make = [](const std::string& id, const std::string& modalities, const std::string& parts) {
    auto t = ParseMrrtTemplate(Doc(R"(<input id="k" data-field-type="TEXT"/>)",
                                   "<meta name=\"radflow.modalities\" content=\"" + modalities +
                                       "\"/><meta name=\"radflow.body-parts\" content=\"" + parts + "\"/>"),
                               id + ".html");
    EXPECT_TRUE(t.ok()) << t.status().message();
    t->id = id;
    return t.value();
  };
  TemplateLibrary lib;
  lib.templates.push_back(make("chest-any", "CT, MR, PT", "CHEST, THORAX, LUNG"));
  lib.templates.push_back(make("chest-ct", "CT", "CHEST"));
  auto c = SelectTemplate(lib, {{"CT"}, "CHEST", "", {}});
  EXPECT_EQ(c.chosen->id, "chest-ct");
}

TEST(Templates, JsonShape) {
  auto lib = Shipped();
  const Template* t = lib.Find("ct-chest");
  ASSERT_NE(t, nullptr);
  auto j = TemplateJson(*t);
  EXPECT_EQ(j["id"], "ct-chest");
  EXPECT_EQ(j["title"], "CT Chest");
  EXPECT_EQ(j["version"], "1.0");
  EXPECT_TRUE(j["modalities"].is_array());
  EXPECT_TRUE(j["procedure_codes"].is_array());
  ASSERT_TRUE(j["sections"].is_array());
  bool found = false;
  for (const auto& s : j["sections"]) {
    for (const auto& f : s["fields"]) {
      for (const char* k : {"id", "label", "type", "unit", "min", "max", "options", "multiple", "required", "default", "ai_key"})
        EXPECT_TRUE(f.contains(k)) << k;
      if (f["id"] == "laterality") {
        found = true;
        EXPECT_EQ(f["type"], "code");
        EXPECT_EQ(f["options"][0]["code"]["value"], "24028007");
        EXPECT_EQ(f["options"][0]["code"]["scheme"], "SCT");
      }
      if (f["id"] == "mean_diameter_mm") {
        EXPECT_EQ(f["unit"], "mm");
        EXPECT_EQ(f["min"], 0);
      }
      if (f["id"] == "lung_rads") {
        EXPECT_TRUE(f["options"][0]["code"].is_null());
      }
      if (f["id"] == "indication") {
        EXPECT_TRUE(f["min"].is_null());
      }
    }
  }
  EXPECT_TRUE(found);
  auto s = TemplateSummaryJson(*t);
  EXPECT_EQ(s.size(), 6u);
}

}  // namespace
}  // namespace radflow::report
