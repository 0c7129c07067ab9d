// HttpServer: HTTP/1.1 on Boost.Beast, with a route table of exact paths and prefixes.
// Beast and Asio types stay in http_server.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // decoded path without the query
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(std::string body, int status = 200);
  static Response Text(std::string body, int status = 200);
  // {"error": ..., "code": ...} with the HTTP status of the error table.
  static Response Error(const Status& status);
};

using Handler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Stop()

  // Exact path match; `method` empty matches any method.
  void Route(const std::string& method, const std::string& path, Handler handler);
  // Longest registered prefix wins when no exact route matches.
  void RoutePrefix(const std::string& method, const std::string& prefix, Handler handler);

  // Binds address:port (0: any free port) and serves on `threads` threads.
  Status Start(const std::string& address, uint16_t port, int threads);
  void Stop();
  uint16_t port() const;

  // Routing without the network (tests, and the server's own use).
  Response Dispatch(const Request& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' is a space in queries).
std::string UrlDecode(std::string_view s, bool plus_is_space);

}  // namespace radflow::http
