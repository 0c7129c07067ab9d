#include "http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <limits>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
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
namespace ssl = boost::asio::ssl;
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
  // One listening socket: plain HTTP, or HTTPS when `tls` is set.
  struct Listener {
    std::optional<tcp::acceptor> acceptor;
    std::thread thread;
    uint16_t port = 0;
    int max_connections = 256;
    std::unique_ptr<ssl::context> tls;
  };
  std::vector<RouteEntry> routes;
  asio::io_context ioc;
  Listener plain, secure;
  std::atomic<bool> stopping{false};
  std::mutex conn_mu;
  std::condition_variable conn_cv;
  std::vector<std::shared_ptr<tcp::socket>> connections;
  const HttpServer* owner = nullptr;
  Guard guard;
  Observer observer;

  const RouteEntry* Find(const std::string& method, const std::string& path, bool* path_known) const;
  Status Listen(Listener& l, const std::string& address, uint16_t port, int max_connections,
                const char* what);
  void AcceptLoop(Listener& l);
  void Connection(const std::shared_ptr<tcp::socket>& socket, ssl::context* tls);
  // The request loop of one connection, over a plain socket or a TLS stream.
  template <typename Stream>
  void Serve(Stream& stream, tcp::socket& socket, bool secure);
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
template <typename Stream>
class ParserBodyReader : public BodyReader {
 public:
  ParserBodyReader(Stream& socket, beast::flat_buffer& buffer,
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
  Stream& socket_;
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
  for (const auto& [k, v] : r.headers) h.insert(k, v);
  h.keep_alive(keep_alive);
}

}  // namespace

template <typename Stream>
void HttpServer::Impl::Serve(Stream& stream, tcp::socket& socket, bool secure) {
  beast::flat_buffer buffer;
  // Beast reads min(max(512, free capacity), 64 KiB) per recv: a fresh buffer's 512 bytes
  // made a STOW-RS body ~1000 recv(2) calls per 512 kB instance.
  buffer.reserve(64 * 1024);
  beast::error_code ec;
  for (;;) {
    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // STOW bodies are streamed
    parser.header_limit(64 * 1024);
    bhttp::read_header(stream, buffer, parser, ec);
    if (ec) {
      if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
          ec != asio::error::connection_reset && ec != ssl::error::stream_truncated) {
        log::Debug("HTTP request header: " + ec.message());
      }
      break;  // closed, or not HTTP
    }
    Request req;
    FillRequest(parser.get(), &req);
    {
      beast::error_code peer_ec;
      auto peer = socket.remote_endpoint(peer_ec);
      if (!peer_ec) req.remote_address = peer.address().to_string();
    }
    req.secure = secure;
    const bool keep_alive = parser.get().keep_alive();
    const unsigned version = parser.get().version();
    ParserBodyReader<Stream> body(stream, buffer, parser);
    // RFC 9110 10.1.1: a client that sent Expect: 100-continue waits for this.
    if (req.Header("expect") == "100-continue" && !parser.is_done()) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::write(stream, asio::buffer(kContinue, sizeof kContinue - 1), ec);
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
      res.headers = {{"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
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
      bhttp::write_header(stream, sr, ec);
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
          asio::write(stream, bhttp::make_chunk(asio::buffer(piece)), ec);
          if (ec) break;
        }
      }
      if (ec || failed) break;  // the client sees a truncated response
      asio::write(stream, bhttp::make_chunk_last(), ec);
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
        bhttp::write_header(stream, sr, ec);
      } else {
        bhttp::write(stream, sr, ec);
      }
      if (ec) break;
    }
    if (!keep_alive) break;
  }
}

void HttpServer::Impl::Connection(const std::shared_ptr<tcp::socket>& socket, ssl::context* tls) {
  beast::error_code ec;
  if (!tls) {
    Serve(*socket, *socket, false);
  } else {
    beast::ssl_stream<tcp::socket&> stream(*socket, *tls);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) {
      // A client offering only TLS 1.1 or a weak cipher ends here (docs/tls.md).
      beast::error_code peer_ec;
      auto peer = socket->remote_endpoint(peer_ec);
      log::Debug("TLS handshake with " + (peer_ec ? std::string("?") : peer.address().to_string()) +
                 " failed: " + ec.message());
    } else {
      Serve(stream, *socket, true);
      // Send our close_notify (RFC 8446 6.1) without waiting for the peer's.
      ::SSL_shutdown(stream.native_handle());
    }
  }
  socket->shutdown(tcp::socket::shutdown_both, ec);
}

void HttpServer::Impl::AcceptLoop(Listener& l) {
  while (!stopping.load()) {
    auto socket = std::make_shared<tcp::socket>(ioc);
    beast::error_code ec;
    l.acceptor->accept(*socket, ec);
    if (stopping.load()) break;
    if (ec) continue;
    socket->set_option(tcp::no_delay(true), ec);
    // An idle keep-alive connection (or a stalled client) gives its thread back after 2 min.
    timeval idle{120, 0};
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
    {
      std::unique_lock<std::mutex> lock(conn_mu);
      if (static_cast<int>(connections.size()) >= l.max_connections) {
        socket->close(ec);  // over the limit: the client retries
        continue;
      }
      connections.push_back(socket);
    }
    ssl::context* tls = l.tls.get();
    std::thread([this, socket, tls]() mutable {
      Connection(socket, tls);
      std::lock_guard<std::mutex> g(conn_mu);
      connections.erase(std::find(connections.begin(), connections.end(), socket));
      socket.reset();  // the last reference: closed while the io_context still exists
      conn_cv.notify_all();
    }).detach();
  }
}

