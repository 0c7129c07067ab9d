// Follow-up recommendation extraction (followups/extract.h): each rule on real sentences of
// the IU chest-radiograph reports (dev split of tests/data/followups/sample.tsv, uid
// quoted) and on typical report phrasing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "followups/extract.h"

namespace radflow::followups {
namespace {

std::string Report(const std::string& impression, const std::string& findings = "Normal heart size.") {
  return "INDICATION: Cough.\nCOMPARISON: None.\nFINDINGS: " + findings + "\nIMPRESSION: " + impression + "\n";
}

std::vector<Recommendation> Extract(const std::string& impression) {
  return ExtractRecommendations(Report(impression));
}

// "CT chest" or "XR chest" per recommendation, in order.
std::vector<std::string> Keys(const std::vector<Recommendation>& recs) {
  std::vector<std::string> out;
  for (const auto& r : recs) out.push_back(r.modality + " " + r.body_region);
  return out;
}

using Keys_ = std::vector<std::string>;

// ---- sentences ---------------------------------------------------------------------------

TEST(SplitSentences, SkipsIndicationAndComparisonAndKeepsOffsets) {
  std::string text =
      "INDICATION: Follow-up pneumonia. Recommend CT.\nCOMPARISON: CT chest 2010.\n"
      "FINDINGS: A 0.8 cm nodule. Dr. XXXX was called.\nIMPRESSION: 1. Nodule. 2. Recommend CT chest.\n";
  auto s = SplitSentences(text);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].text, "A 0.8 cm nodule.");  // the decimal does not split
  EXPECT_EQ(s[0].section, "FINDINGS");
  EXPECT_EQ(s[1].text, "Dr. XXXX was called.");  // nor the abbreviation
  EXPECT_EQ(s[2].text, "Nodule.");  // the list marker is not part of the sentence
  EXPECT_TRUE(s[2].item_start);
  EXPECT_EQ(s[3].text, "Recommend CT chest.");
  EXPECT_EQ(s[3].section, "IMPRESSION");
  for (const auto& x : s) EXPECT_EQ(text.substr(static_cast<size_t>(x.offset), x.text.size()), x.text);
}

TEST(SplitSentences, MarkerWithoutSpace) {
  auto s = SplitSentences("IMPRESSION: 2. XXXX right apical nodule. 3.Chronic findings as discussed below.");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].text, "Chronic findings as discussed below.");
}

TEST(Extract, IndicationAndComparisonAreNotRecommendations) {
  auto recs = ExtractRecommendations(
      "INDICATION: Follow-up pneumonia, recommend CT.\nCOMPARISON: CT chest recommended 2010.\n"
      "FINDINGS: Clear lungs.\nIMPRESSION: No acute disease.\n");
  EXPECT_TRUE(recs.empty());
}

// ---- triggers and modalities ----------------------------------------------------------------

TEST(Extract, NamedExaminations) {
  EXPECT_EQ(Keys(Extract("Stable right upper lung lucency. CT chest may be helpful to further characterize.")),
            Keys_{"CT chest"});  // 733
  EXPECT_EQ(Keys(Extract("Recommend followup with chest CT.")), Keys_{"CT chest"});  // 2633
  EXPECT_EQ(Keys(Extract("Further imaging with CT of the chest is recommended.")), Keys_{"CT chest"});  // 3096
  EXPECT_EQ(Keys(Extract("RECOMMEND CONTRAST-ENHANCED CHEST CT FOR FURTHER EVALUATION.")), Keys_{"CT chest"});  // 2249
  EXPECT_EQ(Keys(Extract("If further imaging characterization is needed, recommend MRI.")), Keys_{"MR chest"});
  EXPECT_EQ(Keys(Extract("Chest fluoroscopy would confirm this.")), Keys_{"XR chest"});  // 163
  EXPECT_EQ(Keys(Extract("If there is concern for fracture consider rib series.")), Keys_{"XR chest"});  // 1268
  EXPECT_EQ(Keys(Extract("Verification with abdominal decubitus views is recommended for further evaluation.")),
            Keys_{"XR abdomen"});  // 423
  EXPECT_EQ(Keys(Extract("Further evaluation with PET-CT may be helpful.")), Keys_{"PT whole body"});
  EXPECT_EQ(Keys(Extract("A bone scan may be helpful.")), Keys_{"NM whole body"});
  EXPECT_EQ(Keys(Extract("Recommend mammography.")), Keys_{"MG breast"});
  EXPECT_EQ(Keys(Extract("Consider ultrasound of the right upper quadrant.")), Keys_{"US abdomen"});
  EXPECT_EQ(Keys(Extract("Recommend thyroid ultrasound for further evaluation.")), Keys_{"US neck"});
  EXPECT_EQ(Keys(Extract("MRI of the thoracic spine could be performed for further evaluation.")), Keys_{"MR spine"});
  EXPECT_EQ(Keys(Extract("Dedicated shoulder radiographs may be helpful.")), Keys_{"XR extremity"});
  EXPECT_EQ(Keys(Extract("Consider CT angiography if there is concern for pulmonary embolism.")), Keys_{"CT chest"});
}

