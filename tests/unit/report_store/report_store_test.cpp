// storage::ReportStore on a database migrated by storage::Index (007_reports.sql), on SQLite and on
// PostgreSQL (support/store_backend.h).
#include "storage/report_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../test_data.h"
#include "base/clock.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::storage {
namespace {

class ReportStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    index_.reset();
    auto idx = Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = ReportStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  const std::string& path() const { return location_; }

  ReportRow Draft(const std::string& study = "1.2.3") {
    ReportRow r;
    r.study_uid = study;
    r.patient_id = "P1";
    r.issuer_of_patient_id = "NORTH";
    r.accession_number = "A1";
    r.template_id = "ct-chest";
    r.content_json = R"({"fields":{"nodule_size":"8"},"sections":{}})";
    r.findings_text = "A nodule.";
    r.author = "dr.a";
    return r;
  }

  // Creates and signs a draft of `study`; returns the signed row.
  ReportRow Signed(const std::string& study, const std::string& status, std::vector<FollowupRow> followups = {},
                   std::vector<OutboxRow> outbox = {}) {
    auto c = store_->CreateDraft(Draft(study));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Signature sig;
    sig.report_id = c->report.id;
    sig.expected_status = c->report.status;
    sig.expected_revision = c->report.revision;
    sig.status = status;
    sig.signed_by = "dr.a";
    sig.followups = std::move(followups);
    sig.outbox = std::move(outbox);
    auto s = store_->Sign(sig);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s.value() : ReportRow{};
  }

  static FollowupRow Rec(const std::string& due, const std::string& modality = "CT") {
    FollowupRow f;
    f.study_uid = "1.2.3";
    f.patient_id = "P1";
    f.issuer_of_patient_id = "NORTH";
    f.finding = "nodule";
    f.modality = modality;
    f.body_region = "chest";
    f.interval_min_days = 90;
    f.interval_max_days = 90;
    f.text = "CT chest in 3 months.";
    f.base_date = "20260101";
    f.due_date = due;
    return f;
  }

  static OutboxRow Msg(const std::string& receiver, const std::string& status) {
    OutboxRow o;
    o.receiver = receiver;
    o.control_id = "C" + status;
    o.result_status = status;
    o.message = "MSH|^~\\&|RADFLOW\r";
    return o;
  }

  static FollowupFilter ByState(const std::string& state, const std::string& today = "") {
    FollowupFilter f;
    f.state = state;
    f.today = today;
    return f;
  }
  static FollowupFilter OfPatient(const std::string& id, const std::string& issuer) {
    FollowupFilter f;
    f.patient_id = id;
    f.issuer_of_patient_id = issuer;
    return f;
  }
  static DecisionFilter ByReader(const std::string& reader) {
    DecisionFilter f;
    f.reader = reader;
    return f;
  }
  static DecisionFilter Since(int64_t since) {
    DecisionFilter f;
    f.since = since;
    return f;
  }
  static DecisionFilter Newest(int limit) {
    DecisionFilter f;
    f.limit = limit;
    return f;
  }

  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<ReportStore> store_;
};

RADFLOW_BOTH_BACKENDS(ReportStoreTest);

