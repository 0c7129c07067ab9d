// Protocol rules: parsing errors, the matcher's word/phrase semantics, and the shipped rule set
// (docs/protocols.md).
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "orders/protocol.h"

namespace radflow::orders {
namespace {

storage::OrderRow Order(const std::string& modality, const std::string& procedure,
                        const std::string& reason) {
  storage::OrderRow o;
  o.modality = modality;
  o.procedure_text = procedure;
  o.reason = reason;
  return o;
}

ProtocolRules Parse(const std::string& json) {
  Result<ProtocolRules> r = ParseProtocolRules(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : ProtocolRules{};
}

std::string ParseError(const std::string& json) {
  Result<ProtocolRules> r = ParseProtocolRules(json);
  EXPECT_FALSE(r.ok()) << json;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

TEST(ProtocolNormalize, LowerCaseAccentsAndPunctuation) {
  EXPECT_EQ(NormalizeProtocolText("CT Head W/O Contrast"), "ct head w o contrast");
  EXPECT_EQ(NormalizeProtocolText("  Hémorragie  cérébrale; r/o  "), "hemorragie cerebrale r o");
  EXPECT_EQ(NormalizeProtocolText("Straße"), "strasse");
  EXPECT_EQ(NormalizeProtocolText("CT A/P (w/ IV)"), "ct a p w iv");
  EXPECT_EQ(NormalizeProtocolText("PA-lateral\t2V"), "pa lateral 2v");
  EXPECT_EQ(NormalizeProtocolText("μ\xE2\x80\x94x"), "x");  // non-Latin-1 letters break words
  EXPECT_EQ(NormalizeProtocolText("\xC3"), "");            // truncated UTF-8: no crash, no word
  EXPECT_EQ(NormalizeProtocolText(""), "");
}

TEST(ProtocolParse, MinimalRule) {
  ProtocolRules rules = Parse(R"({"version":1,"rules":[{"id":"a","protocol_code":"A",
      "protocol_name":"A name","procedure_any":["ct head"],"duration_minutes":15,"contrast":"iv"}]})");
  ASSERT_EQ(rules.rules.size(), 1u);
  EXPECT_EQ(rules.rules[0].id, "a");
  EXPECT_EQ(rules.rules[0].duration_minutes, 15);
  EXPECT_EQ(rules.rules[0].contrast, "iv");
}

TEST(ProtocolParse, ErrorsNameTheRuleAndField) {
  EXPECT_NE(ParseError("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ParseError("[]").find("top level must be an object"), std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":{}})").find("'rules' must be an array"), std::string::npos);
  EXPECT_NE(ParseError(R"({"version":2,"rules":[]})").find("'version' must be 1"), std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[],"extra":1})").find("unknown top-level field 'extra'"), std::string::npos);
  const std::string base = R"("protocol_code":"A","protocol_name":"A","procedure_any":["ct"])";
  EXPECT_NE(ParseError(R"({"rules":[{)" + base + "}]}").find("rule 0: field 'id' is required"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x",)" + base + R"(},{"id":"x",)" + base + "}]}")
                .find("rule 1 (x): field 'id' is used by an earlier rule"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","procedure_anyy":["ct"],)" + base + "}]}")
                .find("rule 0 (x): field 'procedure_anyy' is not a rule field"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","contrast":"gadolinium",)" + base + "}]}")
                .find("field 'contrast' must be none, iv, oral or iv+oral"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","reason_any":["ok",3],)" + base + "}]}")
                .find("field 'reason_any' item 1 is not a string"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","reason_none":["a||b"],)" + base + "}]}")
                .find("field 'reason_none' item 0 ('a||b') has an empty alternative"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","duration_minutes":-5,)" + base + "}]}")
                .find("field 'duration_minutes' must be an integer 0..1440"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","protocol_code":"A","protocol_name":"A"}]})")
                .find("field 'procedure_any' or 'procedure_all' must name at least one phrase"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","protocol_name":"A","procedure_any":["ct"]}]})")
                .find("field 'protocol_code' is required"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[{"id":"x","modality":7,)" + base + "}]}")
                .find("field 'modality' must be a string"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"rules":[5]})").find("rule 0: field 'rules' item is not an object"),
            std::string::npos);
}

