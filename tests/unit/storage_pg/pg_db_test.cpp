// PgDb, storage::Db's PostgreSQL implementation, against a real PostgreSQL 15 cluster.
#include "storage/pg_db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cfloat>
#include <cstdint>
#include <latch>
#include <limits>
#include <thread>

#include "pg_env.h"

namespace radflow::storage {

namespace {

class PgDbTest : public PgTest {
 protected:
  void SetUp() override {
    uri_ = NewDbUri();
    ASSERT_FALSE(uri_.empty());
    db_ = Connect();
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<Db> Connect() {
    auto db = OpenDb(uri_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db.value()) : nullptr;
  }
  // The first column of the first row of `sql` as text ("" when none).
  std::string One(Db& db, const std::string& sql) {
    auto p = db.PrepareOnce(sql);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return "";
    Status s;
    std::string v = p.value()->Step(&s) ? p.value()->Text(0) : "";
    EXPECT_TRUE(s.ok()) << s.ToString();
    return v;
  }
  std::string uri_;
  std::unique_ptr<Db> db_;
};

}  // namespace

TEST(ToPostgresSql, NumbersPlaceholdersOutsideQuotesAndComments) {
  EXPECT_EQ(ToPostgresSql("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(ToPostgresSql("SELECT '?', 'it''s ?', \"we?ird\" FROM t WHERE x = ?"),
            "SELECT '?', 'it''s ?', \"we?ird\" FROM t WHERE x = $1");
  EXPECT_EQ(ToPostgresSql("SELECT 1 -- why?\n, ? /* really? */, ?"),
            "SELECT 1 -- why?\n, $1 /* really? */, $2");
  // SQLite's numbered form: ?N is $N, and a bare ? after it continues from the highest.
  EXPECT_EQ(ToPostgresSql("UPDATE s SET n = ?2 WHERE id = ?1 AND k = ?"),
            "UPDATE s SET n = $2 WHERE id = $1 AND k = $3");
  EXPECT_EQ(ToPostgresSql("SELECT $$a ? b$$, ?"), "SELECT $$a ? b$$, $1");
  EXPECT_EQ(ToPostgresSql("SELECT 'unterminated ?"), "SELECT 'unterminated ?");
}

TEST(PgDbOpen, ErrorNamesTheRedactedUriAndTheReason) {
  auto db = PgDb::Open("postgresql://radflow:s3cret@127.0.0.1:1/radflow?connect_timeout=2");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), ErrorCode::kDatabaseError);
  EXPECT_NE(db.status().message().find("postgresql://radflow:***@127.0.0.1:1/radflow"),
            std::string::npos) << db.status().message();
  EXPECT_EQ(db.status().message().find("s3cret"), std::string::npos);
  EXPECT_NE(db.status().message().find("refused"), std::string::npos) << db.status().message();
}

TEST(RedactLocation, HidesTheUserinfoPasswordAndPasswordParameters) {
  EXPECT_EQ(RedactLocation("postgresql://radflow:s3cret@db:5432/radflow"),
            "postgresql://radflow:***@db:5432/radflow");
  EXPECT_EQ(RedactLocation("postgres://radflow@db/radflow?password=s3cret"),
            "postgres://radflow@db/radflow?password=***");
  EXPECT_EQ(RedactLocation("postgresql://db/radflow?sslmode=require&password=s3cret&connect_timeout=2"),
            "postgresql://db/radflow?sslmode=require&password=***&connect_timeout=2");
  EXPECT_EQ(RedactLocation("postgresql://u:a@db/r?password=b&user=u"),
            "postgresql://u:***@db/r?password=***&user=u");
  // Nothing to hide: a user without a password, an '@' in a parameter, an SQLite path.
  EXPECT_EQ(RedactLocation("postgresql://radflow@db/radflow"), "postgresql://radflow@db/radflow");
  EXPECT_EQ(RedactLocation("postgresql://db/r?options=a:b@c&mypassword=x"),
            "postgresql://db/r?options=a:b@c&mypassword=x");
  EXPECT_EQ(RedactLocation("/var/lib/radflow/index.db?password=x"), "/var/lib/radflow/index.db?password=x");
}

