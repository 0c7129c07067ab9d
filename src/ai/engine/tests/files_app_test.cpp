// RunApp for manifest input "files" (issue 17): no volume is loaded, the app's own objects
// are checked and described from the files (CollectAppObjects), and the worker's
// result.json carries them and the findings back to the engine.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ai/app.h"
#include "ai/codes.h"
#include "ai/engine/app_objects.h"
#include "ai/engine/job_runner.h"
#include "ai/manifest.h"
#include "ai/results/results.h"
#include "ai/routing.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

const std::string kSlide = RADFLOW_SHARED_DATA "/wsi/highdicom/sm_image.dcm";
const std::string kMrSeries = RADFLOW_SHARED_DATA "/dicom/mr_brain_t1_siemens/dicom_HFS_t1_fl2d_sag";
constexpr const char* kComprehensive3dSr = "1.2.840.10008.5.1.4.1.1.88.34";

// What the registered test app does with its input; set per test.
std::string g_object_path = "report.dcm";
std::string g_object_kind = "sr";
bool g_saw_volume = true;
std::string g_out_dir;

Result<AppOutput> FilesApp(const AppInput& in) {
  g_saw_volume = in.image.data().size() > 0;
  g_out_dir = in.out_dir;
  AppOutput out;
  Finding f;
  f.type = {"363679005", "SCT", "Imaging procedure"};
  f.label = "files";
  f.score = 0.75;
  f.severity = "low";
  f.segment_number = 1;  // no SEG is stored: the engine clears it
  f.measurements.push_back({{"246205007", "SCT", "Quantity"}, static_cast<double>(in.files.size()), codes::kNoUnit});
  out.findings.push_back(f);
  auto sr = WriteMeasurementReport(out.findings, SourceSeries{in.files}, Algorithm{"t", "T", "1", "radflow"},
                                   nullptr, in.out_dir + "/report.dcm", 9100);
  if (!sr.ok()) return sr.status();
  // "": the absolute path, as an app builds it from out_dir.
  out.objects.push_back({g_object_path.empty() ? in.out_dir + "/report.dcm" : g_object_path, g_object_kind});
  out.summary = "one report";
  return out;
}

AppManifest Manifest(std::vector<std::string> outputs = {"seg", "sr", "findings"}) {
  static const bool registered = [] {
    RegisterBuiltin("engine-test-files", FilesApp);
    return true;
  }();
  (void)registered;
  auto m = ParseManifest(R"({"id": "engine-test-files", "name": "T", "version": "1", "input": "files",
                             "runner": "builtin:engine-test-files"})", "json", "");
  EXPECT_TRUE(m.ok()) << m.status().message();
  m->outputs = std::move(outputs);
  return m.value();
}

class FilesAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("radflow-files-app-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    g_object_path = "report.dcm";
    g_object_kind = "sr";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FilesAppTest, NoVolumeObjectsDescribedFromTheFile) {
  auto run = RunApp(Manifest(), {kSlide}, dir_.string());
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_FALSE(g_saw_volume);
  EXPECT_EQ(fs::path(g_out_dir), dir_ / "objects");
  ASSERT_EQ(run->objects.size(), 1u);
  const WrittenResult& o = run->objects[0];
  EXPECT_EQ(o.kind, "sr");
  EXPECT_EQ(fs::path(o.path), fs::weakly_canonical(dir_ / "objects" / "report.dcm"));
  EXPECT_EQ(o.sop_class_uid, kComprehensive3dSr);
  EXPECT_FALSE(o.sop_instance_uid.empty());
  EXPECT_FALSE(o.series_instance_uid.empty());
  ASSERT_EQ(run->findings.size(), 1u);
  EXPECT_EQ(run->findings[0].segment_number, 0);  // no SEG among the objects
  EXPECT_EQ(run->summary, "one report");

  // The worker's result.json round trip.
  auto back = AppRunFromJson(AppRunToJson(run.value()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->objects.size(), 1u);
  EXPECT_EQ(back->objects[0].path, o.path);
  EXPECT_EQ(back->objects[0].kind, "sr");
  EXPECT_EQ(back->objects[0].sop_class_uid, o.sop_class_uid);
  EXPECT_EQ(back->objects[0].sop_instance_uid, o.sop_instance_uid);
  EXPECT_EQ(back->objects[0].series_instance_uid, o.series_instance_uid);
  ASSERT_EQ(back->findings.size(), 1u);
  const Finding& f = back->findings[0];
  EXPECT_EQ(f.type.value, "363679005");
  EXPECT_EQ(f.severity, "low");
  EXPECT_DOUBLE_EQ(f.score, 0.75);
  ASSERT_EQ(f.measurements.size(), 1u);
  EXPECT_DOUBLE_EQ(f.measurements[0].value, 1.0);
  EXPECT_EQ(back->summary, "one report");
}

// `radflow app run --out rel`: out_dir is made absolute, so a path the app builds from it
// and a name relative to it mean the same file.
TEST_F(FilesAppTest, RelativeOutDirAndPathsBuiltFromIt) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  g_object_path = "";
  auto built = RunApp(Manifest(), {kSlide}, "rel");
  g_object_path = "report.dcm";
  auto named = RunApp(Manifest(), {kSlide}, "rel");
  fs::current_path(cwd);
  ASSERT_TRUE(built.ok()) << built.status().message();
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(fs::weakly_canonical(g_out_dir), fs::weakly_canonical(dir_ / "rel" / "objects"));
  ASSERT_EQ(built->objects.size(), 1u);
  ASSERT_EQ(named->objects.size(), 1u);
  EXPECT_EQ(fs::weakly_canonical(built->objects[0].path), fs::weakly_canonical(named->objects[0].path));
}

TEST_F(FilesAppTest, KindsTheManifestDoesNotListAreNotStored) {
  auto run = RunApp(Manifest({"seg", "findings"}), {kSlide}, dir_.string());
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_TRUE(run->objects.empty());
  EXPECT_EQ(run->findings.size(), 1u);
}

TEST_F(FilesAppTest, BadObjectsAreErrorsNamingTheReason) {
  const AppManifest m = Manifest();
  g_object_path = kSlide;  // outside its folder
  auto outside = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("is not inside"), std::string::npos) << outside.status().message();

  g_object_path = "../job.json";
  auto up = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.status().message().find("is not inside"), std::string::npos) << up.status().message();

  g_object_path = "missing.dcm";
  auto missing = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'missing.dcm': no such file"), std::string::npos)
      << missing.status().message();

  g_object_path = "report.dcm";
  g_object_kind = "seg";  // an SR declared as a SEG
  auto wrong = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("SOP class 1.2.840.10008.5.1.4.1.1.88.34 is not a Segmentation"),
            std::string::npos)
      << wrong.status().message();

  g_object_kind = "derived";
  auto kind = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("kind 'derived' is not one of seg, sr"), std::string::npos)
      << kind.status().message();
}

// A symbolic link is followed before the folder check: one to a file elsewhere is outside,
// a dangling one names no file.
TEST_F(FilesAppTest, SymbolicLinksAreResolvedFirst) {
  const AppManifest m = Manifest();
  fs::create_directories(dir_ / "objects");
  fs::create_symlink(kSlide, dir_ / "objects" / "x.dcm");
  g_object_path = "x.dcm";
  auto outside = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("'x.dcm': is not inside"), std::string::npos) << outside.status().message();

  fs::create_symlink(dir_ / "objects" / "gone.dcm", dir_ / "objects" / "dangling.dcm");
  g_object_path = "dangling.dcm";
  auto dangling = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.status().message().find("'dangling.dcm': no such file"), std::string::npos)
      << dangling.status().message();
}

TEST_F(FilesAppTest, NotADicomObject) {
  g_object_path = "notes.txt";
  const AppManifest m = Manifest();
  // A text file in the app's folder, named as its SR.
  fs::create_directories(dir_ / "objects");
  { std::ofstream(dir_ / "objects" / "notes.txt") << "not DICOM"; }
  auto run = RunApp(m, {kSlide}, dir_.string());
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("not a readable DICOM file"), std::string::npos) << run.status().message();
}