TEST(ProtocolParse, LoadNamesTheFile) {
  Result<ProtocolRules> missing = LoadProtocolRules("/nonexistent/protocols.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/protocols.json"), std::string::npos);

  const std::string path = ::testing::TempDir() + "/bad_protocols.json";
  std::ofstream(path) << R"({"rules":[{"id":"x"}]})";
  Result<ProtocolRules> bad = LoadProtocolRules(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rule 0 (x)"), std::string::npos);
  EXPECT_NE(bad.status().message().find(path), std::string::npos);
}

// A small rule set that exercises each construct.
const char* kRules = R"({"rules":[
  {"id":"cta","protocol_code":"CTA","protocol_name":"CTA head","modality":"CT",
   "procedure_all":["ct|cta","head|brain"],"reason_any":["large vessel occlusion|lvo"]},
  {"id":"ct-mass","protocol_code":"CTC","protocol_name":"CT head with contrast","modality":"CT",
   "procedure_all":["ct","head|brain"],"procedure_none":["wo|w o|without"],
   "reason_any":["metasta*","brain mass"],"reason_none":["trauma|fall"],"body_part":"HEAD","contrast":"iv",
   "duration_minutes":15},
  {"id":"ct-head","protocol_code":"CTNC","protocol_name":"CT head","modality":"CT",
   "procedure_all":["ct","head|brain"]},
  {"id":"xr-chest","protocol_code":"XR2","protocol_name":"XR chest","modality":"CR|DX",
   "procedure_any":["chest"]}
]})";

TEST(ProtocolMatch, FirstMatchingRuleWinsAndNamesWhy) {
  ProtocolRules rules = Parse(kRules);
  ProtocolProposal p = ProposeProtocol(rules, Order("CT", "CT HEAD", "Code stroke, LVO suspected"));
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.rule_id, "cta");
  EXPECT_EQ(p.protocol_code, "CTA");
  EXPECT_EQ(p.reason, "procedure 'ct' + 'head' and reason 'lvo' (rule cta)");

  p = ProposeProtocol(rules, Order("CT", "CT Brain", "Known metastatic melanoma, headache"));
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.rule_id, "ct-mass");
  EXPECT_EQ(p.body_part, "HEAD");
  EXPECT_EQ(p.contrast, "iv");
  EXPECT_EQ(p.duration_minutes, 15);
  EXPECT_EQ(p.reason, "procedure 'ct' + 'brain' and reason 'metastatic' (rule ct-mass)");

  p = ProposeProtocol(rules, Order("CT", "CT head", "Headache"));
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.rule_id, "ct-head");
  EXPECT_EQ(p.reason, "procedure 'ct' + 'head', any reason (rule ct-head)");
}

TEST(ProtocolMatch, ExclusionsSendTheOrderToALaterRule) {
  ProtocolRules rules = Parse(kRules);
  // reason_none: a fall with metastases is a trauma head CT.
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "CT head", "Metastases, fall")).rule_id, "ct-head");
  // procedure_none: an explicit non-contrast order is honoured.
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "CT head W/O contrast", "brain mass")).rule_id, "ct-head");
}

TEST(ProtocolMatch, WholeWordsPhrasesPrefixesAndCase) {
  ProtocolRules rules = Parse(kRules);
  // "ct" must be a whole word: "ctheadache" and "act" are not.
  EXPECT_FALSE(ProposeProtocol(rules, Order("CT", "Exact headcount", "")).found);
  // A phrase must be contiguous: "brain ... mass" apart does not match "brain mass".
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "CT head", "brain lesion, mass effect")).rule_id, "ct-head");
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "CT head", "BRAIN-MASS?")).rule_id, "ct-mass");
  // Prefix word: metasta* matches "metastasis" and "metastases", not "meta".
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "ct head", "Metástasis")).rule_id, "ct-mass");
  EXPECT_EQ(ProposeProtocol(rules, Order("CT", "ct head", "meta analysis")).rule_id, "ct-head");
  // The procedure code counts as procedure text.
  storage::OrderRow coded = Order("CT", "", "");
  coded.procedure_code = "CT-HEAD";
  EXPECT_EQ(ProposeProtocol(rules, coded).rule_id, "ct-head");
}

