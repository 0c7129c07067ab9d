// Standard AI results on real series: SEG + TID 1500 SR + derived series for the IBSI lung
// CT (PAT1, GTV mask from NIfTI) and the tilted GE head CT (resampled grid); each object
// validated with dciodvfy (no "Error" lines) and read back through radflow's own readers.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ai/results/results.h"
#include "imaging/nifti_io.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

std::vector<std::string> DicomFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// dciodvfy's output; `errors` holds the lines starting with "Error".
struct Validation {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};
Validation Dciodvfy(const std::string& path) {
  Validation v;
  std::string cmd = "dciodvfy '" + path + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  char line[4096];
  while (pipe && fgets(line, sizeof line, pipe.get())) {
    std::string s(line);
    if (s.rfind("Error", 0) == 0) v.errors.push_back(s);
    if (s.rfind("Warning", 0) == 0) v.warnings.push_back(s);
  }
  return v;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l;
  return out;
}

class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("radflow_ai_results_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    if (!std::getenv("RADFLOW_KEEP_TEST_OUTPUT")) fs::remove_all(path_);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

Algorithm TestAlgorithm() { return {"lung-nodule", "Lung Nodule Finder", "1.2.0", "radflow"}; }

// Items of a sequence in a dataset (0 when absent).
unsigned long CountItems(DcmItem& item, const DcmTagKey& tag) {
  DcmSequenceOfItems* seq = nullptr;
  if (item.findAndGetSequence(tag, seq).bad() || !seq) return 0;
  return seq->card();
}

class PatientOneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = DicomFiles(Data("dicom/ct_lung_ibsi_pat1/dicom/image"));
    auto series = imaging::LoadSeries(files_);
    ASSERT_TRUE(series.ok()) << series.status().ToString();
    image_ = std::move(series->volume);
    auto nifti = imaging::ReadNiftiMask(Data("dicom/ct_lung_ibsi_pat1/nifti/mask/mask.nii.gz"));
    ASSERT_TRUE(nifti.ok()) << nifti.status().ToString();
    ASSERT_EQ(nifti->geometry().size, image_.geometry().size);
    // Same voxels as the series (IBSI's conversion); placed on the series grid exactly.
    mask_ = imaging::Mask(image_.geometry());
    mask_.data() = nifti->data();
  }
  static std::vector<std::string> files_;
  static imaging::ImageVolume image_;
  static imaging::Mask mask_;
};
std::vector<std::string> PatientOneTest::files_;
imaging::ImageVolume PatientOneTest::image_;
imaging::Mask PatientOneTest::mask_;

AppOutput LungOutput(const imaging::Mask& gtv, const imaging::ImageVolume& image) {
  AppOutput out;
  SegmentOutput s;
  s.label = "GTV-1";
  s.category = {"49755003", "SCT", "Morphologically Altered Structure"};
  s.type = {"4147007", "SCT", "Mass"};
  s.mask = gtv;
  // A second segment: the voxels above -400 HU in the GTV's bounding slices (overlapping).
  SegmentOutput dense = s;
  dense.label = "dense tissue";
  dense.category = {"85756007", "SCT", "Tissue"};
  dense.type = {"85756007", "SCT", "Tissue"};
  size_t inside = 0;
  double sum_hu = 0;
  for (size_t v = 0; v < gtv.data().size(); ++v) {
    dense.mask.data()[v] = gtv.data()[v] && image.data()[v] > -400 ? 1 : 0;
    if (gtv.data()[v]) {
      ++inside;
      sum_hu += image.data()[v];
    }
  }
  out.segments = {s, dense};
  const auto& sp = gtv.geometry().spacing;
  Finding mass;
  mass.type = s.type;
  mass.label = "GTV-1 mass";
  mass.segment_number = 1;
  mass.volume_ml = inside * sp[0] * sp[1] * sp[2] / 1000.0;
  mass.size_mm = 41.5;
  // Centroid of the GTV in patient space: written as a SCOORD3D POINT.
  imaging::Vec3 centroid{0, 0, 0};
  const auto& g = gtv.geometry();
  for (size_t k = 0; k < g.size[2]; ++k) {
    for (size_t j = 0; j < g.size[1]; ++j) {
      for (size_t i = 0; i < g.size[0]; ++i) {
        if (!gtv.at(i, j, k)) continue;
        const imaging::Vec3 p = g.IndexToPoint(double(i), double(j), double(k));
        for (int a = 0; a < 3; ++a) centroid[a] += p[a] / inside;
      }
    }
  }
  mass.center = centroid;
  mass.measurements.push_back(
      {{"112031", "DCM", "Attenuation Coefficient"}, sum_hu / inside, {"[hnsf'U]", "UCUM", "Hounsfield unit"}});
  Finding nodule;
  nodule.type = {"27925004", "SCT", "Nodule"};
  nodule.label = "left lower lobe nodule 6 mm";
  nodule.size_mm = 6.25;
  out.findings = {mass, nodule};
  DerivedSeries d;
  d.series_description = "Smoothed CT";
  d.derivation_description = "3-tap smoothing along rows (test)";
  d.image = image;
  for (size_t v = 1; v + 1 < d.image.data().size(); ++v) {
    d.image.data()[v] = (image.data()[v - 1] + image.data()[v] + image.data()[v + 1]) / 3.0f;
  }
  out.derived = {d};
  return out;
}

