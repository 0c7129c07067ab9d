// ResearchService end to end on real data (docs/research.md): the dcmqi liver CT (3 real GE
// slices) and its SEG stored in a hub, a cohort of it, an export written with progress — the
// layout, the NIfTI image and mask against imaging's own readers, the manifest's hashes,
// stable pseudonyms, no original identifier in any byte — and the same through the
// background export thread.
#include "research/research.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../test_data.h"
#include "imaging/nifti_io.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"
#include "research/export_files.h"
#include "server/hub.h"

namespace radflow::research {
namespace {

namespace fs = std::filesystem;

const std::string kDcmqi = radflow::testing::DataPath("seg_sr/dcmqi/data/segmentations");

std::vector<std::string> LiverCt() {
  return {kDcmqi + "/ct-3slice/01.dcm", kDcmqi + "/ct-3slice/02.dcm", kDcmqi + "/ct-3slice/03.dcm"};
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hub = server::Hub::Open(dir_.str() + "/data");
    ASSERT_TRUE(hub.ok()) << hub.status().ToString();
    hub_ = std::move(hub.value());
    for (const auto& f : LiverCt()) Store(f);
    Store(kDcmqi + "/liver.dcm");
    ResearchConfig config;
    config.data_dir = dir_.str() + "/data";
    config.audit = [this](const audit::AuditEvent& e) { events_.push_back(e); };
    auto r = ResearchService::Open(*hub_->index, *hub_->blobs, config);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    research_ = std::move(r.value());
  }
  void Store(const std::string& path) {
    auto s = hub_->ingest->StoreBytes(Read(path), {});
    ASSERT_TRUE(s.ok()) << path << ": " << s.status().ToString();
  }

  radflow::testing::ScratchDir dir_;
  std::unique_ptr<server::Hub> hub_;
  std::unique_ptr<ResearchService> research_;
  std::vector<audit::AuditEvent> events_;
};

TEST_F(ExportTest, WritesTheLayoutWithProgressAndNoIdentifiers) {
  auto cohort = research_->CreateCohort("liver", "", ParseCriteria(R"({"modality":["CT"]})").value(), "rita");
  ASSERT_TRUE(cohort.ok()) << cohort.status().ToString();
  EXPECT_EQ(cohort->counts.patients, 1);
  EXPECT_EQ(cohort->counts.series, 2);  // the CT and the SEG on its frame of reference
  EXPECT_EQ(cohort->counts.instances, 4);

  ExportRequest request;
  request.cohort = "liver";
  std::vector<std::pair<int64_t, int64_t>> progress;
  const std::string out = dir_.str() + "/out";
  auto manifest_text = research_->ExportNow(request, out, {"rita", "researcher", "", "cli"},
                                            [&](int64_t done, int64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(manifest_text.ok()) << manifest_text.status().ToString();
  // 4 instances de-identified, 1 image series + 1 SEG series as NIfTI, findings.csv, manifest.json.
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front(), std::make_pair(int64_t{0}, int64_t{8}));
  EXPECT_EQ(progress.back(), std::make_pair(int64_t{8}, int64_t{8}));
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_EQ(progress[i].first, progress[i - 1].first + 1);

  auto manifest = nlohmann::json::parse(manifest_text.value());
  EXPECT_EQ(manifest["contents"]["dicom_files"], 4);
  EXPECT_EQ(manifest["contents"]["nifti_images"], 1);
  EXPECT_EQ(manifest["contents"]["nifti_masks"], 1);
  EXPECT_EQ(manifest["contents"]["findings_rows"], 0);
  EXPECT_EQ(Read(out + "/manifest.json"), manifest_text.value());
  auto files = ListFiles(out);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), manifest["files"].size() + 1);
  std::string image, mask;
  for (const auto& f : manifest["files"]) {
    const std::string path = out + "/" + f["path"].get<std::string>();
    EXPECT_EQ(Sha256File(path).value(), f["sha256"]) << path;
    EXPECT_EQ(fs::file_size(path), f["size"].get<uint64_t>()) << path;
    const std::string rel = f["path"];
    if (rel.rfind("nifti/", 0) == 0) (rel.find("_seg_") != std::string::npos ? mask : image) = path;
  }
  ASSERT_FALSE(image.empty());
  ASSERT_FALSE(mask.empty());

