// storage::SecurityStore: opening rules (the Index migrates; a missing or unmigrated file is
// an error naming it) and the rows it keeps, secrets only as hashes.
#include "storage/security_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "../test_data.h"
#include "storage/index.h"

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

TEST(SecurityStore, RowsRoundTrip) {
  radflow::testing::ScratchDir dir;
  ASSERT_TRUE(Index::Open(dir.str() + "/index.db").ok());
  auto store = SecurityStore::Open(dir.str() + "/index.db");
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

}  // namespace
}  // namespace radflow::storage
