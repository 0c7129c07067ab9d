// The orders REST and FHIR routes (api/orders_api.h) over a real order store, dispatched
// without the network (the access rules are tested by test_access_matrix.py).
#include "api/orders_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../test_data.h"
#include "storage/index.h"

namespace radflow::api {
namespace {

using nlohmann::json;

class OrdersApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.str() + "/index.db";
    auto idx = storage::Index::Open(db);
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = storage::OrderStore::Open(db);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    orders::OrderServiceOptions options;
    orders::ProtocolRule rule;
    rule.id = "ct-head-stroke";
    rule.protocol_code = "CTHEAD-NC";
    rule.protocol_name = "CT head without contrast";
    rule.modality = "CT";
    rule.procedure_any = {"head"};
    rule.reason_any = {"stroke"};
    options.protocol_rules.rules = {rule};
    service_ = std::make_unique<orders::OrderService>(*store_, options);
    RegisterOrdersApi(http_, *service_);
  }
  // (status, body as JSON) of one request by `user`.
  std::pair<int, json> Call(const std::string& method, const std::string& target, const std::string& body = "") {
    http::Request req;
    req.method = method;
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      for (const auto& kv : SplitQuery(target.substr(q + 1))) req.query.emplace(kv);
    }
    req.body = body;
    req.headers["host"] = "hub:8080";
    req.identity.user = "tech1";
    req.identity.role = "technologist";
    auto res = http_.Dispatch(req);
    return {res.status, json::parse(res.body, nullptr, false)};
  }
  static std::vector<std::pair<std::string, std::string>> SplitQuery(const std::string& qs) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start <= qs.size()) {
      size_t amp = qs.find('&', start);
      if (amp == std::string::npos) amp = qs.size();
      const std::string kv = qs.substr(start, amp - start);
      const auto eq = kv.find('=');
      if (!kv.empty()) out.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
      start = amp + 1;
    }
    return out;
  }
  int64_t CreateCtHead(const std::string& accession, int64_t at = 1773221400000) {
    json b{{"accession_number", accession}, {"patient_id", "MRN1"}, {"patient_name", "Doe^Jane"},
           {"procedure_text", "CT head"}, {"modality", "CT"}, {"reason", "suspected stroke"},
           {"priority", "STAT"}, {"station_ae", "CT1"}, {"scheduled_at", at}, {"duration_minutes", 15},
           {"reader", "tech1"}};
    auto [status, body] = Call("POST", "/api/v1/orders", b.dump());
    EXPECT_EQ(status, 201) << body.dump();
    return body.value("id", int64_t{0});
  }

  radflow::testing::ScratchDir dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::OrderStore> store_;
  std::unique_ptr<orders::OrderService> service_;
  http::HttpServer http_;
};

TEST_F(OrdersApiTest, CreateGetListPatch) {
  const int64_t id = CreateCtHead("A1");
  ASSERT_GT(id, 0);
  auto [st, order] = Call("GET", "/api/v1/orders/" + std::to_string(id));
  ASSERT_EQ(st, 200) << order.dump();
  EXPECT_EQ(order["accession_number"], "A1");
  EXPECT_EQ(order["priority"], "STAT");
  EXPECT_EQ(order["status"], "scheduled");
  EXPECT_EQ(order["source"], "rest");
  EXPECT_EQ(order["protocol_code"], "CTHEAD-NC");
  EXPECT_EQ(order["protocol_state"], "proposed");
  EXPECT_EQ(order["scheduled_at"], 1773221400000);
  EXPECT_EQ(order["noshow_risk"], -1);
  EXPECT_FALSE(order["study_uid"].get<std::string>().empty());
  ASSERT_TRUE(order["audit"].is_array());
  EXPECT_EQ(order["audit"][0]["action"], "created");
  EXPECT_EQ(order["audit"][0]["user"], "tech1");

  CreateCtHead("A2", 1773221400000 + 86400000);
  auto [ls, list] = Call("GET", "/api/v1/orders?station=CT1&from=1773221400000&to=1773221400001");
  ASSERT_EQ(ls, 200) << list.dump();
  EXPECT_EQ(list["total"], 1);
  EXPECT_EQ(list["items"][0]["accession_number"], "A1");
  auto [ls2, all] = Call("GET", "/api/v1/orders?status=scheduled,arrived&limit=1");
  EXPECT_EQ(ls2, 200);
  EXPECT_EQ(all["total"], 2);
  EXPECT_EQ(all["items"].size(), 1u);

  auto [ps, patched] = Call("PATCH", "/api/v1/orders/" + std::to_string(id), R"({"station_ae":"CT2","duration_minutes":30})");
  ASSERT_EQ(ps, 200) << patched.dump();
  EXPECT_EQ(patched["station_ae"], "CT2");
  EXPECT_EQ(patched["duration_minutes"], 30);
  EXPECT_EQ(patched["patient_id"], "MRN1");  // what the patch leaves out stays
}

