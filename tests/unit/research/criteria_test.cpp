// Cohort criteria (docs/research.md, "Criteria"): what parses, and that every error names
// the field at fault.
#include "research/criteria.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace radflow::research {
namespace {

std::string ErrorOf(const std::string& json) {
  auto c = ParseCriteria(json);
  EXPECT_FALSE(c.ok()) << json;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  return c.status().message();
}

TEST(Criteria, ParsesEveryPart) {
  auto c = ParseCriteria(R"({"modality":["CT"],"body_part":"CHEST","study_date_from":"2019-01-01",
    "study_date_to":"20201231","manufacturer":"philips","model":"Brilliance",
    "finding":{"type":"nodule","min_size_mm":4,"max_size_mm":30,"severity":"moderate"},
    "features":[{"name":"morph_volume","min":100,"max":5000},{"name":"stat_mean","max":0}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->modality, std::vector<std::string>{"CT"});
  EXPECT_EQ(c->body_part, std::vector<std::string>{"CHEST"});
  EXPECT_EQ(c->study_date_from, "20190101");  // the ISO form normalised to DA
  EXPECT_EQ(c->study_date_to, "20201231");
  EXPECT_EQ(c->manufacturer, "philips");
  EXPECT_EQ(c->model, "Brilliance");
  ASSERT_TRUE(c->finding.has_value());
  EXPECT_EQ(c->finding->type, "nodule");
  EXPECT_EQ(*c->finding->min_size_mm, 4);
  EXPECT_EQ(*c->finding->max_size_mm, 30);
  EXPECT_EQ(c->finding->severity, "moderate");
  ASSERT_EQ(c->features.size(), 2u);
  EXPECT_EQ(c->features[1].name, "stat_mean");
  EXPECT_FALSE(c->features[1].min.has_value());
  EXPECT_EQ(*c->features[1].max, 0);
  EXPECT_TRUE(c->SelectsFindings());
}

TEST(Criteria, EmptyAndNullSelectEverything) {
  for (const char* text : {"{}", "null"}) {
    auto c = ParseCriteria(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_TRUE(c->modality.empty());
    EXPECT_FALSE(c->SelectsFindings());
    EXPECT_EQ(CriteriaJson(c.value()), "{}");
  }
}

TEST(Criteria, RoundTripsThroughItsJson) {
  const std::string text = R"({"modality":["CT","MR"],"study_date_from":"20200101",
    "finding":{"severity":"high"},"features":[{"name":"morph_sphericity","min":0.5}]})";
  auto c = ParseCriteria(text);
  ASSERT_TRUE(c.ok());
  auto again = ParseCriteria(CriteriaJson(c.value()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(CriteriaJson(again.value()), CriteriaJson(c.value()));
  EXPECT_EQ(nlohmann::json::parse(CriteriaJson(c.value())),
            nlohmann::json::parse(R"({"modality":["CT","MR"],"study_date_from":"20200101",
              "finding":{"severity":"high"},"features":[{"name":"morph_sphericity","min":0.5}]})"));
}

TEST(Criteria, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf("[1]"), "criteria: expected an object, got array");
  EXPECT_EQ(ErrorOf("{"), "criteria: not valid JSON");
  EXPECT_EQ(ErrorOf(R"({"modality":5})"), "criteria.modality: expected an array of strings, got number");
  EXPECT_EQ(ErrorOf(R"({"modality":["CT",3]})"), "criteria.modality[1]: expected a string, got number");
  EXPECT_EQ(ErrorOf(R"({"study_date_from":"2020"})"), "criteria.study_date_from: expected a date YYYYMMDD, got '2020'");
  EXPECT_EQ(ErrorOf(R"({"study_date_to":"20201340"})"),
            "criteria.study_date_to: expected a date YYYYMMDD, got '20201340'");
  EXPECT_EQ(ErrorOf(R"({"study_date_from":"20210101","study_date_to":"20200101"})"),
            "criteria.study_date_from: is after study_date_to");
  EXPECT_EQ(ErrorOf(R"({"manufacturer":true})"), "criteria.manufacturer: expected a string, got boolean");
  EXPECT_EQ(ErrorOf(R"({"finding":"nodule"})"), "criteria.finding: expected an object, got string");
  EXPECT_EQ(ErrorOf(R"({"finding":{"min_size_mm":"4"}})"), "criteria.finding.min_size_mm: expected a number, got string");
  EXPECT_EQ(ErrorOf(R"({"finding":{"min_size_mm":9,"max_size_mm":4}})"), "criteria.finding.min_size_mm: min is above max");
  EXPECT_EQ(ErrorOf(R"({"finding":{"severity":"severe"}})"),
            "criteria.finding.severity: 'severe' is not one of info, low, moderate, high, critical");
  EXPECT_EQ(ErrorOf(R"({"finding":{"colour":"red"}})"), "criteria.finding.colour: unknown field");
  EXPECT_EQ(ErrorOf(R"({"features":{}})"), "criteria.features: expected an array, got object");
  EXPECT_EQ(ErrorOf(R"({"features":[{"min":1}]})"), "criteria.features[0].name: missing");
  EXPECT_EQ(ErrorOf(R"({"features":[{"name":"stat_mean","max":"x"}]})"),
            "criteria.features[0].max: expected a number, got string");
  EXPECT_EQ(ErrorOf(R"({"features":[{"name":"stat_mean","min":5,"max":1}]})"), "criteria.features[0]: min is above max");
  const std::string unknown = ErrorOf(R"({"features":[{"name":"glcm_contrast"}]})");
  EXPECT_EQ(unknown.rfind("criteria.features[0].name: unknown feature 'glcm_contrast' (known: morph_volume, ", 0), 0u)
      << unknown;
  EXPECT_EQ(ErrorOf(R"({"patient_name":"DOE"})"), "criteria.patient_name: unknown field");
}

TEST(Criteria, SeverityRanks) {
  EXPECT_LT(SeverityRank("info"), SeverityRank("low"));
  EXPECT_LT(SeverityRank("low"), SeverityRank("moderate"));
  EXPECT_LT(SeverityRank("moderate"), SeverityRank("high"));
  EXPECT_LT(SeverityRank("high"), SeverityRank("critical"));
  EXPECT_EQ(SeverityRank("severe"), 0);
}

}  // namespace
}  // namespace radflow::research
