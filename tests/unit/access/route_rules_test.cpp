// The access table: matching, specificity, roles, scopes, coverage (docs/access-control.md).
#include "access/route_rules.h"

#include <gtest/gtest.h>

#include <set>

namespace radflow::access {
namespace {

class FakeLookup : public ScopeLookup {
 public:
  std::map<std::string, std::string> referring;  // study -> ReferringPhysicianName
  std::set<std::string> active_series;
  Result<std::optional<std::string>> ReferringPhysicianOf(const std::string& study) override {
    auto it = referring.find(study);
    if (it == referring.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<bool> SeriesHasActiveJob(const std::string& series) override { return active_series.count(series) > 0; }
};

Caller As(std::string role, std::string referring = "") {
  return Caller{true, "u-" + role, role, referring};
}
const Caller kAnonymous{};
const std::multimap<std::string, std::string> kNoQuery;

Decision::Outcome Check(const Caller& c, std::string_view m, std::string_view p, ScopeLookup& l) {
  return Authorize(c, m, p, kNoQuery, l).outcome;
}

using O = Decision::Outcome;

TEST(RouteRules, MostSpecificRowWins) {
  auto m = FindRule("GET", "/dicom-web/studies/1.2/series/3.4/instances");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/dicom-web/studies/{study}/series/{series}/instances");
  EXPECT_EQ(m->captures.at("study"), "1.2");
  EXPECT_EQ(m->captures.at("series"), "3.4");
  m = FindRule("GET", "/dicom-web/studies/1.2/series/3.4/instances/5.6/frames/1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/dicom-web/studies/{study}/series/{series}/**");
  m = FindRule("GET", "/dicom-web/studies/1.2");  // ** matches zero segments
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/dicom-web/studies/{study}/**");
  m = FindRule("GET", "/dicom-web/studies/1.2/series");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/dicom-web/studies/{study}/series");
  m = FindRule("GET", "/worklist");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/**");
  m = FindRule("GET", "/api/v1/nothing/here");  // the API's deny row beats the web app's /**
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->rule->deny());
  EXPECT_FALSE(FindRule("PATCH", "/worklist"));
  m = FindRule("HEAD", "/healthz");  // HEAD is a GET
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->rule->is_public);
}

TEST(RouteRules, ExactSegmentBeatsCapture) {
  auto m = FindRule("GET", "/api/v1/audit/verify");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/api/v1/audit/verify");
  m = FindRule("GET", "/api/v1/audit/17");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/api/v1/audit/{seq}");
  m = FindRule("POST", "/api/v1/research/cohorts/preview");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule->pattern, "/api/v1/research/cohorts/preview");
}

TEST(RouteRules, PublicAnonymousAndDefaultDeny) {
  FakeLookup l;
  EXPECT_EQ(Check(kAnonymous, "GET", "/healthz", l), O::kAllow);
  EXPECT_EQ(Check(kAnonymous, "POST", "/api/v1/auth/login", l), O::kAllow);
  EXPECT_EQ(Check(kAnonymous, "GET", "/assets/index-abc.js", l), O::kAllow);
  EXPECT_EQ(Check(kAnonymous, "GET", "/", l), O::kUnauthenticated);
  EXPECT_EQ(Check(kAnonymous, "GET", "/dicom-web/studies", l), O::kUnauthenticated);
  EXPECT_EQ(Check(kAnonymous, "DELETE", "/api/v1/stats", l), O::kUnauthenticated);
  // Default deny, even for the administrator.
  auto d = Authorize(As("administrator"), "DELETE", "/api/v1/stats", kNoQuery, l);
  EXPECT_EQ(d.outcome, O::kForbidden);
  EXPECT_EQ(d.reason, "no access rule for DELETE /api/v1/stats");
  EXPECT_EQ(Check(As("administrator"), "GET", "/api/v1/no/such", l), O::kForbidden);
  EXPECT_EQ(Check(As("administrator"), "PATCH", "/", l), O::kForbidden);
  EXPECT_EQ(Check(As("nobody-role"), "GET", "/api/v1/stats", l), O::kForbidden);
}

TEST(RouteRules, Roles) {
  FakeLookup l;
  const std::string sign = "/api/v1/reports/3/sign";
  EXPECT_EQ(Check(As("administrator"), "POST", sign, l), O::kAllow);
  EXPECT_EQ(Check(As("radiologist"), "POST", sign, l), O::kAllow);
  EXPECT_EQ(Check(As("technologist"), "POST", sign, l), O::kForbidden);
  EXPECT_EQ(Check(As("researcher"), "POST", sign, l), O::kForbidden);
  EXPECT_EQ(Check(As("technologist"), "GET", "/api/v1/worklist", l), O::kAllow);
  EXPECT_EQ(Check(As("technologist"), "POST", "/api/v1/worklist/1.2/claim", l), O::kForbidden);
  EXPECT_EQ(Check(As("technologist"), "POST", "/dicom-web/studies", l), O::kAllow);
  EXPECT_EQ(Check(As("technologist"), "GET", "/api/v1/jobs/3", l), O::kAllow);
  EXPECT_EQ(Check(As("technologist"), "POST", "/api/v1/jobs/3/rerun", l), O::kForbidden);
  EXPECT_EQ(Check(As("radiologist"), "POST", "/api/v1/apps/x/pin", l), O::kForbidden);
  EXPECT_EQ(Check(As("administrator"), "POST", "/api/v1/apps/x/pin", l), O::kAllow);
  EXPECT_EQ(Check(As("radiologist"), "GET", "/api/v1/users", l), O::kForbidden);
  EXPECT_EQ(Check(As("radiologist"), "GET", "/api/v1/audit", l), O::kForbidden);
  // The researcher: research, the web application's pages, who am I; nothing clinical.
  EXPECT_EQ(Check(As("researcher"), "GET", "/api/v1/research/cohorts", l), O::kAllow);
  EXPECT_EQ(Check(As("researcher"), "GET", "/", l), O::kAllow);
  EXPECT_EQ(Check(As("researcher"), "GET", "/research", l), O::kAllow);
  EXPECT_EQ(Check(As("researcher"), "GET", "/api/v1/auth/me", l), O::kAllow);
  EXPECT_EQ(Check(As("researcher"), "GET", "/dicom-web/studies", l), O::kForbidden);
  EXPECT_EQ(Check(As("researcher"), "GET", "/api/v1/worklist", l), O::kForbidden);
  EXPECT_EQ(Check(As("researcher"), "GET", "/ohif/viewer", l), O::kForbidden);
  EXPECT_EQ(Check(As("radiologist"), "GET", "/api/v1/research/cohorts", l), O::kForbidden);
  // The referring physician: the pages and the viewer (no data of their own), no worklist.
  EXPECT_EQ(Check(As("referring", "DOE^JOHN"), "GET", "/api/v1/worklist", l), O::kForbidden);
  EXPECT_EQ(Check(As("referring", "DOE^JOHN"), "GET", "/", l), O::kAllow);
  EXPECT_EQ(Check(As("referring", "DOE^JOHN"), "GET", "/orders", l), O::kAllow);
  EXPECT_EQ(Check(As("referring", "DOE^JOHN"), "GET", "/ohif/viewer", l), O::kAllow);
  EXPECT_EQ(Check(As("referring", "DOE^JOHN"), "GET", "/api/v1/auth/me", l), O::kAllow);
  // Names compare as DICOM person names.
  EXPECT_EQ(NormalizePersonName("Doe^John^^^ "), NormalizePersonName("DOE^JOHN"));
  EXPECT_NE(NormalizePersonName("DOE^JOHNNY"), NormalizePersonName("DOE^JOHN"));
}

TEST(RouteRules, ReferringScope) {
  FakeLookup l;
  l.referring = {{"1.1", "DOE^JOHN"}, {"2.2", "ROE^JANE"}};
  const Caller doe = As("referring", "DOE^JOHN");
  EXPECT_EQ(Check(doe, "GET", "/dicom-web/studies/1.1/metadata", l), O::kAllow);
  EXPECT_EQ(Check(doe, "GET", "/dicom-web/studies/1.1/series/9/instances/8/frames/1", l), O::kAllow);
  EXPECT_EQ(Check(doe, "GET", "/api/v1/studies/1.1/reports", l), O::kAllow);
  auto d = Authorize(doe, "GET", "/dicom-web/studies/2.2/metadata", kNoQuery, l);
  EXPECT_EQ(d.outcome, O::kForbidden);
  EXPECT_EQ(d.reason, "study 2.2 is not referred by DOE^JOHN");
  EXPECT_EQ(Check(doe, "GET", "/dicom-web/studies/3.3", l), O::kForbidden);  // unknown study
  EXPECT_EQ(Check(doe, "POST", "/api/v1/studies/1.1/reports", l), O::kForbidden);  // read-only
  EXPECT_EQ(Check(doe, "POST", "/dicom-web/studies", l), O::kForbidden);
  EXPECT_EQ(Check(doe, "GET", "/dicom-web/series", l), O::kForbidden);
  EXPECT_EQ(Check(As("referring"), "GET", "/dicom-web/studies/1.1", l), O::kForbidden);  // no name
  // A study search is narrowed to the caller's name; fuzzy matching is switched off.
  d = Authorize(doe, "GET", "/dicom-web/studies", kNoQuery, l);
  ASSERT_EQ(d.outcome, O::kAllow);
  ASSERT_EQ(d.force_query.size(), 1u);
  EXPECT_EQ(d.force_query[0].first, "ReferringPhysicianName");
  EXPECT_EQ(d.force_query[0].second, "DOE^JOHN");
  EXPECT_NE(std::find(d.erase_query.begin(), d.erase_query.end(), "fuzzymatching"), d.erase_query.end());
  EXPECT_NE(std::find(d.erase_query.begin(), d.erase_query.end(), "00080090"), d.erase_query.end());
  // Other roles are not narrowed.
  d = Authorize(As("radiologist"), "GET", "/dicom-web/studies", kNoQuery, l);
  EXPECT_TRUE(d.force_query.empty());
  EXPECT_EQ(Check(As("radiologist"), "GET", "/dicom-web/studies/2.2/metadata", l), O::kAllow);
}

TEST(RouteRules, AiJobScope) {
  FakeLookup l;
  l.active_series = {"5.5"};
  const Caller ai = As("ai-service");
  EXPECT_EQ(Check(ai, "GET", "/dicom-web/studies/1.1/series/5.5", l), O::kAllow);
  EXPECT_EQ(Check(ai, "GET", "/dicom-web/studies/1.1/series/5.5/instances/7/frames/1", l), O::kAllow);
  EXPECT_EQ(Check(ai, "GET", "/dicom-web/studies/1.1/series/5.5/instances", l), O::kAllow);
  auto d = Authorize(ai, "GET", "/dicom-web/studies/1.1/series/6.6/metadata", kNoQuery, l);
  EXPECT_EQ(d.outcome, O::kForbidden);
  EXPECT_EQ(d.reason, "series 6.6 has no queued or running AI job");
  EXPECT_EQ(Check(ai, "POST", "/dicom-web/studies", l), O::kAllow);
  EXPECT_EQ(Check(ai, "GET", "/dicom-web/studies/1.1", l), O::kForbidden);  // whole study
  EXPECT_EQ(Check(ai, "GET", "/dicom-web/studies", l), O::kForbidden);
  EXPECT_EQ(Check(ai, "GET", "/", l), O::kForbidden);
  EXPECT_EQ(Check(ai, "GET", "/api/v1/jobs", l), O::kForbidden);
}

TEST(RouteRules, TableIsConsistent) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const RouteRule& r : Rules()) {
    SCOPED_TRACE(std::string(r.method) + " " + std::string(r.pattern));
    EXPECT_TRUE(seen.insert({std::string(r.method), std::string(r.pattern)}).second) << "duplicate row";
    // A role with a scope reaches data only through rows that declare that scope (the
    // session's own routes excepted).
    const bool data = r.pattern.rfind("/api/", 0) == 0 || r.pattern.rfind("/dicom-web/", 0) == 0;
    const bool own = r.pattern == "/api/v1/auth/me" || r.pattern == "/api/v1/auth/logout" ||
                     r.pattern.rfind("/api/v1/tokens", 0) == 0;
    if (data && !own && (r.roles & kReferring)) EXPECT_TRUE(r.scope & kScopeReferring);
    if (data && !own && (r.roles & kAiService)) EXPECT_TRUE(r.scope & kScopeAiJob);
    if (r.roles & kAiService) EXPECT_TRUE(data) << "the AI service has no pages";
    if (!r.is_public && !r.deny()) EXPECT_TRUE(r.roles & kAdministrator) << "administrator may do everything";
    // The example path is matched by its own row.
    auto m = FindRule(r.method == "*" ? "GET" : r.method, r.example);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->rule, &r);
  }
}

TEST(RouteRules, EveryRoleOrPublicFlagIsExplicit) {
  const std::set<std::string_view> events = {"query", "retrieve", "view", "store", "export", "report-signed",
                                             "report-changed", "app-changed", "user-changed", "security-config"};
  for (const RouteRule& r : Rules()) {
    EXPECT_FALSE(r.is_public && r.roles != 0) << r.pattern;
    EXPECT_TRUE(r.audit.empty() || events.count(r.audit)) << r.pattern;
  }
}

TEST(RouteRules, Coverage) {
  EXPECT_EQ(CoveringRule({"GET", "/dicom-web/", true}).value_or(""), "/dicom-web/studies");
  EXPECT_EQ(CoveringRule({"POST", "/dicom-web/studies", true}).value_or(""), "/dicom-web/studies");
  EXPECT_TRUE(CoveringRule({"GET", "/", true}));
  EXPECT_TRUE(CoveringRule({"GET", "/", false}));
  EXPECT_TRUE(CoveringRule({"GET", "/ohif/app-config.js", false}));
  EXPECT_TRUE(CoveringRule({"POST", "/api/v1/apps/", true}));
  EXPECT_TRUE(CoveringRule({"GET", "/api/v1/worklist/rule", false}));
  // Not covered: only the web application's GET /** or a deny row would match.
  EXPECT_FALSE(CoveringRule({"GET", "/api/v1/new-thing", false}));
  EXPECT_FALSE(CoveringRule({"GET", "/newpage", false}));
  EXPECT_FALSE(CoveringRule({"POST", "/api/v1/worklist", false}));
  EXPECT_FALSE(CoveringRule({"DELETE", "/api/v1/things/", true}));
  EXPECT_FALSE(CoveringRule({"GET", "/api/v1/unknown/", true}));
}

TEST(RouteRules, JsonAndText) {
  const std::string json = RulesJson();
  EXPECT_NE(json.find("\"pattern\":\"/dicom-web/studies\""), std::string::npos);
  EXPECT_NE(RulesText().find("/api/v1/reports/{id}/sign"), std::string::npos);
  EXPECT_EQ(RoleNames(kAdministrator | kAiService), (std::vector<std::string>{"administrator", "ai-service"}));
  EXPECT_EQ(ScopeName(kScopeReferring | kScopeAiJob), "referring,ai-job");
}

// The built-in table's patterns are split once; another span (a copy here) is split per call:
// both give the same row and captures for every example path and method, and AuthorizeMatch
// with the row found decides as Authorize does.
TEST(RouteRules, PresplitTableMatchesAnyOtherSpan) {
  const std::vector<RouteRule> copy(Rules().begin(), Rules().end());
  FakeLookup l;
  l.referring["1.1"] = "DOE^JOHN";
  int checked = 0;
  for (const RouteRule& r : Rules()) {
    std::string path(r.example);
    for (auto [from, to] : {std::pair{"{study}", "1.1"}, std::pair{"{series}", "2.2"}}) {
      for (size_t at; (at = path.find(from)) != std::string::npos;) path.replace(at, std::string_view(from).size(), to);
    }
    for (std::string_view method : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}) {
      auto a = FindRule(method, path);
      auto b = FindRuleIn(copy, method, path);
      ASSERT_EQ(a.has_value(), b.has_value()) << method << " " << path;
      if (!a) continue;
      EXPECT_EQ(a->rule - Rules().data(), b->rule - copy.data()) << method << " " << path;
      EXPECT_EQ(a->captures, b->captures) << method << " " << path;
      for (const Caller& c : {kAnonymous, As("administrator"), As("referring", "DOE^JOHN"), As("ai-service")}) {
        auto x = Authorize(c, method, path, kNoQuery, l);
        auto y = AuthorizeMatch(c, method, path, kNoQuery, l, FindRule(method, path));
        EXPECT_EQ(x.outcome, y.outcome) << method << " " << path;
        EXPECT_EQ(x.reason, y.reason) << method << " " << path;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
  // Paths no example has: trailing slashes, extra segments, the root.
  for (std::string_view p : {"/", "//", "/dicom-web/studies/1/series/2/instances/3/frames/1,2",
                             "/api/v1/studies/1/", "/assets", "/dicom-web"}) {
    auto a = FindRule("GET", p);
    auto b = FindRuleIn(copy, "GET", p);
    ASSERT_EQ(a.has_value(), b.has_value()) << p;
    if (a) EXPECT_EQ(a->rule->pattern, b->rule->pattern) << p;
  }
}

}  // namespace
}  // namespace radflow::access
