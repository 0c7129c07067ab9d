// The Modality Worklist C-FIND SCP and the MPPS SCP over real associations (DCMTK as the
// SCU, the DimseServer with a real OrderStore/OrderService on a temporary database):
// matching and return keys (PS3.4 K.6.1.2), N-CREATE / N-SET statuses (PS3.4 F.7.2), access
// checks and audit, and worklist item files (`radflow orders import`).
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "dimse/dimse_server.h"
#include "dimse/mwl_scp.h"
#include "orders/mwl_match.h"
#include "orders/order_service.h"
#include "storage/index.h"
#include "storage/order_store.h"
#include "support/store_backend.h"

namespace radflow {
namespace {

using storage::OrderRow;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string Get(DcmItem* item, const DcmTagKey& key) {
  OFString v;
  if (item && item->findAndGetOFStringArray(key, v).good()) return v.c_str();
  return "";
}

// A DCMTK SCU: one association proposing MWL FIND and MPPS.
class Scu {
 public:
  Scu(uint16_t port, const std::string& calling_ae) {
    EXPECT_TRUE(ASC_initializeNetwork(NET_REQUESTOR, 0, 30, &net_).good());
    ASC_createAssociationParameters(&params_, ASC_DEFAULTMAXPDU);
    ASC_setAPTitles(params_, calling_ae.c_str(), "RADFLOW", nullptr);
    const std::string peer = "127.0.0.1:" + std::to_string(port);
    ASC_setPresentationAddresses(params_, "localhost", peer.c_str());
    const char* ts[] = {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax};
    ASC_addPresentationContext(params_, 1, UID_FINDModalityWorklistInformationModel, ts, 2);
    ASC_addPresentationContext(params_, 3, UID_ModalityPerformedProcedureStepSOPClass, ts, 2);
    OFCondition cond = ASC_requestAssociation(net_, params_, &assoc_);
    connected_ = cond.good();
    if (!connected_) params_ = nullptr;  // owned by the association object now
  }
  ~Scu() {
    if (assoc_) {
      if (connected_) ASC_releaseAssociation(assoc_);
      ASC_destroyAssociation(&assoc_);
    }
    if (net_) ASC_dropNetwork(&net_);
  }
  bool connected() const { return connected_; }
  bool Accepted(const char* sop_class) {
    return ASC_findAcceptedPresentationContextID(assoc_, sop_class) != 0;
  }

  // C-FIND: the responses (owned by the caller) and the final status.
  struct Found {
    std::vector<std::unique_ptr<DcmDataset>> rows;
    uint16_t status = 0xFFFF;
    std::string comment;
  };
  Found Find(DcmDataset& query) {
    Found out;
    T_ASC_PresentationContextID pres = ASC_findAcceptedPresentationContextID(assoc_, UID_FINDModalityWorklistInformationModel);
    T_DIMSE_C_FindRQ req{};
    req.MessageID = assoc_->nextMsgID++;
    std::strcpy(req.AffectedSOPClassUID, UID_FINDModalityWorklistInformationModel);
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    T_DIMSE_C_FindRSP rsp{};
    DcmDataset* detail = nullptr;
    auto cb = [](void* data, T_DIMSE_C_FindRQ*, int, T_DIMSE_C_FindRSP*, DcmDataset* id) {
      static_cast<Found*>(data)->rows.emplace_back(new DcmDataset(*id));
    };
    int count = 0;
    OFCondition cond = DIMSE_findUser(assoc_, pres, &req, &query, count, cb, &out, DIMSE_BLOCKING, 0, &rsp, &detail);
    EXPECT_TRUE(cond.good()) << cond.text();
    out.status = rsp.DimseStatus;
    out.comment = Get(detail, DCM_ErrorComment);
    delete detail;
    return out;
  }

