// Who a verified token names: the user name rules and the role claim (string, array, dotted
// path, first radflow role wins), and the algorithm gate that runs before any key lookup.
#include <gtest/gtest.h>

#include "oidc/oidc.h"

namespace radflow::oidc {
namespace {

OidcProvider Make(const std::string& role_claim = "roles") {
  OidcConfig c;
  c.issuer = "http://127.0.0.1:9";  // discard port: never reached by these tests
  c.client_id = "radflow";
  c.audience = "radflow";
  c.role_claim = role_claim;
  return OidcProvider(c);
}

std::string UserRole(const OidcProvider& p, const nlohmann::json& claims) {
  auto id = p.IdentityFromClaims(claims, "oidc-bearer");
  return id.ok() ? id->user + "/" + id->role : id.status().message();
}

TEST(OidcClaims, UserName) {
  OidcProvider p = Make();
  EXPECT_EQ(UserRole(p, {{"sub", "u-123"}, {"preferred_username", "jdoe"}, {"roles", "radiologist"}}),
            "jdoe/radiologist");
  EXPECT_EQ(UserRole(p, {{"sub", "u-123"}, {"roles", "radiologist"}}), "u-123/radiologist");
  // A client's own token (client_credentials): the client id.
  EXPECT_EQ(UserRole(p, {{"sub", "ai-worker"}, {"client_id", "ai-worker"}, {"roles", "ai-service"}}),
            "ai-worker/ai-service");
  EXPECT_EQ(UserRole(p, {{"client_id", "ai-worker"}, {"roles", "ai-service"}}), "ai-worker/ai-service");
  // A user's token issued to some client stays the user's.
  EXPECT_EQ(UserRole(p, {{"sub", "u-9"}, {"client_id", "viewer"}, {"roles", "referring"}}), "u-9/referring");
  EXPECT_EQ(UserRole(p, {{"roles", "radiologist"}}), "token names no subject");
}

TEST(OidcClaims, RoleClaimShapes) {
  OidcProvider p = Make();
  EXPECT_EQ(UserRole(p, {{"sub", "a"}, {"roles", {"guest", "technologist", "radiologist"}}}), "a/technologist");
  EXPECT_EQ(UserRole(p, {{"sub", "a"}, {"roles", {"guest", 7, nullptr}}}), "no radflow role in claim roles");
  EXPECT_EQ(UserRole(p, {{"sub", "a"}, {"roles", nlohmann::json::array()}}), "no radflow role in claim roles");
  EXPECT_EQ(UserRole(p, {{"sub", "a"}}), "no radflow role in claim roles");
  EXPECT_EQ(UserRole(p, {{"sub", "a"}, {"roles", "Radiologist"}}), "no radflow role in claim roles");  // exact names
  auto denied = p.IdentityFromClaims({{"sub", "a"}}, "oidc-bearer");
  EXPECT_EQ(denied.status().code(), ErrorCode::kPermissionDenied);
  // Keycloak's realm roles: a dotted path walks into objects.
  OidcProvider kc = Make("realm_access.roles");
  EXPECT_EQ(UserRole(kc, {{"sub", "a"}, {"realm_access", {{"roles", {"offline_access", "administrator"}}}}}),
            "a/administrator");
  EXPECT_EQ(UserRole(kc, {{"sub", "a"}, {"realm_access", "administrator"}}),
            "no radflow role in claim realm_access.roles");
  // A claim whose name itself contains the dot is found first.
  EXPECT_EQ(UserRole(kc, {{"sub", "a"}, {"realm_access.roles", "researcher"}}), "a/researcher");
}

TEST(OidcClaims, AlgorithmGateBeforeAnyKeyLookup) {
  OidcProvider p = Make();
  // {"alg":"HS256","typ":"JWT"} . {} . signature: refused for the algorithm alone.
  auto hs = p.VerifyBearer("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2lnbmF0dXJl");
  EXPECT_EQ(hs.status().message(), "token algorithm HS256 not accepted");
  EXPECT_EQ(hs.status().code(), ErrorCode::kUnauthenticated);
  auto garbage = p.VerifyBearer("not-a-jwt");
  EXPECT_EQ(garbage.status().message(), "malformed token");
  OidcConfig off;
  EXPECT_EQ(OidcProvider(off).VerifyBearer("a.b.c").status().message(), "OIDC is not configured");
}

}  // namespace
}  // namespace radflow::oidc
