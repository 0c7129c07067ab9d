// OrderService core: HL7 in with its acknowledgments (AA after the write, AE, AR naming the
// field), merges, the REST changes, exam tracking, reconciliation, no-shows and the reading
// worklist's facts.
#include "orders/order_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../test_data.h"
#include "base/clock.h"
#include "hl7/message.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::orders {
namespace {

using storage::OrderRow;

struct Ack {
  std::string code, text, location, condition;
};

Ack ReadAck(const std::string& ack) {
  auto m = hl7::Parse(ack);
  EXPECT_TRUE(m.ok()) << m.status().ToString() << " in " << ack;
  Ack a;
  if (!m.ok()) return a;
  if (const auto* msa = m->Find("MSA")) {
    a.code = msa->Get(1);
    a.text = msa->Get(3);
  }
  if (const auto* err = m->Find("ERR")) {
    a.location = err->Get(2, 1) + "^" + err->Get(2, 2) + "^" + err->Get(2, 3);
    a.condition = err->Get(3, 1);
  }
  return a;
}

std::string Orm(const std::string& control, const std::string& placer, const std::string& accession,
                const std::string& patient = "MRN1", const std::string& extra_obr = "") {
  return "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000+0000||ORM^O01|C" + placer + control +
         "|P|2.5.1\r"
         "PID|1||" + patient + "^^^HOSP||Doe^Jane||19700401|F\r"
         "ORC|" + control + "|" + placer + "||||||||||||||^changed plans\r"
         "OBR|1|" + placer + "||CTHEAD^CT head^L||||||||||||||" + accession +
         "|||CT1|||CT|||^^M30^202603111030+0000^^S||||^suspected stroke" + extra_obr + "\r";
}

class OrderServiceTest : public ::testing::TestWithParam<::radflow::storage::Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/index.db");
    ASSERT_FALSE(location_.empty());
    auto idx = storage::Index::Open(path());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = storage::OrderStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    OrderServiceOptions options;
    ProtocolRule rule;
    rule.id = "ct-head-stroke";
    rule.protocol_code = "CTHEAD-NC";
    rule.protocol_name = "CT head without contrast";
    rule.modality = "CT";
    rule.procedure_any = {"head"};
    rule.reason_any = {"stroke"};
    rule.body_part = "HEAD";
    rule.duration_minutes = 15;
    options.protocol_rules.rules = {rule};
    options.uid_root = "1.2.826.0.1.3680043.10.1170";
    options.on_change = [this](const OrderRow& row) { changes_.push_back(row.id); };
    service_ = std::make_unique<OrderService>(*store_, options);
  }
  const std::string& path() const { return location_; }
  OrderRow Get(int64_t id) {
    auto o = store_->GetOrder(id);
    EXPECT_TRUE(o.ok() && o->has_value());
    return o.ok() && o->has_value() ? **o : OrderRow{};
  }
  OrderRow ByAccession(const std::string& acc) {
    auto o = store_->FindByAccession(acc);
    EXPECT_TRUE(o.ok() && o->has_value()) << acc;
    return o.ok() && o->has_value() ? **o : OrderRow{};
  }
  OrderRow Rest(const std::string& accession, int64_t scheduled_at) {
    OrderRow o;
    o.accession_number = accession;
    o.patient_id = "P9";
    o.patient_name = "Roe^Rick";
    o.procedure_text = "US abdomen";
    o.modality = "US";
    o.station_ae = "US1";
    o.scheduled_at = scheduled_at;
    o.duration_minutes = 20;
    auto r = service_->Create(o, "tech");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : OrderRow{};
  }
  radflow::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::OrderStore> store_;
  std::unique_ptr<OrderService> service_;
  std::vector<int64_t> changes_;
};

RADFLOW_BOTH_BACKENDS(OrderServiceTest);

