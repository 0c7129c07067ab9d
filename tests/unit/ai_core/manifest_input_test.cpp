// Manifest `input` ("volume" | "files", issue 17) and routing of the shipped slide and
// photograph apps by SOP class and modality (docs/apps.md, "input"; "Slides and photographs").
#include <gtest/gtest.h>

#include <string>

#include "ai/manifest.h"
#include "ai/routing.h"

namespace radflow::ai {
namespace {

const std::string kWsi = RADFLOW_SHARED_DATA "/wsi";
const std::string kApps = RADFLOW_SOURCE_DIR "/apps";

constexpr const char* kWsm = "1.2.840.10008.5.1.4.1.1.77.1.6";     // VL Whole Slide Microscopy
constexpr const char* kOp8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1";   // Ophthalmic Photography 8 Bit
constexpr const char* kOp16 = "1.2.840.10008.5.1.4.1.1.77.1.5.2";  // Ophthalmic Photography 16 Bit

Result<AppManifest> Parse(const std::string& extra) {
  return ParseManifest(R"({"id": "x", "name": "X", "version": "1", "runner": "builtin:x")" + extra + "}",
                       "json", "");
}

std::string Error(const Result<AppManifest>& r) { return r.ok() ? "(parsed)" : r.status().message(); }

TEST(ManifestInputTest, DefaultsToVolume) {
  auto m = Parse("");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->input, "volume");
  auto v = Parse(R"(, "input": "volume")");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->input, "volume");
}

TEST(ManifestInputTest, FilesFromJsonAndYaml) {
  auto j = Parse(R"(, "input": "files", "outputs": ["seg", "sr", "findings"])");
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(j->input, "files");
  auto y = ParseManifest("id: x\nname: X\nversion: \"1\"\nrunner: builtin:x\ninput: files\n", "yaml", "");
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->input, "files");
  auto null_input = Parse(R"(, "input": null)");  // null is absent: the default
  ASSERT_TRUE(null_input.ok());
  EXPECT_EQ(null_input->input, "volume");
}

TEST(ManifestInputTest, ErrorsNameTheField) {
  EXPECT_EQ(Error(Parse(R"(, "input": "slide")")), "input: 'slide' is not one of volume, files");
  EXPECT_EQ(Error(Parse(R"(, "input": 3)")), "input: expected a string");
  EXPECT_EQ(Error(Parse(R"(, "input": "FILES")")), "input: 'FILES' is not one of volume, files");
  EXPECT_EQ(Error(Parse(R"(, "input": "files", "outputs": ["sr", "derived"])")),
            "outputs[1]: 'derived' needs input 'volume'");
  EXPECT_EQ(Error(Parse(R"(, "input": "files", "preprocess": {"mode": "2d"})")),
            "preprocess: does not apply to input 'files'");
  EXPECT_EQ(Error(Parse(R"(, "input": "files", "postprocess": {"op": "threshold"})")),
            "postprocess: does not apply to input 'files'");
  auto model = ParseManifest(R"({"id": "x", "name": "X", "version": "1", "input": "files",
      "runner": {"type": "onnx", "model": ")" RADFLOW_SOURCE_DIR R"(/apps/wsi-tissue.json"}})",
                             "json", "");
  EXPECT_EQ(Error(model), "input: 'files' needs a builtin runner (a model runner takes a volume)");
}

TEST(ManifestInputTest, ShippedSlideAndPhotographApps) {
  auto wsi = LoadManifestFile(kApps + "/wsi-tissue.json");
  ASSERT_TRUE(wsi.ok()) << wsi.status().message();
  EXPECT_EQ(wsi->input, "files");
  EXPECT_EQ(RunnerName(wsi->runner), "builtin:wsi-tissue");
  auto fundus = LoadManifestFile(kApps + "/fundus-quality.json");
  ASSERT_TRUE(fundus.ok()) << fundus.status().message();
  EXPECT_EQ(fundus->input, "files");
  EXPECT_EQ(RunnerName(fundus->runner), "builtin:fundus-quality");
  for (const char* ct : {"ct-quality.json", "ct-lung-lesions.json"}) {
    auto m = LoadManifestFile(kApps + "/" + ct);
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(m->input, "volume") << ct;
  }
}

// Routing reads the first instance, which for a slide series may be any level or its
// thumbnail: each routes to wsi-tissue, not to fundus-quality; the highdicom SEG of a slide
// (Modality SEG) routes to neither.
TEST(ManifestInputTest, RoutesSlidesBySopClassAndModality) {
  auto wsi = LoadManifestFile(kApps + "/wsi-tissue.json");
  auto fundus = LoadManifestFile(kApps + "/fundus-quality.json");
  ASSERT_TRUE(wsi.ok() && fundus.ok());
  // A level, a thumbnail (ImageType …\THUMBNAIL\…), JPEG-LS tiles, and a non-conformant
  // field file without ImageType: all the same SOP class and modality.
  for (const char* file : {"/highdicom/sm_image.dcm", "/openslide_python/boxes_0.dcm", "/openslide_python/boxes_1.dcm",
                           "/highdicom/sm_image_jpegls.dcm", "/pathml_negative/small_dicom.dcm"}) {
    auto facts = ReadSeriesFacts({kWsi + file});
    ASSERT_TRUE(facts.ok()) << file << ": " << facts.status().message();
    EXPECT_EQ(facts->at("SOPClassUID"), kWsm) << file;
    EXPECT_TRUE(EvaluateRules(wsi->rules, facts.value()).matched) << file << ": "
                                                                 << EvaluateRules(wsi->rules, facts.value()).reason;
    const RuleVerdict no = EvaluateRules(fundus->rules, facts.value());
    EXPECT_FALSE(no.matched) << file;
    EXPECT_EQ(no.reason, std::string("SOPClassUID: '") + kWsm + "' not in [" + kOp8 + ", " + kOp16 + "]");
  }
  auto seg = ReadSeriesFacts({kWsi + "/highdicom/seg_image_sm_dots.dcm"});
  ASSERT_TRUE(seg.ok()) << seg.status().message();
  EXPECT_EQ(seg->at("Modality"), "SEG");
  EXPECT_FALSE(EvaluateRules(wsi->rules, seg.value()).matched);
  EXPECT_FALSE(EvaluateRules(fundus->rules, seg.value()).matched);
}

TEST(ManifestInputTest, RoutesPhotographsBySopClassAndModality) {
  auto wsi = LoadManifestFile(kApps + "/wsi-tissue.json");
  auto fundus = LoadManifestFile(kApps + "/fundus-quality.json");
  ASSERT_TRUE(wsi.ok() && fundus.ok());
  for (const char* sop_class : {kOp8, kOp16}) {
    const SeriesFacts op{{"SOPClassUID", sop_class}, {"Modality", "OP"}};
    EXPECT_TRUE(EvaluateRules(fundus->rules, op).matched) << sop_class;
    EXPECT_FALSE(EvaluateRules(wsi->rules, op).matched) << sop_class;
  }
  // Both rules must hold: an OP class with another modality, or a secondary capture
  // labelled OP, is not a fundus photograph for this app.
  const SeriesFacts mislabelled{{"SOPClassUID", kOp8}, {"Modality", "XC"}};
  EXPECT_EQ(EvaluateRules(fundus->rules, mislabelled).reason, "Modality: 'XC' not equal to 'OP'");
  const SeriesFacts secondary{{"SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"}, {"Modality", "OP"}};
  EXPECT_FALSE(EvaluateRules(fundus->rules, secondary).matched);
}

}  // namespace
}  // namespace radflow::ai
