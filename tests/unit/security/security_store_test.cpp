// storage::SecurityStore: opening rules (the Index migrates; a missing or unmigrated file is
// an error naming it) and the rows it keeps, secrets only as hashes.
#include "storage/security_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "../test_data.h"
#include "storage/index.h"
#include "support/store_backend.h"

namespace radflow::storage {
namespace {

TEST(SecurityStore, OpenNeedsAMigratedIndex) {
  radflow::testing::ScratchDir dir;
  auto missing = SecurityStore::Open(dir.str() + "/index.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  std::ofstream(dir.str() + "/empty.db").close();  // an empty file is an empty SQLite database
  auto bare = SecurityStore::Open(dir.str() + "/empty.db");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().code(), ErrorCode::kDatabaseError);
  EXPECT_NE(bare.status().message().find("security tables"), std::string::npos) << bare.status().message();
  ASSERT_TRUE(Index::Open(dir.str() + "/index.db").ok());
  EXPECT_TRUE(SecurityStore::Open(dir.str() + "/index.db").ok());
}

// The rest on both backends: a fresh database migrated by storage::Index per test.
class SecurityStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  std::string Location() { return radflow::testing::NewIndexLocation(GetParam(), dir_.str() + "/index.db"); }
  radflow::testing::ScratchDir dir_;
};

RADFLOW_BOTH_BACKENDS(SecurityStoreTest);

TEST_P(SecurityStoreTest, AnUnmigratedDatabaseIsRefused) {
  // SQLite: no file (NotFound); PostgreSQL: a database without the tables.
  auto bare = SecurityStore::Open(radflow::testing::NewEmptyLocation(GetParam(), dir_.str() + "/none.db"));
  ASSERT_FALSE(bare.ok());
  if (GetParam() == Backend::kSqlite) {
    EXPECT_EQ(bare.status().code(), ErrorCode::kNotFound);
  } else {
    EXPECT_EQ(bare.status().code(), ErrorCode::kDatabaseError);
    EXPECT_NE(bare.status().message().find("security tables"), std::string::npos) << bare.status().message();
  }
}

TEST_P(SecurityStoreTest, RowsRoundTrip) {
  const std::string location = Location();
  ASSERT_FALSE(location.empty());
  auto store = SecurityStore::Open(location);
  ASSERT_TRUE(store.ok());
  auto& s = *store.value();
  EXPECT_FALSE(s.HasUsers().value());
  UserRow u;
  u.name = "rad";
  u.role = "radiologist";
  u.password_hash = "$argon2id$x";
  u.created_at = 5;
  ASSERT_TRUE(s.InsertUser(u).ok());
  EXPECT_EQ(s.InsertUser(u).code(), ErrorCode::kConflict);
  EXPECT_EQ(s.InsertFirstUser(u).code(), ErrorCode::kConflict);
  EXPECT_TRUE(s.HasUsers().value());
  UserUpdate change;
  change.display_name = "Dr Rad";
  auto changed = s.UpdateUser("rad", change);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->display_name, "Dr Rad");
  EXPECT_EQ(changed->password_hash, "$argon2id$x");  // unset fields kept
  EXPECT_EQ(s.UpdateUser("nobody", change).status().code(), ErrorCode::kNotFound);

  // Failure window: 3 failures within 10 ms lock for 100 ms.
  FailurePolicy p{3, 10, 100};
  EXPECT_EQ(s.RecordFailure("rad", 1000, p)->failed_count, 1);
  EXPECT_EQ(s.RecordFailure("rad", 1005, p)->failed_count, 2);
  EXPECT_EQ(s.RecordFailure("rad", 1020, p)->failed_count, 1);  // the first is out of the window
  EXPECT_EQ(s.RecordFailure("rad", 1021, p)->failed_count, 2);
  auto locked = s.RecordFailure("rad", 1022, p);
  EXPECT_EQ(locked->locked_until, 1122);
  EXPECT_EQ(locked->failed_count, 0);
  ASSERT_TRUE(s.Unlock("rad").ok());
  EXPECT_EQ(s.GetUser("rad").value()->locked_until, 0);

  TokenRow t;
  t.user = "rad";
  t.token_hash = "h1";
  t.created_at = 1;
  auto id = s.InsertToken(t);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(s.InsertToken(t).status().code(), ErrorCode::kConflict);  // token_hash is unique
  ASSERT_TRUE(s.RevokeToken(id.value(), 50).ok());
  ASSERT_TRUE(s.RevokeToken(id.value(), 60).ok());
  EXPECT_EQ(s.TokenById(id.value()).value()->revoked_at, 50);  // the first revocation stays
  EXPECT_EQ(s.TokenByHash("h1").value()->id, id.value());
  EXPECT_EQ(s.Tokens("").value().size(), 1u);
  EXPECT_EQ(s.Tokens("other").value().size(), 0u);

  SessionRow r;
  r.id_hash = "s1";
  r.user = "rad";
  r.role = "radiologist";
  r.method = "session";
  r.created_at = r.last_seen = 100;
  r.expires_at = 1000;
  ASSERT_TRUE(s.InsertSession(r).ok());
  ASSERT_TRUE(s.TouchSession("s1", 200).ok());
  EXPECT_EQ(s.GetSession("s1").value()->last_seen, 200);
  ASSERT_TRUE(s.DeleteExpiredSessions(250, 100).ok());  // idle 50 < 100: kept
  EXPECT_TRUE(s.GetSession("s1").value().has_value());
  ASSERT_TRUE(s.DeleteExpiredSessions(300, 100).ok());  // idle 100: gone
  EXPECT_FALSE(s.GetSession("s1").value().has_value());
}

