// Lung-RADS v2022 and Fleischner 2017 at the boundaries of the published tables.
#include "report/lung_rads.h"

#include <gtest/gtest.h>

namespace radflow::report {
namespace {

std::string Baseline(NoduleType t, double d, double solid = 0) {
  LungRadsInput in;
  in.type = t;
  in.mean_diameter_mm = d;
  in.solid_component_mm = solid;
  return LungRadsCategory(in).category;
}

std::string New(NoduleType t, double d, double solid = 0) {
  LungRadsInput in;
  in.type = t;
  in.mean_diameter_mm = d;
  in.solid_component_mm = solid;
  in.baseline = false;
  in.is_new = true;
  return LungRadsCategory(in).category;
}

std::string Growing(NoduleType t, double prior, double d, double solid = 0, std::optional<double> prior_solid = {}) {
  LungRadsInput in;
  in.type = t;
  in.mean_diameter_mm = d;
  in.solid_component_mm = solid;
  in.baseline = false;
  in.prior_mean_diameter_mm = prior;
  in.prior_solid_component_mm = prior_solid;
  return LungRadsCategory(in).category;
}

TEST(LungRads, SolidBaseline) {
  const auto S = NoduleType::kSolid;
  EXPECT_EQ(Baseline(S, 3.0), "2");
  EXPECT_EQ(Baseline(S, 5.9), "2");
  EXPECT_EQ(Baseline(S, 5.94), "2");  // one decimal: 5.9
  EXPECT_EQ(Baseline(S, 5.95), "3");  // rounds to 6.0
  EXPECT_EQ(Baseline(S, 6.0), "3");
  EXPECT_EQ(Baseline(S, 7.9), "3");
  EXPECT_EQ(Baseline(S, 8.0), "4A");
  EXPECT_EQ(Baseline(S, 14.9), "4A");
  EXPECT_EQ(Baseline(S, 15.0), "4B");
  EXPECT_EQ(Baseline(S, 89.0), "4B");
}

TEST(LungRads, SolidNew) {
  const auto S = NoduleType::kSolid;
  EXPECT_EQ(New(S, 3.9), "2");
  EXPECT_EQ(New(S, 4.0), "3");
  EXPECT_EQ(New(S, 5.9), "3");
  EXPECT_EQ(New(S, 6.0), "4A");
  EXPECT_EQ(New(S, 7.9), "4A");
  EXPECT_EQ(New(S, 8.0), "4B");
}

TEST(LungRads, GrowthIsMoreThanOnePointFiveMillimetres) {
  EXPECT_FALSE(LungRadsGrowth(6.0, 7.5));
  EXPECT_TRUE(LungRadsGrowth(6.0, 7.6));
  const auto S = NoduleType::kSolid;
  EXPECT_EQ(Growing(S, 5.0, 7.0), "4A");  // growing < 8 mm
  EXPECT_EQ(Growing(S, 6.0, 7.9), "4A");
  EXPECT_EQ(Growing(S, 6.4, 8.0), "4B");  // growing >= 8 mm
  EXPECT_EQ(Growing(S, 12.0, 14.0), "4B");
  // Not growing (+1.5 mm): stepped management from the prior's category.
  EXPECT_EQ(Growing(S, 6.5, 8.0), "2");   // prior 3 (6.5 mm), stable → 2
  EXPECT_EQ(Growing(S, 9.0, 9.0), "3");   // prior 4A, stable → 3
  EXPECT_EQ(Growing(S, 4.0, 5.0), "2");
  EXPECT_EQ(Growing(S, 16.0, 16.0), "4B");
  LungRadsInput in;
  in.baseline = false;
  in.mean_diameter_mm = 7.0;
  in.prior_category = "4A";
  EXPECT_EQ(LungRadsCategory(in).category, "3");
  in.prior_category = "3";
  EXPECT_EQ(LungRadsCategory(in).category, "2");
}

TEST(LungRads, PartSolid) {
  const auto P = NoduleType::kPartSolid;
  EXPECT_EQ(Baseline(P, 5.9, 3.0), "2");
  EXPECT_EQ(Baseline(P, 6.0, 5.9), "3");
  EXPECT_EQ(Baseline(P, 10.0, 6.0), "4A");
  EXPECT_EQ(Baseline(P, 10.0, 7.9), "4A");
  EXPECT_EQ(Baseline(P, 12.0, 8.0), "4B");
  EXPECT_EQ(New(P, 5.9, 2.0), "3");
  EXPECT_EQ(New(P, 8.0, 3.9), "4A");
  EXPECT_EQ(New(P, 8.0, 4.0), "4B");
  EXPECT_EQ(Growing(P, 10.0, 10.0, 3.9, 2.0), "4A");  // solid part grew 1.9 mm, < 4 mm
  EXPECT_EQ(Growing(P, 10.0, 10.0, 4.0, 2.0), "4B");
}

TEST(LungRads, GroundGlass) {
  const auto G = NoduleType::kGroundGlass;
  EXPECT_EQ(Baseline(G, 29.9), "2");
  EXPECT_EQ(Baseline(G, 30.0), "3");
  EXPECT_EQ(New(G, 29.9), "2");
  EXPECT_EQ(New(G, 30.0), "3");
  EXPECT_EQ(Growing(G, 10.0, 20.0), "2");
  EXPECT_EQ(Growing(G, 30.0, 30.0), "2");  // >= 30 mm unchanged
}

TEST(LungRads, ModifiersAndSpecialCases) {
  LungRadsInput in;
  in.mean_diameter_mm = 9.0;
  in.juxtapleural = true;
  EXPECT_EQ(LungRadsCategory(in).category, "2");   // juxtapleural < 10 mm
  in.mean_diameter_mm = 10.0;
  EXPECT_EQ(LungRadsCategory(in).category, "4A");
  in.juxtapleural = false;
  in.suspicious_features = true;
  EXPECT_EQ(LungRadsCategory(in).category, "4X");
  in.mean_diameter_mm = 4.0;
  EXPECT_EQ(LungRadsCategory(in).category, "2");   // 4X only upgrades 3 and 4
  in.benign_features = true;
  EXPECT_EQ(LungRadsCategory(in).category, "1");
}

TEST(LungRads, Management) {
  EXPECT_EQ(LungRadsManagementFor("1").interval_months, 12);
  EXPECT_EQ(LungRadsManagementFor("2").interval_months, 12);
  EXPECT_EQ(LungRadsManagementFor("3").interval_months, 6);
  EXPECT_EQ(LungRadsManagementFor("4A").interval_months, 3);
  EXPECT_FALSE(LungRadsManagementFor("4B").interval_months.has_value());
  EXPECT_TRUE(LungRadsManagementFor("4B").workup);
  EXPECT_TRUE(LungRadsManagementFor("4X").workup);
}

TEST(LungRads, NormaliseAndRank) {
  EXPECT_EQ(NormaliseLungRadsCategory("4a"), "4A");
  EXPECT_EQ(NormaliseLungRadsCategory("Lung-RADS category 4 B"), "4B");
  EXPECT_EQ(NormaliseLungRadsCategory("Lung-RADS v2022 3"), "3");
  EXPECT_EQ(NormaliseLungRadsCategory("category 2"), "2");
  EXPECT_EQ(NormaliseLungRadsCategory("high"), "");
  EXPECT_LT(LungRadsRank("3"), LungRadsRank("4A"));
  EXPECT_LT(LungRadsRank("4A"), LungRadsRank("4B"));
  EXPECT_EQ(ParseNoduleType("part-solid nodule 12 mm"), NoduleType::kPartSolid);
  EXPECT_EQ(ParseNoduleType("ground-glass nodule"), NoduleType::kGroundGlass);
  EXPECT_EQ(ParseNoduleType("solid mass 89 mm"), NoduleType::kSolid);
  EXPECT_FALSE(ParseNoduleType("nodule").has_value());
}

FleischnerRecommendation F(double d, bool multiple, std::optional<bool> high, NoduleType t = NoduleType::kSolid) {
  FleischnerInput in;
  in.type = t;
  in.mean_diameter_mm = d;
  in.multiple = multiple;
  in.high_risk = high;
  return Fleischner2017(in);
}

TEST(Fleischner, SolidSingle) {
  auto low5 = F(5.4, false, false);  // rounds to 5
  EXPECT_EQ(low5.size_class, "<6");
  EXPECT_TRUE(low5.no_routine_followup);
  EXPECT_FALSE(low5.min_months.has_value());
  auto high5 = F(5.0, false, true);
  EXPECT_TRUE(high5.optional_followup);
  EXPECT_EQ(high5.min_months, 12);
  auto six = F(5.5, false, false);  // rounds to 6
  EXPECT_EQ(six.size_class, "6-8");
  EXPECT_EQ(six.min_months, 6);
  EXPECT_EQ(six.max_months, 12);
  EXPECT_EQ(six.text, "CT at 6-12 months, then consider CT at 18-24 months");
  EXPECT_EQ(F(8.4, false, true).size_class, "6-8");  // 8 mm
  EXPECT_EQ(F(8.4, false, true).text, "CT at 6-12 months, then CT at 18-24 months");
  auto nine = F(8.5, false, false);  // rounds to 9
  EXPECT_EQ(nine.size_class, ">8");
  EXPECT_TRUE(nine.pet_or_tissue);
  EXPECT_EQ(nine.min_months, 3);
  EXPECT_EQ(nine.max_months, 3);
}

TEST(Fleischner, SolidMultipleAndSubsolid) {
  EXPECT_TRUE(F(4, true, false).no_routine_followup);
  EXPECT_EQ(F(7, true, false).min_months, 3);
  EXPECT_EQ(F(7, true, false).max_months, 6);
  EXPECT_EQ(F(10, true, true).min_months, 3);
  EXPECT_EQ(F(10, true, true).max_months, 6);
  EXPECT_FALSE(F(10, true, true).pet_or_tissue);
  auto ggn = F(6, false, {}, NoduleType::kGroundGlass);
  EXPECT_EQ(ggn.min_months, 6);
  EXPECT_EQ(ggn.max_months, 12);
  EXPECT_TRUE(F(5, false, {}, NoduleType::kGroundGlass).no_routine_followup);
  auto ps = F(6, false, {}, NoduleType::kPartSolid);
  EXPECT_EQ(ps.min_months, 3);
  EXPECT_EQ(ps.max_months, 6);
  EXPECT_EQ(F(4, true, {}, NoduleType::kGroundGlass).min_months, 3);
}

TEST(Fleischner, Accepts) {
  auto six = F(7, false, false);
  EXPECT_TRUE(FleischnerAccepts(six, 6.0, 12.0, false));
  EXPECT_TRUE(FleischnerAccepts(six, 6.0, 6.0, false));
  EXPECT_TRUE(FleischnerAccepts(six, 12.0, 12.0, false));
  EXPECT_FALSE(FleischnerAccepts(six, 3.0, 3.0, false));
  EXPECT_TRUE(FleischnerAccepts(six, 5.0, 5.0, false, 1.0));  // within the slack
  EXPECT_FALSE(FleischnerAccepts(six, 24.0, 24.0, false));
  EXPECT_FALSE(FleischnerAccepts(six, std::nullopt, std::nullopt, true));  // "no follow-up" for 7 mm
  auto small_unknown = F(4, false, std::nullopt);
  EXPECT_TRUE(FleischnerAccepts(small_unknown, std::nullopt, std::nullopt, true));
  EXPECT_TRUE(FleischnerAccepts(small_unknown, 12.0, 12.0, false));
  EXPECT_FALSE(FleischnerAccepts(F(4, false, false), 12.0, 12.0, false));
  EXPECT_TRUE(FleischnerAccepts(F(4, false, true), std::nullopt, std::nullopt, true));  // optional
  auto big = F(12, false, false);
  EXPECT_TRUE(FleischnerAccepts(big, 3.0, 3.0, false));
  EXPECT_TRUE(FleischnerAccepts(big, 1.0, 1.0, false));
  EXPECT_FALSE(FleischnerAccepts(big, 6.0, 12.0, false));
}

}  // namespace
}  // namespace radflow::report