TEST_F(PgDbTest, PlaceholdersNullsAndLiteralQuestionMarks) {
  EXPECT_EQ(db_->backend(), Backend::kPostgres);
  auto p = db_->Prepare("SELECT '?' || ?, ? IS NULL, COALESCE(?, 'dflt'), 'a?b'");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  {
    Statement st(p.value());
    st.Bind(1, "x").BindNull(2).BindNull(3);
    Status s;
    ASSERT_TRUE(st.Step(&s)) << s.ToString();
    EXPECT_EQ(st.Columns(), 4);
    EXPECT_EQ(st.Text(0), "?x");
    EXPECT_EQ(st.Int(1), 1);  // a boolean reads as 1/0, as SQLite's comparisons
    EXPECT_EQ(st.Text(1), "1");
    EXPECT_EQ(st.Text(2), "dflt");
    EXPECT_EQ(st.Text(3), "a?b");
    EXPECT_FALSE(st.Step(&s));
    EXPECT_TRUE(s.ok());
  }
  {  // the cached statement again, reset: new bindings
    Statement st(p.value());
    st.Bind(1, "y").Bind(2, "z").Bind(3, "w");
    Status s;
    ASSERT_TRUE(st.Step(&s)) << s.ToString();
    EXPECT_EQ(st.Text(0), "?y");
    EXPECT_EQ(st.Int(1), 0);
    EXPECT_EQ(st.Text(2), "w");
  }
  ASSERT_TRUE(db_->Exec("CREATE TABLE n (a TEXT, b BIGINT)").ok());
  auto ins = db_->Prepare("INSERT INTO n (a, b) VALUES (?, ?)");
  ASSERT_TRUE(ins.ok());
  {
    Statement st(ins.value());
    st.BindNull(1).BindNull(2);
    Status s;
    EXPECT_FALSE(st.Step(&s));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  auto sel = db_->PrepareOnce("SELECT a, b FROM n");
  ASSERT_TRUE(sel.ok());
  Status s;
  ASSERT_TRUE(sel.value()->Step(&s));
  EXPECT_TRUE(sel.value()->IsNull(0));
  EXPECT_TRUE(sel.value()->IsNull(1));
  EXPECT_EQ(sel.value()->Text(0), "");
  EXPECT_EQ(sel.value()->Int(1), 0);
}

TEST_F(PgDbTest, DoublesRoundTripAndInt64Extremes) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE v (d DOUBLE PRECISION, i BIGINT)").ok());
  const double doubles[] = {0.1, 1.0 / 3.0, -2.5e300, 1e-300, DBL_MAX, DBL_MIN,
                            std::numeric_limits<double>::denorm_min(), 0.0, -1234.5678,
                            std::numeric_limits<double>::infinity()};
  const int64_t ints[] = {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                          0, -1, 1700000000000};
  auto ins = db_->Prepare("INSERT INTO v (d, i) VALUES (?, ?)");
  ASSERT_TRUE(ins.ok());
  for (size_t k = 0; k < std::size(doubles); ++k) {
    Statement st(ins.value());
    st.BindDouble(1, doubles[k]).Bind(2, ints[k % std::size(ints)]);
    Status s;
    st.Step(&s);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  auto sel = db_->Prepare("SELECT d, i FROM v WHERE d = ? AND i = ?");
  ASSERT_TRUE(sel.ok());
  for (size_t k = 0; k < std::size(doubles); ++k) {
    Statement st(sel.value());
    st.BindDouble(1, doubles[k]).Bind(2, ints[k % std::size(ints)]);
    Status s;
    ASSERT_TRUE(st.Step(&s)) << "value " << k << " " << s.ToString();
    EXPECT_EQ(st.Double(0), doubles[k]);  // exact: shortest round-trip text both ways
    EXPECT_EQ(st.Int(1), ints[k % std::size(ints)]);
  }
}

TEST_F(PgDbTest, UniqueViolationChangesAndLastInsertId) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE u (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                        " k TEXT NOT NULL UNIQUE, n BIGINT NOT NULL DEFAULT 0)").ok());
  auto ins = db_->Prepare("INSERT INTO u (k) VALUES (?)");
  ASSERT_TRUE(ins.ok());
  for (const char* k : {"a", "b", "c"}) {
    Statement st(ins.value());
    st.Bind(1, k);
    Status s;
    st.Step(&s);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(db_->Changes(), 1);
  }
  EXPECT_EQ(db_->LastInsertId(), 3);
  {
    Statement st(ins.value());
    st.Bind(1, "b");
    Status s;
    EXPECT_FALSE(st.Step(&s));
    EXPECT_EQ(s.code(), ErrorCode::kDatabaseError);
    EXPECT_TRUE(db_->LastErrorWasUniqueViolation());
    EXPECT_NE(db_->LastErrorMessage().find("duplicate key"), std::string::npos)
        << db_->LastErrorMessage();
  }
  EXPECT_FALSE(db_->Exec("SELEC nonsense").ok());
  EXPECT_FALSE(db_->LastErrorWasUniqueViolation());
  ASSERT_TRUE(db_->Exec("UPDATE u SET n = n + 1 WHERE k <> 'z'").ok());
  EXPECT_EQ(db_->Changes(), 3);
  auto upd = db_->Prepare("UPDATE u SET n = 7 WHERE k = ?");
  {
    Statement st(upd.value());
    st.Bind(1, "a");
    Status s;
    st.Step(&s);
    EXPECT_EQ(db_->Changes(), 1);
  }
  EXPECT_EQ(One(*db_, "SELECT n FROM u WHERE k = 'a'"), "7");
  EXPECT_EQ(db_->Changes(), 1);  // a SELECT is no change
  // INSERT … RETURNING gives the row; ON CONFLICT DO NOTHING reports 0 changes.
  auto ret = db_->Prepare("INSERT INTO u (k) VALUES (?) ON CONFLICT (k) DO NOTHING RETURNING id");
  {
    Statement st(ret.value());
    st.Bind(1, "d");
    Status s;
    ASSERT_TRUE(st.Step(&s)) << s.ToString();
    EXPECT_EQ(st.Int(0), 5);  // 4 went to the failed "b"
  }
  {
    Statement st(ret.value());
    st.Bind(1, "d");
    Status s;
    EXPECT_FALSE(st.Step(&s));
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(db_->Changes(), 0);
  }
}