TEST(Extract, MrRegionFromTheFinding) {
  // 2408: the spine finding of the sentences before gives the MRI its region.
  auto recs = Extract(
      "1. No acute cardiopulmonary finding. 2. Mild to moderate T10 vertebral body anterior XXXX "
      "deformity. Unchanged severe L1 XXXX deformity. If further imaging characterization is needed, "
      "recommend MRI.");
  EXPECT_EQ(Keys(recs), Keys_{"MR spine"});
}

TEST(Extract, TwoAlternativesGiveTwo) {
  // 2130
  auto recs = Extract(
      "17 mm nodular opacity in the left lung. These lesions are XXXX and could be followed up "
      "radiographically after treatment of edema, or could be further characterized with CT.");
  EXPECT_EQ(Keys(recs), (Keys_{"XR chest", "CT chest"}));
  // 2259
  EXPECT_EQ(Keys(Extract("Recommend follow PA and lateral radiograph XXXX XXXX or CT thorax for further evaluation.")),
            (Keys_{"XR chest", "CT chest"}));
}

TEST(Extract, SeveralRegionsGiveSeveral) {
  EXPECT_EQ(Keys(Extract("CT of chest abdomen and head would be helpful for further evaluation.")),  // 1303
            (Keys_{"CT chest", "CT abdomen", "CT head"}));
  EXPECT_EQ(Keys(Extract("Recommend XXXX chest, abdomen and pelvis with contrast for further evaluation.")),
            (Keys_{"CT chest", "CT abdomen", "CT pelvis"}));
}

TEST(Extract, FollowUpWithoutModalityIsARadiograph) {
  EXPECT_EQ(Keys(Extract("Vague nodular opacity in the right lobe. Recommend followup to resolution.")),
            Keys_{"XR chest"});  // 3303
  EXPECT_EQ(Keys(Extract("Follow up to resolution recommended.")), Keys_{"XR chest"});  // 564
  EXPECT_EQ(Keys(Extract("Recommend following this process to resolution.")), Keys_{"XR chest"});  // 2111
  EXPECT_EQ(Keys(Extract("Please note that fractures may not be demonstrated and consider additional imaging "
                         "if clinically indicated.")),
            Keys_{"XR chest"});  // 3814
  EXPECT_EQ(Keys(Extract("This nodule should be followed.")), Keys_{"XR chest"});
}

