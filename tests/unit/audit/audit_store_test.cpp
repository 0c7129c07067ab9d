// storage::AuditStore (010_audit.sql) on SQLite and on PostgreSQL (support/store_backend.h):
// the columns named by reserved words ("user", "offset") round-trip, a seq written twice is
// kept as first written, and the search filters (case-insensitive name piece, event lists,
// time range, outcome, paging) give the same rows on both.
#include "storage/audit_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audit_test_util.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::storage {
namespace {

class AuditStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    location_ = radflow::testing::NewIndexLocation(GetParam(), dir_.path() + "/index.db", &index_);
    ASSERT_FALSE(location_.empty());
    auto s = AuditStore::Open(location_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }

  static AuditRow Row(int64_t seq, const std::string& event, const std::string& user, const std::string& name,
                      int outcome = 0) {
    AuditRow r;
    r.seq = seq;
    r.at = 1000 * seq;
    r.event = event;
    r.event_id = "110114";
    r.action = "E";
    r.outcome = outcome;
    r.user = user;
    r.role = "radiologist";
    r.source = "10.0.0." + std::to_string(seq);
    r.patient_id = "PAT" + std::to_string(seq % 2);
    r.patient_name = name;
    r.study_uid = "1.2." + std::to_string(seq);
    r.detail = "detail " + std::to_string(seq);
    r.interface = "http";
    r.hash = "h" + std::to_string(seq);
    r.offset = 100 * seq;
    r.length = 99;
    return r;
  }

  std::vector<int64_t> Seqs(const AuditFilter& f) {
    auto page = store_->Search(f);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<int64_t> out;
    if (page.ok()) {
      for (const auto& r : page->records) out.push_back(r.seq);
    }
    return out;
  }

  audit::testing::ScratchDir dir_;
  std::string location_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<AuditStore> store_;
};

RADFLOW_BOTH_BACKENDS(AuditStoreTest);

TEST_P(AuditStoreTest, RowsRoundTripAndASeqIsKeptAsFirstWritten) {
  auto head = store_->Head();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_FALSE(head->has_value());
  ASSERT_TRUE(store_->Insert({Row(1, "login", "alice", "Doe^Jane"), Row(2, "query", "bob", "Roe^Rick", 4)}).ok());
  AuditRow again = Row(2, "query", "mallory", "Changed^Name");
  ASSERT_TRUE(store_->Insert({again, Row(3, "logout", "alice", "Doe^Jane")}).ok());  // 2 is left as it is

  auto two = store_->Get(2);
  ASSERT_TRUE(two.ok() && two->has_value()) << two.status().ToString();
  const AuditRow& r = two->value();
  EXPECT_EQ(r.user, "bob");
  EXPECT_EQ(r.patient_name, "Roe^Rick");
  EXPECT_EQ(r.outcome, 4);
  EXPECT_EQ(r.offset, 200);
  EXPECT_EQ(r.length, 99);
  EXPECT_EQ(r.at, 2000);
  EXPECT_EQ(r.hash, "h2");
  EXPECT_EQ(r.source, "10.0.0.2");
  EXPECT_EQ(r.detail, "detail 2");
  EXPECT_EQ(r.interface, "http");
  head = store_->Head();
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(head->value().seq, 3);
  auto none = store_->Get(9);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(AuditStoreTest, SearchFiltersAndPages) {
  std::vector<AuditRow> rows;
  for (int64_t i = 1; i <= 10; ++i) {
    rows.push_back(Row(i, i % 3 == 0 ? "login" : "query", i % 2 ? "alice" : "bob",
                       i <= 5 ? "Doe^Jane" : "Roe_Rick%", i == 7 ? 8 : 0));
  }
  ASSERT_TRUE(store_->Insert(rows).ok());

  AuditFilter all;
  auto page = store_->Search(all);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->total, 10);
  ASSERT_EQ(page->records.size(), 10u);
  EXPECT_EQ(page->records.front().seq, 10);  // newest first

  AuditFilter user;
  user.user = "bob";
  EXPECT_EQ(Seqs(user), (std::vector<int64_t>{10, 8, 6, 4, 2}));
  AuditFilter events;
  events.event = "login,logout";
  EXPECT_EQ(Seqs(events), (std::vector<int64_t>{9, 6, 3}));
  // A piece of the name regardless of ASCII case; LIKE's wildcards in it are literal.
  AuditFilter name;
  name.patient = "jane";
  EXPECT_EQ(Seqs(name), (std::vector<int64_t>{5, 4, 3, 2, 1}));
  name.patient = "_rick%";
  EXPECT_EQ(Seqs(name), (std::vector<int64_t>{10, 9, 8, 7, 6}));
  name.patient = "e_j";  // '_' is not "any character": no "Doe^Jane" match
  EXPECT_TRUE(Seqs(name).empty());
  AuditFilter id;
  id.patient = "PAT0";
  EXPECT_EQ(Seqs(id), (std::vector<int64_t>{10, 8, 6, 4, 2}));
  AuditFilter study;
  study.study = "1.2.4";
  EXPECT_EQ(Seqs(study), (std::vector<int64_t>{4}));
  AuditFilter range;
  range.since = 3000;
  range.until = 6000;
  EXPECT_EQ(Seqs(range), (std::vector<int64_t>{5, 4, 3}));
  AuditFilter failure;
  failure.outcome = "failure";
  EXPECT_EQ(Seqs(failure), (std::vector<int64_t>{7}));
  failure.outcome = "success";
  EXPECT_EQ(Seqs(failure).size(), 9u);
  failure.outcome = "maybe";
  EXPECT_EQ(store_->Search(failure).status().code(), ErrorCode::kInvalidArgument);

  AuditFilter paged;
  paged.limit = 3;
  paged.offset = 2;
  auto p = store_->Search(paged);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->total, 10);  // before limit and offset
  std::vector<int64_t> seqs;
  for (const auto& r : p->records) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{8, 7, 6}));
}

TEST_P(AuditStoreTest, AnUnmigratedDatabaseIsRefused) {
  // SQLite: no file (NotFound); PostgreSQL: a database without audit_records.
  auto bare = AuditStore::Open(radflow::testing::NewEmptyLocation(GetParam(), dir_.path() + "/none.db"));
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().code(), GetParam() == Backend::kSqlite ? ErrorCode::kNotFound : ErrorCode::kDatabaseError)
      << bare.status().ToString();
}

}  // namespace
}  // namespace radflow::storage