TEST_F(PgDbTest, LastInsertIdBeforeAnySequenceKeepsTheTransaction) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE plain (k TEXT PRIMARY KEY)").ok());
  auto fresh = Connect();
  Status tx = fresh->Transaction([&] {
    RADFLOW_RETURN_IF_ERROR(fresh->Exec("INSERT INTO plain VALUES ('x')"));
    EXPECT_EQ(fresh->LastInsertId(), 0);  // no sequence used yet in this session
    return fresh->Exec("INSERT INTO plain VALUES ('y')");  // the transaction still works
  });
  EXPECT_TRUE(tx.ok()) << tx.ToString();
  EXPECT_EQ(One(*db_, "SELECT COUNT(*) FROM plain"), "2");
}

TEST_F(PgDbTest, TransactionCommitsAndRollsBack) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE r (k TEXT PRIMARY KEY); INSERT INTO r VALUES ('keep')").ok());
  EXPECT_FALSE(db_->InTransaction());
  Status s = db_->Transaction([&] {
    EXPECT_TRUE(db_->InTransaction());
    return db_->Exec("INSERT INTO r VALUES ('one')");
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = db_->Transaction([&] {
    RADFLOW_RETURN_IF_ERROR(db_->Exec("INSERT INTO r VALUES ('gone')"));
    return Status(ErrorCode::kConflict, "changed my mind");
  });
  EXPECT_EQ(s.code(), ErrorCode::kConflict);
  EXPECT_FALSE(db_->InTransaction());
  // A failed statement the function ignores: the transaction is aborted, not committed.
  s = db_->Transaction([&] {
    RADFLOW_RETURN_IF_ERROR(db_->Exec("INSERT INTO r VALUES ('also gone')"));
    (void)db_->Exec("INSERT INTO r VALUES ('keep')");  // unique violation
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), ErrorCode::kDatabaseError);
  EXPECT_NE(s.message().find("aborted"), std::string::npos) << s.message();
  EXPECT_FALSE(db_->InTransaction());
  // A savepoint confines a failure (what the stores do for an expected conflict).
  s = db_->Transaction([&] {
    RADFLOW_RETURN_IF_ERROR(db_->Exec("SAVEPOINT a"));
    EXPECT_FALSE(db_->Exec("INSERT INTO r VALUES ('keep')").ok());
    EXPECT_TRUE(db_->InTransaction());
    RADFLOW_RETURN_IF_ERROR(db_->Exec("ROLLBACK TO a; RELEASE a"));
    return db_->Exec("INSERT INTO r VALUES ('two')");
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(One(*db_, "SELECT string_agg(k, ',' ORDER BY k) FROM r"), "keep,one,two");
  // Nested: refused, as by SQLite.
  s = db_->Transaction([&] { return db_->Transaction([] { return Status::Ok(); }); });
  EXPECT_FALSE(s.ok());
}

TEST_F(PgDbTest, TransactionRetriesASerializationFailure) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE once (k TEXT)").ok());
  int calls = 0;
  Status s = db_->Transaction([&] {
    ++calls;
    RADFLOW_RETURN_IF_ERROR(db_->Exec("INSERT INTO once VALUES ('row')"));
    if (calls == 1) {
      return db_->Exec("DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$");
    }
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(One(*db_, "SELECT COUNT(*) FROM once"), "1");  // the first attempt rolled back
  // Not retried: any other failure.
  calls = 0;
  s = db_->Transaction([&] {
    ++calls;
    return db_->Exec("DO $$ BEGIN RAISE EXCEPTION 'other' USING ERRCODE = '22012'; END $$");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 1);
  // Always failing with 40001: at least 3 attempts, then the error.
  calls = 0;
  s = db_->Transaction([&] {
    ++calls;
    return db_->Exec("DO $$ BEGIN RAISE EXCEPTION 'again' USING ERRCODE = '40001'; END $$");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 3);
}

// A real deadlock between two connections (each locks a row, then wants the other's): the
// server aborts one with 40P01 after deadlock_timeout (1 s); its Transaction runs again.
TEST_F(PgDbTest, TransactionRetriesARealDeadlock) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE d (id BIGINT PRIMARY KEY, v BIGINT);"
                        " INSERT INTO d VALUES (1, 0), (2, 0)").ok());
  auto a = Connect(), b = Connect();
  std::latch both_hold_one(2);
  std::atomic<int> attempts{0};
  auto worker = [&](Db* db, int first, int second) {
    bool waited = false;
    return db->Transaction([&, db] {
      ++attempts;
      RADFLOW_RETURN_IF_ERROR(
          db->Exec("UPDATE d SET v = v + 1 WHERE id = " + std::to_string(first)));
      if (!waited) {
        waited = true;
        both_hold_one.arrive_and_wait();
      }
      return db->Exec("UPDATE d SET v = v + 1 WHERE id = " + std::to_string(second));
    });
  };
  Status sa, sb;
  std::thread ta([&] { sa = worker(a.get(), 1, 2); });
  std::thread tb([&] { sb = worker(b.get(), 2, 1); });
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.ToString();
  EXPECT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_EQ(attempts.load(), 3);  // one of the two ran twice
  EXPECT_EQ(One(*db_, "SELECT string_agg(v::text, ',' ORDER BY id) FROM d"), "2,2");
}

TEST_F(PgDbTest, PrepareOnceStatementsAreDeallocated) {
  for (int i = 0; i < 40; ++i) {
    auto p = db_->PrepareOnce("SELECT " + std::to_string(i) + " + ?");
    ASSERT_TRUE(p.ok());
    Statement st(p.value().get());
    st.Bind(1, 1);
    Status s;
    ASSERT_TRUE(st.Step(&s));
    EXPECT_EQ(st.Int(0), i + 1);
  }
  // The one that reads the count is itself prepared: at most it and a pending one remain.
  EXPECT_LE(std::stoi(One(*db_, "SELECT COUNT(*) FROM pg_prepared_statements")), 2);
  auto bad = db_->Prepare("SELECT FROM nowhere_table");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("nowhere_table"), std::string::npos);
}

// The server ends the session (a restart, a failover, pg_terminate_backend): the statement
// running then fails, the connection is made again, and the next statements work, cached
// prepared statements included.
TEST_F(PgDbTest, ReconnectsAfterTheServerEndedTheSession) {
  auto count = db_->Prepare("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  const std::string pid = One(*db_, "SELECT pg_backend_pid()");
  auto admin = Connect();
  ASSERT_EQ(One(*admin, "SELECT pg_terminate_backend(" + pid + ")"), "1");
  Status s;
  {
    Statement st(count.value());
    st.Bind(1, pid);
    EXPECT_FALSE(st.Step(&s));
    EXPECT_EQ(s.code(), ErrorCode::kDatabaseError);
  }
  const std::string new_pid = One(*db_, "SELECT pg_backend_pid()");
  EXPECT_NE(new_pid, pid);
  Statement st(count.value());
  st.Bind(1, new_pid);
  s = Status::Ok();
  ASSERT_TRUE(st.Step(&s)) << s.ToString();
  EXPECT_EQ(st.Int(0), 1);
  EXPECT_TRUE(db_->Transaction([&] { return db_->Exec("CREATE TABLE after (k TEXT)"); }).ok());
}

TEST_F(PgDbTest, SchemaVersionAndRequireTables) {
  auto v = db_->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.value(), 0);
  ASSERT_TRUE(db_->Transaction([&] {
    RADFLOW_RETURN_IF_ERROR(db_->LockForMigration());
    return db_->SetSchemaVersion(5);
  }).ok());
  ASSERT_TRUE(db_->SetSchemaVersion(7).ok());
  EXPECT_EQ(db_->SchemaVersion().value(), 7);
  ASSERT_TRUE(db_->Exec("CREATE TABLE here (k TEXT)").ok());
  EXPECT_TRUE(db_->RequireTables({"here"}, "db", "test").ok());
  Status s = db_->RequireTables({"here", "absent"}, "db", "test");
  EXPECT_EQ(s.code(), ErrorCode::kDatabaseError);
  EXPECT_EQ(s.message(), "db lacks the test tables (open it with storage::Index first)");
}

}  // namespace radflow::storage