TEST(Extract, MaskedExaminationIsReadAsCt) {
  EXPECT_EQ(Keys(Extract("If discordant from clinical suspicion, or does not resolve on follow up imaging, "
                         "consider further evaluation with XXXX scan.")),
            Keys_{"CT chest"});  // 3327: "on follow up imaging" is no recommendation of its own
  EXPECT_EQ(Keys(Extract("XXXX of chest for further characterization.")), Keys_{"CT chest"});  // 2795
  EXPECT_EQ(Keys(Extract("XXXX would be needed to evaluate this.")), Keys_{"CT chest"});  // 2046
  EXPECT_EQ(Keys(Extract("Recommend further evaluation with XXXX.")), Keys_{"CT chest"});  // 3287
  EXPECT_EQ(Keys(Extract("A noncontrast XXXX is indicated for further characterization.")), Keys_{"CT chest"});  // 189
  EXPECT_EQ(Keys(Extract("High-resolution XXXX would be recommended to evaluate these findings")), Keys_{"CT chest"});
  EXPECT_EQ(Keys(Extract("Further imaging XXXX may be helpful.")), Keys_{"CT chest"});  // 1475
  EXPECT_EQ(Keys(Extract("These findings could be further evaluated XXXX if clinically indicated.")),
            Keys_{"CT chest"});  // 2750
  EXPECT_EQ(Keys(Extract("As prior chest x-XXXX are not available online at this XXXX should be considered.")),
            Keys_{"CT chest"});  // 1265: the radiographs are the history, the mask the advice
  EXPECT_EQ(Keys(Extract("If there are no prior films available for comparison XXXX scan for further evaluation.")),
            Keys_{"CT chest"});  // 206
  // A named radiograph next to the mask keeps it (836, 1976, 1050).
  EXPECT_EQ(Keys(Extract("XXXX chest radiograph is recommended if XXXX is not XXXX.")), Keys_{"XR chest"});
  EXPECT_EQ(Keys(Extract("Mild nonspecific prominence of mediastinum, consider repeat CXR XXXX if any concern "
                         "for vascular process.")),
            Keys_{"XR chest"});
  EXPECT_EQ(Keys(Extract("If patient's symptoms persist recommend repeat study XXXX chest in one XXXX.")),
            Keys_{"XR chest"});  // 3377
}

TEST(Extract, RequestsNamingNoExaminationAreNot) {
  // docs/followups-labelling.md, adjudication: no examination and no imaging word.
  EXPECT_TRUE(Extract("Further investigation may be warranted.").empty());
  EXPECT_TRUE(Extract("Additional evaluation XXXX advised.").empty());
  EXPECT_TRUE(Extract("Recommend XXXX correlation.").empty());
  EXPECT_TRUE(Extract("CT scan is more sensitive in detecting small nodules.").empty());
}

// ---- exclusions, negation, history ------------------------------------------------------------

TEST(Extract, NonImagingActionsAreNot) {
  EXPECT_TRUE(Extract("Suspected mild patchy right upper lobe pneumonia, for which clinical correlation is "
                      "recommended.").empty());  // 2761
  EXPECT_TRUE(Extract("Suggest clinical correlation.").empty());  // 101
  EXPECT_TRUE(Extract("Recommend CT-guided biopsy.").empty());
  EXPECT_TRUE(Extract("Recommend pulmonary consultation and bronchoscopy.").empty());
  EXPECT_TRUE(Extract("Recommend clinical follow-up.").empty());
  EXPECT_TRUE(Extract("Recommend follow-up with the primary care physician.").empty());
  EXPECT_TRUE(Extract("Recommend repositioning of the endotracheal tube.").empty());
  EXPECT_TRUE(Extract("There is no focal air space opacity to suggest a pneumonia.").empty());
  EXPECT_TRUE(Extract("Considering technical factors heart size XXXX within normal limits.").empty());
  EXPECT_TRUE(Extract("Considerations would include pericardial effusion or dilated cardiomyopathy.").empty());
}

TEST(Extract, ComparisonWithExistingImagesIsNot) {
  EXPECT_TRUE(Extract("Comparison with outside previous films may be useful.").empty());  // 2239
  EXPECT_TRUE(Extract("Comparison with an XXXX chest radiograph would be helpful to establish stability.").empty());
  EXPECT_TRUE(Extract("Recommend comparison with prior images.").empty());  // 3794
  EXPECT_TRUE(Extract("Correlation with prior radiographs would be helpful to identify the location of the "
                      "previously described nodule.").empty());  // 1608
  // ... but the examination offered when they are missing is (conditional).
  auto recs = Extract("Comparison to old films, if available would be useful to determine chronicity and "
                      "stability. If old films are not available, XXXX scan could be XXXX to evaluate for the "
                      "presence of calcium.");  // 2027
  ASSERT_EQ(Keys(recs), Keys_{"CT chest"});
  EXPECT_TRUE(recs[0].conditional);
  EXPECT_EQ(recs[0].text, "If old films are not available, XXXX scan could be XXXX to evaluate for the presence of calcium.");
}