  struct NResult {
    uint16_t status = 0xFFFF;
    std::string comment, instance_uid;
    uint16_t error_id = 0;
  };
  NResult Create(const std::string& uid, DcmDataset& ds) {
    T_DIMSE_Message msg;
    std::memset(&msg, 0, sizeof msg);
    msg.CommandField = DIMSE_N_CREATE_RQ;
    auto& r = msg.msg.NCreateRQ;
    r.MessageID = assoc_->nextMsgID++;
    std::strcpy(r.AffectedSOPClassUID, UID_ModalityPerformedProcedureStepSOPClass);
    if (!uid.empty()) {
      std::strcpy(r.AffectedSOPInstanceUID, uid.c_str());
      r.opts = O_NCREATE_AFFECTEDSOPINSTANCEUID;
    }
    r.DataSetType = DIMSE_DATASET_PRESENT;
    return Send(msg, ds);
  }
  NResult Set(const std::string& uid, DcmDataset& ds) {
    T_DIMSE_Message msg;
    std::memset(&msg, 0, sizeof msg);
    msg.CommandField = DIMSE_N_SET_RQ;
    auto& r = msg.msg.NSetRQ;
    r.MessageID = assoc_->nextMsgID++;
    std::strcpy(r.RequestedSOPClassUID, UID_ModalityPerformedProcedureStepSOPClass);
    std::strcpy(r.RequestedSOPInstanceUID, uid.c_str());
    r.DataSetType = DIMSE_DATASET_PRESENT;
    return Send(msg, ds);
  }

 private:
  NResult Send(T_DIMSE_Message& msg, DcmDataset& ds) {
    NResult out;
    T_ASC_PresentationContextID pres =
        ASC_findAcceptedPresentationContextID(assoc_, UID_ModalityPerformedProcedureStepSOPClass);
    OFCondition cond = DIMSE_sendMessageUsingMemoryData(assoc_, pres, &msg, nullptr, &ds, nullptr, nullptr);
    EXPECT_TRUE(cond.good()) << cond.text();
    T_DIMSE_Message rsp;
    DcmDataset* detail = nullptr;
    T_ASC_PresentationContextID rpres = 0;
    cond = DIMSE_receiveCommand(assoc_, DIMSE_BLOCKING, 0, &rpres, &rsp, &detail);
    EXPECT_TRUE(cond.good()) << cond.text();
    if (rsp.CommandField == DIMSE_N_CREATE_RSP) {
      out.status = rsp.msg.NCreateRSP.DimseStatus;
      out.instance_uid = rsp.msg.NCreateRSP.AffectedSOPInstanceUID;
    } else if (rsp.CommandField == DIMSE_N_SET_RSP) {
      out.status = rsp.msg.NSetRSP.DimseStatus;
      out.instance_uid = rsp.msg.NSetRSP.AffectedSOPInstanceUID;
    }
    out.comment = Get(detail, DCM_ErrorComment);
    Uint16 id = 0;
    if (detail && detail->findAndGetUint16(DCM_ErrorID, id).good()) out.error_id = id;
    delete detail;
    return out;
  }
  T_ASC_Network* net_ = nullptr;
  T_ASC_Parameters* params_ = nullptr;
  T_ASC_Association* assoc_ = nullptr;
  bool connected_ = false;
};

// The MPPS attributes an N-CREATE carries (PS3.4 F.7.2.1, Table F.7.2-1), the step's order
// named by accession in the Scheduled Step Attributes Sequence.
std::unique_ptr<DcmDataset> MppsCreateDataset(const std::string& status, const std::string& accession,
                                              const std::string& study_uid = "") {
  auto ds = std::make_unique<DcmDataset>();
  ds->putAndInsertString(DCM_PerformedProcedureStepStatus, status.c_str());
  ds->putAndInsertString(DCM_PerformedStationAETitle, "CT1");
  ds->putAndInsertString(DCM_Modality, "CT");
  ds->putAndInsertString(DCM_PerformedProcedureStepStartDate, "20260311");
  ds->putAndInsertString(DCM_PerformedProcedureStepStartTime, "103500");
  ds->putAndInsertString(DCM_PerformedProcedureStepEndDate, "");
  ds->putAndInsertString(DCM_PerformedProcedureStepEndTime, "");
  ds->putAndInsertString(DCM_PerformedProcedureStepID, "PPS1");
  ds->putAndInsertString(DCM_PatientName, "DOE^JANE");
  ds->putAndInsertString(DCM_PatientID, "MRN1");
  DcmItem* step = nullptr;
  ds->findOrCreateSequenceItem(DCM_ScheduledStepAttributesSequence, step, 0);
  step->putAndInsertString(DCM_AccessionNumber, accession.c_str());
  step->putAndInsertString(DCM_StudyInstanceUID, study_uid.c_str());
  return ds;
}

std::unique_ptr<DcmDataset> MppsSetDataset(const std::string& status) {
  auto ds = std::make_unique<DcmDataset>();
  ds->putAndInsertString(DCM_PerformedProcedureStepStatus, status.c_str());
  ds->putAndInsertString(DCM_PerformedProcedureStepEndDate, "20260311");
  ds->putAndInsertString(DCM_PerformedProcedureStepEndTime, "105000");
  return ds;
}

class MwlScpTest : public ::testing::TestWithParam<::radflow::storage::Backend> {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    dir_ = std::filesystem::temp_directory_path() /
           ("radflow-mwl-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    // SQLite file or PostgreSQL database (support/store_backend.h).
    const std::string db = radflow::testing::NewEmptyLocation(GetParam(), (dir_ / "index.db").string());
    ASSERT_FALSE(db.empty());
    auto idx = storage::Index::Open(db);
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = storage::OrderStore::Open(db);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    orders::OrderServiceOptions options;
    options.protocol_rules = orders::ProtocolRules{};  // no proposals: the test's protocols only
    service_ = std::make_unique<orders::OrderService>(*store_, options);
    // Access rules: MODALITY may do all; QUERYONLY only query; STOREONLY only store.
    const std::string rules = (dir_ / "access.json").string();
    std::ofstream(rules) << R"([{"ae":"MODALITY","store":true,"query":true,"retrieve":true},
                              {"ae":"QUERYONLY","query":true},{"ae":"STOREONLY","store":true}])";
    dimse::DimseConfig config;
    config.port = FreePort();
    config.access_file = rules;
    config.audit = [this](const audit::AuditEvent& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
    };
    dimse::DimseServices services{nullptr, nullptr, nullptr};
    services.orders = with_orders_ ? service_.get() : nullptr;
    server_ = std::make_unique<dimse::DimseServer>(config, services);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
    store_.reset();
    index_.reset();
    std::filesystem::remove_all(dir_);
  }

