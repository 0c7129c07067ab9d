// Criteria matching (docs/research.md, "What a cohort contains"): the pure matching on facts,
// and Select on a small hand-built index with AI findings and cached lesion features.
#include "research/selection.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <cmath>
#include <limits>

#include "../test_data.h"
#include "dicom/tag.h"
#include "research/ibsi_features.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"

namespace radflow::research {
namespace {

namespace t = dicom::tags;

Criteria Parse(const std::string& json) {
  auto c = ParseCriteria(json);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c.value() : Criteria{};
}

SeriesFacts Series(const std::string& patient, const std::string& study, const std::string& series,
                   const std::string& modality, const std::string& date, const std::string& frame = "F1",
                   int64_t instances = 10) {
  SeriesFacts s;
  s.patient_id = patient;
  s.study_uid = study;
  s.series_uid = series;
  s.modality = modality;
  s.study_date = date;
  s.body_part = "CHEST";
  s.manufacturer = "Philips";
  s.model = "Brilliance 64";
  s.frame_of_reference = frame;
  s.instances = instances;
  return s;
}

FindingFacts Finding(int64_t id, const std::string& series, double size_mm, const std::string& severity,
                     std::vector<double> ibsi = {}) {
  FindingFacts f;
  f.row.id = id;
  f.row.series_uid = series;
  f.row.type_code = "27925004^SCT";
  f.row.type_meaning = "Nodule";
  f.row.label = "solid nodule 6 mm";
  f.row.size_mm = size_mm;
  f.row.severity = severity;
  f.ibsi = std::move(ibsi);
  return f;
}

TEST(MatchSeries, EachCriterion) {
  const SeriesFacts s = Series("P", "S", "S.1", "CT", "20200615");
  EXPECT_TRUE(MatchSeries(Parse("{}"), s));
  EXPECT_TRUE(MatchSeries(Parse(R"({"modality":["mr","ct"]})"), s));  // any of, case-insensitive
  EXPECT_FALSE(MatchSeries(Parse(R"({"modality":["MR"]})"), s));
  EXPECT_TRUE(MatchSeries(Parse(R"({"body_part":["chest"]})"), s));
  EXPECT_FALSE(MatchSeries(Parse(R"({"body_part":["HEAD"]})"), s));
  EXPECT_TRUE(MatchSeries(Parse(R"({"study_date_from":"20200615","study_date_to":"20200615"})"), s));  // inclusive
  EXPECT_FALSE(MatchSeries(Parse(R"({"study_date_from":"20200616"})"), s));
  EXPECT_FALSE(MatchSeries(Parse(R"({"study_date_to":"20200614"})"), s));
  EXPECT_TRUE(MatchSeries(Parse(R"({"manufacturer":"phil"})"), s));
  EXPECT_FALSE(MatchSeries(Parse(R"({"manufacturer":"GE"})"), s));
  EXPECT_TRUE(MatchSeries(Parse(R"({"model":"brilliance"})"), s));
  EXPECT_FALSE(MatchSeries(Parse(R"({"model":"Ingenuity"})"), s));
  // A derived series never matches as an image series; a study without a date fails a date range.
  EXPECT_FALSE(MatchSeries(Parse("{}"), Series("P", "S", "S.2", "SEG", "20200615")));
  EXPECT_FALSE(MatchSeries(Parse(R"({"study_date_from":"19000101"})"), Series("P", "S", "S.1", "CT", "")));
}

TEST(MatchFinding, TypeSizeSeverityAndFeatures) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> ibsi(IbsiFeatureNames().size(), nan);
  ibsi[0] = 900;  // morph_volume mm³
  const FindingFacts f = Finding(1, "S.1", 12, "moderate", ibsi);
  EXPECT_TRUE(MatchFinding(Parse("{}"), f));
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"type":"27925004"}})"), f));  // the code value
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"type":"nodule"}})"), f));    // part of the meaning
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"type":"SOLID"}})"), f));     // part of the label
  EXPECT_FALSE(MatchFinding(Parse(R"({"finding":{"type":"mass"}})"), f));
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"min_size_mm":12,"max_size_mm":12}})"), f));
  EXPECT_FALSE(MatchFinding(Parse(R"({"finding":{"min_size_mm":12.5}})"), f));
  EXPECT_FALSE(MatchFinding(Parse(R"({"finding":{"max_size_mm":11.9}})"), f));
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"severity":"low"}})"), f));  // at least
  EXPECT_TRUE(MatchFinding(Parse(R"({"finding":{"severity":"moderate"}})"), f));
  EXPECT_FALSE(MatchFinding(Parse(R"({"finding":{"severity":"high"}})"), f));
  EXPECT_TRUE(MatchFinding(Parse(R"({"features":[{"name":"morph_volume","min":800,"max":1000}]})"), f));
  EXPECT_FALSE(MatchFinding(Parse(R"({"features":[{"name":"morph_volume","min":901}]})"), f));
  // A feature the lesion does not have (NaN, or no cached vector) never matches.
  EXPECT_FALSE(MatchFinding(Parse(R"({"features":[{"name":"stat_mean","max":1000}]})"), f));
  EXPECT_FALSE(MatchFinding(Parse(R"({"features":[{"name":"morph_volume","min":0}]})"),
                            Finding(2, "S.1", 12, "moderate")));
}

