#include "access/route_rules.h"

#include <algorithm>
#include <array>
#include <sstream>

#include <nlohmann/json.hpp>

namespace radflow::access {

namespace {

constexpr uint32_t A = kAdministrator;
constexpr uint32_t RAD = kAdministrator | kRadiologist;
constexpr uint32_t CLIN = RAD | kTechnologist;              // clinical staff
constexpr uint32_t CLIN_REF = CLIN | kReferring;            // + the referring physician (scoped)
constexpr uint32_t SHELL = CLIN_REF | kResearcher;          // the web application's pages
constexpr uint32_t EVERYONE = SHELL | kAiService;           // any signed-in caller
constexpr uint32_t RESEARCH = kAdministrator | kResearcher;
constexpr uint32_t ORDER_DESK = kAdministrator | kTechnologist;  // who books and tracks exams
constexpr uint32_t REF = kScopeReferring;
constexpr uint32_t JOB = kScopeAiJob;

constexpr RouteRule P(std::string_view m, std::string_view p, std::string_view ex, std::string_view note) {
  return RouteRule{m, p, 0, true, kScopeNone, "", ex, note};
}
constexpr RouteRule R(std::string_view m, std::string_view p, uint32_t roles, uint32_t scope,
                      std::string_view audit, std::string_view ex, std::string_view note) {
  return RouteRule{m, p, roles, false, scope, audit, ex, note};
}

// Example study/series UIDs are placeholders the matrix test replaces with stored ones.
constexpr std::array kRules = {
    // --- public: no data
    P("GET", "/healthz", "/healthz", "liveness"),
    P("GET", "/login", "/login", "the sign-in page"),
    P("GET", "/setup", "/setup", "the first administrator's set-up page"),
    P("GET", "/assets/**", "/assets/index.js", "the web application's built JS/CSS bundles"),
    P("GET", "/favicon.ico", "/favicon.ico", "the icon"),
    P("GET", "/api/v1/auth/config", "/api/v1/auth/config", "which sign-in methods exist"),
    P("POST", "/api/v1/auth/login", "/api/v1/auth/login", "local sign-in"),
    P("POST", "/api/v1/auth/setup", "/api/v1/auth/setup", "first administrator (loopback, set-up token)"),
    P("GET", "/auth/oidc/login", "/auth/oidc/login", "OpenID Connect: to the issuer"),
    P("GET", "/auth/oidc/callback", "/auth/oidc/callback", "OpenID Connect: back from the issuer"),

    // --- default deny below the API roots (stops GET /** from admitting API paths)
    R("*", "/api/**", 0, 0, "", "/api/v1/no-such-route", "no rule: refused"),
    R("*", "/dicom-web/**", 0, 0, "", "/dicom-web/no-such-route", "no rule: refused"),
    R("*", "/auth/**", 0, 0, "", "/auth/no-such-route", "no rule: refused"),

    // --- session and own tokens
    R("GET", "/api/v1/auth/me", EVERYONE, 0, "", "/api/v1/auth/me", "who am I"),
    R("POST", "/api/v1/auth/logout", EVERYONE, 0, "", "/api/v1/auth/logout", "sign out"),
    R("GET", "/api/v1/tokens", EVERYONE, 0, "", "/api/v1/tokens", "API tokens (administrator: all; others: own)"),
    R("POST", "/api/v1/tokens", EVERYONE, 0, "", "/api/v1/tokens", "create a token (for another user: administrator)"),
    R("DELETE", "/api/v1/tokens/{id}", EVERYONE, 0, "", "/api/v1/tokens/0", "revoke own token (administrator: any)"),
    // --- accounts, audit, the rule table (administrator); the account service audits changes
    R("GET", "/api/v1/users", A, 0, "", "/api/v1/users", "accounts"),
    R("POST", "/api/v1/users", A, 0, "", "/api/v1/users", "create an account"),
    R("POST", "/api/v1/users/{name}", A, 0, "", "/api/v1/users/nobody", "change an account"),
    R("POST", "/api/v1/users/{name}/unlock", A, 0, "", "/api/v1/users/nobody/unlock", "end a lock-out"),
    R("GET", "/api/v1/audit", A, 0, "", "/api/v1/audit", "search the audit trail"),
    R("GET", "/api/v1/audit/verify", A, 0, "", "/api/v1/audit/verify", "check the hash chain"),
    R("GET", "/api/v1/audit/{seq}", A, 0, "", "/api/v1/audit/1", "one DICOM audit message"),
    R("GET", "/api/v1/admin/routes", A, 0, "", "/api/v1/admin/routes", "this table"),

    // --- research: de-identified data only (docs/research.md)
    R("POST", "/api/v1/research/cohorts/preview", RESEARCH, 0, "", "/api/v1/research/cohorts/preview", "cohort counts"),
    R("GET", "/api/v1/research/cohorts", RESEARCH, 0, "", "/api/v1/research/cohorts", "cohorts"),
    R("POST", "/api/v1/research/cohorts", RESEARCH, 0, "", "/api/v1/research/cohorts", "save a cohort version"),
    R("GET", "/api/v1/research/cohorts/{name}", RESEARCH, 0, "", "/api/v1/research/cohorts/none", "one cohort"),
    R("GET", "/api/v1/research/exports", RESEARCH, 0, "", "/api/v1/research/exports", "exports"),
    R("POST", "/api/v1/research/exports", RESEARCH, 0, "", "/api/v1/research/exports", "start an export (the research service audits the finished export)"),
    R("GET", "/api/v1/research/exports/{id}", RESEARCH, 0, "", "/api/v1/research/exports/0", "export progress"),
    R("GET", "/api/v1/research/exports/{id}/download", RESEARCH, 0, "export", "/api/v1/research/exports/0/download", "the export as tar"),

    // --- DICOMweb (PS3.18): QIDO-RS
    R("GET", "/dicom-web/studies", CLIN_REF, REF, "query", "/dicom-web/studies", "QIDO studies (referring: their studies only)"),
    R("GET", "/dicom-web/series", CLIN, 0, "query", "/dicom-web/series", "QIDO all series"),
    R("GET", "/dicom-web/instances", CLIN, 0, "query", "/dicom-web/instances", "QIDO all instances"),
    R("GET", "/dicom-web/studies/{study}/series", CLIN_REF, REF, "query", "/dicom-web/studies/{study}/series", "QIDO series of a study"),
    R("GET", "/dicom-web/studies/{study}/instances", CLIN_REF, REF, "query", "/dicom-web/studies/{study}/instances", "QIDO instances of a study"),
    R("GET", "/dicom-web/studies/{study}/series/{series}/instances", CLIN_REF | kAiService, REF | JOB, "query",
      "/dicom-web/studies/{study}/series/{series}/instances", "QIDO instances of a series"),
    // WADO-RS
    R("GET", "/dicom-web/studies/{study}/**", CLIN_REF, REF, "retrieve", "/dicom-web/studies/{study}/metadata",
      "WADO-RS study, metadata, rendered"),
    R("GET", "/dicom-web/studies/{study}/series/{series}/**", CLIN_REF | kAiService, REF | JOB, "retrieve",
      "/dicom-web/studies/{study}/series/{series}/metadata", "WADO-RS series, instances, frames, rendered"),
    // STOW-RS
    R("POST", "/dicom-web/studies", CLIN | kAiService, JOB, "store", "/dicom-web/studies", "STOW-RS"),
    R("POST", "/dicom-web/studies/{study}", CLIN | kAiService, JOB, "store", "/dicom-web/studies/{study}", "STOW-RS into a study"),

    // --- the viewer and the web application (pages; the data comes through the rows above)
    R("GET", "/ohif", CLIN_REF, 0, "", "/ohif", "OHIF viewer"),
    R("GET", "/ohif/**", CLIN_REF, 0, "", "/ohif/app-config.js", "OHIF viewer files"),
    R("GET", "/", SHELL, 0, "", "/", "the web application"),
    R("GET", "/**", SHELL, 0, "", "/worklist", "the web application's pages (index.html)"),
    R("GET", "/studies", CLIN_REF, 0, "", "/studies", "the plain study list page"),

    // --- summary
    R("GET", "/api/v1/stats", CLIN, 0, "", "/api/v1/stats", "counts"),

    // --- the reading worklist (docs/worklist.md)
    R("GET", "/api/v1/worklist", CLIN, 0, "query", "/api/v1/worklist", "worklist"),
    R("GET", "/api/v1/worklist/rule", CLIN, 0, "", "/api/v1/worklist/rule", "priority rule"),
    R("GET", "/api/v1/worklist/events", CLIN, 0, "", "/api/v1/worklist/events", "server-sent events"),
    R("GET", "/api/v1/worklist/{study}", CLIN, 0, "view", "/api/v1/worklist/{study}", "one item with its audit"),
    R("POST", "/api/v1/worklist/{study}/claim", RAD, 0, "", "/api/v1/worklist/{study}/claim", "claim"),
    R("POST", "/api/v1/worklist/{study}/release", RAD, 0, "", "/api/v1/worklist/{study}/release", "release"),
    R("POST", "/api/v1/worklist/{study}/heartbeat", RAD, 0, "", "/api/v1/worklist/{study}/heartbeat", "renew a claim"),
    R("POST", "/api/v1/worklist/{study}/state", RAD, 0, "", "/api/v1/worklist/{study}/state", "change state"),
    R("POST", "/api/v1/worklist/{study}/priority", RAD, 0, "", "/api/v1/worklist/{study}/priority", "change priority"),

    // --- the study page
    R("GET", "/api/v1/studies/{study}", CLIN_REF, REF, "view", "/api/v1/studies/{study}", "study: series"),
    R("GET", "/api/v1/studies/{study}/priors", CLIN, 0, "view", "/api/v1/studies/{study}/priors", "ranked priors"),
    R("GET", "/api/v1/studies/{study}/lesions", CLIN_REF, REF, "view", "/api/v1/studies/{study}/lesions", "tracked lesions"),
    R("GET", "/api/v1/studies/{study}/findings", CLIN_REF, REF, "view", "/api/v1/studies/{study}/findings", "AI findings"),
    R("GET", "/api/v1/studies/{study}/conformance", CLIN_REF, REF, "query", "/api/v1/studies/{study}/conformance", "conformance problems of the study's instances"),
    R("GET", "/api/v1/studies/{study}/reports", CLIN_REF, REF, "view", "/api/v1/studies/{study}/reports", "the study's reports"),
    R("POST", "/api/v1/studies/{study}/reports", RAD, 0, "report-changed", "/api/v1/studies/{study}/reports", "new draft"),
    R("GET", "/api/v1/studies/{study}/proposals", RAD, 0, "view", "/api/v1/studies/{study}/proposals", "AI proposals"),
    R("GET", "/api/v1/studies/{study}/report-template", RAD, 0, "", "/api/v1/studies/{study}/report-template", "template chosen"),
    R("GET", "/api/v1/series/{series}/findings", CLIN, 0, "view", "/api/v1/series/{series}/findings", "AI findings of a series"),

    // --- AI apps, jobs, findings (docs/app-library.md)
    R("GET", "/api/v1/apps", CLIN, 0, "", "/api/v1/apps", "apps"),
    R("GET", "/api/v1/apps/{id}", CLIN, 0, "", "/api/v1/apps/none", "one app"),
    R("GET", "/api/v1/apps/{id}/audit", A, 0, "", "/api/v1/apps/none/audit", "an app's change log"),
    R("POST", "/api/v1/apps/{id}/enable", A, 0, "app-changed", "/api/v1/apps/none/enable", "route to the app"),
    R("POST", "/api/v1/apps/{id}/disable", A, 0, "app-changed", "/api/v1/apps/none/disable", "stop routing"),
    R("POST", "/api/v1/apps/{id}/pin", A, 0, "app-changed", "/api/v1/apps/none/pin", "pin a version"),
    R("POST", "/api/v1/apps/{id}/unpin", A, 0, "app-changed", "/api/v1/apps/none/unpin", "newest version"),
    R("POST", "/api/v1/apps/{id}/run", CLIN, 0, "", "/api/v1/apps/none/run", "run on a series"),
    R("GET", "/api/v1/ai/performance", RAD, 0, "", "/api/v1/ai/performance", "AI performance by week"),
    R("GET", "/api/v1/jobs", CLIN, 0, "", "/api/v1/jobs", "jobs"),
    R("GET", "/api/v1/jobs/{id}", CLIN, 0, "", "/api/v1/jobs/0", "one job"),
    R("POST", "/api/v1/jobs/{id}/rerun", RAD, 0, "", "/api/v1/jobs/0/rerun", "rerun"),
    R("POST", "/api/v1/jobs/{id}/cancel", RAD, 0, "", "/api/v1/jobs/0/cancel", "cancel"),
    R("GET", "/api/v1/findings", CLIN, 0, "query", "/api/v1/findings", "findings by study/series"),
    R("GET", "/api/v1/findings/{id}/similar", RAD, 0, "view", "/api/v1/findings/0/similar", "similar cases"),
    R("POST", "/api/v1/findings/{id}/decision", RAD, 0, "report-changed", "/api/v1/findings/0/decision", "accept/edit/reject"),
    R("GET", "/api/v1/decisions", RAD, 0, "", "/api/v1/decisions", "decisions"),

    // --- reports (docs/reports.md)
    R("GET", "/api/v1/report-templates", RAD, 0, "", "/api/v1/report-templates", "templates"),
    R("GET", "/api/v1/report-templates/{id}", RAD, 0, "", "/api/v1/report-templates/none", "one template"),
    R("GET", "/api/v1/reports/{id}", CLIN, 0, "view", "/api/v1/reports/0", "a report"),
    R("PUT", "/api/v1/reports/{id}", RAD, 0, "report-changed", "/api/v1/reports/0", "autosave a draft"),
    R("GET", "/api/v1/reports/{id}/qa", RAD, 0, "", "/api/v1/reports/0/qa", "QA issues"),
    R("GET", "/api/v1/reports/{id}/delivery", RAD, 0, "", "/api/v1/reports/0/delivery", "HL7 outbox"),
    R("POST", "/api/v1/reports/{id}/sign", RAD, 0, "report-signed", "/api/v1/reports/0/sign", "sign"),
    R("POST", "/api/v1/reports/{id}/addendum", RAD, 0, "report-changed", "/api/v1/reports/0/addendum", "addendum"),
    R("POST", "/api/v1/reports/external", RAD, 0, "report-changed", "/api/v1/reports/external", "a report from elsewhere"),
    R("GET", "/api/v1/patients/{patient}/reports", CLIN, 0, "view", "/api/v1/patients/none/reports", "a patient's reports"),
    R("GET", "/api/v1/fhir/**", CLIN, 0, "retrieve", "/api/v1/fhir/DiagnosticReport/0", "FHIR R4 resources"),
    R("GET", "/api/v1/fhir/DiagnosticReport", CLIN, 0, "query", "/api/v1/fhir/DiagnosticReport", "FHIR search"),
    R("GET", "/api/v1/followups", CLIN, 0, "query", "/api/v1/followups", "follow-ups"),
    R("GET", "/api/v1/followups/{id}", CLIN, 0, "", "/api/v1/followups/0", "one follow-up"),
    R("POST", "/api/v1/followups/{id}/close", RAD, 0, "report-changed", "/api/v1/followups/0/close", "close"),

    // --- orders, exam tracking, protocols, MPPS, FHIR ServiceRequest (docs/orders.md); the
    // order service writes its own change log (GET /api/v1/orders/{id}/audit)
    R("GET", "/api/v1/orders", CLIN, 0, "query", "/api/v1/orders", "orders: search"),
    R("POST", "/api/v1/orders", ORDER_DESK, 0, "", "/api/v1/orders", "create an order"),
    R("GET", "/api/v1/orders/{id}", CLIN, 0, "view", "/api/v1/orders/0", "one order with its change log"),
    R("PATCH", "/api/v1/orders/{id}", ORDER_DESK, 0, "", "/api/v1/orders/0", "change an order"),
    R("POST", "/api/v1/orders/{id}/cancel", ORDER_DESK, 0, "", "/api/v1/orders/0/cancel", "cancel an order"),
    R("POST", "/api/v1/orders/{id}/status", ORDER_DESK, 0, "", "/api/v1/orders/0/status", "arrived / no-show / scheduled"),
    R("POST", "/api/v1/orders/{id}/protocol", ORDER_DESK, 0, "", "/api/v1/orders/0/protocol", "accept or change the protocol"),
    R("POST", "/api/v1/orders/{id}/reminder", ORDER_DESK, 0, "", "/api/v1/orders/0/reminder", "reminder sent"),
    R("GET", "/api/v1/orders/{id}/audit", CLIN, 0, "", "/api/v1/orders/0/audit", "an order's change log"),
    R("GET", "/api/v1/protocols", CLIN, 0, "", "/api/v1/protocols", "the protocol rule set"),
    R("GET", "/api/v1/reconciliation", CLIN, 0, "query", "/api/v1/reconciliation", "studies without an order"),
    R("POST", "/api/v1/reconciliation", ORDER_DESK, 0, "", "/api/v1/reconciliation", "link or dismiss a study"),
    R("GET", "/api/v1/mpps/{uid}", CLIN, 0, "", "/api/v1/mpps/0", "one performed procedure step"),
    R("GET", "/api/v1/fhir/ServiceRequest", CLIN, 0, "query", "/api/v1/fhir/ServiceRequest", "FHIR ServiceRequest search"),
    R("GET", "/api/v1/fhir/ServiceRequest/{id}", CLIN, 0, "view", "/api/v1/fhir/ServiceRequest/order-0", "FHIR ServiceRequest read"),
    R("POST", "/api/v1/fhir/ServiceRequest", ORDER_DESK, 0, "", "/api/v1/fhir/ServiceRequest", "FHIR ServiceRequest create"),
    R("PUT", "/api/v1/fhir/ServiceRequest/{id}", ORDER_DESK, 0, "", "/api/v1/fhir/ServiceRequest/order-0", "FHIR ServiceRequest update"),
    // --- scheduling analytics (docs/scheduling.md)
    R("GET", "/api/v1/scheduling/days", CLIN, 0, "", "/api/v1/scheduling/days", "per station and day"),
    R("GET", "/api/v1/scheduling/risky", CLIN, 0, "", "/api/v1/scheduling/risky", "high-risk appointments"),
    R("GET", "/api/v1/scheduling/stations", CLIN, 0, "", "/api/v1/scheduling/stations", "stations and their hours"),
    // --- remote AI workers (docs/remote-workers.md): the AI service's `radflow worker`s
    // (the administrator may do everything; the hub checks each call against the lease)
    R("POST", "/api/v1/ai/worker/claim", A | kAiService, JOB, "", "/api/v1/ai/worker/claim", "take queued jobs with a lease"),
    R("POST", "/api/v1/ai/worker/jobs/{id}/renew", A | kAiService, JOB, "", "/api/v1/ai/worker/jobs/0/renew", "extend a job's lease"),
    R("POST", "/api/v1/ai/worker/jobs/{id}/complete", A | kAiService, JOB, "", "/api/v1/ai/worker/jobs/0/complete",
      "a job's summary, result UIDs (stored by STOW-RS) and findings"),
    R("POST", "/api/v1/ai/worker/jobs/{id}/fail", A | kAiService, JOB, "", "/api/v1/ai/worker/jobs/0/fail", "a failed or given-back job"),
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (i > start) out.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool IsCapture(std::string_view s) { return s.size() >= 2 && s.front() == '{' && s.back() == '}'; }

// Specificity rank of a pattern segment: literal 3, {x} or * 2, ** 1.
int Rank(std::string_view s) { return s == "**" ? 1 : (s == "*" || IsCapture(s)) ? 2 : 3; }

bool MethodMatches(std::string_view rule, std::string_view method) {
  return rule == "*" || rule == method || (rule == "GET" && method == "HEAD");
}

using Segments = std::vector<std::string_view>;

// Whether path segments match pattern segments (no captures: those are filled only for the
// row that wins, see Capture).
bool MatchSegments(const Segments& pat, const Segments& path) {
  size_t i = 0;
  for (; i < pat.size(); ++i) {
    if (pat[i] == "**") return i + 1 == pat.size();  // the rest, zero or more
    if (i >= path.size()) return false;
    if (!IsCapture(pat[i]) && pat[i] != "*" && pat[i] != path[i]) return false;
  }
  return i == path.size();
}

// The {x} segments of a matching pattern.
std::map<std::string, std::string> Capture(const Segments& pat, const Segments& path) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < pat.size() && i < path.size(); ++i) {
    if (IsCapture(pat[i])) out[std::string(pat[i].substr(1, pat[i].size() - 2))] = std::string(path[i]);
  }
  return out;
}

// true when pattern a is more specific than pattern b (both split).
bool MoreSpecific(const Segments& sa, const Segments& sb) {
  for (size_t i = 0; i < std::min(sa.size(), sb.size()); ++i) {
    int ra = Rank(sa[i]), rb = Rank(sb[i]);
    if (ra != rb) return ra > rb;
  }
  // One is a prefix of the other: the longer wins unless all it adds is "**" (zero or more).
  if (sa.size() > sb.size()) return sa[sb.size()] != "**";
  if (sb.size() > sa.size()) return sb[sa.size()] == "**";
  return false;
}

// The built-in table's patterns, split once (a function-local static: thread-safe
// initialisation, C++11 [stmt.dcl]/4); the views point into the constexpr table.
const std::vector<Segments>& SplitTable() {
  static const std::vector<Segments> split = [] {
    std::vector<Segments> out;
    out.reserve(kRules.size());
    for (const RouteRule& r : kRules) out.push_back(SplitPath(r.pattern));
    return out;
  }();
  return split;
}

// The most specific row; `pattern_of(i)` gives row i's split pattern.
template <typename PatternOf>
std::optional<Match> BestMatch(std::span<const RouteRule> rules, std::string_view method, std::string_view path,
                               PatternOf pattern_of) {
  const Segments segs = SplitPath(path);
  const Segments* best_pat = nullptr;
  size_t best = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!MethodMatches(rules[i].method, method)) continue;
    const Segments& pat = pattern_of(i);
    if (!MatchSegments(pat, segs)) continue;
    if (!best_pat || MoreSpecific(pat, *best_pat)) {
      best_pat = &pat;
      best = i;
    }
  }
  if (!best_pat) return std::nullopt;
  return Match{&rules[best], Capture(*best_pat, segs)};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Decision Deny(Decision d, Decision::Outcome outcome, std::string reason) {
  d.outcome = outcome;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

std::string NormalizePersonName(std::string_view pn) {
  std::string s(pn);
  while (!s.empty() && (s.back() == '^' || s.back() == ' ' || s.back() == '=')) s.pop_back();
  const size_t start = s.find_first_not_of(' ');
  return Lower(start == std::string::npos ? "" : s.substr(start));
}

uint32_t RoleBitOf(std::string_view role) {
  if (role == "administrator") return kAdministrator;
  if (role == "radiologist") return kRadiologist;
  if (role == "technologist") return kTechnologist;
  if (role == "referring") return kReferring;
  if (role == "researcher") return kResearcher;
  if (role == "ai-service") return kAiService;
  return 0;
}

std::vector<std::string> RoleNames(uint32_t mask) {
  static const char* kNames[] = {"administrator", "radiologist", "technologist", "referring", "researcher", "ai-service"};
  std::vector<std::string> out;
  for (int i = 0; i < 6; ++i) {
    if (mask & (1u << i)) out.emplace_back(kNames[i]);
  }
  return out;
}

std::string ScopeName(uint32_t scope) {
  if (scope == (kScopeReferring | kScopeAiJob)) return "referring,ai-job";
  if (scope == kScopeReferring) return "referring";
  if (scope == kScopeAiJob) return "ai-job";
  return "none";
}

std::span<const RouteRule> Rules() { return kRules; }

std::optional<Match> FindRuleIn(std::span<const RouteRule> rules, std::string_view method,
                                std::string_view path) {
  if (rules.data() == kRules.data() && rules.size() == kRules.size()) {
    const auto& split = SplitTable();
    return BestMatch(rules, method, path, [&](size_t i) -> const Segments& { return split[i]; });
  }
  // Another table (tests): its patterns split on each call.
  std::vector<Segments> split;
  split.reserve(rules.size());
  for (const RouteRule& r : rules) split.push_back(SplitPath(r.pattern));
  return BestMatch(rules, method, path, [&](size_t i) -> const Segments& { return split[i]; });
}

std::optional<Match> FindRule(std::string_view method, std::string_view path) {
  return FindRuleIn(Rules(), method, path);
}

Decision Authorize(const Caller& caller, std::string_view method, std::string_view path,
                   const std::multimap<std::string, std::string>& query, ScopeLookup& lookup) {
  return AuthorizeMatch(caller, method, path, query, lookup, FindRule(method, path));
}

Decision AuthorizeMatch(const Caller& caller, std::string_view method, std::string_view path,
                        const std::multimap<std::string, std::string>& /*query*/, ScopeLookup& lookup,
                        std::optional<Match> match) {
  Decision d;
  d.match = std::move(match);
  auto what_of = [&] { return std::string(method) + " " + std::string(path); };
  if (!d.match || d.match->rule->deny()) {
    // Still 401 first for an anonymous caller: nothing about the route is revealed.
    if (!caller.authenticated) return Deny(std::move(d), Decision::Outcome::kUnauthenticated, "authentication required");
    return Deny(std::move(d), Decision::Outcome::kForbidden, "no access rule for " + what_of());
  }
  const RouteRule& rule = *d.match->rule;
  if (rule.is_public) {
    d.outcome = Decision::Outcome::kAllow;
    return d;
  }
  if (!caller.authenticated) return Deny(std::move(d), Decision::Outcome::kUnauthenticated, "authentication required");
  const uint32_t bit = RoleBitOf(caller.role);
  if (bit == 0) return Deny(std::move(d), Decision::Outcome::kForbidden, "unknown role '" + caller.role + "'");
  if ((rule.roles & bit) == 0) {
    return Deny(std::move(d), Decision::Outcome::kForbidden,
                "role " + caller.role + " may not " + what_of() + " (rule " + std::string(rule.method) + " " +
                    std::string(rule.pattern) + ")");
  }
  const auto& cap = d.match->captures;
  // A scope narrows its role on the rows that declare it (pages without data do not).
  if (bit == kReferring && (rule.scope & kScopeReferring)) {
    if (caller.referring_name.empty()) {
      return Deny(std::move(d), Decision::Outcome::kForbidden, "user " + caller.user + " has no referring_name");
    }
    auto study = cap.find("study");
    if (study == cap.end()) {
      // A QIDO study search: only the caller's studies (PS3.18 8.3.4: a forced key).
      d.erase_query = {"ReferringPhysicianName", "00080090", "fuzzymatching"};
      d.force_query = {{"ReferringPhysicianName", caller.referring_name}};
    } else {
      auto referring = lookup.ReferringPhysicianOf(study->second);
      if (!referring.ok()) return Deny(std::move(d), Decision::Outcome::kError, referring.status().message());
      if (!referring->has_value() ||
          NormalizePersonName(referring->value()) != NormalizePersonName(caller.referring_name)) {
        return Deny(std::move(d), Decision::Outcome::kForbidden,
                    "study " + study->second + " is not referred by " + caller.referring_name);
      }
    }
  }
  if (bit == kAiService && (rule.scope & kScopeAiJob)) {
    auto series = cap.find("series");
    if (series != cap.end()) {
      auto active = lookup.SeriesHasActiveJob(series->second);
      if (!active.ok()) return Deny(std::move(d), Decision::Outcome::kError, active.status().message());
      if (!active.value()) {
        return Deny(std::move(d), Decision::Outcome::kForbidden,
                    "series " + series->second + " has no queued or running AI job");
      }
    }
  }
  d.outcome = Decision::Outcome::kAllow;
  return d;
}

std::optional<std::string_view> CoveringRuleIn(std::span<const RouteRule> rules,
                                               const RegisteredRoute& route) {
  const std::string method = route.method.empty() ? "*" : route.method;
  auto method_ok = [&](std::string_view rm) { return rm == "*" || method == "*" || rm == method; };
  if (!route.prefix) {
    std::optional<Match> m;
    if (method == "*") {
      for (std::string_view mm : {"GET", "POST", "PUT", "DELETE"}) {
        if ((m = FindRuleIn(rules, mm, route.path)) && !m->rule->deny()) break;
      }
    } else {
      m = FindRuleIn(rules, method, route.path);
    }
    if (!m || m->rule->deny()) return std::nullopt;
    const auto segs = SplitPath(m->rule->pattern);
    const bool literal_first = !segs.empty() && Rank(segs.front()) == 3;
    if (!literal_first && !SplitPath(route.path).empty()) return std::nullopt;
    return m->rule->pattern;
  }
  const auto prefix = SplitPath(route.path);
  for (const RouteRule& r : rules) {
    if (r.deny() || !method_ok(r.method)) continue;
    const auto segs = SplitPath(r.pattern);
    if (segs.size() < prefix.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < prefix.size() && ok; ++i) {
      ok = Rank(segs[i]) == 3 && segs[i] == prefix[i];
    }
    if (ok) return r.pattern;
  }
  return std::nullopt;
}

std::optional<std::string_view> CoveringRule(const RegisteredRoute& route) {
  return CoveringRuleIn(Rules(), route);
}

std::string RulesJson() {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const RouteRule& r : Rules()) {
    rows.push_back({{"method", r.method},
                    {"pattern", r.pattern},
                    {"roles", RoleNames(r.roles)},
                    {"public", r.is_public},
                    {"deny", r.deny()},
                    {"scope", ScopeName(r.scope)},
                    {"audit", r.audit},
                    {"example", r.example},
                    {"note", r.note}});
  }
  return nlohmann::ordered_json{{"routes", rows}}.dump();
}

std::string RulesText() {
  std::ostringstream out;
  out << "METHOD\tPATTERN\tROLES\tSCOPE\tAUDIT\tNOTE\n";
  for (const RouteRule& r : Rules()) {
    std::string roles;
    if (r.is_public) roles = "public";
    else if (r.deny()) roles = "(deny)";
    for (const auto& n : RoleNames(r.roles)) roles += (roles.empty() ? "" : ",") + n;
    out << r.method << '\t' << r.pattern << '\t' << roles << '\t' << ScopeName(r.scope) << '\t'
        << (r.audit.empty() ? "-" : r.audit) << '\t' << r.note << '\n';
  }
  return out.str();
}

}  // namespace radflow::access