  OrderRow AddOrder(const std::string& accession, const std::string& station, const std::string& modality,
                    const std::string& date, const std::string& time, const std::string& name = "DOE^JANE") {
    OrderRow o;
    o.accession_number = accession;
    o.patient_id = "MRN1";
    o.patient_name = name;
    o.birth_date = "19700401";
    o.sex = "F";
    o.procedure_code = "CTHEAD";
    o.procedure_scheme = "L";
    o.procedure_text = "CT head";
    o.modality = modality;
    o.station_ae = station;
    o.station_name = station + " room";
    o.priority = "STAT";
    o.reason = "suspected stroke";
    o.referring_physician = "SMITH^JOHN";
    o.scheduled_at = orders::FromLocalDicom(date, time);
    o.duration_minutes = 15;
    auto r = service_->Create(o, "test");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : o;
  }

  OrderRow Reload(int64_t id) {
    auto r = store_->GetOrder(id);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : OrderRow{};
  }

  std::vector<audit::AuditEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  bool with_orders_ = true;
  std::filesystem::path dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::OrderStore> store_;
  std::unique_ptr<orders::OrderService> service_;
  std::unique_ptr<dimse::DimseServer> server_;
  std::mutex mu_;
  std::vector<audit::AuditEvent> events_;
};

// A query asking for a few top-level keys and, in the SPS item, the station AE (matching).
std::unique_ptr<DcmDataset> StationQuery(const std::string& station, bool universal_sps = false) {
  auto q = std::make_unique<DcmDataset>();
  q->insertEmptyElement(DCM_PatientName);
  q->insertEmptyElement(DCM_AccessionNumber);
  q->insertEmptyElement(DCM_StudyInstanceUID);
  q->insertEmptyElement(DCM_RequestedProcedurePriority);
  q->insertEmptyElement(DCM_ReasonForTheRequestedProcedure);
  q->insertEmptyElement(DCM_MedicalAlerts);
  DcmItem* sps = nullptr;
  q->findOrCreateSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  if (!universal_sps) {
    sps->putAndInsertString(DCM_ScheduledStationAETitle, station.c_str());
    sps->insertEmptyElement(DCM_ScheduledProcedureStepStartDate);
    sps->insertEmptyElement(DCM_ScheduledProcedureStepStartTime);
  }
  return q;
}