TEST(Extract, NegatedAndHistoricalAreNot) {
  EXPECT_TRUE(Extract("No follow-up imaging is necessary.").empty());
  EXPECT_TRUE(Extract("Follow-up is not needed.").empty());
  EXPECT_TRUE(Extract("No further imaging is recommended.").empty());
  EXPECT_TRUE(Extract("CT of the chest was recommended on the prior report.").empty());
  EXPECT_TRUE(Extract("Recommended follow-up CT was performed in 2010.").empty());
  EXPECT_TRUE(Extract("Follow-up CT has already been ordered.").empty());
  EXPECT_TRUE(Extract("Opacity in the left apex consistent with radiation change seen on prior CT.").empty());
  EXPECT_TRUE(Extract("Findings are grossly unchanged compared with prior chest CT from XXXX.").empty());
  EXPECT_TRUE(Extract("There is no evidence of pneumonia; follow-up of the known nodule shows stability.").empty());
  EXPECT_TRUE(Extract("Multiple small foreign bodies are present on previous CT scan from XXXX.").empty());
}

// ---- conditional, interval --------------------------------------------------------------------

TEST(Conditional, Conditions) {
  EXPECT_TRUE(IsConditional("If clinically indicated, further evaluation with CT of the thorax can be performed."));
  EXPECT_TRUE(IsConditional("consider additional imaging as clinically warranted."));
  EXPECT_TRUE(IsConditional("Should symptoms persist, a repeat radiograph is recommended."));
  EXPECT_TRUE(IsConditional("If none are available, recommend CT."));
  EXPECT_TRUE(IsConditional("CT unless prior films show stability."));
  EXPECT_TRUE(IsConditional("Repeat PA and lateral when the patient is able."));
  EXPECT_TRUE(IsConditional("PA and lateral chest radiograph may be of benefit XXXX clinically feasible."));
  EXPECT_FALSE(IsConditional("CT scan is the XXXX XXXX to determine if there is any mediastinal adenopathy."));  // 2455
  EXPECT_FALSE(IsConditional("In the absence of prior studies for comparison, XXXX chest for further evaluation."));  // 1918
  EXPECT_FALSE(IsConditional("In the appropriate clinical setting, followup radiography is recommended."));  // 3130
  EXPECT_FALSE(IsConditional("Recommend CT chest for further evaluation."));
}

TEST(Interval, Forms) {
  auto days = [](const char* s) -> std::pair<int, int> {
    auto i = ParseInterval(s);
    return i ? std::make_pair(i->min_days, i->max_days) : std::make_pair(-1, -1);
  };
  EXPECT_EQ(days("This could be followed up in 6 months to confirm stability."), std::make_pair(180, 180));  // 1944
  EXPECT_EQ(days("A followup exam in 4 to 6 weeks should be considered."), std::make_pair(28, 42));  // 2909
  EXPECT_EQ(days("Follow-up CT in 3-6 months."), std::make_pair(90, 180));
  EXPECT_EQ(days("Follow-up CT at 3 to 6 months."), std::make_pair(90, 180));
  EXPECT_EQ(days("Recommend followup in two weeks after antibiotics."), std::make_pair(14, 14));
  EXPECT_EQ(days("Recommend a 3-month follow-up chest x-ray."), std::make_pair(90, 90));
  EXPECT_EQ(days("Repeat in 1 year."), std::make_pair(365, 365));
  EXPECT_EQ(days("Repeat in 10 days."), std::make_pair(10, 10));
  EXPECT_EQ(days("Recommend annual low-dose CT screening."), std::make_pair(365, 365));
  // 3974: a masked unit after a range is read as weeks.
  EXPECT_EQ(days("A 4 to 6 XXXX post treatment interval film would be reasonable."), std::make_pair(28, 42));
  EXPECT_EQ(days("recommend repeat study XXXX chest in one XXXX."), std::make_pair(-1, -1));  // 3377
  EXPECT_EQ(days("Short-term follow-up is recommended."), std::make_pair(-1, -1));
  EXPECT_EQ(days("Cough for 3 months ago."), std::make_pair(-1, -1));
  EXPECT_EQ(days("Follow-up after treatment."), std::make_pair(-1, -1));
}