TEST(ProtocolMatch, Modality) {
  ProtocolRules rules = Parse(kRules);
  EXPECT_EQ(ProposeProtocol(rules, Order("DX", "Chest PA and lateral", "")).rule_id, "xr-chest");
  EXPECT_EQ(ProposeProtocol(rules, Order("cr", "Chest PA and lateral", "")).rule_id, "xr-chest");
  EXPECT_FALSE(ProposeProtocol(rules, Order("CT", "Chest", "")).found);
  EXPECT_FALSE(ProposeProtocol(rules, Order("MR", "MR head", "")).found);
  // An order without a modality is matched on the words alone.
  EXPECT_EQ(ProposeProtocol(rules, Order("", "CT head", "")).rule_id, "ct-head");
}

TEST(ProtocolChoices, OnePerCodeInRuleOrder) {
  ProtocolRules rules = Parse(R"({"rules":[
    {"id":"a1","protocol_code":"A","protocol_name":"A","procedure_any":["x"]},
    {"id":"b","protocol_code":"B","protocol_name":"B","procedure_any":["y"]},
    {"id":"a2","protocol_code":"A","protocol_name":"A","procedure_any":["z"]}]})");
  std::vector<ProtocolRule> choices = ProtocolChoices(rules);
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[0].id, "a1");
  EXPECT_EQ(choices[1].id, "b");
}

TEST(ProtocolMatch, NoMatchSaysWhy) {
  ProtocolRules rules = Parse(kRules);
  ProtocolProposal p = ProposeProtocol(rules, Order("US", "US abdomen", "pain"));
  EXPECT_FALSE(p.found);
  EXPECT_EQ(p.reason, "no rule matched procedure 'US abdomen'");
  p = ProposeProtocol(rules, Order("CT", "", "stroke"));
  EXPECT_FALSE(p.found);
  EXPECT_EQ(p.reason, "no requested procedure: no rule can match");
  EXPECT_FALSE(ProposeProtocol(ProtocolRules{}, Order("CT", "CT head", "")).found);
}

TEST(ProtocolMatch, ArbitraryBytesNeverCrash) {
  // Texts arrive from HL7 and FHIR: any bytes, any length.
  uint32_t x = 14;
  auto next = [&x] { return x = x * 1664525u + 1013904223u; };
  for (int n = 0; n < 300; ++n) {
    std::string procedure, reason;
    for (int i = 0, len = next() % 200; i < len; ++i) procedure += static_cast<char>(next() >> 24);
    for (int i = 0, len = next() % 200; i < len; ++i) reason += static_cast<char>(next() >> 24);
    ProtocolProposal p = ProposeProtocol(DefaultProtocolRules(), Order("CT", procedure, reason));
    EXPECT_FALSE(p.reason.empty());
    for (char c : NormalizeProtocolText(procedure)) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ');
    Result<ProtocolRules> r = ParseProtocolRules(procedure);
    EXPECT_FALSE(r.ok());
  }
  // A 900 kB reason is matched (and quickly: the suite runs in well under a second).
  std::string big;
  for (int i = 0; i < 100000; ++i) big += "pain leg ";
  EXPECT_EQ(ProposeProtocol(DefaultProtocolRules(), Order("CT", "CT head", big)).protocol_code, "CTHEAD-NC");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DefaultProtocolRules, CompiledInCopyOfConfigFileParses) {
  const std::string file = ReadFile(std::string(RADFLOW_SOURCE_DIR) + "/config/protocols.json");
  ASSERT_FALSE(file.empty());
  // The build embeds the file; a stale build would differ from the source tree.
  EXPECT_EQ(std::string(DefaultProtocolRulesJson()), file);
  Result<ProtocolRules> parsed = ParseProtocolRules(file);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->rules.size(), DefaultProtocolRules().rules.size());
  EXPECT_EQ(DefaultProtocolRules().rules.size(), 99u);  // docs/protocols.md#The shipped rules
}