RADFLOW_BOTH_BACKENDS(MwlScpTest);

TEST_P(MwlScpTest, WorklistMatchesStationAndReturnsOnlyRequestedKeys) {
  OrderRow a = AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  AddOrder("ACC2", "CT2", "CT", "20260311", "110000");
  Scu scu(server_->port(), "MODALITY");
  ASSERT_TRUE(scu.connected());
  ASSERT_TRUE(scu.Accepted(UID_FINDModalityWorklistInformationModel));
  auto q = StationQuery("CT1");
  auto found = scu.Find(*q);
  EXPECT_EQ(found.status, 0x0000);
  ASSERT_EQ(found.rows.size(), 1u);
  DcmDataset& r = *found.rows[0];
  EXPECT_EQ(Get(&r, DCM_AccessionNumber), "ACC1");
  EXPECT_EQ(Get(&r, DCM_PatientName), "DOE^JANE");
  EXPECT_EQ(Get(&r, DCM_StudyInstanceUID), a.study_uid);
  EXPECT_EQ(Get(&r, DCM_RequestedProcedurePriority), "STAT");
  EXPECT_EQ(Get(&r, DCM_ReasonForTheRequestedProcedure), "suspected stroke");
  EXPECT_TRUE(r.tagExists(DCM_MedicalAlerts));  // requested, no value: returned empty
  EXPECT_EQ(Get(&r, DCM_MedicalAlerts), "");
  EXPECT_FALSE(r.tagExists(DCM_PatientID));  // not requested: not returned (K.6.1.2.2)
  EXPECT_FALSE(r.tagExists(DCM_RequestedProcedureID));
  DcmItem* sps = nullptr;
  ASSERT_TRUE(r.findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0).good());
  EXPECT_EQ(Get(sps, DCM_ScheduledStationAETitle), "CT1");
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepStartDate), "20260311");
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepStartTime), "103000");
  EXPECT_FALSE(sps->tagExists(DCM_Modality));
  // One query audit record, with the match count. The SCP records it once the C-FIND has
  // ended, after the final response has gone out, so it may land just after Find returns:
  // wait for it (up to 5 s, far above the milliseconds it takes).
  bool audited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!audited && std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : Events()) {
      if (e.event == "query" && e.detail == "C-FIND MWL: 1 matches" && e.success && e.user == "MODALITY") audited = true;
    }
    if (!audited) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(audited);
}

TEST_P(MwlScpTest, UniversalSequenceMatchReturnsTheWholeStep) {
  OrderRow a = AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "MODALITY");
  auto q = StationQuery("", /*universal_sps=*/true);
  auto found = scu.Find(*q);
  ASSERT_EQ(found.rows.size(), 1u);
  DcmItem* sps = nullptr;
  ASSERT_TRUE(found.rows[0]->findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0).good());
  EXPECT_EQ(Get(sps, DCM_Modality), "CT");
  EXPECT_EQ(Get(sps, DCM_ScheduledStationAETitle), "CT1");
  EXPECT_EQ(Get(sps, DCM_ScheduledStationName), "CT1 room");
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepID), a.procedure_step_id);
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepStatus), "SCHEDULED");
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepEndTime), "104500");  // 15 minutes
  EXPECT_FALSE(sps->tagExists(DCM_ScheduledProtocolCodeSequence));  // no confirmed protocol
}

