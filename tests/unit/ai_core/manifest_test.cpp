// Manifest parsing: every field from JSON and YAML, the defaults, and one test per class of
// error, each checking that the message names the field's path.
#include "ai/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = RADFLOW_SOURCE_DIR "/tests/fixtures/manifests";

void ExpectFullManifest(const AppManifest& m) {
  EXPECT_EQ(m.id, "ct-lung-lesions");
  EXPECT_EQ(m.name, "CT lung lesions");
  EXPECT_EQ(m.version, "1.2.0");
  EXPECT_EQ(m.vendor, "radflow");
  EXPECT_EQ(m.intended_use, "Research only: lung lesion candidates on chest CT");
  EXPECT_FALSE(m.enabled);

  ASSERT_EQ(m.rules.size(), 6u);
  EXPECT_EQ(m.rules[0].attribute, "Modality");
  EXPECT_EQ(m.rules[0].op, Rule::Op::kEquals);
  EXPECT_EQ(m.rules[0].values, std::vector<std::string>{"CT"});
  EXPECT_EQ(m.rules[1].op, Rule::Op::kIn);
  EXPECT_EQ(m.rules[1].values, (std::vector<std::string>{"CHEST", "LUNG"}));
  EXPECT_EQ(m.rules[2].op, Rule::Op::kRegex);
  EXPECT_EQ(m.rules[2].pattern, ".*(lung|chest).*");
  EXPECT_EQ(m.rules[3].op, Rule::Op::kRange);
  EXPECT_FALSE(m.rules[3].min.has_value());
  EXPECT_DOUBLE_EQ(m.rules[3].max.value(), 2.5);
  EXPECT_DOUBLE_EQ(m.rules[4].min.value(), 20);
  EXPECT_FALSE(m.rules[4].max.has_value());
  EXPECT_FALSE(m.rules[0].case_sensitive);
  EXPECT_TRUE(m.rules[5].case_sensitive);

  EXPECT_EQ(m.outputs, (std::vector<std::string>{"seg", "sr", "findings"}));
  EXPECT_EQ(m.resources.threads, 2);
  EXPECT_EQ(m.resources.memory_mb, 4096);
  EXPECT_TRUE(m.resources.gpu);
  EXPECT_DOUBLE_EQ(m.timeout_s, 300);
  EXPECT_EQ(m.max_attempts, 2);
  EXPECT_EQ(m.priority, 5);

  EXPECT_EQ(m.runner.kind, Runner::Kind::kOnnx);
  // Resolved against the manifest's folder, to an absolute path.
  EXPECT_EQ(m.runner.model, kFixtures + "/good/models/lung.onnx");
  EXPECT_TRUE(fs::path(m.runner.model).is_absolute());

  EXPECT_EQ(m.preprocess.mode, "3d");
  ASSERT_TRUE(m.preprocess.window.has_value());
  EXPECT_DOUBLE_EQ((*m.preprocess.window)[0], -1000);
  EXPECT_DOUBLE_EQ((*m.preprocess.window)[1], 400);
  EXPECT_EQ(m.preprocess.normalise, "scale");
  EXPECT_DOUBLE_EQ(m.preprocess.scale, 2);
  EXPECT_DOUBLE_EQ(m.preprocess.offset, -1);
  ASSERT_TRUE(m.preprocess.spacing.has_value());
  EXPECT_DOUBLE_EQ((*m.preprocess.spacing)[2], 1.5);
  ASSERT_TRUE(m.preprocess.patch.has_value());
  EXPECT_EQ(*m.preprocess.patch, (std::array<int64_t, 3>{64, 64, 32}));
  EXPECT_EQ(m.preprocess.tiling, "tile");
  EXPECT_DOUBLE_EQ(m.preprocess.overlap, 0.5);

  EXPECT_EQ(m.postprocess.op, "threshold");
  EXPECT_EQ(m.postprocess.labels, std::vector<std::string>{"lesion"});
  EXPECT_DOUBLE_EQ(m.postprocess.threshold, 0.6);
  EXPECT_TRUE(m.postprocess.sigmoid);
  EXPECT_TRUE(m.postprocess.findings);
  EXPECT_DOUBLE_EQ(m.postprocess.min_volume_ml, 0.1);
  EXPECT_EQ(m.postprocess.finding_type.value, "27925004");
  EXPECT_EQ(m.postprocess.finding_type.scheme, "SCT");
  EXPECT_EQ(m.postprocess.finding_type.meaning, "Nodule");
  EXPECT_EQ(m.postprocess.severity, "moderate");

  EXPECT_EQ(m.settings_json, R"({"max_findings":10,"names":["a","b"]})");
}

