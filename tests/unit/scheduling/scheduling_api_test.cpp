// The scheduling REST routes (api/scheduling_api.h) over a real order store, dispatched without
// the network: the station-days of booked and marked orders, the stations with their hours,
// the risky list without a model, and the 400s naming the parameter. (Access rules: F's
// test_access_matrix; the page and the model: the browser test browser.scheduling.)
#include "api/scheduling_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "../test_data.h"
#include "storage/index.h"

namespace radflow::api {
namespace {

using nlohmann::json;

constexpr int64_t kMin = 60'000;
constexpr int64_t kDay = 86'400'000;

class SchedulingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    const std::string db = dir_.str() + "/index.db";
    auto idx = storage::Index::Open(db);
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx.value());
    auto s = storage::OrderStore::Open(db);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
    orders::OrderServiceOptions options;
    options.protocol_rules.rules.clear();
    options.station_hours = {{"CT1", 8 * 60, 12 * 60}, {"MR1", 9 * 60, 17 * 60}};
    service_ = std::make_unique<orders::OrderService>(*store_, options);
    RegisterSchedulingApi(http_, *service_);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    // Yesterday (UTC): a day that is over.
    day_ = (now / kDay - 1) * kDay;
  }
  std::pair<int, json> Get(const std::string& path, const std::multimap<std::string, std::string>& query = {}) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.target = path;
    req.query = query;
    req.headers["host"] = "hub:8080";
    req.identity.user = "boss";
    req.identity.role = "administrator";
    auto res = http_.Dispatch(req);
    return {res.status, json::parse(res.body, nullptr, false)};
  }
  int64_t Book(const std::string& acc, const std::string& station, int64_t at, int minutes) {
    storage::OrderRow o;
    o.accession_number = acc;
    o.patient_id = "MRN-" + acc;
    o.patient_name = "Doe^" + acc;
    o.procedure_text = "CT head";
    o.modality = "CT";
    o.station_ae = station;
    o.scheduled_at = at;
    o.duration_minutes = minutes;
    auto r = service_->Create(o, "tech");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : 0;
  }

  radflow::testing::ScratchDir dir_;
  std::unique_ptr<storage::Index> index_;
  std::unique_ptr<storage::OrderStore> store_;
  std::unique_ptr<orders::OrderService> service_;
  http::HttpServer http_;
  int64_t day_ = 0;
};

TEST_F(SchedulingApiTest, StationDaysOfMarkedOrders) {
  const int64_t t8 = day_ + 8 * 60 * kMin;
  Book("A1", "CT1", t8, 30);
  const int64_t missed = Book("A2", "CT1", t8 + 30 * kMin, 30);
  const int64_t cancelled = Book("A3", "CT1", t8 + 60 * kMin, 30);
  Book("A4", "", t8, 20);  // no station
  ASSERT_TRUE(service_->SetStatus(missed, "no_show", "tech").ok());
  ASSERT_TRUE(service_->Cancel(cancelled, "patient called", "tech").ok());

  auto [status, body] = Get("/api/v1/scheduling/days",
                            {{"from", std::to_string(day_)}, {"to", std::to_string(day_ + kDay)}});
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["days"].size(), 3u) << body.dump();  // CT1, MR1 (configured), UNASSIGNED
  const json& ct = body["days"][0];
  EXPECT_EQ(ct["station_ae"], "CT1");
  EXPECT_EQ(ct["booked"], 2);
  EXPECT_EQ(ct["no_shows"], 1);
  EXPECT_EQ(ct["cancelled"], 1);
  EXPECT_EQ(ct["pending"], 1);
  EXPECT_EQ(ct["open_minutes"], 240);
  EXPECT_EQ(ct["booked_minutes"], 60);
  EXPECT_EQ(ct["no_show_minutes"], 30);
  EXPECT_EQ(ct["elapsed_minutes"], 240);  // the day is over
  EXPECT_EQ(ct["idle_minutes"], 240);     // nothing performed
  EXPECT_EQ(body["days"][1]["station_ae"], "MR1");
  EXPECT_EQ(body["days"][1]["open_minutes"], 480);
  EXPECT_EQ(body["days"][2]["station_ae"], orders::kUnassignedStation);
  EXPECT_EQ(body["days"][2]["pending"], 1);

  auto [s2, one] = Get("/api/v1/scheduling/days",
                       {{"from", std::to_string(day_)}, {"to", std::to_string(day_ + kDay)}, {"station", "CT1"}});
  ASSERT_EQ(s2, 200);
  ASSERT_EQ(one["days"].size(), 1u);
  EXPECT_EQ(one["days"][0]["station_ae"], "CT1");
}

TEST_F(SchedulingApiTest, StationsAndRiskyWithoutAModel) {
  Book("B1", "US1", day_ + kDay + 10 * 60 * kMin, 20);  // today
  auto [status, body] = Get("/api/v1/scheduling/stations");
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["stations"].size(), 3u) << body.dump();
  EXPECT_EQ(body["stations"][0]["station_ae"], "CT1");
  EXPECT_EQ(body["stations"][0]["open"], "08:00");
  EXPECT_EQ(body["stations"][0]["close"], "12:00");
  EXPECT_EQ(body["stations"][0]["configured"], true);
  EXPECT_EQ(body["stations"][0]["days"], "Mon,Tue,Wed,Thu,Fri,Sat,Sun");
  EXPECT_EQ(body["stations"][2]["station_ae"], "US1");
  EXPECT_EQ(body["stations"][2]["configured"], false);

  auto [s2, risky] = Get("/api/v1/scheduling/risky",
                         {{"from", std::to_string(day_)}, {"to", std::to_string(day_ + 3 * kDay)}});
  ASSERT_EQ(s2, 200) << risky.dump();
  EXPECT_EQ(risky["model"], false);
  EXPECT_TRUE(risky["items"].empty());
  EXPECT_DOUBLE_EQ(risky["threshold"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(risky["overbook"].get<double>(), 0.7);
}

TEST_F(SchedulingApiTest, BadParametersAreNamed) {
  struct Bad {
    const char* path;
    std::multimap<std::string, std::string> query;
    const char* error;
  };
  const Bad bad[] = {
      {"/api/v1/scheduling/days", {{"from", "yesterday"}}, "from: expected unix milliseconds, got 'yesterday'"},
      {"/api/v1/scheduling/days", {{"from", "1000"}, {"to", "500"}}, "to: must be after from"},
      {"/api/v1/scheduling/days", {{"from", "0"}, {"to", std::to_string(100 * kDay)}}, "to: the range is at most 92 days"},
      {"/api/v1/scheduling/risky", {{"threshold", "high"}}, "threshold: expected a number from 0 to 1, got 'high'"},
      {"/api/v1/scheduling/risky", {{"overbook", "1.5"}}, "overbook: expected a number from 0 to 1, got '1.5'"},
  };
  for (const auto& b : bad) {
    auto [status, body] = Get(b.path, b.query);
    EXPECT_EQ(status, 400) << b.error;
    EXPECT_EQ(body.value("error", ""), b.error) << body.dump();
  }
}

}  // namespace
}  // namespace radflow::api