TEST_P(MwlScpTest, DateRangeWildcardNameAndDoneOrdersLeaveTheWorklist) {
  AddOrder("ACC1", "CT1", "CT", "20260311", "103000", "DOE^JANE");
  OrderRow b = AddOrder("ACC2", "CT1", "CT", "20260312", "090000", "ROE^RICHARD");
  OrderRow c = AddOrder("ACC3", "CT1", "CT", "20260312", "100000", "ROE^RITA");
  ASSERT_TRUE(service_->Cancel(c.id, "patient declined", "test").ok());
  Scu scu(server_->port(), "MODALITY");
  auto q = StationQuery("CT1");
  DcmItem* sps = nullptr;
  q->findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  sps->putAndInsertString(DCM_ScheduledProcedureStepStartDate, "20260312-");
  q->putAndInsertString(DCM_PatientName, "roe*");
  auto found = scu.Find(*q);
  ASSERT_EQ(found.rows.size(), 1u);  // ACC3 is cancelled: not on the worklist
  EXPECT_EQ(Get(found.rows[0].get(), DCM_AccessionNumber), b.accession_number);
}

TEST_P(MwlScpTest, MalformedDateIsRefusedNamingTheAttribute) {
  AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "MODALITY");
  auto q = StationQuery("CT1");
  DcmItem* sps = nullptr;
  q->findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  sps->putAndInsertString(DCM_ScheduledProcedureStepStartDate, "2026x");
  auto found = scu.Find(*q);
  EXPECT_EQ(found.status, 0xA900);
  EXPECT_NE(found.comment.find("(0040,0002)"), std::string::npos) << found.comment;
  EXPECT_TRUE(found.rows.empty());
}

TEST_P(MwlScpTest, CallerWithoutQueryRightIsRefused) {
  AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "STOREONLY");
  ASSERT_TRUE(scu.connected());
  auto q = StationQuery("CT1");
  auto found = scu.Find(*q);
  EXPECT_EQ(found.status, 0x0124);
  EXPECT_TRUE(found.rows.empty());
}

TEST_P(MwlScpTest, MppsInProgressCompletedAndStatuses) {
  OrderRow a = AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "MODALITY");
  ASSERT_TRUE(scu.Accepted(UID_ModalityPerformedProcedureStepSOPClass));
  const std::string uid = "1.2.826.0.1.3680043.10.1170.99.1";
  auto create = MppsCreateDataset("IN PROGRESS", "ACC1");
  auto r = scu.Create(uid, *create);
  EXPECT_EQ(r.status, 0x0000) << r.comment;
  EXPECT_EQ(r.instance_uid, uid);
  OrderRow now = Reload(a.id);
  EXPECT_EQ(now.status, "in_progress");
  EXPECT_EQ(now.mpps_uid, uid);
  EXPECT_EQ(now.performed_start, orders::FromLocalDicom("20260311", "103500"));
  // The worklist shows the step STARTED (still on it: in progress).
  auto q = StationQuery("CT1", true);
  auto found = scu.Find(*q);
  ASSERT_EQ(found.rows.size(), 1u);
  DcmItem* sps = nullptr;
  found.rows[0]->findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  EXPECT_EQ(Get(sps, DCM_ScheduledProcedureStepStatus), "STARTED");

  // A second N-CREATE of the same instance: 0x0111 Duplicate SOP Instance.
  r = scu.Create(uid, *create);
  EXPECT_EQ(r.status, 0x0111);
  // N-SET of an unknown instance: 0x0112 No Such SOP Instance.
  auto done = MppsSetDataset("COMPLETED");
  r = scu.Set("1.2.826.0.1.3680043.10.1170.99.404", *done);
  EXPECT_EQ(r.status, 0x0112);
  // COMPLETED: the order is completed with the performed times.
  r = scu.Set(uid, *done);
  EXPECT_EQ(r.status, 0x0000) << r.comment;
  now = Reload(a.id);
  EXPECT_EQ(now.status, "completed");
  EXPECT_EQ(now.performed_end, orders::FromLocalDicom("20260311", "105000"));
  auto mpps = store_->GetMpps(uid);
  ASSERT_TRUE(mpps.ok() && mpps->has_value());
  EXPECT_EQ((*mpps)->status, "COMPLETED");
  EXPECT_EQ((*mpps)->order_id, a.id);
  EXPECT_NE((*mpps)->dataset_json.find("00400252"), std::string::npos);
  // The N-SET's attributes are merged into the N-CREATE's: the start date sent only at
  // N-CREATE is still there, beside the end date of the N-SET.
  EXPECT_EQ((*mpps)->dataset_json.front(), '{');
  EXPECT_NE((*mpps)->dataset_json.find("00400244"), std::string::npos) << (*mpps)->dataset_json;
  EXPECT_NE((*mpps)->dataset_json.find("00400250"), std::string::npos) << (*mpps)->dataset_json;
  // After COMPLETED: 0x0110 Processing failure, ErrorID A710 and a comment.
  auto again = MppsSetDataset("DISCONTINUED");
  r = scu.Set(uid, *again);
  EXPECT_EQ(r.status, 0x0110);
  EXPECT_EQ(r.error_id, 0xA710);
  EXPECT_NE(r.comment.find("may no longer be updated"), std::string::npos) << r.comment;
  EXPECT_EQ(Reload(a.id).status, "completed");
  // A completed order leaves the worklist.
  found = scu.Find(*q);
  EXPECT_TRUE(found.rows.empty());
}

