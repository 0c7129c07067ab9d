#include "security/auth_service.h"

namespace radflow::security {

Result<std::unique_ptr<AuthService>> AuthService::Open(AuthOptions) {
  return std::unique_ptr<AuthService>(new AuthService());
}
AuthService::~AuthService() = default;

Result<http::Identity> AuthService::Authenticate(const http::Request&) {
  return Status(ErrorCode::kUnauthenticated, "authentication required");
}

}  // namespace radflow::security