Status HttpServer::Impl::Listen(Listener& l, const std::string& address, uint16_t port,
                                int max_connections, const char* what) {
  if (l.acceptor) return {ErrorCode::kInvalidArgument, std::string(what) + " is already listening"};
  try {
    auto endpoint = tcp::endpoint(asio::ip::make_address(address), port);
    l.acceptor.emplace(ioc);
    l.acceptor->open(endpoint.protocol());
    l.acceptor->set_option(asio::socket_base::reuse_address(true));
    l.acceptor->bind(endpoint);
    l.acceptor->listen(asio::socket_base::max_listen_connections);
    l.port = l.acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    l.acceptor.reset();
    return {ErrorCode::kUnavailable, std::string("cannot listen on ") + what + " " + address +
                                         ":" + std::to_string(port) + ": " + e.what()};
  }
  l.max_connections = max_connections;
  l.thread = std::thread([this, &l] { AcceptLoop(l); });
  log::Info(std::string(what) + " listening on port " + std::to_string(l.port));
  return Status::Ok();
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

namespace {

// The last OpenSSL error as text ("" when none), clearing the queue.
std::string OpenSslError() {
  std::string text;
  while (unsigned long e = ::ERR_get_error()) {
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    text = buf;  // the last one is the most specific
  }
  return text;
}

Status FileReadable(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return {ErrorCode::kInvalidArgument, std::string("cannot read ") + what + " '" + path + "': " + std::strerror(errno)};
  std::fclose(f);
  return Status::Ok();
}

// BCP 195 (RFC 9325) / Mozilla "intermediate": TLS 1.2 only with ECDHE and AEAD ciphers,
// TLS 1.3 with its three standard suites.
const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const char* const kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

Result<std::unique_ptr<ssl::context>> MakeServerTlsContext(const TlsOptions& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return Status(ErrorCode::kInvalidArgument, "HTTPS needs a certificate file and a key file");
  }
  if (auto st = FileReadable(tls.cert_file, "TLS certificate file"); !st.ok()) return st;
  if (auto st = FileReadable(tls.key_file, "TLS key file"); !st.ok()) return st;
  if (!tls.ca_file.empty()) {
    if (auto st = FileReadable(tls.ca_file, "TLS CA file"); !st.ok()) return st;
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ::ERR_clear_error();
  ::SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ::SSL_CTX_set_options(native, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                                    SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION |
                                    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  if (::SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
      ::SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1) {
    return Status(ErrorCode::kInternal, "OpenSSL rejected the cipher list: " + OpenSslError());
  }
  if (::SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1) {
    return Status(ErrorCode::kInvalidArgument, "TLS certificate file '" + tls.cert_file +
                                                   "' is not a PEM certificate chain: " + OpenSslError());
  }
  EVP_PKEY* key = nullptr;
  if (std::FILE* f = std::fopen(tls.key_file.c_str(), "rb")) {
    key = ::PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (!key) {
    return Status(ErrorCode::kInvalidArgument, "TLS key file '" + tls.key_file +
                                                   "' is not an unencrypted PEM private key: " + OpenSslError());
  }
  const bool key_ok = ::SSL_CTX_use_PrivateKey(native, key) == 1 && ::SSL_CTX_check_private_key(native) == 1;
  ::EVP_PKEY_free(key);
  if (!key_ok) {
    ::ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument, "TLS key file '" + tls.key_file +
                                                   "' does not match the certificate in '" +
                                                   tls.cert_file + "'");
  }
  if (!tls.ca_file.empty()) {
    // Client certificates are requested and, when presented, must chain to these CAs; a
    // client without one is still served (the guard authenticates it).
    if (::SSL_CTX_load_verify_locations(native, tls.ca_file.c_str(), nullptr) != 1) {
      return Status(ErrorCode::kInvalidArgument, "TLS CA file '" + tls.ca_file +
                                                     "' holds no PEM certificate: " + OpenSslError());
    }
    STACK_OF(X509_NAME)* names = ::SSL_load_client_CA_file(tls.ca_file.c_str());
    if (names) ::SSL_CTX_set_client_CA_list(native, names);
    ::SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  } else {
    ::SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

}  // namespace

Status HttpServer::StartTls(const std::string& address, uint16_t port, const TlsOptions& tls,
                            int max_connections) {
  auto ctx = MakeServerTlsContext(tls);
  if (!ctx.ok()) return ctx.status();
  impl_->secure.tls = std::move(ctx.value());
  return impl_->Listen(impl_->secure, address, port, max_connections, "HTTPS");
}

uint16_t HttpServer::tls_port() const { return impl_->secure.port; }

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
  return impl_->Listen(impl_->plain, address, port, max_connections, "HTTP");
}

void HttpServer::Stop() {
  if (!impl_->plain.thread.joinable() && !impl_->secure.thread.joinable()) return;
  impl_->stopping = true;
  beast::error_code ec;
  for (Impl::Listener* l : {&impl_->plain, &impl_->secure}) {
    if (!l->thread.joinable()) continue;
    l->acceptor->cancel(ec);
    l->acceptor->close(ec);
    // Wake the blocking accept() with a connection of our own if close did not.
    {
      tcp::socket poke(impl_->ioc);
      poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), l->port), ec);
    }
    l->thread.join();
  }
  std::unique_lock<std::mutex> lock(impl_->conn_mu);
  for (auto& s : impl_->connections) s->shutdown(tcp::socket::shutdown_both, ec);
  impl_->conn_cv.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->connections.empty(); });
}

uint16_t HttpServer::port() const { return impl_->plain.port; }

}  // namespace radflow::http
