// Routing on real series (chest CT, brain MR, a multi-frame MR) and on hand-made facts for
// the edge cases of each rule form.
#include "ai/routing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "ai/manifest.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

const std::string kDicom = RADFLOW_SHARED_DATA "/dicom";

std::vector<std::string> SeriesFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Rules as a manifest author writes them, through the real parser.
std::vector<Rule> Rules(const std::string& rules_json) {
  auto m = ParseManifest(
      R"({"id":"t","name":"T","version":"1","runner":"builtin:x","rules":)" + rules_json + "}",
      "json", "");
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? m->rules : std::vector<Rule>{};
}

RuleVerdict Evaluate(const std::string& rule_json, const SeriesFacts& facts) {
  auto rules = Rules("[" + rule_json + "]");
  return rules.empty() ? RuleVerdict{} : EvaluateRule(rules[0], facts);
}

const char* kChestCtRules = R"([
  {"attribute": "Modality", "equals": "CT"},
  {"attribute": "StudyDescription", "regex": ".*(lung|chest).*"},
  {"attribute": "ImageType", "equals": "AXIAL"},
  {"attribute": "SliceCount", "range": {"min": 20}}])";

TEST(RoutingTest, ChestCtFactsFromTheFirstFile) {
  const auto files = SeriesFiles(kDicom + "/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel");
  ASSERT_EQ(files.size(), 64u);
  auto facts = ReadSeriesFacts(files);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  EXPECT_EQ(facts->at("Modality"), "CT");
  EXPECT_EQ(facts->at("StudyDescription"), "Chest");
  EXPECT_EQ(facts->at("SliceThickness"), "5.00");
  EXPECT_EQ(facts->at("ImageType"), "ORIGINAL\\PRIMARY\\AXIAL\\HELIX");
  EXPECT_EQ(facts->at("PixelSpacing"), "0.841796875\\0.841796875");
  EXPECT_EQ(facts->at("SOPClassUID"), "1.2.840.10008.5.1.4.1.1.2");  // no NUL padding
  EXPECT_EQ(facts->at("TransferSyntaxUID"), "1.2.840.10008.1.2");    // File Meta too
  EXPECT_EQ(facts->at("NumberOfSeriesRelatedInstances"), "64");
  EXPECT_EQ(facts->at("SliceCount"), "64");
  // No pixel data, no sequences, no empty (Type 2) values.
  EXPECT_EQ(facts->count("PixelData"), 0u);
  EXPECT_EQ(facts->count("ReferencedImageSequence"), 0u);
  EXPECT_EQ(facts->count("AccessionNumber"), 0u);

  RuleVerdict chest = EvaluateRules(Rules(kChestCtRules), *facts);
  EXPECT_TRUE(chest.matched) << chest.reason;
  EXPECT_TRUE(chest.reason.empty());

  // A thin-slice app does not take this 5 mm series, and says why.
  RuleVerdict thin = EvaluateRules(Rules(R"([{"attribute":"Modality","equals":"CT"},
                {"attribute":"SliceThickness","range":{"max":2.5}}])"),
                                   *facts);
  EXPECT_FALSE(thin.matched);
  EXPECT_EQ(thin.reason, "SliceThickness: 5 is above 2.5");

  RuleVerdict body_part =
      Evaluate(R"({"attribute":"BodyPartExamined","in":["CHEST","LUNG"]})", *facts);
  EXPECT_FALSE(body_part.matched);
  EXPECT_EQ(body_part.reason, "BodyPartExamined: absent or empty");
}

TEST(RoutingTest, BrainMrMissesAChestCtApp) {
  const auto files = SeriesFiles(kDicom + "/mr_brain_t1_siemens/dicom_HFS_t1_fl2d_sag");
  ASSERT_EQ(files.size(), 35u);
  auto facts = ReadSeriesFacts(files);
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  EXPECT_EQ(facts->at("SliceCount"), "35");
  // Siemens CSA headers are private: not facts.
  EXPECT_TRUE(std::none_of(facts->begin(), facts->end(), [](const auto& kv) {
    return kv.first.find("CSA") != std::string::npos;
  }));
  RuleVerdict verdict = EvaluateRules(Rules(kChestCtRules), *facts);
  EXPECT_FALSE(verdict.matched);
  EXPECT_EQ(verdict.reason, "Modality: 'MR' not equal to 'CT'");
  EXPECT_TRUE(
      Evaluate(R"({"attribute":"SliceThickness","range":{"min":3,"max":4}})", *facts).matched);
}

TEST(RoutingTest, SingleMultiFrameFileCountsFrames) {
  auto facts = ReadSeriesFacts({kDicom + "/codecs/files/emri_small.dcm"});
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  EXPECT_EQ(facts->at("NumberOfFrames"), "10");
  EXPECT_EQ(facts->at("SliceCount"), "10");
  EXPECT_EQ(facts->at("NumberOfSeriesRelatedInstances"), "1");
}