TEST_F(PatientOneTest, WritesValidSegSrAndDerivedSeriesThatReadBack) {
  ScratchDir dir;
  const AppOutput output = LungOutput(mask_, image_);
  auto written = WriteResults(output, SourceSeries{files_}, TestAlgorithm(), dir.path(), 9100);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 2u + image_.geometry().size[2]);
  const WrittenObject& seg = (*written)[0];
  const WrittenObject& sr = (*written)[1];
  EXPECT_EQ(seg.kind, "seg");
  EXPECT_EQ(sr.kind, "sr");
  EXPECT_EQ(seg.sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4");

  // dciodvfy: no Error line for the SEG, the SR and derived slices (first, middle, last).
  const size_t n = image_.geometry().size[2];
  for (const std::string& path : {seg.path, sr.path, (*written)[2].path, (*written)[2 + n / 2].path,
                                  written->back().path}) {
    Validation v = Dciodvfy(path);
    EXPECT_TRUE(v.errors.empty()) << path << "\n" << Join(v.errors);
    std::printf("dciodvfy %s: %zu errors, %zu warnings\n%s", fs::path(path).filename().c_str(),
                v.errors.size(), v.warnings.size(), Join(v.warnings).c_str());
  }

  // SEG read back on the source grid equals each mask voxel for voxel.
  for (size_t s = 0; s < output.segments.size(); ++s) {
    auto back = imaging::ReadSegment(seg.path, output.segments[s].label, image_.geometry());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    size_t differ = 0, inside = 0;
    for (size_t v = 0; v < back->data().size(); ++v) {
      differ += (back->data()[v] != 0) != (output.segments[s].mask.data()[v] != 0);
      inside += back->data()[v] != 0;
    }
    EXPECT_EQ(differ, 0u) << output.segments[s].label;
    EXPECT_GT(inside, 1000u);
  }
  auto segments = imaging::ListSegments(seg.path);
  ASSERT_TRUE(segments.ok());
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_EQ((*segments)[0].algorithm_type, "AUTOMATIC");

  // SEG header: patient/study copied, FoR kept, references to every source instance,
  // each frame derived from the source slice it lies on, the algorithm named.
  DcmFileFormat src_ff, seg_ff;
  ASSERT_TRUE(src_ff.loadFile(files_[0].c_str()).good());
  ASSERT_TRUE(seg_ff.loadFile(seg.path.c_str()).good());
  DcmDataset& src_ds = *src_ff.getDataset();
  DcmDataset& seg_ds = *seg_ff.getDataset();
  for (const DcmTagKey& tag : {DCM_PatientID, DCM_PatientName, DCM_StudyInstanceUID, DCM_FrameOfReferenceUID}) {
    OFString a, b;
    src_ds.findAndGetOFString(tag, a);
    seg_ds.findAndGetOFString(tag, b);
    EXPECT_EQ(a, b) << DcmTag(tag).getTagName();
  }
  OFString src_series;
  src_ds.findAndGetOFString(DCM_SeriesInstanceUID, src_series);
  EXPECT_NE(seg.series_instance_uid, std::string(src_series.c_str()));
  DcmItem* ref_series = nullptr;
  ASSERT_TRUE(seg_ds.findAndGetSequenceItem(DCM_ReferencedSeriesSequence, ref_series, 0).good());
  EXPECT_EQ(CountItems(*ref_series, DCM_ReferencedInstanceSequence), files_.size());
  DcmSequenceOfItems* per_frame = nullptr;
  ASSERT_TRUE(seg_ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame).good());
  size_t with_source = 0;
  for (unsigned long f = 0; f < per_frame->card(); ++f) {
    DcmItem* deriv = nullptr;
    if (per_frame->getItem(f)->findAndGetSequenceItem(DCM_DerivationImageSequence, deriv, 0).good() &&
        CountItems(*deriv, DCM_SourceImageSequence) == 1) {
      ++with_source;
    }
  }
  EXPECT_EQ(with_source, per_frame->card());
  DcmItem* equipment = nullptr;
  ASSERT_TRUE(seg_ds.findAndGetSequenceItem(DCM_ContributingEquipmentSequence, equipment, 0).good());
  OFString model, purpose;
  equipment->findAndGetOFString(DCM_ManufacturerModelName, model);
  EXPECT_EQ(model, "Lung Nodule Finder");
  DcmItem* purpose_item = nullptr;
  ASSERT_TRUE(equipment->findAndGetSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose_item, 0).good());
  purpose_item->findAndGetOFString(DCM_CodeValue, purpose);
  EXPECT_EQ(purpose, "Newcode1");

  // SR read back: one TID 1411 group referencing segment 1, one TID 1501 group.
  auto doc = ReadMeasurementReport(sr.path);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->template_id, "1500");
  EXPECT_EQ(doc->title.value, "126000");
  ASSERT_EQ(doc->groups.size(), 2u);
  const SrMeasurementGroup& g1 = doc->groups[0];
  EXPECT_EQ(g1.tracking_identifier, "GTV-1 mass");
  EXPECT_FALSE(g1.tracking_uid.empty());
  EXPECT_EQ(g1.finding.value, "4147007");
  EXPECT_EQ(g1.referenced_segment, seg.sop_instance_uid + "#1");
  ASSERT_EQ(g1.measurements.size(), 3u);  // mean HU, volume, long axis
  DcmFileFormat sr_ff;
  ASSERT_TRUE(sr_ff.loadFile(sr.path.c_str()).good());
  OFString sr_class;
  sr_ff.getDataset()->findAndGetOFString(DCM_SOPClassUID, sr_class);
  EXPECT_EQ(sr_class, "1.2.840.10008.5.1.4.1.1.88.34");  // Comprehensive 3D SR
  DcmItem* evidence = nullptr;
  ASSERT_TRUE(sr_ff.getDataset()->findAndGetSequenceItem(DCM_CurrentRequestedProcedureEvidenceSequence,
                                                         evidence, 0).good());
  EXPECT_EQ(CountItems(*evidence, DCM_ReferencedSeriesSequence), 2u);  // source series + SEG
  EXPECT_EQ(CountItems(*sr_ff.getDataset(), DCM_ContributingEquipmentSequence), 1u);
  // NUM values are written with 10 significant digits (FormatDS; DS holds 16 characters):
  // read back within half a unit of the 10th digit, at most 5e-10 relative.
  EXPECT_NEAR(g1.measurements[0].value, output.findings[0].measurements[0].value,
              5e-10 * std::abs(output.findings[0].measurements[0].value));
  EXPECT_EQ(g1.measurements[1].name.value, "118565006");
  EXPECT_NEAR(g1.measurements[1].value, output.findings[0].volume_ml, 5e-10 * output.findings[0].volume_ml);
  EXPECT_EQ(g1.measurements[1].unit.value, "ml");
  EXPECT_NEAR(g1.measurements[2].value, 41.5, 1e-9);
  const SrMeasurementGroup& g2 = doc->groups[1];
  EXPECT_EQ(g2.tracking_identifier, "left lower lobe nodule 6 mm");
  EXPECT_TRUE(g2.referenced_segment.empty());
  ASSERT_EQ(g2.measurements.size(), 1u);
  EXPECT_NEAR(g2.measurements[0].value, 6.25, 1e-9);
  std::printf("GTV volume %.4f ml, mean %.2f HU\n", output.findings[0].volume_ml,
              output.findings[0].measurements[0].value);

  // Derived series: same geometry, values within 0.5 HU, each slice references its source.
  std::vector<std::string> derived_files;
  for (size_t i = 2; i < written->size(); ++i) derived_files.push_back((*written)[i].path);
  auto loaded = imaging::LoadSeries(derived_files);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->volume.geometry().SameGrid(image_.geometry(), 1e-3));
  EXPECT_FALSE(loaded->report.resampled);
  double max_diff = 0;
  for (size_t v = 0; v < image_.data().size(); ++v) {
    max_diff = std::max(max_diff, std::abs(double(loaded->volume.data()[v]) - output.derived[0].image.data()[v]));
  }
  EXPECT_LE(max_diff, 0.5);
  DcmFileFormat d_ff;
  ASSERT_TRUE(d_ff.loadFile(derived_files[0].c_str()).good());
  EXPECT_EQ(CountItems(*d_ff.getDataset(), DCM_SourceImageSequence), 1u);
  OFString image_type;
  d_ff.getDataset()->findAndGetOFStringArray(DCM_ImageType, image_type);
  EXPECT_EQ(image_type.substr(0, 17), "DERIVED\\SECONDARY");
}