TEST(ManifestTest, ParsesEveryFieldFromJson) {
  auto m = LoadManifestFile(kFixtures + "/good/ct-lung-lesions.json");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ExpectFullManifest(*m);
  EXPECT_EQ(m->source, kFixtures + "/good/ct-lung-lesions.json");
}

TEST(ManifestTest, ParsesTheSameTreeFromYaml) {
  auto m = LoadManifestFile(kFixtures + "/good/ct-lung-lesions.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ExpectFullManifest(*m);
  EXPECT_EQ(m->source, kFixtures + "/good/ct-lung-lesions.yaml");
}

TEST(ManifestTest, MinimalManifestTakesTheDocumentedDefaults) {
  auto m = ParseManifest(R"({"id":"qc-1","name":"QC","version":"1","runner":"builtin:qc"})", "json",
                         "/tmp");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->runner.kind, Runner::Kind::kBuiltin);
  EXPECT_EQ(m->runner.builtin, "qc");
  EXPECT_TRUE(m->enabled);
  EXPECT_TRUE(m->rules.empty());
  EXPECT_EQ(m->outputs, (std::vector<std::string>{"seg", "sr", "findings"}));
  EXPECT_EQ(m->resources.threads, 1);
  EXPECT_EQ(m->resources.memory_mb, 2048);
  EXPECT_DOUBLE_EQ(m->timeout_s, 600);
  EXPECT_EQ(m->max_attempts, 3);
  EXPECT_EQ(m->priority, 0);
  EXPECT_EQ(m->preprocess.mode, "3d");
  EXPECT_EQ(m->preprocess.tiling, "tile");
  EXPECT_FALSE(m->preprocess.patch.has_value());
  EXPECT_EQ(m->postprocess.op, "argmax");
  EXPECT_EQ(m->postprocess.severity, "info");
  EXPECT_TRUE(m->postprocess.finding_type.empty());
  EXPECT_EQ(m->settings_json, "{}");
}