TEST_P(MwlScpTest, MppsDiscontinuedByStudyUidAndBadCreates) {
  OrderRow a = AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "MODALITY");
  // Found by StudyInstanceUID when the accession is not sent.
  auto create = MppsCreateDataset("IN PROGRESS", "", a.study_uid);
  const std::string uid = "1.2.826.0.1.3680043.10.1170.99.2";
  EXPECT_EQ(scu.Create(uid, *create).status, 0x0000);
  EXPECT_EQ(Reload(a.id).status, "in_progress");
  auto stop = MppsSetDataset("DISCONTINUED");
  EXPECT_EQ(scu.Set(uid, *stop).status, 0x0000);
  EXPECT_EQ(Reload(a.id).status, "discontinued");
  // N-CREATE must be IN PROGRESS (PS3.4 F.7.2.1.1): 0x0106 Invalid attribute value.
  auto bad = MppsCreateDataset("COMPLETED", "ACC1");
  auto r = scu.Create("1.2.826.0.1.3680043.10.1170.99.3", *bad);
  EXPECT_EQ(r.status, 0x0106);
  EXPECT_NE(r.comment.find("IN PROGRESS"), std::string::npos);
  // An unscheduled step (no order) is kept, with no order.
  auto loose = MppsCreateDataset("IN PROGRESS", "NOSUCH");
  r = scu.Create("", *loose);  // the SCP assigns the instance UID
  EXPECT_EQ(r.status, 0x0000);
  ASSERT_FALSE(r.instance_uid.empty());
  auto m = store_->GetMpps(r.instance_uid);
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->order_id, 0);
}

TEST_P(MwlScpTest, MppsNeedsTheStoreRight) {
  OrderRow a = AddOrder("ACC1", "CT1", "CT", "20260311", "103000");
  Scu scu(server_->port(), "QUERYONLY");
  auto create = MppsCreateDataset("IN PROGRESS", "ACC1");
  EXPECT_EQ(scu.Create("1.2.826.0.1.3680043.10.1170.99.5", *create).status, 0x0124);
  EXPECT_EQ(Reload(a.id).status, "scheduled");
}

class MwlScpWithoutOrders : public MwlScpTest {
 protected:
  void SetUp() override {
    with_orders_ = false;
    MwlScpTest::SetUp();
  }
};

RADFLOW_BOTH_BACKENDS(MwlScpWithoutOrders);

