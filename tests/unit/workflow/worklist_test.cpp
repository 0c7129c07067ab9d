// The reading worklist: reading states and claims, the priority rule, priors, and the
// store and service on a real index database (docs/worklist.md).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "../test_data.h"
#include "base/clock.h"
#include "dicom/tag.h"
#include "storage/index.h"
#include "storage/workflow_store.h"
#include "support/store_backend.h"
#include "workflow/priority.h"
#include "workflow/priors.h"
#include "workflow/reading_state.h"
#include "workflow/worklist_service.h"

namespace radflow {
namespace {

namespace t = dicom::tags;
using storage::WorklistItem;

WorklistItem Item(const std::string& state = "unread") {
  WorklistItem w;
  w.study_uid = "1.2.3";
  w.state = state;
  w.arrived_at = 1000;
  return w;
}

// ---- reading states -------------------------------------------------------------------

TEST(ReadingState, ClaimReleaseAndReport) {
  WorklistItem w = Item();
  auto claimed = workflow::Claim(w, "dr-a", 2000, 60000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_EQ(w.state, "in_progress");
  EXPECT_EQ(w.reader, "dr-a");
  EXPECT_EQ(w.read_started_at, 2000);
  EXPECT_EQ(w.claim_expires_at, 62000);
  EXPECT_EQ(claimed->action, "claimed");
  EXPECT_EQ(claimed->from_state, "unread");
  EXPECT_EQ(claimed->to_state, "in_progress");

  // Another reader cannot claim it, and the message names the holder.
  WorklistItem copy = w;
  auto other = workflow::Claim(copy, "dr-b", 3000, 60000);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::kConflict);
  EXPECT_NE(other.status().message().find("claimed by dr-a"), std::string::npos);
  EXPECT_FALSE(workflow::Release(copy, "dr-b", 3000).ok());

  auto released = workflow::Release(w, "dr-a", 4000);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(w.state, "unread");
  EXPECT_EQ(w.reader, "");
  EXPECT_EQ(w.read_started_at, 2000) << "the wait ended at the first claim";

  ASSERT_TRUE(workflow::Claim(w, "dr-b", 5000, 60000).ok());
  auto prelim = workflow::ChangeState(w, "dr-b", "preliminary", "dictated", 6000);
  ASSERT_TRUE(prelim.ok());
  EXPECT_EQ(w.state, "preliminary");
  EXPECT_EQ(w.reported_at, 6000);
  EXPECT_EQ(w.reader, "") << "reporting ends the claim";
  EXPECT_EQ(prelim->note, "dictated");

  // Claiming a preliminary item reopens it; releasing it goes back to preliminary.
  ASSERT_TRUE(workflow::Claim(w, "dr-c", 7000, 60000).ok());
  EXPECT_EQ(w.state, "in_progress");
  ASSERT_TRUE(workflow::Release(w, "dr-c", 7500).ok());
  EXPECT_EQ(w.state, "preliminary");
  ASSERT_TRUE(workflow::ChangeState(w, "dr-c", "final", "", 8000).ok());
  EXPECT_EQ(w.state, "final");
  auto again = workflow::Claim(w, "dr-c", 9000, 60000);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
}

TEST(ReadingState, IllegalChangesNameBothStates) {
  WorklistItem w = Item();
  auto s = workflow::ChangeState(w, "dr-a", "final", "", 2000);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kConflict);
  EXPECT_NE(s.status().message().find("unread → final"), std::string::npos) << s.status().message();
  auto unknown = workflow::ChangeState(w, "dr-a", "signed", "", 2000);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kInvalidArgument);
  auto no_reader = workflow::Claim(w, "", 2000, 1000);
  ASSERT_FALSE(no_reader.ok());
  EXPECT_EQ(no_reader.status().code(), ErrorCode::kInvalidArgument);