  // The NIfTI image is the CT as imaging loads it; the mask is the SEG's segment on its grid.
  auto ct = imaging::LoadSeries(LiverCt());
  ASSERT_TRUE(ct.ok());
  auto nii = imaging::ReadNifti(image);
  ASSERT_TRUE(nii.ok()) << nii.status().ToString();
  EXPECT_TRUE(nii->geometry().SameGrid(ct->volume.geometry(), 1e-3));
  EXPECT_EQ(nii->data(), ct->volume.data());
  auto seg = imaging::ReadSegment(kDcmqi + "/liver.dcm", "", ct->volume.geometry());
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  auto nii_mask = imaging::ReadNiftiMask(mask);
  ASSERT_TRUE(nii_mask.ok());
  EXPECT_EQ(nii_mask->data(), seg->data());
  size_t inside = 0;
  for (auto v : seg->data()) inside += v != 0;
  EXPECT_GT(inside, 1000u);

  // No original identifier anywhere (NIfTI files are gzip: their header fields are ours).
  for (const auto& rel : files.value()) {
    const std::string bytes = Read(out + "/" + rel);
    for (const char* original : {"JANCT000", "03086212", "20030417", "1.2.392.200103.20080913.113635",
                                 "1.2.276.0.7230010.3.1.3.0.42154.1458337731.665795"}) {
      EXPECT_EQ(bytes.find(original), std::string::npos) << rel << " holds " << original;
    }
    EXPECT_EQ(rel.find("99000"), std::string::npos) << rel;
  }

  // Pseudonyms are stable: a second export has the same file names.
  ASSERT_TRUE(research_->ExportNow(request, dir_.str() + "/again", {"rita", "", "", "cli"}, {}).ok());
  auto again = ListFiles(dir_.str() + "/again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), files.value());
  // A non-empty folder is refused.
  EXPECT_EQ(research_->ExportNow(request, out, {}, {}).status().code(), ErrorCode::kConflict);

  ASSERT_GE(events_.size(), 2u);
  EXPECT_EQ(events_[0].event, "export");
  EXPECT_EQ(events_[0].user, "rita");
  EXPECT_EQ(events_[0].interface, "cli");
  EXPECT_TRUE(events_[0].success);
  EXPECT_NE(events_[0].detail.find("cohort 'liver' version 1"), std::string::npos) << events_[0].detail;
}

TEST_F(ExportTest, QueuedExportsRunOnTheThread) {
  ASSERT_TRUE(research_->CreateCohort("liver", "", Criteria{}, "rita").ok());
  ExportRequest bad;
  bad.cohort = "liver";
  bad.formats = {"png"};
  EXPECT_EQ(research_->QueueExport(bad, {}).status().code(), ErrorCode::kInvalidArgument);
  bad.formats = {"csv"};
  bad.version = 2;
  EXPECT_EQ(research_->QueueExport(bad, {}).status().code(), ErrorCode::kNotFound);

  ExportRequest request;
  request.cohort = "liver";
  request.formats = {"nifti", "csv"};
  auto row = research_->QueueExport(request, {"rita", "researcher", "127.0.0.1", "http"});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->status, "queued");
  research_->Start();
  std::optional<storage::ExportRow> e;
  for (int i = 0; i < 300; ++i) {
    e = research_->Export(row->id).value();
    if (e && (e->status == "done" || e->status == "failed")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, "done") << e->error;
  EXPECT_EQ(e->done, e->total);
  EXPECT_EQ(e->total, 4 + 2 + 1 + 1);  // de-identified to staging, 2 NIfTI steps, csv, manifest
  const std::string folder = research_->ExportFolder(row->id);
  EXPECT_TRUE(fs::exists(folder + "/manifest.json"));
  EXPECT_TRUE(fs::exists(folder + "/findings.csv"));
  EXPECT_FALSE(fs::exists(folder + "/dicom"));     // not asked for
  EXPECT_FALSE(fs::exists(folder + "/.staging"));  // removed
  research_->Stop();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].source, "127.0.0.1");
  EXPECT_EQ(events_[0].role, "researcher");
}

}  // namespace
}  // namespace radflow::research