TEST(TiltedHeadCtTest, ResampledGridStillValidatesWithSeriesLevelReferencesOnly) {
  ScratchDir dir;
  const auto files = DicomFiles(Data("dicom/ct_head_ge_tilt/dicom"));
  ASSERT_FALSE(files.empty());
  auto series = imaging::LoadSeries(files);
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  ASSERT_TRUE(series->report.resampled);
  const imaging::ImageVolume& image = series->volume;
  AppOutput output;
  SegmentOutput bone;
  bone.label = "bone";
  bone.category = {"91723000", "SCT", "Anatomical Structure"};
  bone.type = {"272673000", "SCT", "Bone"};
  bone.mask = imaging::Mask(image.geometry());
  for (size_t v = 0; v < image.data().size(); ++v) bone.mask.data()[v] = image.data()[v] > 300 ? 1 : 0;
  output.segments = {bone};
  Finding f;
  f.type = {"272673000", "SCT", "Bone"};
  f.label = "skull";
  f.segment_number = 1;
  f.volume_ml = 1.0;
  output.findings = {f};
  DerivedSeries d;
  d.series_description = "Resampled CT";
  d.derivation_description = "tilt corrected";
  d.image = image;
  output.derived = {d};
  auto written = WriteResults(output, SourceSeries{files}, TestAlgorithm(), dir.path(), 9200);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  for (const std::string& path : {(*written)[0].path, (*written)[1].path, (*written)[2].path}) {
    Validation v = Dciodvfy(path);
    EXPECT_TRUE(v.errors.empty()) << path << "\n" << Join(v.errors);
    std::printf("dciodvfy (tilted) %s: %zu errors, %zu warnings\n", fs::path(path).filename().c_str(),
                v.errors.size(), v.warnings.size());
  }
  auto back = imaging::ReadSegment((*written)[0].path, "bone", image.geometry());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->data(), bone.mask.data());

  DcmFileFormat seg_ff;
  ASSERT_TRUE(seg_ff.loadFile((*written)[0].path.c_str()).good());
  DcmDataset& ds = *seg_ff.getDataset();
  DcmItem* ref_series = nullptr;
  ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_ReferencedSeriesSequence, ref_series, 0).good());
  EXPECT_EQ(CountItems(*ref_series, DCM_ReferencedInstanceSequence), files.size());
  // A tilted stack's slices are shifted in-plane: not every resampled plane lies on a
  // source image, so no frame carries its own reference; the shared Derivation Image
  // functional group lists every source image instead.
  DcmSequenceOfItems* per_frame = nullptr;
  ASSERT_TRUE(ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame).good());
  size_t with_source = 0;
  for (unsigned long i = 0; i < per_frame->card(); ++i) {
    with_source += CountItems(*per_frame->getItem(i), DCM_DerivationImageSequence);
  }
  EXPECT_EQ(with_source, 0u);
  DcmItem* shared = nullptr;
  DcmItem* derivation = nullptr;
  ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good());
  ASSERT_TRUE(shared->findAndGetSequenceItem(DCM_DerivationImageSequence, derivation, 0).good());
  EXPECT_EQ(CountItems(*derivation, DCM_SourceImageSequence), files.size());
  EXPECT_GT(per_frame->card(), 0u);

  std::vector<std::string> derived_files;
  for (size_t i = 2; i < written->size(); ++i) derived_files.push_back((*written)[i].path);
  auto loaded = imaging::LoadSeries(derived_files);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->volume.geometry().SameGrid(image.geometry(), 1e-3));
  double max_diff = 0;
  for (size_t v = 0; v < image.data().size(); ++v) {
    max_diff = std::max(max_diff, std::abs(double(loaded->volume.data()[v]) - std::round(image.data()[v])));
  }
  EXPECT_LE(max_diff, 0.5);
}

