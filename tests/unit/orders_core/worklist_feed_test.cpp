// The reading-worklist feed: WorklistService's order hooks wired to OrderService as the server
// wires them (docs/orders.md "Exam tracking"): a study arriving links its order, the order's
// priority and reason override the images', a changed order re-feeds the item, a study
// without an order goes to reconciliation.
#include <gtest/gtest.h>

#include "../test_data.h"
#include "hl7/message.h"
#include "orders/order_service.h"
#include "storage/index.h"
#include "storage/workflow_store.h"
#include "support/store_backend.h"
#include "workflow/worklist_service.h"

namespace radflow::orders {
namespace {

namespace t = dicom::tags;

storage::InstanceEntry Entry(const std::string& patient, const std::string& study, const std::string& accession) {
  storage::InstanceEntry e;
  auto& in = e.instance;
  in.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  in.sop_instance_uid = study + ".1.1";
  in.study_instance_uid = study;
  in.series_instance_uid = study + ".1";
  in.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  in.attributes.Set(t::kPatientID, patient);
  in.attributes.Set(t::kPatientName, "Doe^" + patient);
  in.attributes.Set(t::kModality, "CT");
  in.attributes.Set(t::kStudyDate, "20260310");
  if (!accession.empty()) in.attributes.Set(t::kAccessionNumber, accession);
  e.blob_path = "blob/" + study;
  e.blob_size = 100;
  return e;
}

std::string Orm(const std::string& control, const std::string& priority, const std::string& reason) {
  return "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000+0000||ORM^O01|W" + control + priority +
         "|P|2.5.1\r"
         "PID|1||MRN1^^^HOSP||Doe^Jane\r"
         "ORC|" + control + "|PL1\r"
         "OBR|1|PL1||CTHEAD^CT head^L||||||||||||||ACC1|||CT1|||CT|||^^M30^202603111030+0000^^" + priority +
         "||||^" + reason + "\r";
}

std::string AckCode(const std::string& ack) {
  auto m = hl7::Parse(ack);
  return m.ok() && m->Find("MSA") ? m->Find("MSA")->Get(1) : "";
}

// On SQLite and on PostgreSQL (support/store_backend.h).
class WorklistFeed : public ::testing::TestWithParam<::radflow::storage::Backend> {};
RADFLOW_BOTH_BACKENDS(WorklistFeed);

TEST_P(WorklistFeed, OrderPriorityAndReasonReachTheReadingWorklist) {
  radflow::testing::ScratchDir dir;
  const std::string path = radflow::testing::NewEmptyLocation(GetParam(), dir.str() + "/index.db");
  ASSERT_FALSE(path.empty());
  auto index = storage::Index::Open(path);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto orders_store = storage::OrderStore::Open(path);
  ASSERT_TRUE(orders_store.ok());
  auto workflow_store = storage::WorkflowStore::Open(path);
  ASSERT_TRUE(workflow_store.ok());

  workflow::WorklistService* worklist_ptr = nullptr;
  OrderServiceOptions order_options;
  order_options.protocol_rules = ProtocolRules{};
  order_options.on_change = [&](const storage::OrderRow& o) {
    if (worklist_ptr) {
      worklist_ptr->OnOrderChanged(o.linked_study_uid.empty() ? o.study_uid : o.linked_study_uid);
    }
  };
  OrderService orders(**orders_store, order_options);

  workflow::WorklistOptions wl;
  wl.sweep_interval_ms = 20;
  // The images say LOW; the order says STAT.
  wl.series_facts = [](const std::string&) -> Result<std::map<std::string, std::string>> {
    return std::map<std::string, std::string>{{"Modality", "CT"}, {"RequestedProcedurePriority", "LOW"}};
  };
  wl.order_facts = [&](const std::string& acc, const std::string& uid) -> std::optional<workflow::OrderFactsLite> {
    auto f = orders.FactsFor(acc, uid);
    if (!f) return std::nullopt;
    return workflow::OrderFactsLite{f->priority, f->reason};
  };
  std::vector<std::string> arrived;
  wl.on_study_arrived = [&](const std::string& uid, const std::string& acc, const std::string& pid,
                            const std::string& name, const std::string& mods, const std::string& date) {
    arrived.push_back(uid);
    EXPECT_TRUE(orders.OnStudyArrived(uid, acc, pid, name, mods, date).ok());
  };
  workflow::WorklistService worklist(**workflow_store, wl);
  worklist_ptr = &worklist;
  ASSERT_TRUE(worklist.Start().ok());

  ASSERT_EQ(AckCode(orders.HandleHl7(Orm("NW", "S", "suspected stroke"))), "AA");
  ASSERT_TRUE((*index)->Commit(Entry("MRN1", "4.1", "ACC1"), false).ok());
  ASSERT_TRUE((*index)->Commit(Entry("MRN2", "5.1", "NOORDER"), false).ok());
  ASSERT_TRUE((*index)->Commit(Entry("MRN3", "6.1", ""), false).ok());
  for (const char* study : {"4.1", "5.1", "6.1"}) worklist.OnInstanceStored(study, std::string(study) + ".1");
  worklist.Flush();
  worklist.Flush();  // the order's change event queued by the first pass

  auto item = (*workflow_store)->Get("4.1");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->order_priority, "STAT");
  EXPECT_EQ((*item)->reason_for_exam, "suspected stroke");
  auto plain = (*workflow_store)->Get("6.1");
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_EQ((*plain)->order_priority, "LOW");  // no order: the images' priority stays
  EXPECT_EQ((*plain)->reason_for_exam, "");
  EXPECT_EQ(arrived, (std::vector<std::string>{"4.1", "5.1", "6.1"}));

  // STAT first in the default (priority) order.
  auto page = (*workflow_store)->List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].study_uid, "4.1");

  // The exam is tracked: the order is linked; the others wait for reconciliation.
  auto order = (*orders_store)->FindByAccession("ACC1");
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->linked_study_uid, "4.1");
  EXPECT_EQ((*order)->status, "arrived");
  auto unmatched = (*orders_store)->ListUnmatched(false);
  ASSERT_EQ(unmatched->size(), 2u);

  // Series stable: the arrival is told again (an accession may have been corrected); nothing
  // changes twice.
  const size_t audit_rows = (*orders_store)->OrderAudit((*order)->id)->size();
  for (const char* study : {"4.1", "5.1", "6.1"}) worklist.OnSeriesStable(study, std::string(study) + ".1");
  worklist.Flush();
  EXPECT_EQ(arrived.size(), 6u);
  EXPECT_EQ((*orders_store)->OrderAudit((*order)->id)->size(), audit_rows);
  EXPECT_EQ((*orders_store)->ListUnmatched(false)->size(), 2u);
  EXPECT_EQ((*(*workflow_store)->Get("4.1"))->order_priority, "STAT");  // the images' LOW does not return

  // The RIS lowers the priority and rewords the reason: the item follows.
  ASSERT_EQ(AckCode(orders.HandleHl7(Orm("XO", "R", "follow-up of known infarct"))), "AA");
  worklist.Flush();
  auto changed = (*workflow_store)->Get("4.1");
  EXPECT_EQ((*changed)->order_priority, "ROUTINE");
  EXPECT_EQ((*changed)->reason_for_exam, "follow-up of known infarct");
  auto audit = (*workflow_store)->Audit("4.1");
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->back().action, "priority");
  EXPECT_NE(audit->back().note.find("STAT -> ROUTINE"), std::string::npos) << audit->back().note;
  worklist.Stop();
}

}  // namespace
}  // namespace radflow::orders
