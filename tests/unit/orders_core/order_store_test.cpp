// OrderStore (012_orders.sql): orders with their unique numbers, the one-transaction mutate
// with its audit, filters, patients and the A40 merge that moves orders, MPPS, worklist
// items and index studies, MPPS rows and the reconciliation list.
#include "storage/order_store.h"

#include <gtest/gtest.h>

#include "../test_data.h"
#include "query/matching.h"
#include "storage/index.h"
#include "support/store_backend.h"
#include "storage/workflow_store.h"

namespace radflow::storage {
namespace {

namespace t = dicom::tags;

InstanceEntry MakeEntry(const std::string& patient, const std::string& study, const std::string& sop) {
  InstanceEntry e;
  auto& in = e.instance;
  in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  in.sop_instance_uid = sop;
  in.study_instance_uid = study;
  in.series_instance_uid = study + ".1";
  in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  in.attributes.Set(t::kPatientID, patient);
  in.attributes.Set(t::kPatientName, "Doe^" + patient);
  in.attributes.Set(t::kModality, "CT");
  in.attributes.Set(t::kStudyDate, "20260101");
  e.blob_path = "blob/" + sop;
  e.blob_size = 100;
  return e;
}

class OrderStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    auto idx = Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = OrderStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  const std::string& path() const { return location_; }
  static OrderRow Order(const std::string& placer, const std::string& accession, int64_t at = 1'000'000) {
    OrderRow o;
    o.placer_order_number = placer;
    o.accession_number = accession;
    o.patient_id = "P1";
    o.patient_name = "Doe^Jane";
    o.procedure_code = "CTHEAD";
    o.procedure_text = "CT head without contrast";
    o.modality = "CT";
    o.priority = "STAT";
    o.reason = "suspected stroke";
    o.station_ae = "CT1";
    o.scheduled_at = at;
    o.source = "hl7";
    return o;
  }
  std::vector<Row> Patients(const std::string& id) {
    auto q = query::BuildQuery(ResourceLevel::kPatient, {{t::kPatientID, id}, {t::kNumberOfPatientRelatedStudies, ""}});
    EXPECT_TRUE(q.ok());
    auto rows = index_->Find(q.value());
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows.value() : std::vector<Row>{};
  }
  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<OrderStore> store_;
};

TEST(OrderStoreOpen, RefusesADatabaseWithoutTheOrderTables) {
  radflow::testing::ScratchDir dir;
  auto missing = OrderStore::Open(dir.str() + "/none.db");
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

RADFLOW_BOTH_BACKENDS(OrderStoreTest);

TEST_P(OrderStoreTest, InsertMakesTheStudyUidAndDefaultsAndAuditsCreation) {
  store_->SetStudyUidRoot("1.2.3.4");
  auto o = store_->InsertOrder(Order("PL1", "ACC1"), "hl7:RIS", 1234);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_GT(o->id, 0);
  EXPECT_EQ(o->study_uid, "1.2.3.4." + std::to_string(o->id) + ".1234");
  EXPECT_LE(o->study_uid.size(), 64u);
  EXPECT_EQ(o->requested_procedure_id, "ACC1");
  EXPECT_EQ(o->procedure_step_id, "SPS" + std::to_string(o->id));
  EXPECT_EQ(o->status, "scheduled");
  EXPECT_EQ(o->created_at, 1234);

  auto back = store_->GetOrder(o->id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(**back, *o);  // every column round-trips
  auto by_acc = store_->FindByAccession("ACC1");
  ASSERT_TRUE(by_acc.ok() && by_acc->has_value());
  EXPECT_EQ((*by_acc)->id, o->id);
  auto by_placer = store_->FindByPlacer("PL1");
  ASSERT_TRUE(by_placer.ok() && by_placer->has_value());
  EXPECT_FALSE(store_->FindByFiller("")->has_value());
  OrderRow filled = Order("PL9", "ACC9");
  filled.filler_order_number = "FL9";
  auto f = store_->InsertOrder(filled, "u", 1);
  ASSERT_TRUE(f.ok());
  auto by_filler = store_->FindByFiller("FL9");
  ASSERT_TRUE(by_filler.ok() && by_filler->has_value());
  EXPECT_EQ((*by_filler)->id, f->id);
  auto by_uid = store_->FindByStudyUid(o->study_uid);
  ASSERT_TRUE(by_uid.ok() && by_uid->has_value());
  auto none = store_->FindByAccession("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto audit = store_->OrderAudit(o->id);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "created");
  EXPECT_EQ((*audit)[0].user, "hl7:RIS");
}

TEST_P(OrderStoreTest, TakenNumbersAreConflictsNamingTheConstraint) {
  ASSERT_TRUE(store_->InsertOrder(Order("PL1", "ACC1"), "u", 1).ok());
  auto placer = store_->InsertOrder(Order("PL1", "ACC2"), "u", 2);
  EXPECT_EQ(placer.status().code(), ErrorCode::kConflict);
  EXPECT_NE(placer.status().message().find("placer order number 'PL1'"), std::string::npos)
      << placer.status().message();
  auto accession = store_->InsertOrder(Order("PL2", "ACC1"), "u", 3);
  EXPECT_EQ(accession.status().code(), ErrorCode::kConflict);
  EXPECT_NE(accession.status().message().find("accession number 'ACC1'"), std::string::npos);
  // Empty numbers are not unique keys.
  EXPECT_TRUE(store_->InsertOrder(Order("", ""), "u", 4).ok());
  EXPECT_TRUE(store_->InsertOrder(Order("", ""), "u", 5).ok());
  // The failed inserts left nothing behind.
  auto n = store_->CountOrders({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);
}

TEST_P(OrderStoreTest, MutateWritesTheRowAndItsAuditOrNothing) {
  auto o = store_->InsertOrder(Order("PL1", "ACC1"), "u", 1);
  ASSERT_TRUE(o.ok());
  auto changed = store_->MutateOrder(o->id, [](OrderRow& r) -> Result<std::optional<OrderAuditRow>> {
    r.status = "arrived";
    r.noshow_risk = 0.25;
    r.reminder_sent = true;
    r.updated_at = 50;
    return std::optional<OrderAuditRow>(OrderAuditRow{0, 0, 0, "tech", "status", "scheduled -> arrived"});
  });
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  auto back = store_->GetOrder(o->id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->status, "arrived");
  EXPECT_DOUBLE_EQ((*back)->noshow_risk, 0.25);
  EXPECT_TRUE((*back)->reminder_sent);
  auto audit = store_->OrderAudit(o->id);
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[1].at, 50);  // defaults to the row's updated_at
  EXPECT_EQ((*audit)[1].note, "scheduled -> arrived");

  // An error aborts: neither the row nor an audit row changes.
  auto refused = store_->MutateOrder(o->id, [](OrderRow& r) -> Result<std::optional<OrderAuditRow>> {
    r.status = "completed";
    return Status(ErrorCode::kInvalidArgument, "no");
  });
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*store_->GetOrder(o->id))->status, "arrived");
  EXPECT_EQ(store_->OrderAudit(o->id)->size(), 2u);

  // A change that breaks a constraint is a conflict and rolls back.
  auto other = store_->InsertOrder(Order("PL2", "ACC2"), "u", 2);
  ASSERT_TRUE(other.ok());
  auto clash = store_->MutateOrder(other->id, [](OrderRow& r) -> Result<std::optional<OrderAuditRow>> {
    r.accession_number = "ACC1";
    return std::optional<OrderAuditRow>(OrderAuditRow{0, 0, 1, "u", "updated", ""});
  });
  EXPECT_EQ(clash.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(store_->OrderAudit(other->id)->size(), 1u);

  auto unknown = store_->MutateOrder(999, [](OrderRow&) -> Result<std::optional<OrderAuditRow>> {
    return std::optional<OrderAuditRow>();
  });
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
}

TEST_P(OrderStoreTest, FiltersCountAndPageInScheduledOrder) {
  for (int i = 0; i < 6; ++i) {
    OrderRow o = Order("PL" + std::to_string(i), "ACC" + std::to_string(i), 1000 * (6 - i));
    o.station_ae = i % 2 ? "CT1" : "MR1";
    o.modality = i % 2 ? "CT" : "MR";
    o.patient_name = i < 3 ? "Smith^Ann" : "Jones^Bob";
    ASSERT_TRUE(store_->InsertOrder(o, "u", 1).ok());
  }
  OrderFilter f;
  f.station_ae = "CT1";
  auto ct = store_->ListOrders(f);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  ASSERT_EQ(ct->size(), 3u);
  EXPECT_EQ((*ct)[0].accession_number, "ACC5");  // earliest slot first
  EXPECT_EQ((*ct)[2].accession_number, "ACC1");

  OrderFilter range;
  range.from_ms = 2000;
  range.to_ms = 4000;  // [2000, 4000): ACC4 (2000) and ACC3 (3000)
  EXPECT_EQ(*store_->CountOrders(range), 2);

  OrderFilter name;
  name.patient_name_prefix = "SMI";
  EXPECT_EQ(*store_->CountOrders(name), 3);

  OrderFilter page;
  page.limit = 2;
  page.offset = 4;
  auto p = store_->ListOrders(page);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].accession_number, "ACC1");
  OrderFilter rest;  // an offset without a limit: the rest
  rest.offset = 4;
  auto r = store_->ListOrders(rest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(r->size()), *store_->CountOrders({}) - 4);
  EXPECT_EQ((*r)[0].accession_number, "ACC1");

  ASSERT_TRUE(store_->MutateOrder(1, [](OrderRow& r) -> Result<std::optional<OrderAuditRow>> {
    r.status = "cancelled";
    return std::optional<OrderAuditRow>();
  }).ok());
  OrderFilter statuses;
  statuses.statuses = {"cancelled", "completed"};
  EXPECT_EQ(*store_->CountOrders(statuses), 1);
  statuses.modality = "CT";
  EXPECT_EQ(*store_->CountOrders(statuses), 0);  // order 1 (ACC0) is MR
}

TEST_P(OrderStoreTest, HistoryCountsOnlyAppointmentsBeforeTheCut) {
  auto add = [&](const std::string& acc, int64_t at, const std::string& status) {
    OrderRow o = Order("", acc, at);
    o.status = status;
    ASSERT_TRUE(store_->InsertOrder(o, "u", 1).ok());
  };
  add("A", 100, "completed");
  add("B", 200, "no_show");
  add("C", 300, "no_show");
  add("D", 400, "cancelled");
  add("E", 500, "completed");  // at the cut: not counted
  auto h = store_->History("P1", 500);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->attended, 1);
  EXPECT_EQ(h->no_shows, 2);
  EXPECT_EQ(h->last_at, 300);
  EXPECT_EQ(store_->History("other", 1000)->attended, 0);
}