TEST_P(ReportStoreTest, OpenNeedsTheMigratedIndex) {
  // SQLite: no file; PostgreSQL: a database without the tables.
  auto missing = ReportStore::Open(radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/nothing.db"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), GetParam() == Backend::kSqlite ? ErrorCode::kNotFound : ErrorCode::kDatabaseError)
      << missing.status().ToString();
}

TEST_P(ReportStoreTest, CreateDraftReturnsTheOpenDraftTheSecondTime) {
  auto a = store_->CreateDraft(Draft());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->created);
  EXPECT_GT(a->report.id, 0);
  EXPECT_EQ(a->report.version, 1);
  EXPECT_EQ(a->report.status, "draft");
  EXPECT_EQ(a->report.revision, 0);
  auto b = store_->CreateDraft(Draft());
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->created);
  EXPECT_EQ(b->report.id, a->report.id);
  auto none = store_->CreateDraft(ReportRow{});
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ReportStoreTest, AutosaveChecksTheRevisionAndSurvivesAReopen) {
  auto a = store_->CreateDraft(Draft());
  ASSERT_TRUE(a.ok());
  ReportRow content;
  content.content_json = R"({"fields":{"nodule_size":"9"},"sections":{"findings":"x"}})";
  content.findings_text = "A 9 mm nodule.";
  content.impression_text = "Lung-RADS 4A.";
  auto saved = store_->SaveDraft(a->report.id, 0, content);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(saved->revision, 1);
  auto stale = store_->SaveDraft(a->report.id, 0, content);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
  EXPECT_NE(stale.status().message().find("stored: 1"), std::string::npos) << stale.status().message();
  EXPECT_EQ(store_->SaveDraft(999, 0, content).status().code(), ErrorCode::kNotFound);

  Reopen();
  auto back = store_->Get(a->report.id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(back->value().content_json, content.content_json);
  EXPECT_EQ(back->value().findings_text, "A 9 mm nodule.");
  EXPECT_EQ(back->value().impression_text, "Lung-RADS 4A.");
  EXPECT_EQ(back->value().template_id, "ct-chest");  // kept: the save named none
  EXPECT_EQ(back->value().revision, 1);
}

TEST_P(ReportStoreTest, SignWritesOutboxAndFollowupsInOneTransaction) {
  auto signed_row = Signed("1.2.3", "preliminary", {Rec("20260401")}, {Msg("h:1", "P"), Msg("h:2", "P")});
  EXPECT_EQ(signed_row.status, "preliminary");
  EXPECT_EQ(signed_row.signed_by, "dr.a");
  EXPECT_GT(signed_row.signed_at, 0);
  auto outbox = store_->Outbox(signed_row.id);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 2u);
  EXPECT_EQ((*outbox)[0].state, "pending");
  EXPECT_EQ((*outbox)[0].report_id, signed_row.id);
  auto f = store_->Followups({});
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].report_id, signed_row.id);
  EXPECT_EQ((*f)[0].interval_max_days, 90);

  // Autosave of a signed report: Conflict. Preliminary → final, follow-ups replaced.
  EXPECT_EQ(store_->SaveDraft(signed_row.id, signed_row.revision, Draft()).status().code(), ErrorCode::kConflict);
  Signature fin;
  fin.report_id = signed_row.id;
  fin.expected_status = "preliminary";
  fin.expected_revision = signed_row.revision;
  fin.status = "final";
  fin.signed_by = "dr.b";
  fin.followups = {Rec("20260402")};
  auto final_row = store_->Sign(fin);
  ASSERT_TRUE(final_row.ok()) << final_row.status().ToString();
  EXPECT_EQ(final_row->status, "final");
  EXPECT_EQ(final_row->signed_by, "dr.b");
  f = store_->Followups({});
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].due_date, "20260402");
  // A second final signature is refused.
  fin.expected_status = "final";
  EXPECT_EQ(store_->Sign(fin).status().code(), ErrorCode::kConflict);
}

TEST_P(ReportStoreTest, SignRefusesAChangedDraftAndABadFollowup) {
  auto a = store_->CreateDraft(Draft());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store_->SaveDraft(a->report.id, 0, Draft()).ok());
  Signature sig;
  sig.report_id = a->report.id;
  sig.expected_status = "draft";
  sig.expected_revision = 0;  // QA ran on revision 0; the draft is at 1 now
  sig.status = "final";
  sig.signed_by = "dr.a";
  EXPECT_EQ(store_->Sign(sig).status().code(), ErrorCode::kConflict);
  sig.expected_revision = 1;
  sig.followups = {Rec("20260101", "XX")};
  EXPECT_EQ(store_->Sign(sig).status().code(), ErrorCode::kInvalidArgument);
  sig.followups.clear();
  sig.signed_by.clear();
  EXPECT_EQ(store_->Sign(sig).status().code(), ErrorCode::kInvalidArgument);
  // Nothing was written by the refusals.
  auto row = store_->Get(a->report.id);
  EXPECT_EQ(row->value().status, "draft");
}

TEST_P(ReportStoreTest, AddendumIsANewVersionAndSupersedesOnSigning) {
  auto v1 = Signed("1.2.3", "final", {Rec("20260401")});
  auto add = store_->CreateAddendum(v1.id, "dr.c", 0);
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_EQ(add->version, 2);
  EXPECT_EQ(add->status, "draft");
  EXPECT_EQ(add->content_json, v1.content_json);
  EXPECT_EQ(add->author, "dr.c");
  // One open draft at a time; a draft takes no addendum.
  EXPECT_EQ(store_->CreateAddendum(v1.id, "dr.c", 0).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->CreateAddendum(add->id, "dr.c", 0).status().code(), ErrorCode::kConflict);
  // CreateDraft returns the addendum draft.
  auto again = store_->CreateDraft(Draft());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->report.id, add->id);

  Signature sig;
  sig.report_id = add->id;
  sig.expected_status = "draft";
  sig.status = "final";
  sig.signed_by = "dr.c";
  sig.followups = {Rec("20260501")};
  ASSERT_TRUE(store_->Sign(sig).ok());
  auto list = store_->StudyReports("1.2.3");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, add->id);  // newest first
  EXPECT_FALSE((*list)[0].superseded);
  EXPECT_TRUE((*list)[1].superseded);
  // The old version's pending follow-up gave way to the new one's.
  auto closed = store_->Followups(ByState("closed"));
  ASSERT_EQ(closed->size(), 1u);
  EXPECT_EQ((*closed)[0].closed_reason, "superseded by version 2");
  auto pending = store_->Followups(ByState("pending"));
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].report_id, add->id);
  // The old version is not the newest any more.
  EXPECT_EQ(store_->CreateAddendum(v1.id, "dr.c", 0).status().code(), ErrorCode::kConflict);
}