TEST_P(OrderServiceTest, NewOrderIsStoredBeforeTheAaAndProposesAProtocol) {
  Ack ack = ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1")));
  EXPECT_EQ(ack.code, "AA") << ack.text;
  OrderRow o = ByAccession("ACC1");  // read back through a fresh store connection below
  auto fresh = storage::OrderStore::Open(path());
  ASSERT_TRUE(fresh.ok());
  auto durable = (*fresh)->FindByAccession("ACC1");
  ASSERT_TRUE(durable.ok() && durable->has_value());
  EXPECT_EQ(o.priority, "STAT");
  EXPECT_EQ(o.reason, "suspected stroke");
  EXPECT_EQ(o.station_ae, "CT1");
  EXPECT_EQ(o.source, "hl7");
  EXPECT_EQ(o.study_uid.rfind("1.2.826.0.1.3680043.10.1170." + std::to_string(o.id) + ".", 0), 0u);
  EXPECT_EQ(o.protocol_state, "proposed");
  EXPECT_EQ(o.protocol_code, "CTHEAD-NC");
  EXPECT_EQ(o.protocol_rule, "ct-head-stroke");
  EXPECT_FALSE(o.protocol_reason.empty());
  EXPECT_EQ(o.body_part, "HEAD");
  EXPECT_EQ(o.duration_minutes, 30);  // the order's own duration wins over the protocol's
  auto audit = store_->OrderAudit(o.id);
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().user, "hl7:RIS");
  auto patient = store_->GetPatient("MRN1", "HOSP");
  ASSERT_TRUE(patient.ok() && patient->has_value());  // the ORM's PID registers the patient
  EXPECT_EQ(changes_.size(), 1u);

  // The placer resends the NW (its ACK was lost): AA again, still one order.
  EXPECT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1"))).code, "AA");
  EXPECT_EQ(*store_->CountOrders({}), 1);
}

TEST_P(OrderServiceTest, ChangeCancelAndStatusChange) {
  ASSERT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1"))).code, "AA");
  const std::string xo =
      "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310090000||ORM^O01|X1|P|2.5.1\r"
      "ORC|XO|PL1\r"
      "OBR|1|PL1||CTHEAD^CT head^L|||||||||||||||||MR9||||||^^^202603121400+0000^^R\r";
  Ack ack = ReadAck(service_->HandleHl7(xo));
  EXPECT_EQ(ack.code, "AA") << ack.text;
  OrderRow o = ByAccession("ACC1");
  EXPECT_EQ(o.priority, "ROUTINE");
  EXPECT_EQ(o.station_ae, "MR9");
  EXPECT_EQ(o.reason, "suspected stroke");  // not sent: kept
  EXPECT_EQ(o.patient_id, "MRN1");
  auto audit = store_->OrderAudit(o.id);
  EXPECT_EQ(audit->back().action, "updated");
  EXPECT_NE(audit->back().note.find("station_ae"), std::string::npos) << audit->back().note;

  const std::string sc = "MSH|^~\\&|RIS|HOSP|||20260310090000||ORM^O01|S1|P|2.5.1\rORC|SC|PL1|||IP\r";
  EXPECT_EQ(ReadAck(service_->HandleHl7(sc)).code, "AA");
  EXPECT_EQ(Get(o.id).status, "in_progress");

  // Cancelling an exam in progress is refused with AE.
  Ack refused = ReadAck(service_->HandleHl7(Orm("CA", "PL1", "ACC1")));
  EXPECT_EQ(refused.code, "AE");
  EXPECT_NE(refused.text.find("in_progress"), std::string::npos) << refused.text;
  EXPECT_EQ(refused.condition, "207");

  ASSERT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL2", "ACC2"))).code, "AA");
  EXPECT_EQ(ReadAck(service_->HandleHl7(Orm("CA", "PL2", "ACC2"))).code, "AA");
  OrderRow cancelled = ByAccession("ACC2");
  EXPECT_EQ(cancelled.status, "cancelled");
  EXPECT_NE(store_->OrderAudit(cancelled.id)->back().note.find("changed plans"), std::string::npos);
  EXPECT_FALSE(service_->FactsFor("ACC2", "").has_value());  // a cancelled order feeds nothing
}