TEST_F(PatientOneTest, SegmentsWithoutFindingsGetOneGroupEachAndFindingsAloneNoSeg) {
  ScratchDir dir;
  AppOutput output = LungOutput(mask_, image_);
  output.findings.clear();
  output.derived.clear();
  auto written = WriteResults(output, SourceSeries{files_}, TestAlgorithm(), dir.path() + "/a", 10);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 2u);
  auto doc = ReadMeasurementReport((*written)[1].path);
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->groups.size(), 2u);
  EXPECT_EQ(doc->groups[1].tracking_identifier, "dense tissue");
  EXPECT_EQ(doc->groups[1].referenced_segment, (*written)[0].sop_instance_uid + "#2");

  // Findings only: no SEG; a finding naming a segment falls back to a TID 1501 group.
  AppOutput findings_only = LungOutput(mask_, image_);
  findings_only.segments.clear();
  findings_only.derived.clear();
  written = WriteResults(findings_only, SourceSeries{files_}, TestAlgorithm(), dir.path() + "/b", 20);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 1u);
  EXPECT_EQ((*written)[0].kind, "sr");
  Validation v = Dciodvfy((*written)[0].path);
  EXPECT_TRUE(v.errors.empty()) << Join(v.errors);
  doc = ReadMeasurementReport((*written)[0].path);
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->groups.size(), 2u);
  EXPECT_TRUE(doc->groups[0].referenced_segment.empty());
  EXPECT_EQ(doc->groups[0].measurements.size(), 3u);
}