TEST(SelectStudies, CountsAndDerivedSeries) {
  std::vector<SeriesFacts> series{
      Series("P1", "S1", "S1.1", "CT", "20200101", "F1", 60),
      Series("P1", "S1", "S1.2", "SEG", "20200101", "F1", 1),   // on the CT's frame: included
      Series("P1", "S1", "S1.3", "SR", "20200101", "", 1),      // no frame: included
      Series("P1", "S1", "S1.4", "SEG", "20200101", "F9", 1),   // another frame: left out
      Series("P1", "S2", "S2.1", "CT", "20210101", "F2", 40),   // the same patient's second study
      Series("P2", "S3", "S3.1", "MR", "20200101", "F3", 20),
      Series("P3", "S4", "S4.1", "CT", "20190101", "F4", 30),
  };
  std::map<std::string, std::vector<FindingFacts>> findings;
  findings["S1.1"] = {Finding(11, "S1.1", 8, "low"), Finding(12, "S1.1", 25, "high")};
  findings["S2.1"] = {Finding(21, "S2.1", 5, "info")};

  auto all_ct = SelectStudies(Parse(R"({"modality":["CT"]})"), series, findings);
  EXPECT_EQ(all_ct.counts.patients, 2);
  EXPECT_EQ(all_ct.counts.studies, 3);
  EXPECT_EQ(all_ct.counts.series, 5);  // S1.1 S1.2 S1.3, S2.1, S4.1
  EXPECT_EQ(all_ct.counts.instances, 60 + 1 + 1 + 40 + 30);
  EXPECT_EQ(all_ct.counts.lesions, 3);  // without finding criteria: every finding of the series
  ASSERT_EQ(all_ct.studies.size(), 3u);
  EXPECT_EQ(all_ct.studies[0].study_uid, "S1");
  EXPECT_EQ(all_ct.studies[0].series_uids, (std::vector<std::string>{"S1.1", "S1.2", "S1.3"}));

  auto large = SelectStudies(Parse(R"({"finding":{"min_size_mm":20}})"), series, findings);
  EXPECT_EQ(large.counts.patients, 1);
  EXPECT_EQ(large.counts.studies, 1);
  EXPECT_EQ(large.counts.lesions, 1);
  ASSERT_EQ(large.studies.size(), 1u);
  EXPECT_EQ(large.studies[0].finding_ids, std::vector<int64_t>{12});

  auto y2020 = SelectStudies(Parse(R"({"study_date_from":"20200101","study_date_to":"20201231"})"), series, findings);
  EXPECT_EQ(y2020.counts.studies, 2);  // S1 (CT) and S3 (MR)
  EXPECT_EQ(y2020.counts.patients, 2);

  auto none = SelectStudies(Parse(R"({"modality":["US"]})"), series, findings);
  EXPECT_EQ(none.counts.studies, 0);
  EXPECT_EQ(none.counts.patients, 0);
  EXPECT_TRUE(none.studies.empty());
}

