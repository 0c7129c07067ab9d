// Tracking rules (followups/match.h): which later study satisfies a recommendation, and the
// due date.
#include <gtest/gtest.h>

#include "followups/match.h"

namespace radflow::followups {
namespace {

StudyFacts Study(std::vector<std::string> modalities, std::string body_part, std::string description,
                 std::string date = "20240301") {
  return {std::move(modalities), std::move(body_part), std::move(description), std::move(date)};
}

TEST(Match, Modality) {
  EXPECT_TRUE(ModalityMatches("XR", {"CR"}));
  EXPECT_TRUE(ModalityMatches("XR", {"DX", "SR"}));
  EXPECT_TRUE(ModalityMatches("XR", {"RF"}));
  EXPECT_FALSE(ModalityMatches("XR", {"CT"}));
  EXPECT_TRUE(ModalityMatches("CT", {"CT", "SR"}));
  EXPECT_FALSE(ModalityMatches("CT", {"PT", "CT"}));  // the CT of a PET-CT is for attenuation
  EXPECT_TRUE(ModalityMatches("PT", {"PT", "CT"}));
  EXPECT_TRUE(ModalityMatches("PT", {"PT"}));
  EXPECT_TRUE(ModalityMatches("NM", {"NM"}));
  EXPECT_TRUE(ModalityMatches("MR", {"mr"}));
  EXPECT_FALSE(ModalityMatches("MR", {"CT"}));
  EXPECT_FALSE(ModalityMatches("", {"CT"}));
}

TEST(Match, Regions) {
  EXPECT_EQ(StudyRegions(Study({"CT"}, "CHEST", "")), std::vector<std::string>{"chest"});
  EXPECT_EQ(StudyRegions(Study({"CT"}, "", "CT CHEST ABDOMEN PELVIS W CONTRAST")),
            (std::vector<std::string>{"chest", "abdomen", "pelvis"}));
  EXPECT_EQ(StudyRegions(Study({"CT"}, "CHESTABDOMENPELVIS", "")),
            (std::vector<std::string>{"chest", "abdomen", "pelvis"}));
  EXPECT_EQ(StudyRegions(Study({"CT"}, "", "CT CAP")), (std::vector<std::string>{"chest", "abdomen", "pelvis"}));
  EXPECT_EQ(StudyRegions(Study({"MR"}, "TSPINE", "")), std::vector<std::string>{"spine"});
  EXPECT_EQ(StudyRegions(Study({"MR"}, "", "MRI THORACIC SPINE W/O")), std::vector<std::string>{"spine"});
  EXPECT_EQ(StudyRegions(Study({"CR"}, "", "XR CHEST PA AND LATERAL")), std::vector<std::string>{"chest"});
  EXPECT_EQ(StudyRegions(Study({"CR"}, "SHOULDER", "")), std::vector<std::string>{"extremity"});
  EXPECT_EQ(StudyRegions(Study({"CT"}, "HEAD", "")), std::vector<std::string>{"head"});
  EXPECT_TRUE(StudyRegions(Study({"CT"}, "", "")).empty());
}

TEST(Match, Satisfies) {
  // A CT of the chest two months after the radiograph that recommended it.
  EXPECT_TRUE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "CHEST", "CT CHEST WO"), "20240105"));
  // Same day counts (the CT done after the morning radiograph).
  EXPECT_TRUE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "CHEST", "", "20240105"), "20240105"));
  // Earlier than the recommendation: no.
  EXPECT_FALSE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "CHEST", "", "20231201"), "20240105"));
  // Wrong modality or region: no.
  EXPECT_FALSE(SatisfiesRecommendation("CT", "chest", Study({"CR"}, "CHEST", ""), "20240105"));
  EXPECT_FALSE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "HEAD", ""), "20240105"));
  // A CT of chest, abdomen and pelvis satisfies the abdomen's.
  EXPECT_TRUE(SatisfiesRecommendation("CT", "abdomen", Study({"CT"}, "", "CT CHEST/ABDOMEN/PELVIS"), "20240105"));
  // A follow-up radiograph: any CR/DX of the chest.
  EXPECT_TRUE(SatisfiesRecommendation("XR", "chest", Study({"DX"}, "CHEST", ""), "20240105"));
  // '' region matches any; a study without region info does not satisfy a regional one.
  EXPECT_TRUE(SatisfiesRecommendation("CT", "", Study({"CT"}, "", ""), "20240105"));
  EXPECT_FALSE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "", ""), "20240105"));
  // "whole body": any PET.
  EXPECT_TRUE(SatisfiesRecommendation("PT", "whole body", Study({"PT", "CT"}, "", "PET CT ONCOLOGY"), "20240105"));
  // Unknown dates do not reject.
  EXPECT_TRUE(SatisfiesRecommendation("CT", "chest", Study({"CT"}, "CHEST", "", ""), "20240105"));
  Recommendation r;
  r.modality = "MR";
  r.body_region = "spine";
  EXPECT_TRUE(SatisfiesRecommendation(r, Study({"MR"}, "LSPINE", ""), "20240105"));
}

TEST(DueDate, IntervalOrDefault) {
  EXPECT_EQ(DueDate("20240105", 90, 30), "2024-04-04");     // 2024 is a leap year
  EXPECT_EQ(DueDate("2023-12-20", 14, 30), "2024-01-03");   // over the year's end
  EXPECT_EQ(DueDate("20240105", std::nullopt, 30), "2024-02-04");
  EXPECT_EQ(DueDate("20230301", 365, 0), "2024-02-29");
  EXPECT_EQ(DueDate("not a date", 90, 30), "");
  EXPECT_EQ(DueDate("20230230", 90, 30), "");  // no 30 February
  EXPECT_EQ(DueDate("20230229", 90, 30), "");  // 2023 is not a leap year

  Recommendation r;
  r.modality = "CT";
  r.interval_min_days = 90;
  r.interval_max_days = 180;  // "3-6 months": due at the end of the range
  EXPECT_EQ(DueDate("20240101", r), "2024-06-29");
  r.interval_min_days.reset();
  r.interval_max_days.reset();
  EXPECT_EQ(DueDate("20240101", r), "2024-01-31");  // CT without interval: 30 days
  r.modality = "XR";
  EXPECT_EQ(DueDate("20240101", r), "2024-02-26");  // XR: 56 days
  r.conditional = true;
  EXPECT_EQ(DueDate("20240101", r), "2024-03-31");  // conditional: 90 days
  EXPECT_EQ(DefaultIntervalDays("MR", false), 30);
}

TEST(DueDate, DaysRoundTrip) {
  EXPECT_EQ(DaysFromDate("19700101"), 0);
  EXPECT_EQ(DateFromDays(0), "1970-01-01");
  for (long d = -800; d < 30000; d += 37) {
    EXPECT_EQ(DaysFromDate(DateFromDays(d)), d) << d;
  }
}

}  // namespace
}  // namespace radflow::followups