TEST_F(PatientOneTest, RejectsBadInput) {
  ScratchDir dir;
  SegmentOutput s;
  s.label = "GTV-1";
  s.category = {"49755003", "SCT", "Morphologically Altered Structure"};
  s.type = {"4147007", "SCT", "Mass"};
  s.mask = imaging::Mask(image_.geometry());  // empty
  const std::string path = dir.path() + "/seg.dcm";
  EXPECT_EQ(WriteSegmentation({}, SourceSeries{files_}, TestAlgorithm(), path, 1).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(WriteSegmentation({s}, SourceSeries{files_}, TestAlgorithm(), path, 1).status().code(),
            ErrorCode::kInvalidArgument);  // every segment empty
  s.mask = mask_;
  SegmentOutput other = s;
  other.mask.geometry().spacing[2] = 1.5;
  EXPECT_EQ(WriteSegmentation({s, other}, SourceSeries{files_}, TestAlgorithm(), path, 1).status().code(),
            ErrorCode::kInvalidArgument);  // not on one grid
  s.type = {};
  EXPECT_EQ(WriteSegmentation({s}, SourceSeries{files_}, TestAlgorithm(), path, 1).status().code(),
            ErrorCode::kInvalidArgument);  // no type code
  EXPECT_EQ(WriteMeasurementReport({}, SourceSeries{{"/nonexistent.dcm"}}, TestAlgorithm(), nullptr,
                                   path, 1).status().code(),
            ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace radflow::ai
