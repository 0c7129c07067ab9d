#include "audit/syslog_sender.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "audit/audit_trail.h"
#include "base/clock.h"
#include "base/log.h"

namespace radflow::audit {

namespace {

bool IsIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string SslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return {ErrorCode::kInvalidArgument, "syslog receiver '" + text + "' is not host:port"};
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* b = text.data() + colon + 1;
  const char* e = text.data() + text.size();
  auto [p, ec] = std::from_chars(b, e, port);
  if (ec != std::errc() || p != e || port == 0 || port > 65535) {
    return {ErrorCode::kInvalidArgument, "syslog receiver '" + text + "' has no valid port"};
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::string FormatSyslog(const SyslogMessage& m, const std::string& hostname, int pid) {
  // RFC 5424 6: PRI = facility * 8 + severity; facility 10 = security/authorization.
  const int pri = 10 * 8 + m.severity;
  auto field = [](const std::string& s, size_t max) {
    std::string out;
    for (char c : s) {
      if (c > 32 && c < 127 && out.size() < max) out += c;  // PRINTUSASCII
    }
    return out.empty() ? std::string("-") : out;
  };
  return "<" + std::to_string(pri) + ">1 " + FormatTime(m.at_ms) + " " + field(hostname, 255) +
         " radflow " + std::to_string(pid) + " " + field(m.msgid, 32) + " - " + m.msg;
}

class SyslogSender::Impl {
 public:
  std::string host;
  uint16_t port = 0;
  size_t max_queue = 10000;
  SSL_CTX* ctx = nullptr;
  std::string hostname;
  int pid = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<SyslogMessage> queue;
  bool stop = false;
  std::chrono::steady_clock::time_point drain_deadline;
  std::thread thread;
  std::atomic<int64_t> sent{0}, dropped{0};
  std::atomic<bool> connected{false};

  int fd = -1;
  SSL* ssl = nullptr;

  ~Impl() {
    Close();
    if (ctx) SSL_CTX_free(ctx);
  }

  void Close() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ssl = nullptr;
    }
    if (fd >= 0) ::close(fd);
    fd = -1;
    connected = false;
  }

  Status Connect() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port_text = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res); rc != 0) {
      return {ErrorCode::kUnavailable, "cannot resolve " + host + ": " + gai_strerror(rc)};
    }
    Status st(ErrorCode::kUnavailable, "no address for " + host);
    for (addrinfo* a = res; a; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        rc = (::poll(&p, 1, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) ? 0 : -1;
      }
      if (rc == 0) {
        st = Status::Ok();
        break;
      }
      ::close(fd);
      fd = -1;
      st = Status(ErrorCode::kUnavailable, "cannot connect to " + host + ":" + port_text);
    }
    freeaddrinfo(res);
    if (!st.ok()) return st;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    // RFC 5425 5.2: the receiver is authenticated; its certificate must name the host.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (IsIp(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, host.c_str());
      SSL_set1_host(ssl, host.c_str());
    }
    if (SSL_connect(ssl) != 1) {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : SslError();
      Close();
      return {ErrorCode::kUnavailable, "TLS handshake with " + host + ":" + port_text + " failed: " + why};
    }
    connected = true;
    return Status::Ok();
  }

  // The receiver sends nothing on a syslog connection: something readable means it closed.
  bool PeerClosed() {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  bool Send(const SyslogMessage& m) {
    const std::string msg = FormatSyslog(m, hostname, pid);
    const std::string frame = std::to_string(msg.size()) + " " + msg;  // RFC 5425 4.3
    return SSL_write(ssl, frame.data(), static_cast<int>(frame.size())) == static_cast<int>(frame.size());
  }

  void Run() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // a closed socket is EPIPE, not a signal
    int backoff_ms = 500;
    std::string last_error;
    for (;;) {
      SyslogMessage m;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty() || (stop && std::chrono::steady_clock::now() >= drain_deadline)) break;
        m = queue.front();
      }
      if (ssl && PeerClosed()) Close();
      if (!ssl) {
        Status st = Connect();
        if (!st.ok()) {
          if (st.message() != last_error) log::Warn("audit syslog: " + st.message() + " (retrying)");
          last_error = st.message();
          std::unique_lock lock(mu);
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms);
          cv.wait_until(lock, stop ? std::min(until, drain_deadline) : until,
                        [&] { return stop && std::chrono::steady_clock::now() >= drain_deadline; });
          backoff_ms = std::min(backoff_ms * 2, 30000);
          continue;
        }
        if (!last_error.empty()) log::Info("audit syslog: connected to " + host + ":" + std::to_string(port));
        last_error.clear();
        backoff_ms = 500;
      }
      if (!Send(m)) {
        log::Warn("audit syslog: sending to " + host + ":" + std::to_string(port) + " failed: " + SslError());
        Close();
        continue;  // resent after reconnecting
      }
      ++sent;
      std::lock_guard lock(mu);
      queue.pop_front();
    }
    Close();
  }
};

SyslogSender::SyslogSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyslogSender::~SyslogSender() { Stop(0); }

Result<std::unique_ptr<SyslogSender>> SyslogSender::Create(const std::string& host, uint16_t port,
                                                           const std::string& ca_file, size_t max_queue) {
  auto impl = std::make_unique<Impl>();
  impl->host = host;
  impl->port = port;
  impl->max_queue = max_queue ? max_queue : 1;
  impl->ctx = SSL_CTX_new(TLS_client_method());
  if (!impl->ctx) return {ErrorCode::kInternal, "cannot create a TLS context: " + SslError()};
  SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);  // RFC 5425 as updated by RFC 9662
  if (SSL_CTX_load_verify_locations(impl->ctx, ca_file.c_str(), nullptr) != 1) {
    return {ErrorCode::kInvalidArgument, "cannot load the syslog CA file " + ca_file + ": " + SslError()};
  }
  SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER, nullptr);
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  impl->hostname = name;
  impl->pid = static_cast<int>(::getpid());
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<SyslogSender>(new SyslogSender(std::move(impl)));
}

void SyslogSender::Enqueue(SyslogMessage m) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stop) return;
    if (impl_->queue.size() >= impl_->max_queue) {
      const int64_t n = ++impl_->dropped;
      // 1, 2, 4, 8, ... : the count is visible without a line per dropped message.
      if ((n & (n - 1)) == 0) {
        log::Warn("audit syslog: queue full (" + std::to_string(impl_->max_queue) + "), " + std::to_string(n) +
                  " message(s) dropped so far; the local log keeps them all");
      }
      return;
    }
    impl_->queue.push_back(std::move(m));
  }
  impl_->cv.notify_one();
}

void SyslogSender::Stop(int drain_ms) {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stop) {
      impl_->stop = true;
      impl_->drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    }
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mu);
  if (!impl_->queue.empty()) {
    log::Warn("audit syslog: stopped with " + std::to_string(impl_->queue.size()) + " message(s) unsent");
    impl_->dropped += static_cast<int64_t>(impl_->queue.size());
    impl_->queue.clear();
  }
}

int64_t SyslogSender::sent() const { return impl_->sent; }
int64_t SyslogSender::dropped() const { return impl_->dropped; }
bool SyslogSender::connected() const { return impl_->connected; }

}  // namespace radflow::audit