TEST_P(OrderStoreTest, PatientUpsertKeepsFieldsNotGiven) {
  PatientRow p;
  p.patient_id = "P1";
  p.issuer_of_patient_id = "HOSP";
  p.patient_name = "Doe^Jane";
  p.birth_date = "19800101";
  ASSERT_TRUE(store_->UpsertPatient(p, 10).ok());
  PatientRow update;
  update.patient_id = "P1";
  update.issuer_of_patient_id = "HOSP";
  update.phone = "555-1234";
  auto u = store_->UpsertPatient(update, 20);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->patient_name, "Doe^Jane");
  EXPECT_EQ(u->phone, "555-1234");
  EXPECT_EQ(u->created_at, 10);
  EXPECT_EQ(u->updated_at, 20);
  auto back = store_->GetPatient("P1", "HOSP");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->birth_date, "19800101");
  EXPECT_FALSE(store_->GetPatient("P1", "")->has_value());  // the issuer is part of the key
  EXPECT_EQ(store_->UpsertPatient(PatientRow{}, 1).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(OrderStoreTest, MergeMovesOrdersMppsWorklistAndIndexStudiesInOneTransaction) {
  // The patient merged away has two studies in the index, one order, an MPPS, an unmatched study.
  ASSERT_TRUE(index_->Commit(MakeEntry("OLD", "9.1", "9.1.1.1"), false).ok());
  ASSERT_TRUE(index_->Commit(MakeEntry("OLD", "9.1", "9.1.1.2"), false).ok());
  ASSERT_TRUE(index_->Commit(MakeEntry("OLD", "9.2", "9.2.1.1"), false).ok());
  ASSERT_TRUE(index_->Commit(MakeEntry("NEW", "8.1", "8.1.1.1"), false).ok());
  PatientRow survivor;
  survivor.patient_id = "NEW";
  survivor.patient_name = "Doe^Jane^Q";
  ASSERT_TRUE(store_->UpsertPatient(survivor, 1).ok());
  OrderRow o = Order("PL1", "ACC1");
  o.patient_id = "OLD";
  auto order = store_->InsertOrder(o, "u", 1);
  ASSERT_TRUE(order.ok());
  MppsRow m;
  m.sop_instance_uid = "1.9.9";
  m.status = "IN PROGRESS";
  m.patient_id = "OLD";
  ASSERT_TRUE(store_->InsertMpps(m).ok());
  ASSERT_TRUE(store_->AddUnmatched({"9.2", "", "OLD", "Doe^OLD", "CT", "20260101", 5, "", 0}).ok());
  auto workflow = WorkflowStore::Open(path());
  ASSERT_TRUE(workflow.ok()) << workflow.status().ToString();
  auto synced = (*workflow)->SyncStudy("9.1", {}, 1, [](WorklistItem&) {});
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  ASSERT_EQ(synced->item.patient_id, "OLD");

  auto merged = store_->MergePatient("OLD", "", "NEW", "", "hl7:ADT", 100);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->orders, 1);
  EXPECT_EQ(merged->studies, 2);

  auto moved = store_->GetOrder(order->id);
  EXPECT_EQ((*moved)->patient_id, "NEW");
  EXPECT_EQ((*moved)->patient_name, "Doe^Jane^Q");
  EXPECT_EQ(store_->OrderAudit(order->id)->back().action, "merged");
  EXPECT_EQ((*store_->GetMpps("1.9.9"))->patient_id, "NEW");
  EXPECT_EQ(store_->ListUnmatched(false)->front().patient_id, "NEW");
  auto wl = (*workflow)->Get("9.1");
  ASSERT_TRUE(wl.ok() && wl->has_value());
  EXPECT_EQ((*wl)->patient_id, "NEW");
  EXPECT_EQ((*wl)->patient_name, "Doe^Jane^Q");
  EXPECT_TRUE(Patients("OLD").empty());  // the index row of the merged patient is gone
  auto now = Patients("NEW");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].values[t::kNumberOfPatientRelatedStudies], "3");
  auto old = store_->GetPatient("OLD", "");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->merged_into, "NEW");

  EXPECT_EQ(store_->MergePatient("NEW", "", "NEW", "", "u", 1).status().code(), ErrorCode::kInvalidArgument);
}