TEST(ManifestTest, YamlScalarsFollowTheCoreSchema) {
  // Quoted scalars stay strings; plain ones become numbers and booleans.
  auto m = ParseManifest(
      "id: y\nname: Y\nversion: '2'\nrunner: builtin:x\nenabled: false\npriority: -3\n"
      "rules:\n  - {attribute: SeriesNumber, in: [3, \"004\"]}\n"
      "preprocess: {mode: 2d, patch: [256, 256], tiling: tile}\n",
      "yaml", "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->version, "2");
  EXPECT_FALSE(m->enabled);
  EXPECT_EQ(m->priority, -3);
  // A number given as a match value is compared as its text.
  EXPECT_EQ(m->rules[0].values, (std::vector<std::string>{"3", "004"}));
  // A 2d patch may give (x, y) only.
  EXPECT_EQ(*m->preprocess.patch, (std::array<int64_t, 3>{256, 256, 1}));

  auto unquoted = ParseManifest("id: y\nname: Y\nversion: 1.0\nrunner: builtin:x\n", "yaml", "");
  ASSERT_FALSE(unquoted.ok());
  EXPECT_EQ(unquoted.status().message(), "version: expected a string");
}

struct ErrorCase {
  const char* what;
  std::string json;  // merged into a valid manifest
  std::string message;
};

// A valid manifest with `extra` fields spliced in (later keys win in nlohmann::json).
std::string WithFields(const std::string& extra) {
  std::string base = R"("id":"t","name":"T","version":"1","runner":"builtin:x")";
  return "{" + base + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(ManifestTest, EachClassOfErrorNamesItsField) {
  const std::vector<ErrorCase> cases = {
      {"missing id", R"({"name":"T","version":"1","runner":"builtin:x"})", "id: required"},
      {"bad id", WithFields(R"("id":"Lung_App")"),
       "id: 'Lung_App' must match [a-z0-9][a-z0-9-]* (at most 64 characters)"},
      {"id starts with a dash", WithFields(R"("id":"-x")"),
       "id: '-x' must match [a-z0-9][a-z0-9-]* (at most 64 characters)"},
      {"name type", WithFields(R"("name":3)"), "name: expected a string"},
      {"missing runner", R"({"id":"t","name":"T","version":"1"})", "runner: required"},
      {"unknown top-level key", WithFields(R"("colour":"blue")"), "colour: unknown field"},
      {"unknown runner", WithFields(R"("runner":"foo")"),
       "runner: unknown runner 'foo' (expected builtin:<name>, torchscript or onnx)"},
      {"empty builtin", WithFields(R"("runner":"builtin:")"),
       "runner: unknown runner 'builtin:' (expected builtin:<name>, torchscript or onnx)"},
      {"unknown runner type", WithFields(R"("runner":{"type":"tensorflow","model":"m"})"),
       "runner.type: unknown runner 'tensorflow' (expected builtin:<name>, torchscript or onnx)"},
      {"runner without model", WithFields(R"("runner":{"type":"onnx"})"), "runner.model: required"},
      {"missing model file", WithFields(R"("runner":{"type":"torchscript","model":"nope.pt"})"),
       "runner.model: file not found: /nonexistent/apps/nope.pt"},
      {"unknown runner key", WithFields(R"("runner":{"type":"onnx","model":"m","gpu":1})"),
       "runner.gpu: unknown field"},
      {"rules not an array", WithFields(R"("rules":{"attribute":"Modality"})"),
       "rules: expected an array of rules"},
      {"rule without attribute", WithFields(R"("rules":[{"equals":"CT"}])"),
       "rules[0].attribute: required"},
      {"rule with a typo'd keyword",
       WithFields(R"("rules":[{"attribute":"Modalty","equals":"CT"}])"),
       "rules[0].attribute: unknown DICOM keyword 'Modalty'"},
      {"rule without an operator", WithFields(R"("rules":[{"attribute":"Modality"}])"),
       "rules[0]: expected exactly one of equals, in, regex, range"},
      {"rule with two operators",
       WithFields(R"("rules":[{"attribute":"Modality","equals":"CT","regex":"C."}])"),
       "rules[0]: expected exactly one of equals, in, regex, range"},
      {"range min not a number", WithFields(R"("rules":[{"attribute":"Modality","equals":"CT"},
                              {"attribute":"SliceThickness","range":{"min":"thin"}}])"),
       "rules[1].range.min: expected a number"},
      {"range without bounds", WithFields(R"("rules":[{"attribute":"SliceThickness","range":{}}])"),
       "rules[0].range: expected min or max (or both)"},
      {"range inverted",
       WithFields(R"("rules":[{"attribute":"SliceThickness","range":{"min":3,"max":1}}])"),
       "rules[0].range: min is greater than max"},
      {"range unknown key",
       WithFields(R"("rules":[{"attribute":"SliceThickness","range":{"below":3}}])"),
       "rules[0].range.below: unknown field"},
      {"invalid regex",
       WithFields(R"("rules":[{"attribute":"SeriesDescription","regex":"(lung"}])"),
       "rules[0].regex: invalid regular expression: "},
      {"in empty", WithFields(R"("rules":[{"attribute":"Modality","in":[]}])"),
       "rules[0].in: expected a non-empty array"},
      {"in item type", WithFields(R"("rules":[{"attribute":"Modality","in":["CT",true]}])"),
       "rules[0].in[1]: expected a string or a number"},
      {"case_sensitive type",
       WithFields(R"("rules":[{"attribute":"Modality","equals":"CT","case_sensitive":"yes"}])"),
       "rules[0].case_sensitive: expected true or false"},
      {"unknown output", WithFields(R"("outputs":["seg","pdf"])"),
       "outputs[1]: 'pdf' is not one of seg, sr, findings, derived"},
      {"output twice", WithFields(R"("outputs":["sr","sr"])"), "outputs[1]: 'sr' listed twice"},
      {"threads zero", WithFields(R"("resources":{"threads":0})"),
       "resources.threads: must be at least 1"},
      {"threads fractional", WithFields(R"("resources":{"threads":1.5})"),
       "resources.threads: expected an integer"},
      {"gpu type", WithFields(R"("resources":{"gpu":"yes"})"),
       "resources.gpu: expected true or false"},
      {"timeout", WithFields(R"("timeout_s":0)"), "timeout_s: must be greater than 0"},
      {"attempts", WithFields(R"("max_attempts":0)"), "max_attempts: must be at least 1"},
      {"mode", WithFields(R"("preprocess":{"mode":"4d"})"),
       "preprocess.mode: '4d' is not one of 2d, 3d"},
      {"window order", WithFields(R"("preprocess":{"window":[400,-1000]})"),
       "preprocess.window: low must be below high"},
      {"window size", WithFields(R"("preprocess":{"window":[1]})"),
       "preprocess.window: expected an array of 2 numbers"},
      {"spacing value", WithFields(R"("preprocess":{"spacing":[1,0,1]})"),
       "preprocess.spacing[1]: must be greater than 0"},
      {"patch type", WithFields(R"("preprocess":{"patch":[64,"64",32]})"),
       "preprocess.patch[1]: expected an integer"},
      {"overlap", WithFields(R"("preprocess":{"overlap":1})"),
       "preprocess.overlap: must be in [0, 1)"},
      {"tiling", WithFields(R"("preprocess":{"tiling":"mosaic"})"),
       "preprocess.tiling: 'mosaic' is not one of tile, none"},
      {"model not a regular file", WithFields(R"("runner":{"type":"onnx","model":"/dev/null"})"),
       "runner.model: file not found: /dev/null"},
      {"op", WithFields(R"("postprocess":{"op":"softmax"})"),
       "postprocess.op: 'softmax' is not one of argmax, threshold"},
      {"severity", WithFields(R"("postprocess":{"severity":"urgent"})"),
       "postprocess.severity: 'urgent' is not one of info, low, moderate, high, critical"},
      {"finding type incomplete", WithFields(R"("postprocess":{"finding_type":{"value":"1"}})"),
       "postprocess.finding_type.scheme: required"},
      {"negative volume", WithFields(R"("postprocess":{"min_volume_ml":-1})"),
       "postprocess.min_volume_ml: must not be negative"},
      {"settings type", WithFields(R"("settings":[1,2])"), "settings: expected an object"},
      {"not an object", "[1,2]", "manifest: expected an object at the top level"},
      {"not JSON", "{\"id\": ", "manifest: invalid JSON: "},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest(c.json, "json", "/nonexistent/apps");
    ASSERT_FALSE(m.ok()) << c.what;
    EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument) << c.what;
    // Messages that end in a library's text are checked up to it.
    EXPECT_EQ(m.status().message().substr(0, c.message.size()), c.message) << c.what;
    if (c.message.back() != ' ') {
      EXPECT_EQ(m.status().message(), c.message) << c.what;
    }
  }
}

TEST(ManifestTest, ModelRunnerNeedsAPatchUnlessItTakesTheWholeVolume) {
  const std::string model = kFixtures + "/good/models/lung.onnx";
  const std::string runner = R"("runner":{"type":"torchscript","model":")" + model + R"("})";
  auto tiled = ParseManifest(WithFields(runner), "json", "");
  ASSERT_FALSE(tiled.ok());
  EXPECT_EQ(tiled.status().message(),
            "preprocess.patch: required for a model runner when tiling is 'tile'");

  auto whole = ParseManifest(WithFields(runner + R"(,"preprocess":{"tiling":"none"})"), "json", "");
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->runner.kind, Runner::Kind::kTorchScript);
  EXPECT_EQ(whole->runner.model, model);  // an absolute path is kept as it is
}