TEST_P(OrderServiceTest, AcknowledgmentsOfBadMessages) {
  // Malformed: AR naming segment and field (ERR-2), the listener's answer is still a message.
  Ack no_pid = ReadAck(service_->HandleHl7(
      "MSH|^~\\&|RIS|HOSP|||20260310||ORM^O01|B1|P|2.5.1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head\r"));
  EXPECT_EQ(no_pid.code, "AR");
  EXPECT_EQ(no_pid.location, "PID^1^3");
  EXPECT_EQ(no_pid.condition, "101");
  Ack bad_time = ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1", "MRN1", "|||||202613999999")));
  EXPECT_EQ(bad_time.code, "AR");
  EXPECT_EQ(bad_time.location, "OBR^1^36");
  EXPECT_EQ(bad_time.condition, "102");
  Ack control = ReadAck(service_->HandleHl7(Orm("QQ", "PL1", "ACC1")));
  EXPECT_EQ(control.location, "ORC^1^1");
  EXPECT_EQ(control.condition, "103");
  Ack type = ReadAck(service_->HandleHl7("MSH|^~\\&|RIS|HOSP|||20260310||SIU^S12|B2|P|2.5.1\r"));
  EXPECT_EQ(type.code, "AR");
  EXPECT_EQ(type.condition, "200");
  Ack event = ReadAck(service_->HandleHl7("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A03|B3|P|2.5.1\rPID|1||X\r"));
  EXPECT_EQ(event.code, "AR");
  EXPECT_EQ(event.condition, "201");
  Ack garbage = ReadAck(service_->HandleHl7("this is not HL7"));
  EXPECT_EQ(garbage.code, "AR");
  EXPECT_EQ(ReadAck(service_->HandleHl7("")).code, "AR");

  // Well formed but not applicable: AE, unknown key (204) or duplicate key (205).
  Ack unknown = ReadAck(service_->HandleHl7(Orm("XO", "NOPE", "")));
  EXPECT_EQ(unknown.code, "AE");
  EXPECT_EQ(unknown.condition, "204");
  EXPECT_NE(unknown.text.find("NOPE"), std::string::npos);
  ASSERT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1"))).code, "AA");
  Ack taken = ReadAck(service_->HandleHl7(Orm("NW", "PL7", "ACC1")));  // another placer order, same accession
  EXPECT_EQ(taken.code, "AE");
  EXPECT_EQ(taken.condition, "205");
  EXPECT_EQ(taken.location, "OBR^1^18");
  Ack other_patient = ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1", "MRN2")));
  EXPECT_EQ(other_patient.code, "AE");
  EXPECT_EQ(other_patient.condition, "205");
  EXPECT_EQ(*store_->CountOrders({}), 1);
}

TEST_P(OrderServiceTest, AdtRegistersUpdatesAndMergesWithStudies) {
  EXPECT_EQ(ReadAck(service_->HandleHl7("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A04|A1|P|2.5.1\r"
                                        "PID|1||OLD^^^HOSP||Smith^Al||19500101|M\r")).code, "AA");
  ASSERT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1", "OLD"))).code, "AA");
  // A08: the open order follows the new name.
  EXPECT_EQ(ReadAck(service_->HandleHl7("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A08|A2|P|2.5.1\r"
                                        "PID|1||OLD^^^HOSP||Smith^Albert\r")).code, "AA");
  EXPECT_EQ(ByAccession("ACC1").patient_name, "Smith^Albert");
  // A study of the old patient in the index.
  storage::InstanceEntry e;
  e.instance.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  e.instance.sop_instance_uid = "7.1.1.1";
  e.instance.study_instance_uid = "7.1";
  e.instance.series_instance_uid = "7.1.1";
  e.instance.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  e.instance.attributes.Set(dicom::tags::kPatientID, "OLD");
  e.blob_path = "b/7";
  e.blob_size = 1;
  ASSERT_TRUE(index_->Commit(e, false).ok());

  Ack merge = ReadAck(service_->HandleHl7("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A40^ADT_A39|A3|P|2.5.1\r"
                                          "PID|1||NEW^^^HOSP||Smith^Albert^B\rMRG|OLD^^^HOSP\r"));
  EXPECT_EQ(merge.code, "AA") << merge.text;
  OrderRow moved = ByAccession("ACC1");
  EXPECT_EQ(moved.patient_id, "NEW");
  EXPECT_EQ(moved.patient_name, "Smith^Albert^B");
  EXPECT_EQ((*store_->GetPatient("OLD", "HOSP"))->merged_into, "NEW");
  auto stats = index_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->patients, 1);
}

