// SecurityRuntime: authentication, the access rules and the audit trail of one server — the
// guard and observer of the HTTP server, the auth/OIDC/audit/research routes, the DIMSE audit
// sink and the first-run set-up link (docs/access-control.md). Owner: H3.
#pragma once

#include <memory>
#include <string>

#include "audit/audit_event.h"
#include "base/status.h"
#include "http/http_server.h"

namespace radflow::server {

struct ServerConfig;
class Hub;

class SecurityRuntime {
 public:
  static Result<std::unique_ptr<SecurityRuntime>> Create(const ServerConfig& config, Hub& hub);
  ~SecurityRuntime();

  // Registers the auth, OIDC, audit and research routes; installs the guard and observer.
  Status Install(http::HttpServer& http);
  // After every route is registered: each is covered by an access rule.
  Status CheckRoutes(const http::HttpServer& http) const;
  // Once the server listens: prints the one-time set-up link when no account exists.
  void AnnounceSetup(const std::string& base_url);
  // Where DIMSE and server components report audit events.
  audit::AuditSink AuditSink();
  void Stop();

 private:
  struct State;
  explicit SecurityRuntime(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace radflow::server
