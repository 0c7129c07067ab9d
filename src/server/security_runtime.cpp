#include "server/security_runtime.h"

#include "server/hub.h"
#include "server/server.h"

namespace radflow::server {

// SCAFFOLD (H3 replaces): no authentication yet.
Result<std::unique_ptr<SecurityRuntime>> SecurityRuntime::Create(const ServerConfig&, Hub&) {
  return std::unique_ptr<SecurityRuntime>(new SecurityRuntime());
}
SecurityRuntime::~SecurityRuntime() = default;
Status SecurityRuntime::Install(http::HttpServer&) { return Status::Ok(); }
Status SecurityRuntime::CheckRoutes(const http::HttpServer&) const { return Status::Ok(); }
void SecurityRuntime::AnnounceSetup(const std::string&) {}
audit::AuditSink SecurityRuntime::AuditSink() {
  return [](const audit::AuditEvent&) {};
}
void SecurityRuntime::Stop() {}

}  // namespace radflow::server