TEST_P(OrderServiceTest, RestChangesAndTheirRules) {
  OrderRow o = Rest("R1", 1000);
  EXPECT_EQ(o.source, "rest");
  EXPECT_EQ(o.priority, "ROUTINE");
  EXPECT_EQ(o.protocol_state, "");  // no rule for US abdomen in this rule set

  OrderRow bad;
  bad.patient_id = "P";
  EXPECT_EQ(service_->Create(bad, "u").status().code(), ErrorCode::kInvalidArgument);
  bad.procedure_text = "CT head";
  bad.priority = "SOON";
  auto r = service_->Create(bad, "u");
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("priority:", 0), 0u);
  bad.priority = "S";
  bad.study_uid = "1.2.x";
  EXPECT_EQ(service_->Create(bad, "u").status().message().rfind("study_uid:", 0), 0u);
  OrderRow dup = o;
  EXPECT_EQ(service_->Create(dup, "u").status().code(), ErrorCode::kConflict);

  // Update re-proposes a protocol when the procedure changes.
  auto up = service_->Update(o.id, [](OrderRow& row) {
    row.procedure_text = "CT head";
    row.modality = "CT";
    row.reason = "stroke";
    row.status = "completed";  // ignored: the status has its own routes
    return Status::Ok();
  }, "tech");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->status, "scheduled");
  EXPECT_EQ(up->protocol_code, "CTHEAD-NC");

  auto accepted = service_->SetProtocol(o.id, "", "", "tech");
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->protocol_state, "accepted");
  EXPECT_EQ(accepted->protocol_by, "tech");
  auto changed = service_->SetProtocol(o.id, "CTA-HEADNECK", "CTA head and neck", "tech");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->protocol_state, "changed");
  EXPECT_EQ(changed->protocol_code, "CTA-HEADNECK");
  EXPECT_EQ(service_->SetProtocol(o.id, "UNKNOWN", "", "tech").status().code(), ErrorCode::kInvalidArgument);
  auto by_code = service_->SetProtocol(o.id, "CTHEAD-NC", "", "tech");
  ASSERT_TRUE(by_code.ok());
  EXPECT_EQ(by_code->protocol_name, "CT head without contrast");  // the name from the rule set

  EXPECT_TRUE(service_->SetReminder(o.id, true, "desk")->reminder_sent);
  EXPECT_EQ(service_->SetStatus(o.id, "arrived", "desk")->status, "arrived");
  EXPECT_EQ(service_->SetStatus(o.id, "scheduled", "desk")->status, "scheduled");
  EXPECT_EQ(service_->SetStatus(o.id, "completed", "desk").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->Cancel(o.id, "patient moved", "desk")->status, "cancelled");
  EXPECT_EQ(service_->Cancel(o.id, "again", "desk")->status, "cancelled");  // idempotent
  EXPECT_EQ(service_->SetStatus(o.id, "arrived", "desk").status().code(), ErrorCode::kConflict);
  EXPECT_EQ(service_->Update(o.id, [](OrderRow& row) {
    row.reason = "x";
    return Status::Ok();
  }, "u").status().code(), ErrorCode::kConflict);
  EXPECT_EQ(service_->Cancel(424242, "", "u").status().code(), ErrorCode::kNotFound);

  std::vector<std::string> actions;
  auto audit = store_->OrderAudit(o.id);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) actions.push_back(a.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"created", "updated", "protocol", "protocol", "protocol", "updated",
                                               "status", "status", "cancelled"}));
}

TEST_P(OrderServiceTest, StudyArrivalLinksByAccessionOrUidElseReconciliation) {
  OrderRow o = Rest("R1", 1000);
  ASSERT_TRUE(service_->OnStudyArrived("5.5", "R1", "P9", "Roe^Rick", "US", "20260310").ok());
  OrderRow linked = Get(o.id);
  EXPECT_EQ(linked.linked_study_uid, "5.5");
  EXPECT_EQ(linked.status, "arrived");
  ASSERT_TRUE(service_->OnStudyArrived("5.5", "R1", "P9", "Roe^Rick", "US", "20260310").ok());  // idempotent
  EXPECT_EQ(store_->OrderAudit(o.id)->size(), 2u);
  auto by_link = store_->FindByStudyUid("5.5");
  ASSERT_TRUE(by_link.ok() && by_link->has_value());

  // The modality used the worklist's StudyInstanceUID and no accession.
  OrderRow o2 = Rest("R2", 2000);
  ASSERT_TRUE(service_->OnStudyArrived(o2.study_uid, "", "P9", "Roe^Rick", "US", "20260310").ok());
  EXPECT_EQ(Get(o2.id).linked_study_uid, o2.study_uid);

  // No order: the study waits on the reconciliation list until linked or dismissed.
  ASSERT_TRUE(service_->OnStudyArrived("6.6", "X1", "P7", "Poe^Ed", "CT", "20260310").ok());
  ASSERT_TRUE(service_->OnStudyArrived("6.7", "", "P7", "Poe^Ed", "CT", "20260310").ok());
  ASSERT_EQ(store_->ListUnmatched(false)->size(), 2u);
  OrderRow o3 = Rest("R3", 3000);
  ASSERT_TRUE(service_->Reconcile("6.7", o3.id, "tech").ok());
  EXPECT_EQ(Get(o3.id).linked_study_uid, "6.7");
  EXPECT_EQ(Get(o3.id).status, "arrived");
  EXPECT_EQ(service_->Reconcile("6.7", o3.id, "tech").code(), ErrorCode::kNotFound);  // not on the list any more
  EXPECT_EQ(service_->Reconcile("6.6", 999, "tech").code(), ErrorCode::kNotFound);
  EXPECT_EQ(service_->Reconcile("6.6", o3.id, "tech").code(), ErrorCode::kConflict);  // o3 has its study

  // An order created after its study arrived links it at once.
  OrderRow late = Rest("X1", 4000);
  EXPECT_EQ(late.linked_study_uid, "6.6");
  EXPECT_TRUE(store_->ListUnmatched(false)->empty());
  auto all = store_->ListUnmatched(true);
  ASSERT_EQ(all->size(), 2u);
}