TEST(DefaultProtocolRules, OneCodeOneProtocol) {
  // Rules that propose the same code agree on its name, body part, contrast and slot, so the
  // proposal does not depend on which of them fired.
  std::map<std::string, const ProtocolRule*> by_code;
  std::set<std::string> codes;
  for (const ProtocolRule& r : DefaultProtocolRules().rules) {
    EXPECT_FALSE(r.modality.empty()) << r.id;
    EXPECT_FALSE(r.body_part.empty()) << r.id;
    EXPECT_GT(r.duration_minutes, 0) << r.id;
    EXPECT_FALSE(r.contrast.empty()) << r.id;
    auto [it, fresh] = by_code.emplace(r.protocol_code, &r);
    if (fresh) continue;
    EXPECT_EQ(it->second->protocol_name, r.protocol_name) << r.id;
    EXPECT_EQ(it->second->body_part, r.body_part) << r.id;
    EXPECT_EQ(it->second->contrast, r.contrast) << r.id;
    EXPECT_EQ(it->second->duration_minutes, r.duration_minutes) << r.id;
  }
  EXPECT_EQ(by_code.size(), 70u);  // docs/protocols.md#The shipped rules: 70 distinct protocols
  EXPECT_EQ(ProtocolChoices(DefaultProtocolRules()).size(), by_code.size());
}

TEST(DefaultProtocolRules, TheIssueExamples) {
  const ProtocolRules& rules = DefaultProtocolRules();
  struct Case {
    const char *modality, *procedure, *reason, *code;
  } cases[] = {
      {"CT", "CT HEAD", "suspected stroke, left arm weakness", "CTHEAD-NC"},
      {"CT", "CT HEAD", "stroke, NIHSS 14, large vessel occlusion suspected", "CTA-HEADNECK"},
      {"CT", "CT CHEST", "lung cancer screening, 35 pack-years", "CT-CHEST-LDCT"},
      {"CT", "CT CHEST", "staging of lung carcinoma", "CT-CHEST-C"},
      {"CT", "CT CHEST", "suspected pulmonary embolism", "CTPA"},
      {"CT", "CT ABDOMEN PELVIS", "right renal colic", "CT-AP-NC"},
      {"CT", "CT ABDOMEN PELVIS", "RLQ pain, appendicitis?", "CT-AP-C"},
      {"MR", "MRI BRAIN", "glioma follow-up", "MR-BRAIN-WWO"},
      {"MR", "MRI BRAIN", "memory loss", "MR-BRAIN-NC"},
      {"MR", "MRI L-SPINE", "sciatica", "MR-LSPINE-NC"},
      {"MR", "MRI KNEE", "meniscal tear", "MR-KNEE-NC"},
      {"US", "US ABDOMEN", "abnormal LFTs", "US-ABD"},
      {"DX", "XR CHEST PA AND LATERAL", "cough", "XR-CHEST-2V"},
      {"MG", "MAMMOGRAM SCREENING", "annual", "MG-SCREEN"},
      {"MG", "MAMMOGRAM", "palpable lump", "MG-DIAG"},
  };
  for (const Case& c : cases) {
    ProtocolProposal p = ProposeProtocol(rules, Order(c.modality, c.procedure, c.reason));
    EXPECT_TRUE(p.found) << c.procedure << " / " << c.reason << ": " << p.reason;
    EXPECT_EQ(p.protocol_code, c.code) << c.procedure << " / " << c.reason << ": " << p.reason;
    EXPECT_NE(p.reason.find("(rule " + p.rule_id + ")"), std::string::npos) << p.reason;
  }
}

}  // namespace
}  // namespace radflow::orders