TEST_P(ReportStoreTest, ExternalReportsDeduplicateAndCorrect) {
  ReportRow ext;
  ext.origin = "hl7";
  ext.status = "final";
  ext.patient_id = "P1";
  ext.accession_number = "OLD1";
  ext.study_uid = "1.2.2";
  ext.external_id = "F100";
  ext.findings_text = "Old report.";
  auto a = store_->InsertExternal(ext, {Rec("20250101")});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->created);
  auto resent = store_->InsertExternal(ext, {Rec("20250101")});
  ASSERT_TRUE(resent.ok());
  EXPECT_FALSE(resent->created);
  EXPECT_EQ(resent->report.id, a->report.id);
  ext.findings_text = "Old report, corrected.";
  auto corrected = store_->InsertExternal(ext, {});
  ASSERT_TRUE(corrected.ok());
  EXPECT_TRUE(corrected->created);
  EXPECT_EQ(corrected->report.version, 2);
  auto list = store_->StudyReports("1.2.2");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE((*list)[1].superseded);
  EXPECT_EQ(store_->Followups(ByState("pending"))->size(), 0u);  // closed by the correction
  // By patient (the issuer of the report is empty: any issuer matches).
  EXPECT_EQ(store_->PatientReports("P1", "NORTH")->size(), 2u);
  EXPECT_EQ(store_->PatientReports("P2", "")->size(), 0u);
  ext.status = "draft";
  EXPECT_EQ(store_->InsertExternal(ext, {}).status().code(), ErrorCode::kInvalidArgument);
  ext.status = "final";
  ext.origin = "radflow";
  EXPECT_EQ(store_->InsertExternal(ext, {}).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ReportStoreTest, DecisionsKeepTheirHistoryAndTheNewestIsCurrent) {
  DecisionRow d;
  d.finding_id = 7;
  d.study_uid = "1.2.3";
  d.app_id = "ct-lung-lesions";
  d.app_version = "1.0";
  d.decision = "accepted";
  d.reader = "dr.a";
  d.at = 1000;
  ASSERT_TRUE(store_->AddDecision(d).ok());
  d.decision = "edited";
  d.values_json = R"({"nodule_size":"7"})";
  d.at = 2000;
  auto edited = store_->AddDecision(d);
  ASSERT_TRUE(edited.ok());
  EXPECT_GT(edited->id, 0);
  d.finding_id = -1;
  d.decision = "rejected";
  d.reason = "artefact";
  d.reader = "dr.b";
  d.at = 3000;
  ASSERT_TRUE(store_->AddDecision(d).ok());
  auto current = store_->CurrentDecisions("1.2.3");
  ASSERT_TRUE(current.ok());
  ASSERT_EQ(current->size(), 2u);
  EXPECT_EQ((*current)[0].finding_id, -1);
  EXPECT_EQ((*current)[0].reason, "artefact");
  EXPECT_EQ((*current)[1].decision, "edited");
  EXPECT_EQ((*current)[1].values_json, R"({"nodule_size":"7"})");
  auto as_of = store_->CurrentDecisions("1.2.3", 1500);
  ASSERT_EQ(as_of->size(), 1u);
  EXPECT_EQ((*as_of)[0].decision, "accepted");
  EXPECT_EQ(store_->Decisions({})->size(), 3u);
  EXPECT_EQ(store_->Decisions(ByReader("dr.b"))->size(), 1u);
  EXPECT_EQ(store_->Decisions(Since(2000))->size(), 2u);
  auto newest = store_->Decisions(Newest(1));
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].reader, "dr.b");
  d.decision = "maybe";
  EXPECT_EQ(store_->AddDecision(d).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(ReportStoreTest, OutboxDeliversInOrderPerReceiverWithRetries) {
  auto r = Signed("1.2.3", "preliminary", {}, {Msg("a:1", "P"), Msg("b:2", "P")});
  Signature fin;
  fin.report_id = r.id;
  fin.expected_status = "preliminary";
  fin.status = "final";
  fin.signed_by = "dr.a";
  fin.outbox = {Msg("a:1", "F")};
  ASSERT_TRUE(store_->Sign(fin).ok());
  auto due = store_->DueOutbox(UnixMillis());
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);  // a:1's P (its F waits), b:2's P
  EXPECT_EQ((*due)[0].result_status, "P");
  EXPECT_EQ((*due)[1].receiver, "b:2");
  // a:1 is down: retried later; its F stays behind its P.
  const int64_t later = UnixMillis() + 60000;
  ASSERT_TRUE(store_->OutboxFailed((*due)[0].id, "connection refused", "", later, false).ok());
  ASSERT_TRUE(store_->OutboxSent((*due)[1].id, "MSA|AA|x", UnixMillis()).ok());
  EXPECT_EQ(store_->DueOutbox(UnixMillis())->size(), 0u);
  auto next = store_->NextOutboxAttempt();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(next->value(), later);
  Reopen();  // durable
  due = store_->DueOutbox(later);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].result_status, "P");
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "connection refused");
  ASSERT_TRUE(store_->OutboxSent((*due)[0].id, "MSA|AA|y", later).ok());
  due = store_->DueOutbox(later);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].result_status, "F");
  ASSERT_TRUE(store_->OutboxFailed((*due)[0].id, "AR", "MSA|AR|z", later, true).ok());
  EXPECT_EQ(store_->DueOutbox(later)->size(), 0u);
  EXPECT_FALSE(store_->NextOutboxAttempt()->has_value());
  auto all = store_->Outbox(r.id);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].state, "sent");
  EXPECT_EQ((*all)[1].state, "sent");
  EXPECT_EQ((*all)[2].state, "failed");
}