// ---- one per (modality, region), fields ----------------------------------------------------

TEST(Extract, OnePerExaminationTheImpressionsSentence) {
  // 103: the same advice in findings and impression is one, the impression's.
  std::string text = Report(
      "XXXX prominence of the mediastinal contour near the right hilum. CT chest with contrast may be helpful "
      "for further evaluation.",
      "There is XXXX prominence of the mediastinal contour near the right hilum. CT chest with contrast may be "
      "helpful for further evaluation. There are mild degenerative changes.");
  auto recs = ExtractRecommendations(text);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(text.substr(static_cast<size_t>(recs[0].offset), recs[0].text.size()), recs[0].text);
  EXPECT_GT(static_cast<size_t>(recs[0].offset), text.find("IMPRESSION"));
}

TEST(Extract, DuplicateGivesItsInterval) {
  // 3974: the first sentence is kept, the interval comes from the second.
  auto recs = Extract(
      "Patchy right middle lobe airspace disease. May represent pneumonia. Followup examination is suggested "
      "following treatment to confirm clearing of the opacities. A 4 to 6 XXXX post treatment interval film "
      "would be reasonable to allow clearing of inflammatory opacities.");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].text,
            "Followup examination is suggested following treatment to confirm clearing of the opacities.");
  EXPECT_EQ(recs[0].interval_min_days, 28);
  EXPECT_EQ(recs[0].interval_max_days, 42);
}

TEST(Extract, FindingAndJson) {
  auto recs = Extract(
      "1. Right lower lobe pneumonia. 2. Approximately 1 cm right middle lobe nodular opacity. Not XXXX showing "
      "benign type calcification, consider followup XXXX of the chest for characterization in 3 to 6 months.");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].finding, "1 cm right middle lobe nodular opacity");
  nlohmann::json j = RecommendationsJson(recs);
  const auto& r = j["recommendations"][0];
  EXPECT_EQ(r["modality"], "CT");
  EXPECT_EQ(r["body_region"], "chest");
  EXPECT_EQ(r["interval_days"], nlohmann::json::array({90, 180}));
  EXPECT_EQ(r["conditional"], false);
  EXPECT_EQ(r["text"], recs[0].text);
  EXPECT_EQ(r.size(), 6u);

  Recommendation one;
  one.interval_min_days = one.interval_max_days = 180;
  EXPECT_EQ(RecommendationJson(one)["interval_days"], 180);
  EXPECT_TRUE(RecommendationJson(Recommendation{})["interval_days"].is_null());
}

TEST(Extract, FindingFromWhatItIsFor) {
  auto recs = Extract("No acute bony abnormalities. If there is continued concern for occult fracture, consider "
                      "dedicated rib series.");  // 489
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].finding, "occult fracture");
  EXPECT_TRUE(recs[0].conditional);
}

TEST(Extract, EmptyAndOddInput) {
  EXPECT_TRUE(ExtractRecommendations("").empty());
  EXPECT_TRUE(ExtractRecommendations("\n\n...\n").empty());
  EXPECT_TRUE(ExtractRecommendations(std::string(5000, 'X')).empty());
  // No section headers at all: the whole text is read.
  EXPECT_EQ(Keys(ExtractRecommendations("Recommend CT chest.")), Keys_{"CT chest"});
  // "Mr." is not MR, nor "US" in a sentence written in capitals.
  EXPECT_EQ(Keys(ExtractRecommendations("RECOMMEND CHEST CT. PLEASE CALL US WITH QUESTIONS.")), Keys_{"CT chest"});
}

}  // namespace
}  // namespace radflow::followups