TEST_F(OrdersApiTest, DeskActions) {
  const int64_t id = CreateCtHead("A3");
  const std::string base = "/api/v1/orders/" + std::to_string(id);
  auto [s1, arrived] = Call("POST", base + "/status", R"({"status":"arrived"})");
  EXPECT_EQ(s1, 200) << arrived.dump();
  EXPECT_EQ(arrived["status"], "arrived");
  auto [s2, accepted] = Call("POST", base + "/protocol", R"({"action":"accept"})");
  EXPECT_EQ(s2, 200) << accepted.dump();
  EXPECT_EQ(accepted["protocol_state"], "accepted");
  EXPECT_EQ(accepted["protocol_by"], "tech1");
  auto [s3, changed] = Call("POST", base + "/protocol",
                            R"({"action":"change","protocol_code":"CTA-HN","protocol_name":"CTA head and neck"})");
  EXPECT_EQ(s3, 200) << changed.dump();
  EXPECT_EQ(changed["protocol_code"], "CTA-HN");
  EXPECT_EQ(changed["protocol_state"], "changed");
  auto [s4, reminded] = Call("POST", base + "/reminder", R"({"sent":true})");
  EXPECT_EQ(s4, 200);
  EXPECT_EQ(reminded["reminder_sent"], true);
  auto [s5, cancelled] = Call("POST", base + "/cancel", R"({"reason":"patient moved"})");
  EXPECT_EQ(s5, 200);
  EXPECT_EQ(cancelled["status"], "cancelled");
  auto [s6, audit] = Call("GET", base + "/audit");
  ASSERT_EQ(s6, 200);
  std::vector<std::string> actions;
  for (const auto& a : audit["audit"]) actions.push_back(a["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"created", "status", "protocol", "protocol", "updated", "cancelled"}));
  auto [s7, protocols] = Call("GET", "/api/v1/protocols");
  EXPECT_EQ(s7, 200);
  EXPECT_EQ(protocols["rules"][0]["protocol_code"], "CTHEAD-NC");
}

TEST_F(OrdersApiTest, BadRequestsAreNamed) {
  const int64_t id = CreateCtHead("A4");
  const std::string base = "/api/v1/orders/" + std::to_string(id);
  struct Case {
    std::string method, target, body;
    int status;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/orders", "", 400, "a JSON object body is required"},
      {"POST", "/api/v1/orders", "[1]", 400, "the body must be a JSON object"},
      {"POST", "/api/v1/orders", R"({"procedure_text":"CT head"})", 400, "patient_id: an order needs the patient"},
      {"POST", "/api/v1/orders", R"({"patient_id":"P","procedure_text":"x","scheduled_at":"tomorrow"})", 400,
       "scheduled_at: expected an integer"},
      {"POST", "/api/v1/orders", R"({"patient_id":"P","procedure_text":"x","priority":"XYZ"})", 400, "priority: 'XYZ'"},
      {"POST", "/api/v1/orders", R"({"patient_id":"P","procedure_text":"x","accession_number":"A4"})", 409, ""},
      {"PATCH", base, R"({"status":"completed"})", 400, "status: change it with POST"},
      {"PATCH", base, R"({"protocol_code":"X"})", 400, "protocol_code: set by the protocol rules"},
      {"PATCH", "/api/v1/orders/999", R"({"reason":"x"})", 404, ""},
      {"GET", "/api/v1/orders/abc", "", 400, "order id: expected a positive integer"},
      {"GET", "/api/v1/orders?status=done", "", 400, "status: 'done'"},
      {"GET", "/api/v1/orders?limit=0", "", 400, "limit: expected 1..5000"},
      {"GET", "/api/v1/orders?from=-1", "", 400, "from: expected a non-negative integer (unix ms)"},
      {"POST", base + "/status", R"({"status":"completed"})", 400, "status: 'completed' is not arrived"},
      {"POST", base + "/status", R"({})", 400, "status: required"},
      {"POST", base + "/protocol", R"({"action":"maybe"})", 400, "action: 'maybe' is not accept or change"},
      {"POST", base + "/reminder", R"({"sent":"yes"})", 400, "sent: required, true or false"},
      {"POST", base + "/nothing", R"({})", 404, "no such route"},
      {"POST", "/api/v1/reconciliation", R"({"study_uid":"1.2"})", 400, "order_id: required"},
      {"GET", "/api/v1/mpps/1.2.3", "", 404, "no performed procedure step 1.2.3"},
      {"GET", "/api/v1/reconciliation?all=2", "", 400, "all: expected 0 or 1"},
  };
  for (const auto& c : cases) {
    auto [status, body] = Call(c.method, c.target, c.body);
    EXPECT_EQ(status, c.status) << c.method << " " << c.target << " " << body.dump();
    ASSERT_TRUE(body.is_object() && body.contains("error")) << c.target << " " << body.dump();
    EXPECT_EQ(body["error"].get<std::string>().rfind(c.error, 0), 0u) << body.dump();
  }
}

TEST_F(OrdersApiTest, FhirServiceRequest) {
  json sr{{"resourceType", "ServiceRequest"},
          {"status", "active"},
          {"intent", "order"},
          {"priority", "urgent"},
          {"identifier", {{{"type", {{"coding", {{{"code", "PLAC"}}}}}}, {"value", "PL-9"}},
                          {{"type", {{"coding", {{{"code", "ACSN"}}}}}}, {"value", "F9"}}}},
          {"code", {{"text", "CT head"}}},
          {"subject", {{"reference", "Patient/MRN9"}, {"display", "Poe^Ed"}}},
          {"reasonCode", {{{"text", "stroke"}}}},
          {"occurrenceDateTime", "2026-03-11T10:00:00Z"}};
  auto [s1, created] = Call("POST", "/api/v1/fhir/ServiceRequest", sr.dump());
  ASSERT_EQ(s1, 201) << created.dump();
  const std::string id = created["id"];
  EXPECT_EQ(created["priority"], "urgent");
  EXPECT_EQ(created["status"], "active");
  // The same placer again: the existing order changes (200).
  sr["reasonCode"] = {{{"text", "stroke, wake-up"}}};
  auto [s2, updated] = Call("POST", "/api/v1/fhir/ServiceRequest", sr.dump());
  EXPECT_EQ(s2, 200) << updated.dump();
  EXPECT_EQ(updated["id"], id);
  EXPECT_EQ(updated["reasonCode"][0]["text"], "stroke, wake-up");
  // PUT by id.
  sr["id"] = id;
  sr["locationCode"] = {{{"coding", {{{"code", "CT3"}}}}}};
  auto [s3, put] = Call("PUT", "/api/v1/fhir/ServiceRequest/" + id, sr.dump());
  EXPECT_EQ(s3, 200) << put.dump();
  EXPECT_EQ(put["locationCode"][0]["coding"][0]["code"], "CT3");
  sr["id"] = "order-999";
  auto [s4, mismatch] = Call("PUT", "/api/v1/fhir/ServiceRequest/" + id, sr.dump());
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(mismatch["resourceType"], "OperationOutcome");
  // Read and search.
  auto [s5, read] = Call("GET", "/api/v1/fhir/ServiceRequest/" + id);
  EXPECT_EQ(s5, 200);
  EXPECT_EQ(read["subject"]["display"], "Poe^Ed");
  auto [s6, bundle] = Call("GET", "/api/v1/fhir/ServiceRequest?patient=Patient/MRN9&status=active");
  ASSERT_EQ(s6, 200) << bundle.dump();
  EXPECT_EQ(bundle["total"], 1);
  EXPECT_EQ(bundle["entry"][0]["fullUrl"], "http://hub:8080/api/v1/fhir/ServiceRequest/" + id);
  auto [s7, by_id] = Call("GET", "/api/v1/fhir/ServiceRequest?identifier=urn:x|F9");
  EXPECT_EQ(s7, 200);
  EXPECT_EQ(by_id["total"], 1);
  auto [s8, none] = Call("GET", "/api/v1/fhir/ServiceRequest?status=completed");
  EXPECT_EQ(s8, 200);
  EXPECT_EQ(none["total"], 0);
  // Revoked cancels.
  sr["id"] = id;
  sr["status"] = "revoked";
  auto [s9, revoked] = Call("PUT", "/api/v1/fhir/ServiceRequest/" + id, sr.dump());
  EXPECT_EQ(s9, 200) << revoked.dump();
  EXPECT_EQ(revoked["status"], "revoked");
  // Errors: OperationOutcome with the reason.
  auto [e1, oo1] = Call("POST", "/api/v1/fhir/ServiceRequest", R"({"resourceType":"ServiceRequest","status":"active"})");
  EXPECT_EQ(e1, 400);
  EXPECT_EQ(oo1["issue"][0]["diagnostics"], "ServiceRequest.intent: missing");
  auto [e2, oo2] = Call("GET", "/api/v1/fhir/ServiceRequest/order-77");
  EXPECT_EQ(e2, 404);
  EXPECT_EQ(oo2["issue"][0]["code"], "not-found");
  auto [e3, oo3] = Call("GET", "/api/v1/fhir/ServiceRequest?color=red");
  EXPECT_EQ(e3, 400);
  EXPECT_EQ(oo3["issue"][0]["diagnostics"].get<std::string>().rfind("ServiceRequest search: parameter 'color'", 0), 0u);
}

}  // namespace
}  // namespace radflow::api
