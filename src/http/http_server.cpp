#include "http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <optional>
#include <thread>

#include "base/log.h"

namespace radflow::http {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Response Response::Json(std::string body, int status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response Response::Text(std::string body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

namespace {
std::string JsonEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += static_cast<char>(c);
  }
  return out;
}
}  // namespace

Response Response::Error(const Status& status) {
  return Json("{\"error\":\"" + JsonEscape(status.message()) + "\",\"code\":\"" +
                  std::string(Describe(status.code()).name) + "\"}",
              status.http_status());
}

struct HttpServer::Impl {
  struct RouteEntry {
    std::string method;
    std::string path;
    bool prefix;
    Handler handler;
  };
  std::vector<RouteEntry> routes;
  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  const HttpServer* owner = nullptr;

  void Accept();
};

namespace {

Request ToRequest(const beast::http::request<beast::http::string_body>& in) {
  Request r;
  r.method = std::string(in.method_string());
  r.target = std::string(in.target());
  auto q = r.target.find('?');
  r.path = UrlDecode(r.target.substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view qs(r.target);
    qs.remove_prefix(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      std::string_view kv = qs.substr(0, amp);
      auto eq = kv.find('=');
      std::string key = UrlDecode(kv.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1), true);
      if (!key.empty()) r.query.emplace(std::move(key), std::move(value));
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : in) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  r.body = in.body();
  return r;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer* server)
      : stream_(std::move(socket)), server_(server) {}

  void Run() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(256u * 1024 * 1024);
    stream_.expires_after(std::chrono::seconds(120));
    beast::http::async_read(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnRead(ec);
                            });
  }

  void OnRead(beast::error_code ec) {
    if (ec == beast::http::error::end_of_stream) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec) return;
    auto req = parser_->release();
    Response r = server_->Dispatch(ToRequest(req));
    auto res = std::make_shared<beast::http::response<beast::http::string_body>>();
    res->version(req.version());
    res->result(static_cast<unsigned>(r.status));
    res->set(beast::http::field::server, "radflow");
    res->set(beast::http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(req.keep_alive());
    if (req.method() != beast::http::verb::head) res->body() = std::move(r.body);
    res->prepare_payload();
    beast::http::async_write(stream_, *res,
                             [self = shared_from_this(), res](beast::error_code ec, size_t) {
                               if (ec) return;
                               if (!res->keep_alive()) {
                                 self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                                 return;
                               }
                               self->Read();
                             });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  const HttpServer* server_;
};

}  // namespace

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, Handler handler) {
  impl_->routes.push_back({method, path, false, std::move(handler)});
}
void HttpServer::RoutePrefix(const std::string& method, const std::string& prefix,
                             Handler handler) {
  impl_->routes.push_back({method, prefix, true, std::move(handler)});
}

Response HttpServer::Dispatch(const Request& request) const {
  const Impl::RouteEntry* best = nullptr;
  bool path_known = false;
  for (const auto& r : impl_->routes) {
    bool match = r.prefix ? request.path.rfind(r.path, 0) == 0 : request.path == r.path;
    if (!match) continue;
    path_known = true;
    bool method_ok = r.method.empty() || r.method == request.method ||
                     (request.method == "HEAD" && r.method == "GET");
    if (!method_ok) continue;
    if (!best || (!r.prefix && best->prefix) ||
        (r.prefix == best->prefix && r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  if (!best) {
    return path_known ? Response::Json("{\"error\":\"method not allowed\"}", 405)
                      : Response::Json("{\"error\":\"no such resource: " + request.path + "\"}", 404);
  }
  try {
    return best->handler(request);
  } catch (const std::exception& e) {
    // A handler bug must not take the server down (Envoy: untrusted input never crashes).
    log::Error(std::string("handler for ") + request.path + " threw: " + e.what());
    return Response::Error(Status(ErrorCode::kInternal, e.what()));
  }
}

void HttpServer::Impl::Accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
    } else {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s), owner)->Run();
    }
    Accept();
  });
}

Status HttpServer::Start(const std::string& address, uint16_t port, int threads) {
  try {
    impl_->owner = this;
    auto endpoint = tcp::endpoint(asio::ip::make_address(address), port);
    impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
    impl_->acceptor->open(endpoint.protocol());
    impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor->bind(endpoint);
    impl_->acceptor->listen(asio::socket_base::max_listen_connections);
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return {ErrorCode::kUnavailable,
            "cannot listen on HTTP " + address + ":" + std::to_string(port) + ": " + e.what()};
  }
  impl_->Accept();
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  log::Info("HTTP listening on port " + std::to_string(impl_->port));
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_->threads.empty()) return;
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace radflow::http