TEST(RoutingTest, UnreadableOrEmptySeriesIsAnError) {
  EXPECT_EQ(ReadSeriesFacts({}).status().code(), ErrorCode::kInvalidArgument);
  auto missing = ReadSeriesFacts({"/nonexistent/file.dcm"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidDicom);
}

TEST(RoutingTest, EqualsAndInAreCaseInsensitiveAndTrimmed) {
  const SeriesFacts facts = {{"Modality", "CT"},
                             {"BodyPartExamined", "chest"},
                             {"ImageType", "ORIGINAL\\PRIMARY\\AXIAL"},
                             {"SeriesNumber", "3"}};
  EXPECT_TRUE(Evaluate(R"({"attribute":"Modality","equals":" ct "})", facts).matched);
  EXPECT_TRUE(Evaluate(R"({"attribute":"BodyPartExamined","in":["HEAD","CHEST"]})", facts).matched);
  RuleVerdict strict = Evaluate(
      R"({"attribute":"BodyPartExamined","in":["CHEST","LUNG"],"case_sensitive":true})", facts);
  EXPECT_FALSE(strict.matched);
  EXPECT_EQ(strict.reason, "BodyPartExamined: 'chest' not in [CHEST, LUNG]");
  // Any one value of a multi-valued attribute, or the whole value.
  EXPECT_TRUE(Evaluate(R"({"attribute":"ImageType","equals":"axial"})", facts).matched);
  EXPECT_TRUE(
      Evaluate(R"({"attribute":"ImageType","equals":"ORIGINAL\\PRIMARY\\AXIAL"})", facts).matched);
  EXPECT_FALSE(Evaluate(R"({"attribute":"ImageType","equals":"LOCALIZER"})", facts).matched);
  EXPECT_TRUE(Evaluate(R"({"attribute":"SeriesNumber","equals":3})", facts).matched);
}

TEST(RoutingTest, RegexMatchesTheWholeValue) {
  const SeriesFacts facts = {{"SeriesDescription", "Thorax LUNG 1mm"}, {"Modality", "CT"}};
  EXPECT_TRUE(Evaluate(R"({"attribute":"SeriesDescription","regex":".*lung.*"})", facts).matched);
  // A search hit is not enough: the pattern must cover the value.
  RuleVerdict partial = Evaluate(R"({"attribute":"SeriesDescription","regex":"lung"})", facts);
  EXPECT_FALSE(partial.matched);
  EXPECT_EQ(partial.reason, "SeriesDescription: 'Thorax LUNG 1mm' does not match /lung/");
  EXPECT_FALSE(
      Evaluate(R"({"attribute":"SeriesDescription","regex":".*lung.*","case_sensitive":true})",
               facts)
          .matched);
  EXPECT_TRUE(Evaluate(R"({"attribute":"SeriesDescription","regex":"^Thorax .* [0-9]+mm$"})", facts)
                  .matched);
  EXPECT_TRUE(Evaluate(R"({"attribute":"Modality","regex":"CT|MR"})", facts).matched);
  EXPECT_FALSE(Evaluate(R"({"attribute":"Modality","regex":"C"})", facts).matched);
}

TEST(RoutingTest, RangeBoundsAreInclusiveAndNeedANumber) {
  const SeriesFacts facts = {{"SliceThickness", "2.5"},
                             {"PixelSpacing", "0.7\\0.8"},
                             {"PatientAge", "058Y"},
                             {"SliceCount", "19"}};
  EXPECT_TRUE(Evaluate(R"({"attribute":"SliceThickness","range":{"max":2.5}})", facts).matched);
  EXPECT_TRUE(
      Evaluate(R"({"attribute":"SliceThickness","range":{"min":2.5,"max":2.5}})", facts).matched);
  RuleVerdict below = Evaluate(R"({"attribute":"SliceCount","range":{"min":20}})", facts);
  EXPECT_FALSE(below.matched);
  EXPECT_EQ(below.reason, "SliceCount: 19 is below 20");
  // Multi-valued: the first value.
  EXPECT_TRUE(Evaluate(R"({"attribute":"PixelSpacing","range":{"max":0.75}})", facts).matched);
  RuleVerdict text = Evaluate(R"({"attribute":"PatientAge","range":{"min":18}})", facts);
  EXPECT_FALSE(text.matched);
  EXPECT_EQ(text.reason, "PatientAge: '058Y' is not a number");
  RuleVerdict absent = Evaluate(R"({"attribute":"SliceLocation","range":{"min":0}})", facts);
  EXPECT_FALSE(absent.matched);
  EXPECT_EQ(absent.reason, "SliceLocation: absent or empty");
}

TEST(RoutingTest, NoRulesMatchEverySeries) {
  EXPECT_TRUE(EvaluateRules({}, SeriesFacts{}).matched);
}

}  // namespace
}  // namespace radflow::ai