  // Leaving in_progress needs the claim.
  ASSERT_TRUE(workflow::Claim(w, "dr-a", 2000, 60000).ok());
  auto by_other = workflow::ChangeState(w, "dr-b", "final", "", 3000);
  ASSERT_FALSE(by_other.ok());
  EXPECT_EQ(by_other.status().code(), ErrorCode::kConflict);
  // Cancelling and un-cancelling.
  ASSERT_TRUE(workflow::ChangeState(w, "dr-a", "cancelled", "duplicate order", 3000).ok());
  EXPECT_EQ(w.state, "cancelled");
  EXPECT_FALSE(workflow::Claim(w, "dr-a", 3100, 60000).ok());
  ASSERT_TRUE(workflow::ChangeState(w, "dr-a", "unread", "", 3200).ok());
  EXPECT_EQ(w.state, "unread");
}

TEST(ReadingState, ClaimsExpire) {
  WorklistItem w = Item();
  ASSERT_TRUE(workflow::Claim(w, "dr-a", 1000, 5000).ok());
  EXPECT_EQ(workflow::Holder(w, 5999), "dr-a");
  EXPECT_FALSE(workflow::Expire(w, 5999).has_value());
  // A heartbeat renews it.
  ASSERT_TRUE(workflow::Heartbeat(w, "dr-a", 5000, 5000).ok());
  EXPECT_EQ(w.claim_expires_at, 10000);
  EXPECT_EQ(workflow::Holder(w, 10000), "") << "held by nobody once expired";
  // An expired claim can be taken over before the sweeper runs.
  WorklistItem copy = w;
  ASSERT_TRUE(workflow::Claim(copy, "dr-b", 10001, 5000).ok());
  EXPECT_EQ(copy.reader, "dr-b");
  auto expired = workflow::Expire(w, 10001);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->action, "expired");
  EXPECT_EQ(expired->reader, "dr-a");
  EXPECT_EQ(w.state, "unread");
  EXPECT_EQ(w.reader, "");
}

// ---- the priority rule ----------------------------------------------------------------

TEST(PriorityRule, CriticalFindingOutranksEveryStatWithoutOne) {
  workflow::PriorityRule rule;
  WorklistItem routine_bleed = Item(), stat = Item(), routine = Item(), high_ai = Item(), low = Item();
  routine_bleed.ai_rank = 5;
  routine_bleed.ai_flag = "critical";
  routine_bleed.ai_reason = "suspected haemorrhage 12.0 mL, 14 mm, ct-head-bleed 1.0";
  stat.order_priority = "STAT";
  high_ai.order_priority = "ROUTINE";
  high_ai.ai_rank = 4;
  high_ai.ai_flag = "high";
  low.order_priority = "LOW";
  for (auto* w : {&routine_bleed, &stat, &routine, &high_ai, &low}) workflow::Score(rule, *w);
  EXPECT_EQ(routine_bleed.priority_score, 1000);
  EXPECT_EQ(stat.priority_score, 500);
  EXPECT_EQ(high_ai.priority_score, 300);
  EXPECT_EQ(routine.priority_score, 0);
  EXPECT_EQ(low.priority_score, -50);
  ASSERT_EQ(routine_bleed.priority_reasons.size(), 1u);
  EXPECT_EQ(routine_bleed.priority_reasons[0],
            "↑ critical: suspected haemorrhage 12.0 mL, 14 mm, ct-head-bleed 1.0");
  ASSERT_EQ(stat.priority_reasons.size(), 1u);
  EXPECT_EQ(stat.priority_reasons[0], "↑ STAT order");
  EXPECT_TRUE(routine.priority_reasons.empty());
}