// The joined reads of the guard: a token or session with its account in one statement; the
// account absent (nullopt) when no user has the name; another connection's change seen at once.
TEST_P(SecurityStoreTest, TokenAndSessionWithTheirAccount) {
  const std::string location = Location();
  ASSERT_FALSE(location.empty());
  auto store = SecurityStore::Open(location);
  auto other = SecurityStore::Open(location);
  ASSERT_TRUE(store.ok() && other.ok());
  auto& s = *store.value();
  UserRow u;
  u.name = "ref";
  u.role = "referring";
  u.referring_name = "DOE^JOHN";
  u.display_name = "Dr Ref";
  u.created_at = 7;
  u.last_login = 9;
  ASSERT_TRUE(s.InsertUser(u).ok());
  TokenRow t;
  t.user = "ref";
  t.token_hash = "h1";
  t.label = "worker";
  t.created_at = 11;
  t.expires_at = 99;
  auto id = s.InsertToken(t);
  ASSERT_TRUE(id.ok());
  TokenRow orphan = t;
  orphan.user = "gone";
  orphan.token_hash = "h2";
  ASSERT_TRUE(s.InsertToken(orphan).ok());

  EXPECT_FALSE(s.TokenAndUserByHash("nope").value().has_value());
  auto both = s.TokenAndUserByHash("h1");
  ASSERT_TRUE(both.ok() && both->has_value()) << both.status().ToString();
  EXPECT_EQ((*both)->token.id, id.value());
  EXPECT_EQ((*both)->token.user, "ref");
  EXPECT_EQ((*both)->token.label, "worker");
  EXPECT_EQ((*both)->token.expires_at, 99);
  EXPECT_EQ((*both)->token.revoked_at, 0);
  ASSERT_TRUE((*both)->user.has_value());
  EXPECT_EQ((*both)->user->name, "ref");
  EXPECT_EQ((*both)->user->role, "referring");
  EXPECT_EQ((*both)->user->referring_name, "DOE^JOHN");
  EXPECT_EQ((*both)->user->display_name, "Dr Ref");
  EXPECT_EQ((*both)->user->created_at, 7);
  EXPECT_EQ((*both)->user->last_login, 9);
  EXPECT_FALSE((*both)->user->disabled);
  auto lone = s.TokenAndUserByHash("h2");
  ASSERT_TRUE(lone.ok() && lone->has_value());
  EXPECT_FALSE((*lone)->user.has_value());

  ASSERT_TRUE(other.value()->RevokeToken(id.value(), 123).ok());
  UserUpdate off;
  off.disabled = true;
  ASSERT_TRUE(other.value()->UpdateUser("ref", off).ok());
  auto after = s.TokenAndUserByHash("h1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->token.revoked_at, 123);
  EXPECT_TRUE((*after)->user->disabled);

  SessionRow sess;
  sess.id_hash = "s1";
  sess.user = "ref";
  sess.role = "referring";
  sess.method = "session";
  sess.created_at = 1;
  sess.last_seen = 2;
  sess.expires_at = 3;
  ASSERT_TRUE(s.InsertSession(sess).ok());
  SessionRow ext = sess;
  ext.id_hash = "s2";
  ext.user = "oidc-user";
  ext.method = "oidc-session";
  ASSERT_TRUE(s.InsertSession(ext).ok());
  EXPECT_FALSE(s.SessionAndUserByHash("nope").value().has_value());
  auto local = s.SessionAndUserByHash("s1");
  ASSERT_TRUE(local.ok() && local->has_value());
  EXPECT_EQ((*local)->session.user, "ref");
  EXPECT_EQ((*local)->session.method, "session");
  EXPECT_EQ((*local)->session.expires_at, 3);
  ASSERT_TRUE((*local)->user.has_value());
  EXPECT_TRUE((*local)->user->disabled);
  auto external = s.SessionAndUserByHash("s2");
  ASSERT_TRUE(external.ok() && external->has_value());
  EXPECT_EQ((*external)->session.method, "oidc-session");
  EXPECT_FALSE((*external)->user.has_value());
}

// Reads from many threads at once (the guard of every HTTP thread): each gets a reader
// connection of its own, every read answers, and a revocation meanwhile is seen by the reads
// that start after it.
TEST_P(SecurityStoreTest, ConcurrentReadsEachSeeTheCommittedState) {
  const std::string location = Location();
  ASSERT_FALSE(location.empty());
  auto store = SecurityStore::Open(location);
  ASSERT_TRUE(store.ok());
  auto& s = *store.value();
  UserRow u;
  u.name = "ai";
  u.role = "ai-service";
  ASSERT_TRUE(s.InsertUser(u).ok());
  TokenRow t;
  t.user = "ai";
  t.token_hash = "h";
  auto id = s.InsertToken(t);
  ASSERT_TRUE(id.ok());
  std::atomic<int> failures{0}, revoked_seen_before{0};
  std::atomic<bool> revoked{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        const bool after = revoked.load();
        auto r = s.TokenAndUserByHash("h");
        if (!r.ok() || !r->has_value() || !(*r)->user) {
          ++failures;
          continue;
        }
        if (after && (*r)->token.revoked_at == 0) ++revoked_seen_before;
      }
    });
  }
  ASSERT_TRUE(s.RevokeToken(id.value(), 5).ok());
  revoked = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(revoked_seen_before.load(), 0);  // no read after the revocation saw the token valid
  EXPECT_EQ(s.TokenAndUserByHash("h").value().value().token.revoked_at, 5);
}

}  // namespace
}  // namespace radflow::storage