TEST_P(OrderStoreTest, MergeIntoAPatientTheIndexDoesNotKnowCreatesIt) {
  ASSERT_TRUE(index_->Commit(MakeEntry("OLD", "9.1", "9.1.1.1"), false).ok());
  auto merged = store_->MergePatient("OLD", "", "FRESH", "", "u", 100);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->studies, 1);
  auto fresh = Patients("FRESH");
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].values[t::kNumberOfPatientRelatedStudies], "1");
  EXPECT_TRUE(store_->GetPatient("FRESH", "")->has_value());
}

TEST_P(OrderStoreTest, MppsDuplicateIsAConflictAndUnknownUpdateNotFound) {
  MppsRow m;
  m.sop_instance_uid = "1.2.3";
  m.status = "IN PROGRESS";
  m.created_at = m.updated_at = 5;
  ASSERT_TRUE(store_->InsertMpps(m).ok());
  EXPECT_EQ(store_->InsertMpps(m).code(), ErrorCode::kConflict);
  m.status = "COMPLETED";
  m.ended_at = 9;
  ASSERT_TRUE(store_->UpdateMpps(m).ok());
  auto back = store_->GetMpps("1.2.3");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->status, "COMPLETED");
  EXPECT_EQ((*back)->ended_at, 9);
  m.sop_instance_uid = "4.5.6";
  EXPECT_EQ(store_->UpdateMpps(m).code(), ErrorCode::kNotFound);
  m.status = "BOGUS";
  EXPECT_FALSE(store_->InsertMpps(m).ok());  // CHECK constraint
}