// The study and series checks, on an SR whose UIDs dcmodify rewrote (DCMTK's CLI).
TEST_F(FilesAppTest, ObjectsMustBeANewSeriesOfTheSourceStudy) {
  auto run = RunApp(Manifest(), {kSlide}, dir_.string());
  ASSERT_TRUE(run.ok()) << run.status().message();
  auto source = ReadSeriesFacts({kSlide});
  ASSERT_TRUE(source.ok());
  const fs::path sr = dir_ / "objects" / "report.dcm";
  const AppManifest m = Manifest();
  auto modify = [&](const std::string& key, const std::string& value) {
    const std::string cmd = "dcmodify -nb -m '" + key + "=" + value + "' '" + sr.string() + "' >/dev/null 2>&1";
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(modify("SeriesInstanceUID", source->at("SeriesInstanceUID")), 0) << "dcmodify (DCMTK) not found";
  auto same_series = CollectAppObjects({{"report.dcm", "sr"}}, (dir_ / "objects").string(), source.value(), m);
  ASSERT_FALSE(same_series.ok());
  EXPECT_NE(same_series.status().message().find("is in the source series"), std::string::npos)
      << same_series.status().message();
  ASSERT_EQ(modify("SeriesInstanceUID", "1.2.3.4.5"), 0);
  ASSERT_EQ(modify("StudyInstanceUID", "1.2.3.4"), 0);
  auto other_study = CollectAppObjects({{"report.dcm", "sr"}}, (dir_ / "objects").string(), source.value(), m);
  ASSERT_FALSE(other_study.ok());
  EXPECT_NE(other_study.status().message().find("StudyInstanceUID '1.2.3.4' is not the source's"), std::string::npos)
      << other_study.status().message();
  auto twice = CollectAppObjects({{"report.dcm", "sr"}, {sr.string(), "sr"}}, (dir_ / "objects").string(),
                                 SeriesFacts{}, m);  // no source facts: study and series unchecked
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("given twice"), std::string::npos) << twice.status().message();

  // A source instance's SOP Instance UID (ingest would keep the source, not the result).
  ASSERT_EQ(modify("StudyInstanceUID", source->at("StudyInstanceUID")), 0);
  ASSERT_EQ(modify("SOPInstanceUID", source->at("SOPInstanceUID")), 0);
  auto source_uid = CollectAppObjects({{"report.dcm", "sr"}}, (dir_ / "objects").string(), source.value(), m, {kSlide});
  ASSERT_FALSE(source_uid.ok());
  EXPECT_NE(source_uid.status().message().find("SOPInstanceUID " + source->at("SOPInstanceUID") +
                                               " is a source instance's"),
            std::string::npos)
      << source_uid.status().message();
  EXPECT_TRUE(CollectAppObjects({{"report.dcm", "sr"}}, (dir_ / "objects").string(), source.value(), m).ok())
      << "without the source files the UID is not checked";

  // Key Object Selection (88.59) is an SR Storage class number but no report.
  ASSERT_EQ(modify("SOPInstanceUID", "1.2.3.4.5.6"), 0);
  ASSERT_EQ(modify("SOPClassUID", "1.2.840.10008.5.1.4.1.1.88.59"), 0);
  auto kos = CollectAppObjects({{"report.dcm", "sr"}}, (dir_ / "objects").string(), source.value(), m, {kSlide});
  ASSERT_FALSE(kos.ok());
  EXPECT_NE(kos.status().message().find("SOP class 1.2.840.10008.5.1.4.1.1.88.59 is not a Structured Report"),
            std::string::npos)
      << kos.status().message();
}

// A volume app's results are written by the engine: objects are for input "files".
TEST_F(FilesAppTest, AVolumeAppReturningObjectsIsAnError) {
  RegisterBuiltin("engine-test-volume-objects", [](const AppInput& in) -> Result<AppOutput> {
    AppOutput out;
    out.objects.push_back({in.files.front(), "sr"});
    return out;
  });
  auto m = ParseManifest(R"({"id": "engine-test-volume-objects", "name": "T", "version": "1",
                             "runner": "builtin:engine-test-volume-objects"})", "json", "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kMrSeries)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  auto run = RunApp(m.value(), files, dir_.string());
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("objects need input 'files'"), std::string::npos) << run.status().message();
}

}  // namespace
}  // namespace radflow::ai
