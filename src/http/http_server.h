// HttpServer: HTTP/1.1 on Boost.Beast, one thread per connection (keep-alive), with a
// route table of exact paths and prefixes. Request bodies can be read incrementally and
// response bodies produced incrementally (chunked), so that STOW-RS and WADO-RS never hold a
// whole study in memory. Beast and Asio types stay in http_server.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::http {

// Who sent a request, filled by the guard (docs/authentication.md). Strings, so that the HTTP
// layer does not depend on the security module.
struct Identity {
  std::string user;            // account name; "" before authentication
  std::string role;            // administrator | radiologist | technologist | referring | researcher | ai-service
  std::string method;          // session | token | oidc-bearer | oidc-session
  std::string referring_name;  // DICOM PN the referring role is limited to
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // decoded path without the query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;    // whole body; empty for streaming routes
  std::string remote_address;  // the peer's IP address, as text
  bool secure = false;         // received over TLS
  Identity identity;           // set by the guard

  // The header value, or "" when absent (name in lower case).
  const std::string& Header(const std::string& name) const;
};

// Pull interface over a request body for streaming routes.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to n bytes; 0 at the end of the body. Errors: a broken connection, a body
  // larger than allowed.
  virtual Result<size_t> Read(char* buffer, size_t n) = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is produced by repeated calls (sent chunked): each call appends
  // the next piece to `chunk` and returns false once there is nothing more. A producer
  // that fails mid-way ends the connection (the client sees a truncated response).
  std::function<bool(std::string& chunk)> stream;

  static Response Json(std::string body, int status = 200);
  static Response Text(std::string body, int status = 200);
  // {"error": ..., "code": ...} with the HTTP status of the error table.
  static Response Error(const Status& status);
};

using Handler = std::function<Response(const Request&)>;
using StreamingHandler = std::function<Response(const Request&, BodyReader&)>;
// Runs before routing for every request but OPTIONS; a returned response is sent instead of
// calling the handler (authentication and authorization). It may fill `identity` and adjust
// the query (a role's forced filter).
using Guard = std::function<std::optional<Response>(Request&)>;
// Runs after every request that reached a handler or the guard (the audit trail).
using Observer = std::function<void(const Request&, const Response&)>;

struct RouteInfo {
  std::string method;
  std::string path;
  bool prefix = false;
  bool streaming = false;
};

// HTTPS (docs/tls.md): PEM files; TLS 1.2 or later.
struct TlsOptions {
  std::string cert_file;  // certificate chain
  std::string key_file;   // private key
  std::string ca_file;    // optional: client certificates signed by these are requested
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Stop()

  // Exact path match; `method` empty matches any method.
  void Route(const std::string& method, const std::string& path, Handler handler);
  // Longest registered prefix wins when no exact route matches.
  void RoutePrefix(const std::string& method, const std::string& prefix, Handler handler);
  // A prefix route whose handler reads the request body itself.
  void RouteStreaming(const std::string& method, const std::string& prefix,
                      StreamingHandler handler);

  void SetGuard(Guard guard);
  void SetObserver(Observer observer);
  // Every registered route, in registration order.
  std::vector<RouteInfo> Routes() const;

  // Binds address:port (0: any free port) and serves. At most max_connections at once.
  Status Start(const std::string& address, uint16_t port, int max_connections = 256);
  // Also serves HTTPS on address:port (may be called with or without Start).
  Status StartTls(const std::string& address, uint16_t port, const TlsOptions& tls,
                  int max_connections = 256);
  uint16_t tls_port() const;
  void Stop();
  uint16_t port() const;

  // Routing without the network (tests).
  Response Dispatch(const Request& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' is a space in queries).
std::string UrlDecode(std::string_view s, bool plus_is_space);

}  // namespace radflow::http
