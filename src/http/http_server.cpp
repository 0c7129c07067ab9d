#include "http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <limits>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "base/log.h"
#include "http/compression.h"

namespace radflow::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
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

const std::string& Request::Header(const std::string& name) const {
  static const std::string kEmpty;
  auto it = headers.find(name);
  return it == headers.end() ? kEmpty : it->second;
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
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
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
    StreamingHandler streaming;
  };
  std::vector<RouteEntry> routes;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex conn_mu;
  std::condition_variable conn_cv;
  std::vector<std::shared_ptr<tcp::socket>> connections;
  int max_connections = 256;
  uint16_t port = 0;
  uint16_t tls_port = 0;
  const HttpServer* owner = nullptr;
  Guard guard;
  Observer observer;

  const RouteEntry* Find(const std::string& method, const std::string& path, bool* path_known) const;
  void AcceptLoop();
  void Serve(std::shared_ptr<tcp::socket> socket);
};

const HttpServer::Impl::RouteEntry* HttpServer::Impl::Find(const std::string& method,
                                                           const std::string& path,
                                                           bool* path_known) const {
  const RouteEntry* best = nullptr;
  *path_known = false;
  for (const auto& r : routes) {
    bool match = r.prefix ? path.rfind(r.path, 0) == 0 : path == r.path;
    if (!match) continue;
    *path_known = true;
    bool method_ok = r.method.empty() || r.method == method || (method == "HEAD" && r.method == "GET");
    if (!method_ok) continue;
    if (!best || (!r.prefix && best->prefix) ||
        (r.prefix == best->prefix && r.path.size() > best->path.size())) {
      best = &r;
    }
  }
  return best;
}

namespace {

void FillRequest(const bhttp::request_parser<bhttp::buffer_body>::value_type& in, Request* r) {
  r->method = std::string(in.method_string());
  r->target = std::string(in.target());
  auto q = r->target.find('?');
  r->path = UrlDecode(r->target.substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view qs(r->target);
    qs.remove_prefix(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      std::string_view kv = qs.substr(0, amp);
      auto eq = kv.find('=');
      std::string key = UrlDecode(kv.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1), true);
      if (!key.empty()) r->query.emplace(std::move(key), std::move(value));
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
  for (const auto& f : in) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r->headers[name] = std::string(f.value());
  }
}

// Reads the body of one request through Beast's buffer_body parser, piece by piece.
class ParserBodyReader : public BodyReader {
 public:
  ParserBodyReader(tcp::socket& socket, beast::flat_buffer& buffer,
                   bhttp::request_parser<bhttp::buffer_body>& parser)
      : socket_(socket), buffer_(buffer), parser_(parser) {}