// Select reads the same facts from a real (hand-built) index, job store and feature cache.
class SelectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = std::move(storage::Index::Open(path()).value());
    blobs_ = std::make_unique<storage::FolderBlobStore>(std::move(storage::BlobStore::Open(dir_.str() + "/blobs").value()));
    jobs_ = std::move(storage::JobStore::Open(path()).value());
    features_ = std::move(storage::AiAdminStore::Open(path()).value());
  }
  std::string path() const { return dir_.str() + "/index.db"; }

  void Add(const std::string& patient, const std::string& study, const std::string& series, const std::string& sop,
           const std::string& modality, const std::string& date, const std::string& manufacturer) {
    storage::InstanceEntry e;
    auto& in = e.instance;
    in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
    in.sop_instance_uid = sop;
    in.study_instance_uid = study;
    in.series_instance_uid = series;
    in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
    in.attributes.Set(t::kPatientID, patient);
    in.attributes.Set(t::kStudyInstanceUID, study);
    in.attributes.Set(t::kSeriesInstanceUID, series);
    in.attributes.Set(t::kSOPInstanceUID, sop);
    in.attributes.Set(t::kSOPClassUID, in.sop_class_uid);
    in.attributes.Set(t::kStudyDate, date);
    in.attributes.Set(t::kModality, modality);
    in.attributes.Set(t::kBodyPartExamined, "CHEST");
    in.attributes.Set(t::kManufacturer, manufacturer);
    e.blob_path = "x/" + sop;
    e.blob_size = 1;
    // The blob exists (its contents come from model_of below): readers get paths only of blobs that do.
    std::filesystem::create_directories(dir_.str() + "/blobs/x");
    std::ofstream(dir_.str() + "/blobs/" + e.blob_path) << "x";
    auto r = index_->Commit(e, false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  int64_t Job(const std::string& study, const std::string& series, std::vector<storage::FindingRow> rows) {
    storage::Job job;
    job.app_id = "ct-lung-lesions";
    job.app_version = "1.1.0";
    job.study_uid = study;
    job.series_uid = series;
    const int64_t id = jobs_->Enqueue(job).value();
    EXPECT_TRUE(jobs_->MarkRunning(id, 1).value());
    for (auto& r : rows) r.study_uid = study, r.series_uid = series, r.app_id = job.app_id;
    EXPECT_TRUE(jobs_->ReplaceFindings(id, rows).ok());
    EXPECT_TRUE(jobs_->MarkSucceeded(id, 2, "", "{}").ok());
    return id;
  }

  static storage::FindingRow Nodule(double size_mm, const std::string& severity) {
    storage::FindingRow r;
    r.type_code = "27925004^SCT";
    r.type_meaning = "Nodule";
    r.label = "nodule";
    r.size_mm = size_mm;
    r.severity = severity;
    return r;
  }

  SelectionSources Sources() {
    SelectionSources s{index_.get(), blobs_.get(), jobs_.get(), features_.get(), {}};
    // ManufacturerModelName and FrameOfReferenceUID "read from the file": by blob path here.
    s.model_of = [](const std::string& path) -> std::pair<std::string, std::string> {
      if (path.find("1.3.1.1.") != std::string::npos) return {"Brilliance 64", "F1"};
      if (path.find("1.3.1.2.") != std::string::npos) return {"Brilliance 64", "F1"};
      return {"Discovery", "F2"};
    };
    return s;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::JobStore> jobs_;
  std::unique_ptr<storage::AiAdminStore> features_;
};

TEST_F(SelectTest, MetadataFindingsAndFeaturesFromTheStores) {
  // P1: a chest CT (3 slices) with a SEG; P2: a chest CT on another scanner.
  for (int i = 1; i <= 3; ++i) Add("P1", "1.3", "1.3.1", "1.3.1.1." + std::to_string(i), "CT", "20200301", "Philips");
  Add("P1", "1.3", "1.3.2", "1.3.1.2.1", "SEG", "20200301", "radflow");
  for (int i = 1; i <= 2; ++i) Add("P2", "2.3", "2.3.1", "2.3.1.1." + std::to_string(i), "CT", "20210301", "GE");
  Job("1.3", "1.3.1", {Nodule(7, "low"), Nodule(22, "high")});
  // An earlier run of the same app on P2's series is superseded by the newer one.
  Job("2.3", "2.3.1", {Nodule(40, "critical")});
  const int64_t newer = Job("2.3", "2.3.1", {Nodule(5, "info")});

  auto all = Select(Parse("{}"), Sources());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->counts.patients, 2);
  EXPECT_EQ(all->counts.studies, 2);
  EXPECT_EQ(all->counts.series, 3);
  EXPECT_EQ(all->counts.instances, 6);
  EXPECT_EQ(all->counts.lesions, 3);  // 2 + the newer job's 1
  auto p2 = std::find_if(all->studies.begin(), all->studies.end(), [](const auto& s) { return s.study_uid == "2.3"; });
  ASSERT_NE(p2, all->studies.end());
  auto p2_findings = jobs_->Findings("", "2.3.1").value();
  for (const auto& f : p2_findings) {
    const bool listed = std::count(p2->finding_ids.begin(), p2->finding_ids.end(), f.id) > 0;
    EXPECT_EQ(listed, f.job_id == newer) << f.id;
  }

  auto philips = Select(Parse(R"({"manufacturer":"philips","model":"brilliance"})"), Sources());
  ASSERT_TRUE(philips.ok());
  EXPECT_EQ(philips->counts.studies, 1);
  EXPECT_EQ(philips->counts.series, 2);  // the CT and its SEG (same frame of reference)

  auto high = Select(Parse(R"({"finding":{"severity":"high"}})"), Sources());
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(high->counts.studies, 1);  // the superseded critical finding of P2 does not count
  EXPECT_EQ(high->counts.lesions, 1);

  auto dated = Select(Parse(R"({"study_date_from":"20210101"})"), Sources());
  ASSERT_TRUE(dated.ok());
  EXPECT_EQ(dated->counts.patients, 1);
  EXPECT_EQ(dated->counts.instances, 2);

  // Features: only the 22 mm nodule has a cached IBSI vector (feature set v1).
  int64_t big = 0;
  const auto p1_findings = jobs_->Findings("", "1.3.1").value();
  for (const auto& f : p1_findings) {
    if (f.size_mm == 22) big = f.id;
  }
  storage::FeatureRow fr;
  fr.finding_id = big;
  fr.feature_set = "v1";
  fr.source = "ibsi";
  fr.values = {std::log(2.5), std::log(24.0), 0.8, 0.9, 0.7, 0.95, -20, 50, 0.1, -200, 100};
  fr.computed_at = 1;
  ASSERT_TRUE(features_->SaveFeatures(fr).ok());
  auto by_volume = Select(Parse(R"({"features":[{"name":"morph_volume","min":2400,"max":2600}]})"), Sources());
  ASSERT_TRUE(by_volume.ok());
  EXPECT_EQ(by_volume->counts.lesions, 1);
  ASSERT_EQ(by_volume->studies.size(), 1u);
  EXPECT_EQ(by_volume->studies[0].finding_ids, std::vector<int64_t>{big});
  auto by_var = Select(Parse(R"({"features":[{"name":"stat_var","min":2499,"max":2501}]})"), Sources());
  ASSERT_TRUE(by_var.ok());
  EXPECT_EQ(by_var->counts.lesions, 1);  // stat_var = sd² = 2500
  auto none = Select(Parse(R"({"features":[{"name":"morph_sphericity","min":0.81}]})"), Sources());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->counts.studies, 0);
}

TEST(IbsiFromCached, TurnsTheVectorBackIntoFeatures) {
  const std::vector<double> v{std::log(1.5), std::log(20.0), 0.8, 0.9, 0.7, 0.95, -20, 50, 0.1, -200, 100};
  auto f = IbsiFromCached("v1", v);
  ASSERT_EQ(f.size(), IbsiFeatureNames().size());
  EXPECT_NEAR(f[0], 1500, 1e-9);  // morph_volume in mm³
  EXPECT_NEAR(f[1], 20, 1e-12);   // morph_pca_maj_axis
  EXPECT_EQ(f[2], 0.8);
  EXPECT_EQ(f[7], 2500);          // stat_var
  EXPECT_EQ(f[10], 100);          // stat_p90
  EXPECT_TRUE(IbsiFromCached("v2", v).empty());
  EXPECT_TRUE(IbsiFromCached("v1", {1, 2}).empty());
}

}  // namespace
}  // namespace radflow::research