TEST_P(MwlScpWithoutOrders, WorklistAndMppsAreNotOffered) {
  Scu scu(server_->port(), "MODALITY");
  ASSERT_TRUE(scu.connected());
  EXPECT_FALSE(scu.Accepted(UID_FINDModalityWorklistInformationModel));
  EXPECT_FALSE(scu.Accepted(UID_ModalityPerformedProcedureStepSOPClass));
}

// ---- worklist item files (`radflow orders import`)

TEST(WorklistItemFile, MapsModelledAttributesAndKeepsTheRest) {
  setenv("TZ", "UTC", 1);
  tzset();
  const std::string path = (std::filesystem::temp_directory_path() / "radflow-mwl-item.wl").string();
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 100");
  ds->putAndInsertString(DCM_AccessionNumber, "00000");
  ds->putAndInsertString(DCM_PatientName, "M\xdcLLER^ANTON");  // Latin-1 U umlaut
  ds->putAndInsertString(DCM_PatientID, "AV35674");
  ds->putAndInsertString(DCM_MedicalAlerts, "METASTASIS");
  ds->putAndInsertString(DCM_RequestingPhysician, "SMITH");
  ds->putAndInsertString(DCM_RequestedProcedureDescription, "EXAM6");
  ds->putAndInsertString(DCM_RequestedProcedureID, "RP454G234");
  ds->putAndInsertString(DCM_RequestedProcedurePriority, "LOW");
  ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.276.0.7230010.3.2.101");
  DcmItem* sps = nullptr;
  ds->findOrCreateSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  sps->putAndInsertString(DCM_Modality, "MR");
  sps->putAndInsertString(DCM_ScheduledStationAETitle, "AA32\\AA33");
  sps->putAndInsertString(DCM_ScheduledProcedureStepStartDate, "19951015");
  sps->putAndInsertString(DCM_ScheduledProcedureStepStartTime, "085607");
  sps->putAndInsertString(DCM_ScheduledPerformingPhysicianName, "JOHNSON");
  sps->putAndInsertString(DCM_ScheduledProcedureStepID, "SPD3445");
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  auto o = dimse::ReadWorklistItem(path);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->patient_name, "M\xc3\x9cLLER^ANTON");  // UTF-8
  EXPECT_EQ(o->station_ae, "AA32\\AA33");
  EXPECT_EQ(o->modality, "MR");
  EXPECT_EQ(o->priority, "LOW");
  EXPECT_EQ(o->scheduled_at, orders::FromLocalDicom("19951015", "085607"));
  EXPECT_EQ(o->study_uid, "1.2.276.0.7230010.3.2.101");
  EXPECT_EQ(o->source, "dicom");
  EXPECT_EQ(o->referring_physician, "");  // RequestingPhysician is not the referring one
  EXPECT_NE(o->worklist_json.find("METASTASIS"), std::string::npos);
  EXPECT_NE(o->worklist_json.find("JOHNSON"), std::string::npos);
  EXPECT_NE(o->worklist_json.find("SMITH"), std::string::npos);
  EXPECT_EQ(o->worklist_json.find("AV35674"), std::string::npos);  // modelled: not kept twice
  orders::WorklistQuery q;
  q.performing_physician = "JOHNSON";
  EXPECT_TRUE(orders::Matches(q, *o));
  std::filesystem::remove(path);
}

TEST(WorklistItemFile, BadFilesNameTheReason) {
  const std::string path = (std::filesystem::temp_directory_path() / "radflow-mwl-bad.wl").string();
  std::ofstream(path) << "not dicom";
  auto r = dimse::ReadWorklistItem(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  DcmFileFormat file;
  file.getDataset()->putAndInsertString(DCM_PatientID, "X");
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  r = dimse::ReadWorklistItem(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("(0040,0100)"), std::string::npos) << r.status().message();
  DcmItem* sps = nullptr;
  file.getDataset()->findOrCreateSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0);
  sps->putAndInsertString(DCM_Modality, "CT");
  file.getDataset()->putAndInsertString(DCM_RequestedProcedurePriority, "URGENT");
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
  r = dimse::ReadWorklistItem(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("URGENT"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace radflow