TEST_P(ReportStoreTest, FollowupsOverdueSatisfiedClosed) {
  Signed("1.2.3", "final", {Rec("20260401"), Rec("20270101", "MR"), Rec("")});
  auto all = store_->Followups({});
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].due_date, "20260401");  // oldest due first, undated last
  EXPECT_EQ((*all)[2].due_date, "");
  auto overdue = store_->Followups(ByState("overdue", "20260601"));
  ASSERT_EQ(overdue->size(), 1u);
  EXPECT_EQ((*overdue)[0].due_date, "20260401");
  EXPECT_EQ(store_->Followups(ByState("pending"))->size(), 3u);
  EXPECT_EQ(store_->Followups(ByState("soon")).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->Followups(OfPatient("P1", "SOUTH"))->size(), 0u);
  EXPECT_EQ(store_->Followups(OfPatient("P1", ""))->size(), 3u);

  auto pending = store_->PendingFollowups("P1", "");
  ASSERT_EQ(pending->size(), 3u);
  auto satisfied = store_->SatisfyFollowups({(*pending)[0].id}, "1.2.9", 5000);
  ASSERT_TRUE(satisfied.ok());
  ASSERT_EQ(satisfied->size(), 1u);
  EXPECT_EQ((*satisfied)[0].satisfied_by, "1.2.9");
  // Already satisfied: left alone.
  EXPECT_EQ(store_->SatisfyFollowups({(*pending)[0].id}, "1.2.10", 6000)->size(), 0u);
  EXPECT_EQ(store_->Followup((*pending)[0].id)->value().satisfied_by, "1.2.9");

  EXPECT_EQ(store_->CloseFollowup((*pending)[1].id, "", "dr.a", 7000).status().code(), ErrorCode::kInvalidArgument);
  auto closed = store_->CloseFollowup((*pending)[1].id, "patient declined", "dr.a", 7000);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state, "closed");
  EXPECT_EQ(closed->closed_by, "dr.a");
  EXPECT_EQ(store_->CloseFollowup((*pending)[1].id, "again", "dr.a", 7000).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->CloseFollowup(999, "x", "dr.a", 7000).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Followups(ByState("satisfied"))->size(), 1u);
  EXPECT_EQ(store_->Followups(ByState("closed"))->size(), 1u);
  EXPECT_FALSE(store_->Followup(999)->has_value());
}

TEST_P(ReportStoreTest, ConcurrentDraftCreationMakesOneDraft) {
  std::vector<std::thread> threads;
  std::vector<int64_t> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = store_->CreateDraft(Draft("1.2.99"));
      ids[i] = c.ok() ? c->report.id : -1;
    });
  }
  for (auto& t : threads) t.join();
  for (int64_t id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(store_->StudyReports("1.2.99")->size(), 1u);
}

}  // namespace
}  // namespace radflow::storage