TEST(PriorityRule, ParsedFromJsonWithErrorsNamingTheField) {
  auto rule = workflow::ParsePriorityRule(R"({"order": {"STAT": 2000}, "ai": {"high": 50}})");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ(rule->order.at("STAT"), 2000);
  EXPECT_EQ(rule->order.at("HIGH"), 200) << "keys left out keep their defaults";
  EXPECT_EQ(rule->ai.at("high"), 50);
  EXPECT_EQ(rule->ai.at("critical"), 1000);
  auto bad = workflow::ParsePriorityRule(R"({"ai": {"critical": "lots"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ai.critical: expected an integer"), std::string::npos);
  auto bad_key = workflow::ParsePriorityRule(R"({"order": {"SOON": 1}})");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("order.SOON"), std::string::npos);
  EXPECT_FALSE(workflow::ParsePriorityRule("[1]").ok());
  EXPECT_FALSE(workflow::ParsePriorityRule(R"({"weights": {}})").ok());
  EXPECT_EQ(workflow::NormaliseOrderPriority(" stat "), "STAT");
  EXPECT_EQ(workflow::NormaliseOrderPriority("URGENT"), "HIGH");
  EXPECT_EQ(workflow::NormaliseOrderPriority("whenever"), "");
}

// ---- priors ---------------------------------------------------------------------------

workflow::StudyFacts Facts(const std::string& uid, const std::string& date, const std::string& modalities,
                           const std::string& body, const std::string& description = "",
                           const std::string& patient = "P1", const std::string& issuer = "") {
  return {uid, patient, issuer, date, modalities, body, description};
}

TEST(Priors, RankedByRegionThenModalityThenRecency) {
  const auto current = Facts("cur", "20240601", "CT", "CHEST", "CT THORAX", "P1", "HOSP");
  const std::vector<workflow::StudyFacts> candidates = {
      Facts("ct-chest-old", "20200601", "CT\\SR", "CHEST"),
      Facts("ct-chest-recent", "20231201", "CT\\SEG", "", "CT LUNG SCREENING"),
      Facts("mr-chest", "20240101", "MR", "CHEST"),
      Facts("ct-head", "20240501", "CT", "HEAD"),
      Facts("ct-abdomen", "20240301", "CT", "ABDOMEN"),
      Facts("future", "20250101", "CT", "CHEST"),
      Facts("other-patient", "20240101", "CT", "CHEST", "", "P2"),
      Facts("other-issuer", "20240101", "CT", "CHEST", "", "P1", "CLINIC"),
      Facts("cur", "20240601", "CT", "CHEST"),
  };
  auto ranked = workflow::RankPriors(current, candidates);
  std::vector<std::string> order;
  for (const auto& r : ranked) order.push_back(r.study.study_uid);
  EXPECT_EQ(order, (std::vector<std::string>{"ct-chest-recent", "ct-chest-old", "mr-chest", "ct-abdomen", "ct-head"}));
  // same region 50 + same modality 25 + 20·exp(-183/365)
  EXPECT_NEAR(ranked[0].score, 75 + 20 * std::exp(-183.0 / 365), 1e-9);
  EXPECT_EQ(ranked[0].reasons[0], "same region CHEST");
  EXPECT_EQ(ranked[0].reasons[1], "same modality CT");
  EXPECT_EQ(ranked[0].reasons[2], "183 days earlier");
  EXPECT_NEAR(ranked[2].score, 50 + 20 * std::exp(-152.0 / 365), 1e-9);  // same region, MR
  EXPECT_NEAR(ranked[3].score, 15 + 25 + 20 * std::exp(-92.0 / 365), 1e-9);  // related region
  EXPECT_GE(ranked[1].score, workflow::kPrefetchMinScore);
  EXPECT_LT(ranked[4].score, workflow::kPrefetchMinScore) << "an unrelated region is not prefetched";
  EXPECT_EQ(workflow::BodyRegion("", "CT HEAD W/O CONTRAST"), "HEAD");
  EXPECT_EQ(workflow::BodyRegion("LUNG", ""), "CHEST");
  EXPECT_EQ(workflow::DaysBetween("20240228", "20240301"), 2);
}

// ---- the store and the service on a real index ----------------------------------------