TEST(ManifestTest, YamlErrorsNameTheFieldToo) {
  auto m = ParseManifest(
      "id: t\nname: T\nversion: '1'\nrunner: builtin:x\n"
      "rules:\n  - attribute: SliceCount\n    range: {min: many}\n",
      "yaml", "");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "rules[0].range.min: expected a number");

  auto broken = ParseManifest("id: [unclosed\n", "yaml", "");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind("manifest: invalid YAML: ", 0), 0u);
}

TEST(ManifestTest, FileErrorsNameTheFile) {
  auto missing = LoadManifestFile(kFixtures + "/good/absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  auto wrong_type = LoadManifestFile(kFixtures + "/mixed/README.txt");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(
      wrong_type.status().message(),
      kFixtures + "/mixed/README.txt: manifest: unknown file type (expected .json, .yaml or .yml)");

  auto bad = LoadManifestFile(kFixtures + "/mixed/c-bad-range.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            kFixtures + "/mixed/c-bad-range.json: rules[1].range.min: expected a number");
}

TEST(ManifestTest, EveryExampleInTheReferenceParses) {
  // docs/apps.md's ```json / ```yaml blocks; its model path is the fixture's.
  std::ifstream in(RADFLOW_SOURCE_DIR "/docs/apps.md");
  ASSERT_TRUE(in.good());
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string text = doc.str();
  int parsed = 0;
  for (const std::string format : {"json", "yaml"}) {
    const std::string fence = "```" + format + "\n";
    for (size_t at = text.find(fence); at != std::string::npos; at = text.find(fence, at)) {
      at += fence.size();
      const std::string block = text.substr(at, text.find("```", at) - at);
      auto m = ParseManifest(block, format, kFixtures + "/good");
      EXPECT_TRUE(m.ok()) << format << " example: " << m.status().message();
      if (m.ok()) {
        EXPECT_TRUE(m->id == "ct-lung-lesions" || m->id == "ct-qc") << m->id;
      }
      ++parsed;
    }
  }
  EXPECT_EQ(parsed, 3);
}

}  // namespace
}  // namespace radflow::ai
