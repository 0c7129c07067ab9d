// The one table of access rules: every HTTP route, the roles it admits, its scope and its
// audit event, and the pure decision over it (docs/access-control.md). A request matching no
// row is refused (default deny); the server refuses to start when a registered route has no
// row. Owner: H3.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radflow::access {

// Role bits (the role names of docs/access-control.md).
enum RoleBit : uint32_t {
  kAdministrator = 1u << 0,
  kRadiologist = 1u << 1,
  kTechnologist = 1u << 2,
  kReferring = 1u << 3,
  kResearcher = 1u << 4,
  kAiService = 1u << 5,
};
// The bit of a role name; 0 for an unknown name.
uint32_t RoleBitOf(std::string_view role);
// Role names of a mask, in the order above.
std::vector<std::string> RoleNames(uint32_t mask);

// Scopes narrow what a role may reach through a row (bits; a row may carry both).
enum ScopeBit : uint32_t {
  kScopeNone = 0,
  // referring role: the row's {study} must have ReferringPhysicianName equal to the user's
  // referring_name; a QIDO study search gets ReferringPhysicianName=<name> forced.
  kScopeReferring = 1u << 0,
  // ai-service role: the row's {series} must be the series of a queued or running AI job
  // (rows without {series}, STOW-RS, admit the role unconditionally).
  kScopeAiJob = 1u << 1,
};
std::string ScopeName(uint32_t scope);  // "none", "referring", "ai-job", "referring,ai-job"

struct RouteRule {
  std::string_view method;   // GET (also HEAD), POST, PUT, DELETE; "*": any
  std::string_view pattern;  // "/a/{x}/*/**": literal, one captured, one any, the rest
  uint32_t roles = 0;        // RoleBit mask; 0 and !is_public: a deny row
  bool is_public = false;    // no credential needed
  uint32_t scope = kScopeNone;
  std::string_view audit;    // query | retrieve | view | store | export | report-signed |
                             // report-changed | app-changed | user-changed | security-config | ""
  std::string_view example;  // a concrete path of the row (the access matrix test walks it)
  std::string_view note;     // what the row is for
  // A row that admits nobody: its paths are refused as "no access rule" (it stops a wider
  // row, such as the web application's GET /**, from admitting API paths).
  bool deny() const { return roles == 0 && !is_public; }
};

// Every row, in table order.
std::span<const RouteRule> Rules();

// The most specific row of a method and decoded path (exact segments > {x}/* > **, then
// longer), with its captured segments; nullopt when none matches.
struct Match {
  const RouteRule* rule = nullptr;
  std::map<std::string, std::string> captures;  // "study" -> "1.2.3"
};
std::optional<Match> FindRule(std::string_view method, std::string_view path);
std::optional<Match> FindRuleIn(std::span<const RouteRule> rules, std::string_view method,
                                std::string_view path);

// What the scope checks need to know about the data (the server answers from its index and
// job store; tests inject their own).
class ScopeLookup {
 public:
  virtual ~ScopeLookup() = default;
  // The ReferringPhysicianName of a stored study; nullopt when the study is unknown.
  virtual Result<std::optional<std::string>> ReferringPhysicianOf(const std::string& study_uid) = 0;
  // Whether the series belongs to a queued or running AI job.
  virtual Result<bool> SeriesHasActiveJob(const std::string& series_uid) = 0;
};

// Who asks (strings, so that this module needs neither the HTTP nor the security module).
struct Caller {
  bool authenticated = false;
  std::string user, role, referring_name;
};

struct Decision {
  enum class Outcome { kAllow, kUnauthenticated, kForbidden, kError };
  Outcome outcome = Outcome::kForbidden;
  std::string reason;  // why not (kUnauthenticated / kForbidden / kError)
  std::optional<Match> match;
  // Query parameters to replace (erase every key listed in `erase_query`, then add these).
  std::vector<std::string> erase_query;
  std::vector<std::pair<std::string, std::string>> force_query;
  bool allowed() const { return outcome == Outcome::kAllow; }
};

// A person name as the referring scope compares it (PS3.5 6.2.1): trailing component
// separators and spaces do not count, nor letter case.
std::string NormalizePersonName(std::string_view pn);

// The decision for one request: public rows admit anyone; otherwise an unauthenticated
// caller gets kUnauthenticated, a role the row does not admit kForbidden, and the scopes
// are checked through `lookup`. `query`: the decoded query parameters.
Decision Authorize(const Caller& caller, std::string_view method, std::string_view path,
                   const std::multimap<std::string, std::string>& query, ScopeLookup& lookup);
// The same with the row FindRule(method, path) returned already (the guard looks it up once
// per request); `match` must be that result.
Decision AuthorizeMatch(const Caller& caller, std::string_view method, std::string_view path,
                        const std::multimap<std::string, std::string>& query, ScopeLookup& lookup,
                        std::optional<Match> match);

// A registered route of the HTTP server and whether a non-deny row covers it: an exact path
// must be matched by a row with at least one literal segment (or be "/"); a prefix needs a
// row whose leading literal segments are the prefix's segments.
struct RegisteredRoute {
  std::string method;  // "" any
  std::string path;
  bool prefix = false;
};
// The covering row's pattern, or nullopt.
std::optional<std::string_view> CoveringRule(const RegisteredRoute& route);
std::optional<std::string_view> CoveringRuleIn(std::span<const RouteRule> rules,
                                               const RegisteredRoute& route);

// The table as JSON `{"routes":[{"method","pattern","roles","public","scope","audit",
// "example","note"}]}` (GET /api/v1/admin/routes adds "registered") and as text.
std::string RulesJson();
std::string RulesText();

}  // namespace radflow::access