  Result<size_t> Read(char* out, size_t n) override {
    while (!parser_.is_done()) {
      parser_.get().body().data = out;
      parser_.get().body().size = n;
      beast::error_code ec;
      bhttp::read(socket_, buffer_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Status(ErrorCode::kInvalidArgument, "reading the request body: " + ec.message());
      size_t got = n - parser_.get().body().size;
      if (got > 0) return got;
    }
    return size_t{0};
  }
  // Reads and drops what the handler left unread, so the connection can be reused.
  bool Drain() {
    char sink[16384];
    for (;;) {
      auto r = Read(sink, sizeof sink);
      if (!r.ok()) {
        log::Warn("HTTP: " + r.status().message());
        return false;
      }
      if (r.value() == 0) return true;
    }
  }

 private:
  tcp::socket& socket_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
};

template <typename Message>
void AddCommonHeaders(Message& h, const Response& r, bool keep_alive, unsigned version) {
  h.version(version);
  h.result(static_cast<unsigned>(r.status));
  h.set(bhttp::field::server, "radflow");
  h.set(bhttp::field::content_type, r.content_type);
  // Browser viewers on other origins may read the DICOMweb answers (PS3.18 8.1.4 CORS).
  h.set(bhttp::field::access_control_allow_origin, "*");
  for (const auto& [k, v] : r.headers) h.set(k, v);
  h.keep_alive(keep_alive);
}

}  // namespace

void HttpServer::Impl::Serve(std::shared_ptr<tcp::socket> socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // STOW bodies are streamed
    parser.header_limit(64 * 1024);
    bhttp::read_header(*socket, buffer, parser, ec);
    if (ec) {
      if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
          ec != asio::error::connection_reset) {
        log::Debug("HTTP request header: " + ec.message());
      }
      break;  // closed, or not HTTP
    }
    Request req;
    FillRequest(parser.get(), &req);
    {
      beast::error_code peer_ec;
      auto peer = socket->remote_endpoint(peer_ec);
      if (!peer_ec) req.remote_address = peer.address().to_string();
    }
    const bool keep_alive = parser.get().keep_alive();
    const unsigned version = parser.get().version();
    ParserBodyReader body(*socket, buffer, parser);
    // RFC 9110 10.1.1: a client that sent Expect: 100-continue waits for this.
    if (req.Header("expect") == "100-continue" && !parser.is_done()) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::write(*socket, asio::buffer(kContinue, sizeof kContinue - 1), ec);
      if (ec) break;
    }

    Response res;
    bool path_known = false;
    const RouteEntry* route = Find(req.method, req.path, &path_known);
    std::optional<Response> denied;
    if (guard && req.method != "OPTIONS") denied = guard(req);
    if (denied) {
      res = std::move(*denied);
    } else if (req.method == "OPTIONS") {
      // CORS pre-flight.
      res.status = 204;
      res.headers = {{"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS"},
                     {"Access-Control-Allow-Headers", "*"},
                     {"Access-Control-Max-Age", "86400"}};
    } else if (route && route->streaming) {
      try {
        res = route->streaming(req, body);
      } catch (const std::exception& e) {
        log::Error("handler for " + req.path + " threw: " + e.what());
        res = Response::Error(Status(ErrorCode::kInternal, e.what()));
      }
    } else {
      constexpr size_t kMaxBody = 64u << 20;  // bodies of plain routes are small
      char chunk[65536];
      bool too_large = false;
      for (;;) {
        auto n = body.Read(chunk, sizeof chunk);
        if (!n.ok()) {
          log::Warn("HTTP " + req.method + " " + req.path + ": " + n.status().message());
          return;
        }
        if (n.value() == 0) break;
        if (req.body.size() + n.value() > kMaxBody) {
          too_large = true;
          break;
        }
        req.body.append(chunk, n.value());
      }
      if (too_large) {
        res = Response::Error(Status(ErrorCode::kInvalidArgument, "request body too large"));
        res.status = 413;
      } else {
        res = owner->Dispatch(req);
      }
    }
    if (observer && req.method != "OPTIONS") observer(req, res);
    if (!body.Drain()) break;
    const bool head = req.method == "HEAD";

    if (res.stream && !head) {
      bhttp::response<bhttp::empty_body> h;
      AddCommonHeaders(h, res, keep_alive, version);
      h.chunked(true);
      bhttp::response_serializer<bhttp::empty_body> sr{h};
      bhttp::write_header(*socket, sr, ec);
      if (ec) break;
      std::string piece;
      bool more = true;
      bool failed = false;
      while (more) {
        piece.clear();
        try {
          more = res.stream(piece);
        } catch (const std::exception& e) {
          log::Error("response producer for " + req.path + " failed: " + e.what());
          failed = true;
          break;
        }
        if (!piece.empty()) {
          asio::write(*socket, bhttp::make_chunk(asio::buffer(piece)), ec);
          if (ec) break;
        }
      }
      if (ec || failed) break;  // the client sees a truncated response
      asio::write(*socket, bhttp::make_chunk_last(), ec);
      if (ec) break;
    } else {
      bhttp::response<bhttp::string_body> out;
      AddCommonHeaders(out, res, keep_alive, version);
      std::string body_text = std::move(res.body);
      bool encoded = false;
      for (const auto& [k, v] : res.headers) {
        encoded = encoded || k == "Content-Encoding" || k == "content-encoding";
      }
      if (!encoded && body_text.size() > 1024 && IsCompressible(res.content_type) &&
          req.Header("accept-encoding").find("gzip") != std::string::npos) {
        if (auto gz = Gzip(body_text)) {
          body_text = std::move(*gz);
          out.set(bhttp::field::content_encoding, "gzip");
          out.set(bhttp::field::vary, "Accept-Encoding");
        }
      }
      const size_t length = body_text.size();
      if (!head) out.body() = std::move(body_text);
      out.content_length(length);
      bhttp::response_serializer<bhttp::string_body> sr{out};
      if (head) {
        bhttp::write_header(*socket, sr, ec);
      } else {
        bhttp::write(*socket, sr, ec);
      }
      if (ec) break;
    }
    if (!keep_alive) break;
  }
  socket->shutdown(tcp::socket::shutdown_both, ec);
}