storage::InstanceEntry Entry(const std::string& patient, const std::string& study, const std::string& series,
                             const std::string& sop, const std::string& modality, const std::string& date,
                             const std::string& body = "", const std::string& site = "") {
  storage::InstanceEntry e;
  auto& in = e.instance;
  in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  in.sop_instance_uid = sop;
  in.study_instance_uid = study;
  in.series_instance_uid = series;
  in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  in.attributes.Set(t::kPatientID, patient);
  in.attributes.Set(t::kPatientName, "Doe^" + patient);
  in.attributes.Set(t::kModality, modality);
  in.attributes.Set(t::kStudyDate, date);
  in.attributes.Set(t::kStudyTime, "101500");
  in.attributes.Set(t::kStudyDescription, "CT " + body);
  if (!body.empty()) in.attributes.Set(t::kBodyPartExamined, body);
  if (!site.empty()) in.attributes.Set(t::kInstitutionName, site);
  in.attributes.Set(t::kInstanceNumber, sop.substr(sop.rfind('.') + 1));
  e.blob_path = "blob/" + sop;
  e.blob_size = 100;
  return e;
}

class WorklistStoreTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    auto index = storage::Index::Open(location_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(index.value());
    Add(Entry("P1", "1.1", "1.1.1", "1.1.1.1", "CT", "20240601", "HEAD", "North Hospital"));
    Add(Entry("P1", "1.1", "1.1.1", "1.1.1.2", "CT", "20240601", "HEAD", "North Hospital"));
    Add(Entry("P1", "1.2", "1.2.1", "1.2.1.1", "CT", "20230101", "HEAD"));
    Add(Entry("P2", "2.1", "2.1.1", "2.1.1.1", "MR", "20240602", "KNEE", "South Clinic"));
    Add(Entry("P3", "3.1", "3.1.1", "3.1.1.1", "CT", "20240603", "CHEST", "North Hospital"));
    auto store = storage::WorkflowStore::Open(location_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store.value());
  }
  void Add(const storage::InstanceEntry& e) {
    auto r = index_->Commit(e, false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // The facts the server reads from a series' first instance, here from a table.
  workflow::WorklistOptions Options() {
    workflow::WorklistOptions o;
    o.series_facts = [](const std::string& series) -> Result<std::map<std::string, std::string>> {
      std::map<std::string, std::string> f{{"Modality", "CT"}};
      if (series == "1.1.1") f = {{"Modality", "CT"}, {"BodyPartExamined", "HEAD"},
                                  {"InstitutionName", "North Hospital"}, {"IssuerOfPatientID", "NORTH"}};
      if (series == "2.1.1") f = {{"Modality", "MR"}, {"BodyPartExamined", "KNEE"},
                                  {"InstitutionName", "South Clinic"}, {"RequestedProcedurePriority", "STAT"}};
      if (series == "3.1.1") f = {{"Modality", "CT"}, {"BodyPartExamined", "CHEST"},
                                  {"InstitutionName", "North Hospital"}};
      return f;
    };
    o.sweep_interval_ms = 20;
    return o;
  }
  radflow::testing::ScratchDir dir_;
  std::string location_;  // SQLite file or PostgreSQL database (support/store_backend.h)
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::WorkflowStore> store_;
};

RADFLOW_BOTH_BACKENDS(WorklistStoreTest);

TEST_P(WorklistStoreTest, ItemsFromTheIndexWithFiltersAndOrder) {
  workflow::WorklistService service(*store_, Options());
  ASSERT_TRUE(service.Start().ok());
  service.Flush();  // the start-up catch-up runs on the worker thread
  // Start() added the studies stored before it ran (three patients, four studies).
  auto all = store_->List({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->total, 4);
  // Events from ingest fill in what the index lacks.
  for (auto [study, series] : {std::pair{"1.1", "1.1.1"}, {"2.1", "2.1.1"}, {"3.1", "3.1.1"}}) {
    service.OnSeriesStable(study, series);
  }
  service.Flush();
  auto item = store_->Get("1.1");
  ASSERT_TRUE(item.ok() && item->has_value());
  const WorklistItem& w = item->value();
  EXPECT_EQ(w.patient_id, "P1");
  EXPECT_EQ(w.patient_name, "Doe^P1");
  EXPECT_EQ(w.issuer_of_patient_id, "NORTH");
  EXPECT_EQ(w.body_part, "HEAD");
  EXPECT_EQ(w.site, "North Hospital");
  EXPECT_EQ(w.num_instances, 2);
  EXPECT_GT(w.completed_at, 0);

  storage::WorklistFilter f;
  f.states = {"unread", "in_progress", "preliminary"};
  auto open = store_->List(f);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->items.size(), 4u);
  EXPECT_EQ(open->items[0].study_uid, "2.1") << "the STAT study first";
  EXPECT_EQ(open->items[0].priority_score, 500);

  auto uids = [&](storage::WorklistFilter filter) {
    auto page = store_->List(filter);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    for (const auto& i : page->items) out.push_back(i.study_uid);
    return out;
  };
  storage::WorklistFilter by;
  by.modality = "MR";
  EXPECT_EQ(uids(by), std::vector<std::string>{"2.1"});
  by.modality = "mr";  // regardless of ASCII case, on both backends
  EXPECT_EQ(uids(by), std::vector<std::string>{"2.1"});
  by = {};
  by.body_part = "chest";
  EXPECT_EQ(uids(by), std::vector<std::string>{"3.1"});
  by = {};
  by.site = "north";
  by.sort = storage::WorklistFilter::Sort::kStudyDate;
  EXPECT_EQ(uids(by), (std::vector<std::string>{"3.1", "1.1"}));
  by = {};
  by.patient = "doe^p2";
  EXPECT_EQ(uids(by), std::vector<std::string>{"2.1"});
  by = {};
  by.patient = "P3";
  EXPECT_EQ(uids(by), std::vector<std::string>{"3.1"});
  by = {};
  by.date_from = "20240602";
  by.date_to = "20240602";
  EXPECT_EQ(uids(by), std::vector<std::string>{"2.1"});
  by = {};
  by.priorities = {"STAT"};
  EXPECT_EQ(uids(by), std::vector<std::string>{"2.1"});
  by = {};
  by.limit = 2;
  by.offset = 1;
  auto paged = store_->List(by);
  ASSERT_TRUE(paged.ok());
  EXPECT_EQ(paged->total, 4);
  EXPECT_EQ(paged->items.size(), 2u);

  // The study's series, with SeriesNumber and InstanceNumber empty ('' sorts as 0).
  auto series = store_->SeriesOf("1.1");
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  ASSERT_EQ(series->size(), 1u);
  EXPECT_EQ(series->front().series_uid, "1.1.1");

  // Priors: the same patient's earlier head CT (the issuer is unknown on the prior).
  auto priors = service.Priors("1.1");
  ASSERT_TRUE(priors.ok());
  ASSERT_EQ(priors->size(), 1u);
  EXPECT_EQ(priors->front().study.study_uid, "1.2");
  EXPECT_EQ(service.Priors("9.9").status().code(), ErrorCode::kNotFound);
}

// The start-up catch-up: only studies without an item or changed since their sync, in one
// query; a start with every study synced does no per-study work.
TEST_P(WorklistStoreTest, StartCatchesUpOnlyTheStudiesThatNeedIt) {
  std::vector<std::string> asked;  // order_facts: asked once per study synced
  auto options = [&] {
    auto o = Options();
    o.order_facts = [&asked](const std::string&, const std::string& study) -> std::optional<workflow::OrderFactsLite> {
      asked.push_back(study);
      return std::nullopt;
    };
    return o;
  };
  {
    workflow::WorklistService first(*store_, options());
    ASSERT_TRUE(first.Start().ok());
    first.Flush();
    EXPECT_EQ(asked.size(), 4u);
    EXPECT_EQ(first.events().Last(), 4u);  // four "arrived"
  }
  auto pending = store_->StudiesToSync();
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty());
  asked.clear();
  {
    workflow::WorklistService again(*store_, options());
    ASSERT_TRUE(again.Start().ok());
    again.Flush();
    EXPECT_TRUE(asked.empty()) << "a start with every study synced syncs none";
    EXPECT_EQ(again.events().Last(), 0u);
  }
  // Stored while no server ran: an instance of a synced study, a new study.
  Add(Entry("P1", "1.2", "1.2.1", "1.2.1.2", "CT", "20230101", "HEAD"));
  Add(Entry("P4", "4.1", "4.1.1", "4.1.1.1", "CT", "20240604", "HEAD"));
  pending = store_->StudiesToSync();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending.value(), (std::vector<std::string>{"1.2", "4.1"}));
  {
    workflow::WorklistService third(*store_, options());
    ASSERT_TRUE(third.Start().ok());
    third.Flush();
    EXPECT_EQ(asked, (std::vector<std::string>{"1.2", "4.1"}));
  }
  auto changed = store_->Get("1.2");
  ASSERT_TRUE(changed.ok() && changed->has_value());
  EXPECT_EQ(changed->value().num_instances, 2);
  auto added = store_->Get("4.1");
  ASSERT_TRUE(added.ok() && added->has_value());
  EXPECT_EQ(added->value().state, "unread");
  EXPECT_EQ(added->value().patient_id, "P4");
  auto audit = store_->Audit("1.2");
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 1u) << "a re-sync is no new arrival";
  EXPECT_TRUE(store_->StudiesToSync()->empty());
}