TEST_P(OrderServiceTest, NoShowsAfterSlotAndGraceWithoutMppsOrStudy) {
  const int64_t minute = 60'000;
  const int64_t t0 = 1'800'000'000'000;
  OrderRow missed = Rest("N1", t0);           // 20 min slot
  OrderRow came = Rest("N2", t0);
  OrderRow later = Rest("N3", t0 + 60 * minute);
  ASSERT_TRUE(service_->OnStudyArrived("9.9", "N2", "P9", "", "US", "").ok());
  // 20 min + 120 min grace after t0: not yet at 139 min, marked at 140.
  auto none = service_->MarkNoShows(t0 + 139 * minute);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto marked = service_->MarkNoShows(t0 + 140 * minute);
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, 1);
  EXPECT_EQ(Get(missed.id).status, "no_show");
  EXPECT_EQ(Get(came.id).status, "arrived");
  EXPECT_EQ(Get(later.id).status, "scheduled");
  EXPECT_EQ(*service_->MarkNoShows(t0 + 140 * minute), 0);  // idempotent
  EXPECT_EQ(store_->OrderAudit(missed.id)->back().user, "system");
  // The desk can undo it.
  EXPECT_EQ(service_->SetStatus(missed.id, "scheduled", "desk")->status, "scheduled");
  EXPECT_EQ(service_->SetStatus(came.id, "no_show", "desk").status().code(), ErrorCode::kConflict);
}

TEST_P(OrderServiceTest, FactsForTheReadingWorklist) {
  ASSERT_EQ(ReadAck(service_->HandleHl7(Orm("NW", "PL1", "ACC1"))).code, "AA");
  auto f = service_->FactsFor("ACC1", "");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->priority, "STAT");
  EXPECT_EQ(f->reason, "suspected stroke");
  EXPECT_EQ(f->procedure_text, "CT head");
  OrderRow o = ByAccession("ACC1");
  auto by_uid = service_->FactsFor("", o.study_uid);
  ASSERT_TRUE(by_uid.has_value());
  EXPECT_EQ(by_uid->order_id, o.id);
  EXPECT_FALSE(service_->FactsFor("nope", "1.2.3").has_value());
}

TEST_P(OrderServiceTest, EveryTruncationOrCorruptionGetsAnAcknowledgment) {
  // Never a crash, never silence: each prefix of a message, and each with one byte replaced
  // by a delimiter, is answered AA, AE or AR.
  const std::string full = Orm("NW", "PL1", "ACC1");
  int answered = 0;
  for (size_t n = 0; n <= full.size(); ++n) {
    for (const std::string& variant : {full.substr(0, n), full.substr(0, n) + "|^~\\&\r" + full.substr(n)}) {
      Ack a = ReadAck(service_->HandleHl7(variant));
      EXPECT_TRUE(a.code == "AA" || a.code == "AE" || a.code == "AR") << variant;
      ++answered;
    }
  }
  EXPECT_EQ(answered, static_cast<int>(2 * (full.size() + 1)));
}

TEST_P(OrderServiceTest, ConcurrentSendersEachGetAnAaAndOneOrderPerPlacer) {
  // 8 connections at once, 20 orders each; every order is also sent by a second connection
  // (a resend racing the first): one order per placer number, every message AA.
  std::vector<std::thread> senders;
  std::atomic<int> aa{0}, other{0};
  for (int t = 0; t < 8; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const int n = ((t / 2) * 20 + i);  // threads 2k and 2k+1 send the same orders
        const std::string placer = "CP" + std::to_string(n), acc = "CA" + std::to_string(n);
        (ReadAck(service_->HandleHl7(Orm("NW", placer, acc))).code == "AA" ? aa : other)++;
      }
    });
  }
  for (auto& s : senders) s.join();
  EXPECT_EQ(aa.load(), 160);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(*store_->CountOrders({}), 80);
}

TEST(OrderServiceHandles, MessageCodes) {
  EXPECT_TRUE(OrderService::Handles("ADT^A04"));
  EXPECT_TRUE(OrderService::Handles("ORM^O01"));
  EXPECT_TRUE(OrderService::Handles("OMI"));
  EXPECT_FALSE(OrderService::Handles("ORU^R01"));
  EXPECT_FALSE(OrderService::Handles(""));
}

}  // namespace
}  // namespace radflow::orders
