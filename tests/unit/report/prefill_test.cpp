// Pre-fill of AI findings (src/report/prefill.h) on findings shaped as the built-in apps write them.
#include "report/prefill.h"

#include <gtest/gtest.h>

namespace radflow::report {
namespace {

const std::string kTemplates = std::string(RADFLOW_SOURCE_DIR) + "/templates";

const Template& Chest() {
  static TemplateLibrary lib = LoadTemplates({kTemplates});
  return *lib.Find("ct-chest");
}
const Template& Head() {
  static TemplateLibrary lib = LoadTemplates({kTemplates});
  return *lib.Find("ct-head");
}

// As src/apps/lung/lung_lesions_app.cpp writes a finding.
AiFinding LungNodule(int64_t id, double x, double long_axis, double short_axis, double volume, const std::string& cls = "solid") {
  AiFinding f;
  f.id = id;
  f.app_id = "ct-lung-lesions";
  f.app_version = "1.2.0";
  f.type_code = "27925004^SCT";
  f.type_meaning = "Nodule";
  char label[160];
  const double mean = (long_axis + short_axis) / 2;
  const char* band = mean < 6 ? "2" : mean < 8 ? "3" : mean < 15 ? "4A" : "4B";
  std::snprintf(label, sizeof label, "%s nodule %.0f mm (Lung-RADS size %s)", cls.c_str(), long_axis, band);
  f.label = label;
  f.x = x, f.y = 20, f.z = -150;
  f.size_mm = long_axis;
  f.volume_ml = volume;
  f.severity = std::string(band) == "3" ? "moderate" : (std::string(band) == "2" ? "low" : "high");
  f.measurements = {{"Volume", "118565006", "SCT", volume, "ml"},
                    {"Long Axis", "103339001", "SCT", long_axis, "mm"},
                    {"Short Axis", "103340004", "SCT", short_axis, "mm"},
                    {"Mean", "373098007", "SCT", 35, "[hnsf'U]"}};
  return f;
}

TEST(Prefill, KindsByApp) {
  AiFinding f;
  f.app_id = "ct-lung-lesions";
  EXPECT_EQ(FindingKind(f), "lung_nodule");
  f.app_id = "ct-emphysema";
  EXPECT_EQ(FindingKind(f), "emphysema");
  f.app_id = "ct-head-bleed";
  EXPECT_EQ(FindingKind(f), "haemorrhage");
  f.app_id = "ct-quality";
  EXPECT_EQ(FindingKind(f), "image_quality");
  f.app_id = "someone-elses";
  EXPECT_EQ(FindingKind(f), "other");
  f.type_code = "1386000^SCT";
  EXPECT_EQ(FindingKind(f), "haemorrhage");
}

TEST(Prefill, LungNoduleSentenceValuesAndCategory) {
  auto f = LungNodule(7, -80, 9.4, 7.4, 0.31);  // x < 0: the patient's right
  auto props = ProposeFindings(Chest(), {f});
  ASSERT_EQ(props.size(), 1u);
  const Proposal& p = props[0];
  EXPECT_EQ(p.kind, "lung_nodule");
  EXPECT_EQ(p.laterality, "right");
  EXPECT_EQ(p.site, "right lung");
  EXPECT_EQ(p.section_id, "lungs");
  EXPECT_EQ(p.lung_rads, "4A");  // mean 8.4 mm, baseline
  EXPECT_EQ(p.sentence, "Solid nodule in the right lung, 8.4 mm (mean diameter; 9.4 x 7.4 mm), 0.31 mL. Lung-RADS 4A.");
  EXPECT_EQ(p.values.at("mean_diameter_mm"), "8.4");
  EXPECT_EQ(p.values.at("long_axis_mm"), "9.4");
  EXPECT_EQ(p.values.at("short_axis_mm"), "7.4");
  EXPECT_EQ(p.values.at("volume_ml"), "0.31");
  EXPECT_EQ(p.values.at("nodule_type"), "solid");
  EXPECT_EQ(p.values.at("lung_rads"), "4A");
  EXPECT_EQ(p.values.at("laterality"), "right");
  EXPECT_EQ(p.values.at("site"), "right lung");  // an option of the select
  // Fleischner rounds to the nearest mm: 8 mm is the 6-8 mm row.
  EXPECT_EQ(p.values.at("fleischner"), "CT at 6-12 months, then consider CT at 18-24 months");
  EXPECT_EQ(p.values.count("lobe"), 0u);  // the template has no "lobe" field
  EXPECT_EQ(p.values.count("growth_pct"), 0u);
}

TEST(Prefill, LobeFromLabelAndPriorGrowth) {
  auto f = LungNodule(8, 60, 9.0, 7.0, 0.27);
  f.label = "solid nodule 9 mm in the left upper lobe";
  PriorChange pc;
  pc.prior_study_uid = "1.2.3";
  pc.status = "tracked";
  pc.trend = "growing";
  pc.interval_days = 120;
  pc.volume_change_pct = 25;
  pc.diameter_change_mm = 2.0;
  pc.doubling_time_days = 410;
  f.prior = pc;
  auto p = ProposeFindings(Chest(), {f}).at(0);
  EXPECT_EQ(p.site, "left upper lobe");
  EXPECT_EQ(p.laterality, "left");
  EXPECT_EQ(p.lung_rads, "4B");  // growing >= 8 mm (mean 8.0)
  EXPECT_EQ(p.sentence,
            "Solid nodule in the left upper lobe, 8.0 mm (mean diameter; 9.0 x 7.0 mm), 0.27 mL; grown 25% in volume "
            "since the prior study 120 days earlier, volume doubling time 410 days. Lung-RADS 4B.");
  EXPECT_EQ(p.values.at("growth_pct"), "25");
  EXPECT_EQ(p.values.at("doubling_time_days"), "410");
  EXPECT_EQ(p.values.at("site"), "left upper lobe");

  pc.trend = "stable";
  pc.diameter_change_mm = 0.3;
  pc.volume_change_pct = 4;
  f.prior = pc;
  auto s = ProposeFindings(Chest(), {f}).at(0);
  EXPECT_EQ(s.lung_rads, "2");  // prior 7.7 mm was category 3; stable → 2
  pc.diameter_change_mm = -1.0;  // prior 9.0 mm: category 4A, now smaller → 3
  f.prior = pc;
  EXPECT_EQ(ProposeFindings(Chest(), {f}).at(0).lung_rads, "3");
  pc.status = "new";
  f.prior = pc;
  EXPECT_EQ(ProposeFindings(Chest(), {f}).at(0).lung_rads, "4B");  // new >= 8 mm
}

TEST(Prefill, PartSolidWithoutSolidComponentHasNoCategory) {
  auto f = LungNodule(9, -40, 14, 10, 0.9, "part-solid");
  auto p = ProposeFindings(Chest(), {f}).at(0);
  EXPECT_EQ(p.lung_rads, "");
  EXPECT_NE(p.sentence.find("Lung-RADS category needs the size of the solid component."), std::string::npos);
  f.measurements.push_back({"Solid component mean diameter", "", "", 6.5, "mm"});
  EXPECT_EQ(ProposeFindings(Chest(), {f}).at(0).lung_rads, "4A");
}

TEST(Prefill, Emphysema) {
  AiFinding both;
  both.id = 20;
  both.app_id = "ct-emphysema";
  both.app_version = "1.0.0";
  both.type_code = "39607008^SCT";
  both.label = "both lungs: 5465 ml, LAA-950 13.6%, Perc15 -946 HU";
  both.volume_ml = 5465;
  both.severity = "moderate";
  both.measurements = {{"Volume", "118565006", "SCT", 5465, "ml"},
                       {"Low attenuation area below -950 HU, percent of lung volume", "LAA950", "99RADFLOW", 13.6, "%"},
                       {"15th percentile of lung density", "PERC15", "99RADFLOW", -946, "[hnsf'U]"}};
  AiFinding left = both;
  left.id = 21;
  left.type_code = "44029006^SCT";
  left.label = "left lung: 2361 ml, LAA-950 13.9%, Perc15 -946 HU";
  left.measurements[1].value = 13.9;
  auto props = ProposeFindings(Chest(), {both, left});
  EXPECT_EQ(props[0].kind, "emphysema");
  EXPECT_EQ(props[0].laterality, "bilateral");
  EXPECT_EQ(props[0].section_id, "emphysema");
  EXPECT_EQ(props[0].sentence,
            "Emphysema quantification, both lungs: %LAA-950 13.6%, lung volume 5465 mL, Perc15 -946 HU; above the 6% "
            "threshold commonly used for CT emphysema.");
  EXPECT_EQ(props[0].values.at("laa950_pct"), "13.6");
  EXPECT_EQ(props[0].values.at("emphysema_volume_ml"), "5465");
  EXPECT_EQ(props[0].values.at("perc15_hu"), "-946");
  EXPECT_EQ(props[1].laterality, "left");
  EXPECT_EQ(props[1].values.at("laa950_left_pct"), "13.9");
  EXPECT_EQ(props[1].values.count("laa950_pct"), 0u);
}

TEST(Prefill, Haemorrhage) {
  AiFinding f;
  f.id = 30;
  f.app_id = "ct-head-bleed";
  f.app_version = "1.1.0";
  f.type_code = "1386000^SCT";
  f.label = "suspected haemorrhage 9.1 mL, 28 mm";
  f.x = 31;  // patient's left
  f.size_mm = 28;
  f.volume_ml = 9.1;
  f.severity = "critical";
  f.measurements = {{"Volume", "118565006", "SCT", 9.1, "ml"},
                    {"Mean", "373098007", "SCT", 62, "[hnsf'U]"},
                    {"Long Axis", "103339001", "SCT", 28, "mm"}};
  auto p = ProposeFindings(Head(), {f}).at(0);
  EXPECT_EQ(p.kind, "haemorrhage");
  EXPECT_EQ(p.laterality, "left");
  EXPECT_EQ(p.site, "left cerebral hemisphere");
  EXPECT_EQ(p.section_id, "brain");
  EXPECT_EQ(p.sentence,
            "Suspected intracranial haemorrhage in the left cerebral hemisphere, 9.1 mL, 28 mm in greatest axial "
            "diameter, mean 62 HU.");
  EXPECT_EQ(p.values.at("bleed_volume_ml"), "9.1");
  EXPECT_EQ(p.values.at("bleed_size_mm"), "28");
  EXPECT_EQ(p.values.at("bleed_mean_hu"), "62");
  EXPECT_EQ(p.values.at("site"), "left cerebral hemisphere");
  EXPECT_EQ(p.values.at("laterality"), "left");
  f.label = "suspected haemorrhage 3.0 mL, 20 mm, right frontal lobe";
  f.x = -20;
  EXPECT_EQ(ProposeFindings(Head(), {f}).at(0).site, "right frontal lobe");
}

TEST(Prefill, ImageQualityWarningsOnly) {
  AiFinding noise;
  noise.id = 40;
  noise.app_id = "ct-quality";
  noise.type_code = "RFQC001^99RADFLOW";
  noise.type_meaning = "Image noise";
  noise.label = "noise SD 12.0 HU in homogeneous soft tissue (mean 40 HU)";
  noise.severity = "info";
  AiFinding tilt = noise;
  tilt.id = 41;
  tilt.type_code = "RFQC003^99RADFLOW";
  tilt.type_meaning = "Gantry tilt";
  tilt.label = "gantry tilt 18.5°";
  tilt.severity = "moderate";
  auto props = ProposeFindings(Head(), {noise, tilt});
  EXPECT_EQ(props[0].sentence, "");
  EXPECT_EQ(props[1].sentence, "Image quality (gantry tilt, moderate): gantry tilt 18.5°.");
  EXPECT_EQ(props[1].section_id, "technique");
  EXPECT_EQ(props[1].values.at("quality_warning"), "gantry tilt 18.5°");
}

TEST(Prefill, ComposeFindingsText) {
  auto a = LungNodule(1, -80, 9.4, 7.4, 0.31);
  auto b = LungNodule(2, 70, 5, 4, 0.05);
  auto c = LungNodule(3, 70, 4, 3, 0.03);
  AiFinding noise;
  noise.id = 4;
  noise.app_id = "ct-quality";
  noise.type_meaning = "Metal artifact";
  noise.label = "metal: 1 object(s), 0.20 ml";
  noise.severity = "low";
  auto props = ProposeFindings(Chest(), {a, b, c, noise});
  std::vector<Decision> d = {{1, "accepted", "", "dr", 10, {}, ""},
                             {2, "edited", "", "dr", 11, {}, "Small solid nodule in the left lower lobe, 4.5 mm."},
                             {3, "rejected", "vessel", "dr", 12, {}, ""},
                             {4, "accepted", "", "dr", 13, {}, ""},
                             {1, "rejected", "", "dr", 5, {}, ""}};  // an older decision: superseded
  EXPECT_EQ(ComposeFindingsText(props, d),
            "Solid nodule in the right lung, 8.4 mm (mean diameter; 9.4 x 7.4 mm), 0.31 mL. Lung-RADS 4A. Small solid "
            "nodule in the left lower lobe, 4.5 mm.\n\nImage quality (metal artifact, low): metal: 1 object(s), 0.20 ml.");
  Proposal edited = ApplyDecision(props[1], d[1]);
  EXPECT_EQ(edited.sentence, "Small solid nodule in the left lower lobe, 4.5 mm.");
  Decision lr{2, "edited", "", "dr", 20, {{"lung_rads", "4x"}, {"site", "left lower lobe"}}, ""};
  Proposal e2 = ApplyDecision(props[1], lr, FieldAiKeys(Chest()));
  EXPECT_EQ(e2.lung_rads, "4X");
  EXPECT_EQ(e2.site, "left lower lobe");
  EXPECT_EQ(e2.values.at("site"), "left lower lobe");
}

TEST(Prefill, IsLungScreening) {
  EXPECT_TRUE(IsLungScreening({{"CT"}, "CHEST", "LDCT LUNG", {}}));
  EXPECT_TRUE(IsLungScreening({{"CT"}, "CHEST", "CT Low Dose Lung Cancer Screening", {}}));
  EXPECT_FALSE(IsLungScreening({{"CT"}, "CHEST", "CT THORAX CONTRAST", {}}));
}

}  // namespace
}  // namespace radflow::report