TEST_P(OrderStoreTest, UnmatchedIsIdempotentAndResolves) {
  UnmatchedStudyRow u{"1.5", "X9", "P1", "Doe^J", "CT", "20260101", 10, "", 0};
  ASSERT_TRUE(store_->AddUnmatched(u).ok());
  u.arrived_at = 99;
  ASSERT_TRUE(store_->AddUnmatched(u).ok());
  auto open = store_->ListUnmatched(false);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().arrived_at, 10);  // the first arrival stays
  EXPECT_EQ(store_->OpenUnmatchedByAccession("X9")->size(), 1u);
  EXPECT_TRUE(store_->OpenUnmatchedByAccession("X8")->empty());
  EXPECT_TRUE(store_->OpenUnmatchedByAccession("")->empty());
  ASSERT_TRUE(store_->ResolveUnmatched("1.5", 0, "tech", 20).ok());
  EXPECT_TRUE(store_->ListUnmatched(false)->empty());
  EXPECT_TRUE(store_->OpenUnmatchedByAccession("X9")->empty());  // resolved
  EXPECT_EQ(store_->ResolveUnmatched("1.5", 0, "tech", 30).code(), ErrorCode::kNotFound);  // not open any more
  auto all = store_->ListUnmatched(true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().resolved_by, "tech");
  EXPECT_EQ(store_->ResolveUnmatched("nope", 0, "tech", 20).code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::storage
