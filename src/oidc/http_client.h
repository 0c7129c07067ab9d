// A small HTTP(S) client for talking to the OpenID provider (discovery, JWKS, the token and
// userinfo endpoints), over libcurl. libcurl types stay in http_client.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radflow::oidc {

struct HttpResult {
  long status = 0;
  std::string content_type;
  std::string body;
};

struct HttpCall {
  std::string method = "GET";  // GET | POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POST body (sent as given)
  // HTTP Basic credentials (RFC 7617); empty user: none.
  std::string basic_user, basic_password;
  int timeout_ms = 5000;
  size_t max_body_bytes = 1 << 20;  // a provider's answer larger than this is refused
};

// Performs the call. Network errors and oversized bodies: kUnavailable naming the URL and the
// reason; any HTTP status is returned as a result (the caller judges it). Thread-safe.
Result<HttpResult> Fetch(const HttpCall& call);

// application/x-www-form-urlencoded (WHATWG URL, RFC 6749 Appendix B).
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(const std::string& s);

}  // namespace radflow::oidc