TEST_P(WorklistStoreTest, ClaimsAreExclusiveAuditedAndExpire) {
  auto options = Options();
  options.claim_ms = 300;
  workflow::WorklistService service(*store_, options);
  ASSERT_TRUE(service.Start().ok());
  service.Flush();  // the start-up catch-up runs on the worker thread
  const uint64_t before = service.events().Last();
  auto claimed = service.Claim("1.1", "dr-a");
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_EQ(claimed->state, "in_progress");
  auto denied = service.Claim("1.1", "dr-b");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(service.Claim("4.4", "dr-a").status().code(), ErrorCode::kNotFound);
  auto events = service.events().Wait(before, 1000);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].study_uid, "1.1");
  EXPECT_EQ(events[0].reason, "claimed");

  // Nobody renews it: the sweeper gives it back within the idle time plus a sweep (300 ms +
  // the 1 s sweep interval). The 5 s deadline is a hang guard, not a timing claim.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<WorklistItem> now;
  while (std::chrono::steady_clock::now() < deadline) {
    now = store_->Get("1.1").value();
    if (now->state == "unread") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->state, "unread");
  EXPECT_EQ(now->reader, "");
  ASSERT_TRUE(service.Claim("1.1", "dr-b").ok()) << "free for anyone after expiry";
  ASSERT_TRUE(service.ChangeState("1.1", "dr-b", "final", "no acute findings").ok());
  auto audit = store_->Audit("1.1");
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> actions;
  for (const auto& a : audit.value()) actions.push_back(a.action + ":" + a.reader + ":" + a.to_state);
  EXPECT_EQ(actions, (std::vector<std::string>{"arrived::unread", "claimed:dr-a:in_progress",
                                               "expired:dr-a:unread", "claimed:dr-b:in_progress",
                                               "state:dr-b:final"}));
  EXPECT_EQ(audit->back().note, "no acute findings");
  // An order priority through the API rescored the item and was audited.
  auto stat = service.SetOrderPriority("3.1", "desk", "stat");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->order_priority, "STAT");
  EXPECT_EQ(stat->priority_score, 500);
  EXPECT_EQ(service.SetOrderPriority("3.1", "desk", "soon").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace radflow
