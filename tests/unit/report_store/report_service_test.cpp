// reporting::ReportService over real stores on a scratch data directory: its pure helpers,
// a draft of a real chest CT (Lung-PET-CT-Dx A0001, stored through IngestService) signed
// into an SR with its outbox row and follow-ups, and the HL7 handler's acknowledgments.
// The network side (MLLP peers, REST) is tests/integration/test_reports.py.
#include "reporting/report_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "../test_data.h"
#include "base/clock.h"
#include "hl7/message.h"
#include "ingest/ingest_service.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"
#include "storage/lesion_store.h"
#include "storage/report_store.h"
#include "support/store_backend.h"

namespace radflow::reporting {
namespace {

TEST(ReportingHelpers, ParseReceiver) {
  auto ok = ParseReceiver("ris.example.org:2575");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->first, "ris.example.org");
  EXPECT_EQ(ok->second, 2575);
  for (const char* bad : {"ris", "ris:", ":2575", "ris:0", "ris:65536", "ris:25x5"}) {
    auto r = ParseReceiver(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(ReportingHelpers, RetryDelayDoublesUpToTheMaximum) {
  EXPECT_EQ(RetryDelayMs(1, 1000, 60000), 1000);
  EXPECT_EQ(RetryDelayMs(2, 1000, 60000), 2000);
  EXPECT_EQ(RetryDelayMs(6, 1000, 60000), 32000);
  EXPECT_EQ(RetryDelayMs(7, 1000, 60000), 60000);
  EXPECT_EQ(RetryDelayMs(500, 1000, 60000), 60000);  // no overflow
  EXPECT_EQ(RetryDelayMs(0, 1000, 60000), 1000);
}

TEST(ReportingHelpers, SrFindingIdsAreNegativeStableAndJsonSafe) {
  const int64_t a = SrFindingId("1.2.3.4", 0);
  EXPECT_LT(a, 0);
  EXPECT_GE(a, -(int64_t{1} << 53));
  EXPECT_EQ(a, SrFindingId("1.2.3.4", 0));
  EXPECT_NE(a, SrFindingId("1.2.3.4", 1));
  EXPECT_NE(a, SrFindingId("1.2.3.5", 0));
}

TEST(ReportingHelpers, DraftOfTheEditorsDocument) {
  storage::ReportRow row;
  row.template_id = "ct-chest";
  row.content_json =
      R"({"fields": {"size": 8.5, "count": 2, "solid": true, "lobes": ["RUL", "RML"], "site": "right upper lobe",)"
      R"( "none": null}, "sections": {"comparison": "None."}})";
  row.findings_text = "A nodule.";
  row.critical_communicated = "Discussed with Dr X at 14:05.";
  report::Draft d = DraftOf(row);
  EXPECT_EQ(d.template_id, "ct-chest");
  EXPECT_EQ(d.fields.at("size"), "8.5");
  EXPECT_EQ(d.fields.at("count"), "2");
  EXPECT_EQ(d.fields.at("solid"), "true");
  EXPECT_EQ(d.fields.at("lobes"), "RUL, RML");
  EXPECT_EQ(d.fields.at("site"), "right upper lobe");
  EXPECT_EQ(d.fields.count("none"), 0u);
  EXPECT_EQ(d.findings_text, "A nodule.");
  EXPECT_EQ(d.critical_communicated, "Discussed with Dr X at 14:05.");
  EXPECT_EQ(ContentSections(row.content_json).at("comparison"), "None.");
  EXPECT_TRUE(ContentFields("not json").empty());
  EXPECT_TRUE(ContentFields(R"({"fields": []})").empty());
}

class ReportServiceTest : public ::testing::TestWithParam<::radflow::storage::Backend> {
 protected:
  void SetUp() override {
    const std::string data = dir_.str();
    location_ = radflow::testing::NewEmptyLocation(GetParam(), data + "/index.db");
    ASSERT_FALSE(location_.empty());
    auto blobs = storage::BlobStore::Open(data + "/blobs");
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::make_unique<storage::FolderBlobStore>(std::move(blobs.value()));
    auto index = storage::Index::Open(location_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index.value());
    auto jobs = storage::JobStore::Open(location_);
    ASSERT_TRUE(jobs.ok());
    jobs_ = std::move(jobs.value());
    auto lesions = storage::LesionStore::Open(location_);
    ASSERT_TRUE(lesions.ok());
    lesions_ = std::move(lesions.value());
    auto store = storage::ReportStore::Open(location_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store.value());
    ingest_ = std::make_unique<ingest::IngestService>(*blobs_, *index_, ingest::IngestOptions{});
  }

  void StartService(std::vector<std::string> receivers = {}) {
    ReportingOptions options;
    options.template_folders = {std::string(RADFLOW_SOURCE_DIR) + "/templates"};
    options.hl7_receivers = std::move(receivers);
    options.retry_initial_ms = 50;
    options.retry_max_ms = 200;
    options.send_timeout_ms = 1000;
    service_ = std::make_unique<ReportService>(
        ReportService::Deps{*index_, *blobs_, *ingest_, *jobs_, *lesions_, *store_}, options);
    ASSERT_TRUE(service_->Start().ok());
  }

  // Stores the first n slices of the real chest CT; returns the study UID.
  std::string StoreChestCt(size_t n) {
    std::string study;
    auto files = radflow::testing::ChestCtFiles();
    for (size_t i = 0; i < n && i < files.size(); ++i) {
      const std::string temp = ingest_->NewTempPath();
      std::filesystem::copy_file(files[i], temp);
      auto stored = ingest_->Store(temp, ingest::Origin{});
      EXPECT_TRUE(stored.ok()) << stored.status().ToString();
      if (stored.ok()) study = stored->study_instance_uid;
    }
    return study;
  }

  radflow::testing::ScratchDir dir_;
  std::string location_;  // SQLite file or PostgreSQL database (support/store_backend.h)
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::JobStore> jobs_;
  std::unique_ptr<storage::LesionStore> lesions_;
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<ingest::IngestService> ingest_;
  std::unique_ptr<ReportService> service_;
};

RADFLOW_BOTH_BACKENDS(ReportServiceTest);

TEST_P(ReportServiceTest, UnknownStudiesAndFindings) {
  StartService();
  EXPECT_EQ(service_->Study("1.2.3.404").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(service_->Study("1.2.*").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateDraft("1.2.3.404", "", "dr.a").status().code(), ErrorCode::kNotFound);
  DecisionInput in;
  in.decision = "accepted";
  EXPECT_EQ(service_->Decide(12345, in, "dr.a").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(service_->Decide(-12345, in, "dr.a").status().code(), ErrorCode::kNotFound);
  in.decision = "edited";
  auto edited = service_->Decide(12345, in, "dr.a");
  EXPECT_EQ(edited.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(edited.status().message().find("values"), std::string::npos);
}

TEST_P(ReportServiceTest, DraftSignedIntoAnSrWithOutboxAndFollowups) {
  // Nothing listens on port 1: the message stays pending, retried.
  StartService({"127.0.0.1:1"});
  const std::string study = StoreChestCt(3);
  ASSERT_FALSE(study.empty());
  auto created = service_->CreateDraft(study, "", "dr.a");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->report.template_id, "ct-chest");
  EXPECT_EQ(created->report.patient_id, "Lung_Dx-A0001");
  storage::ReportRow content;
  content.content_json = R"({"fields": {}, "sections": {}})";
  content.findings_text = "Left upper lobe mass.";
  content.impression_text = "Recommend PET/CT in 2 weeks.";
  auto saved = service_->Save(created->report.id, 0, content);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(service_->Sign(created->report.id, "final", "", {}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->Sign(created->report.id, "done", "dr.a", {}).status().code(), ErrorCode::kInvalidArgument);
  auto signed_report = service_->Sign(created->report.id, "final", "dr.a", {});
  ASSERT_TRUE(signed_report.ok()) << signed_report.status().ToString();
  ASSERT_TRUE(signed_report->blocking.empty());
  EXPECT_EQ(signed_report->row.status, "final");
  EXPECT_FALSE(signed_report->row.sr_sop_uid.empty());
  auto sr = index_->FindInstance(signed_report->row.sr_sop_uid);
  ASSERT_TRUE(sr.ok() && sr->has_value());
  EXPECT_EQ(sr->value().study_uid, study);
  ASSERT_EQ(signed_report->delivery.size(), 1u);
  EXPECT_EQ(signed_report->delivery[0].result_status, "F");
  EXPECT_EQ(signed_report->delivery[0].receiver, "127.0.0.1:1");
  auto parsed = hl7::Parse(signed_report->delivery[0].message);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->Type().substr(0, 7), "ORU^R01");
  EXPECT_EQ(parsed->ControlId(), signed_report->delivery[0].control_id);

  // Retried with backoff, still pending (at-least-once: never given up on a dead peer). The
  // 10 s deadline is a hang guard, not a timing claim.
  const int64_t deadline = UnixMillis() + 10000;
  std::vector<storage::OutboxRow> rows;
  while (UnixMillis() < deadline) {
    rows = service_->Delivery(created->report.id).value();
    if (rows[0].attempts >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(rows[0].attempts, 3);
  EXPECT_EQ(rows[0].state, "pending");
  EXPECT_FALSE(rows[0].last_error.empty());

  storage::FollowupFilter f;
  auto fus = service_->Followups(f);
  ASSERT_TRUE(fus.ok());
  ASSERT_EQ(fus->size(), 1u);
  EXPECT_EQ(fus->front().row.modality, "PT");
  EXPECT_EQ(fus->front().row.interval_max_days, 14);
  EXPECT_EQ(fus->front().row.report_id, created->report.id);

  // Signed: no autosave, no second signature; an addendum is version 2.
  EXPECT_EQ(service_->Save(created->report.id, 1, content).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(service_->Sign(created->report.id, "final", "dr.a", {}).status().code(), ErrorCode::kConflict);
  auto addendum = service_->Addendum(created->report.id, "dr.b");
  ASSERT_TRUE(addendum.ok()) << addendum.status().ToString();
  EXPECT_EQ(addendum->version, 2);
  // FHIR of the signed report; none of the draft.
  auto dr = service_->FhirDiagnosticReport(created->report.id, "http://x/api/v1/fhir");
  ASSERT_TRUE(dr.ok()) << dr.status().ToString();
  EXPECT_NE(dr->find("\"DiagnosticReport\""), std::string::npos);
  EXPECT_EQ(service_->FhirDiagnosticReport(addendum->id, "").status().code(), ErrorCode::kNotFound);
  service_->Stop();
}

TEST_P(ReportServiceTest, Hl7AcknowledgmentsNameWhatIsWrong) {
  StartService();
  const std::string oru =
      "MSH|^~\\&|RIS|OUT|RADFLOW|RADFLOW|20250101120000||ORU^R01^ORU_R01|C1|P|2.5.1\r"
      "PID|1||P9^^^OUT^MR||Doe^Jane\r"
      "OBR|1||F1^OUT|18748-4^Diagnostic imaging study^LN|||20250101100000|||||||||||A9||||||RAD|F\r"
      "OBX|1|TX|19005-8^Impressions^LN|1|Recommend ultrasound of the abdomen in 6 months.||||||F\r";
  auto ack = hl7::Parse(service_->HandleHl7(oru));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AA");
  EXPECT_EQ(ack->Find("MSA")->Get(2), "C1");
  auto reports = service_->PatientReports("P9", "");
  ASSERT_TRUE(reports.ok());
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ(reports->front().origin, "hl7");
  EXPECT_EQ(reports->front().accession_number, "A9");
  EXPECT_EQ(reports->front().study_uid, "");  // no study with that accession
  // Resent: the same report.
  ack = hl7::Parse(service_->HandleHl7(oru));
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AA");
  EXPECT_EQ(service_->PatientReports("P9", "")->size(), 1u);
  storage::FollowupFilter f;
  f.patient_id = "P9";
  auto fus = service_->Followups(f);
  ASSERT_EQ(fus->size(), 1u);
  EXPECT_EQ(fus->front().row.modality, "US");
  EXPECT_EQ(fus->front().row.base_date, "20250101");

  std::string no_pid3 = oru;
  no_pid3.replace(no_pid3.find("P9^^^OUT^MR"), 11, "");
  ack = hl7::Parse(service_->HandleHl7(no_pid3));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AE");
  ASSERT_NE(ack->Find("ERR"), nullptr);
  EXPECT_EQ(ack->Find("ERR")->Get(2, 1), "PID");
  EXPECT_EQ(ack->Find("ERR")->Get(2, 3), "3");

  ack = hl7::Parse(service_->HandleHl7("MSH|^~\\&|RIS|OUT|RADFLOW|RADFLOW|20250101||ADT^A01|C2|P|2.5.1\rPID|1||P9\r"));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AR");
  EXPECT_EQ(ack->Find("ERR")->Get(2, 1), "MSH");

  ack = hl7::Parse(service_->HandleHl7("this is not HL7"));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AR");
}

}  // namespace
}  // namespace radflow::reporting