void HttpServer::Impl::AcceptLoop() {
  while (!stopping.load()) {
    auto socket = std::make_shared<tcp::socket>(ioc);
    beast::error_code ec;
    acceptor->accept(*socket, ec);
    if (ec) {
      if (stopping.load()) break;
      continue;
    }
    socket->set_option(tcp::no_delay(true), ec);
    // An idle keep-alive connection (or a stalled client) gives its thread back after 2 min.
    timeval idle{120, 0};
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    {
      std::unique_lock<std::mutex> lock(conn_mu);
      if (static_cast<int>(connections.size()) >= max_connections) {
        socket->close(ec);  // over the limit: the client retries
        continue;
      }
      connections.push_back(socket);
    }
    std::thread([this, socket] {
      Serve(socket);
      std::lock_guard<std::mutex> g(conn_mu);
      connections.erase(std::find(connections.begin(), connections.end(), socket));
      conn_cv.notify_all();
    }).detach();
  }
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) { impl_->owner = this; }
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, Handler handler) {
  impl_->routes.push_back({method, path, false, std::move(handler), nullptr});
}
void HttpServer::RoutePrefix(const std::string& method, const std::string& prefix,
                             Handler handler) {
  impl_->routes.push_back({method, prefix, true, std::move(handler), nullptr});
}
void HttpServer::RouteStreaming(const std::string& method, const std::string& prefix,
                                StreamingHandler handler) {
  impl_->routes.push_back({method, prefix, true, nullptr, std::move(handler)});
}

void HttpServer::SetGuard(Guard guard) { impl_->guard = std::move(guard); }
void HttpServer::SetObserver(Observer observer) { impl_->observer = std::move(observer); }

std::vector<RouteInfo> HttpServer::Routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : impl_->routes) out.push_back({r.method, r.path, r.prefix, r.streaming != nullptr});
  return out;
}

Status HttpServer::StartTls(const std::string& address, uint16_t port, const TlsOptions& tls,
                            int max_connections) {
  (void)address; (void)port; (void)tls; (void)max_connections;
  return {ErrorCode::kUnsupported, "HTTPS is not built yet"};  // H4 implements
}

uint16_t HttpServer::tls_port() const { return impl_->tls_port; }

Response HttpServer::Dispatch(const Request& request) const {
  bool path_known = false;
  const Impl::RouteEntry* best = impl_->Find(request.method, request.path, &path_known);
  if (!best || !best->handler) {
    return path_known ? Response::Json("{\"error\":\"method not allowed\"}", 405)
                      : Response::Json("{\"error\":\"no such resource: " + JsonEscape(request.path) + "\"}", 404);
  }
  try {
    return best->handler(request);
  } catch (const std::exception& e) {
    // A handler bug must not take the server down (Envoy: untrusted input never crashes).
    log::Error(std::string("handler for ") + request.path + " threw: " + e.what());
    return Response::Error(Status(ErrorCode::kInternal, e.what()));
  }
}

Status HttpServer::Start(const std::string& address, uint16_t port, int max_connections) {
  try {
    auto endpoint = tcp::endpoint(asio::ip::make_address(address), port);
    impl_->acceptor.emplace(impl_->ioc);
    impl_->acceptor->open(endpoint.protocol());
    impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor->bind(endpoint);
    impl_->acceptor->listen(asio::socket_base::max_listen_connections);
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return {ErrorCode::kUnavailable,
            "cannot listen on HTTP " + address + ":" + std::to_string(port) + ": " + e.what()};
  }
  impl_->max_connections = max_connections;
  impl_->accept_thread = std::thread([this] { impl_->AcceptLoop(); });
  log::Info("HTTP listening on port " + std::to_string(impl_->port));
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_->accept_thread.joinable()) return;
  impl_->stopping = true;
  beast::error_code ec;
  impl_->acceptor->cancel(ec);
  impl_->acceptor->close(ec);
  // Wake the blocking accept() with a connection of our own if close did not.
  {
    tcp::socket poke(impl_->ioc);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), impl_->port), ec);
  }
  impl_->accept_thread.join();
  std::unique_lock<std::mutex> lock(impl_->conn_mu);
  for (auto& s : impl_->connections) s->shutdown(tcp::socket::shutdown_both, ec);
  impl_->conn_cv.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->connections.empty(); });
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace radflow::http
