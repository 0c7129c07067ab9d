#include "hl7/mllp.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/log.h"
#include "hl7/message.h"

namespace radflow::hl7 {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string Frame(const std::string& message) {
  std::string out;
  out.reserve(message.size() + 3);
  out += kStartBlock;
  out += message;
  out += kEndBlock;
  out += kCarriageReturn;
  return out;
}

namespace {

// Incremental MLLP deframer shared by sender and listener: feed bytes, take messages.
class Deframer {
 public:
  explicit Deframer(size_t max_bytes) : max_(max_bytes) {}

  enum class Event { kNone, kMessage, kTooLarge };

  // Consumes bytes up to the end of the next complete frame (or all of them). `used` tells
  // how many were consumed. kMessage: `message` holds the frame's content.
  Event Feed(const char* data, size_t n, size_t* used, std::string* message) {
    for (size_t i = 0; i < n; ++i) {
      const char c = data[i];
      if (after_end_) {
        after_end_ = false;
        if (c == kCarriageReturn) continue;  // the <CR> after <FS>; tolerate its absence
      }
      if (c == kStartBlock) {
        if (in_frame_ && !buffer_.empty()) log::Warn("MLLP: start block inside a frame; partial message discarded");
        in_frame_ = true;
        buffer_.clear();
        continue;
      }
      if (!in_frame_) {
        if (c != '\r' && c != '\n' && !discarding_) {
          log::Warn("MLLP: bytes outside a frame discarded");
          discarding_ = true;
        }
        continue;
      }
      if (c == kEndBlock) {
        in_frame_ = false;
        after_end_ = true;
        discarding_ = false;
        *message = std::move(buffer_);
        buffer_.clear();
        *used = i + 1;
        // Swallow the trailing <CR> now if it is already here.
        if (i + 1 < n && data[i + 1] == kCarriageReturn) {
          after_end_ = false;
          *used = i + 2;
        }
        return Event::kMessage;
      }
      if (buffer_.size() >= max_) {
        *used = i;
        in_frame_ = false;
        return Event::kTooLarge;
      }
      buffer_ += c;
    }
    *used = n;
    return Event::kNone;
  }

  // The start of the message being received (for an AR to a message too large).
  const std::string& partial() const { return buffer_; }
  bool in_frame() const { return in_frame_; }

 private:
  size_t max_;
  std::string buffer_;
  bool in_frame_ = false;
  bool after_end_ = false;
  bool discarding_ = false;
};

}  // namespace

Result<std::string> MllpSend(const std::string& host, int port, const std::string& message, int timeout_ms) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  asio::steady_timer timer(ioc);
  const std::string peer = host + ":" + std::to_string(port);
  std::string stage = "connecting to";
  bool timed_out = false;
  error_code failure;
  std::string reply;
  bool done = false;
  Deframer deframer(kDefaultMaxMessageBytes);
  std::array<char, 8192> buf;
  std::string framed = Frame(message);
  tcp::resolver resolver(ioc);

  timer.expires_after(std::chrono::milliseconds(timeout_ms));
  timer.async_wait([&](const error_code& ec) {
    if (ec) return;  // cancelled
    timed_out = true;
    error_code ignored;
    resolver.cancel();
    socket.close(ignored);
  });

  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buf), [&](const error_code& ec, size_t n) {
      if (ec) {
        failure = ec;
        timer.cancel();
        return;
      }
      size_t offset = 0;
      while (offset < n) {
        size_t used = 0;
        std::string m;
        auto ev = deframer.Feed(buf.data() + offset, n - offset, &used, &m);
        offset += used;
        if (ev == Deframer::Event::kMessage) {
          reply = std::move(m);
          done = true;
          timer.cancel();
          return;
        }
        if (ev == Deframer::Event::kTooLarge) {
          failure = asio::error::message_size;
          timer.cancel();
          return;
        }
      }
      read_more();
    });
  };

  resolver.async_resolve(host, std::to_string(port), [&](const error_code& ec, tcp::resolver::results_type results) {
    if (ec) {
      failure = ec;
      timer.cancel();
      return;
    }
    asio::async_connect(socket, results, [&](const error_code& ec2, const tcp::endpoint&) {
      if (ec2) {
        failure = ec2;
        timer.cancel();
        return;
      }
      stage = "sending to";
      asio::async_write(socket, asio::buffer(framed), [&](const error_code& ec3, size_t) {
        if (ec3) {
          failure = ec3;
          timer.cancel();
          return;
        }
        stage = "waiting for the acknowledgment of";
        read_more();
      });
    });
  });
  ioc.run();
  error_code ignored;
  socket.close(ignored);

  if (done) return reply;
  if (timed_out) {
    return Status(ErrorCode::kUnavailable,
                  "MLLP " + peer + ": timed out after " + std::to_string(timeout_ms) + " ms " + stage + " the peer");
  }
  if (failure == asio::error::message_size) {
    return Status(ErrorCode::kInvalidArgument, "MLLP " + peer + ": reply larger than 4 MiB");
  }
  if (failure == asio::error::eof) {
    return Status(ErrorCode::kUnavailable, "MLLP " + peer + ": connection closed before an acknowledgment");
  }
  return Status(ErrorCode::kUnavailable, "MLLP " + peer + ": " + stage + " the peer: " + failure.message());
}

// ---------------------------------------------------------------------------------------

struct MllpListener::Impl {
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(Impl* owner, tcp::socket s)
        : impl(owner), socket(std::move(s)), timer(socket.get_executor()), deframer(owner->options.max_message_bytes) {}
    Impl* impl;
    tcp::socket socket;
    asio::steady_timer timer;
    Deframer deframer;
    std::array<char, 16384> buf{};
    std::string pending;  // received bytes not yet deframed
    std::string out;      // reply being written
    bool closing = false;

    void Start() {
      ArmTimer();
      Read();
    }
    void ArmTimer() {
      timer.expires_after(std::chrono::milliseconds(impl->options.idle_timeout_ms));
      auto self = shared_from_this();
      timer.async_wait([self](const error_code& ec) {
        if (!ec) self->Close();
      });
    }
    void Read() {
      auto self = shared_from_this();
      socket.async_read_some(asio::buffer(buf), [self](const error_code& ec, size_t n) {
        if (ec) {
          self->Close();
          return;
        }
        self->pending.append(self->buf.data(), n);
        self->ArmTimer();
        self->Process();
      });
    }
    // Deframes what has arrived; handles one message, writes its reply, then continues.
    void Process() {
      while (!pending.empty()) {
        size_t used = 0;
        std::string message;
        auto ev = deframer.Feed(pending.data(), pending.size(), &used, &message);
        pending.erase(0, used);
        if (ev == Deframer::Event::kTooLarge) {
          log::Warn("MLLP: message over " + std::to_string(impl->options.max_message_bytes) + " bytes refused");
          const std::string ack = BuildRejectAck(
              deframer.partial(), "message larger than " + std::to_string(impl->options.max_message_bytes) + " bytes",
              ErrorCondition::kDataTypeError);
          closing = true;
          Write(Frame(ack));
          return;
        }
        if (ev == Deframer::Event::kMessage) {
          std::string reply;
          try {
            reply = impl->handler(message);
          } catch (const std::exception& e) {
            log::Error(std::string("MLLP handler threw: ") + e.what());
            reply = BuildRejectAck(message, "internal error", ErrorCondition::kApplicationInternalError);
          }
          if (!reply.empty()) {
            Write(Frame(reply));
            return;  // continue after the write completes
          }
        }
      }
      Read();
    }
    void Write(std::string data) {
      out = std::move(data);
      auto self = shared_from_this();
      asio::async_write(socket, asio::buffer(out), [self](const error_code& ec, size_t) {
        if (ec || self->closing) {
          self->Close();
          return;
        }
        self->Process();
      });
    }
    void Close() {
      error_code ignored;
      timer.cancel();
      if (socket.is_open()) {
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
      }
      impl->connections.erase(shared_from_this());
    }
  };

  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
  Handler handler;
  MllpListenerOptions options;
  std::set<std::shared_ptr<Connection>> connections;  // touched on the io thread only
  int port = 0;
  bool started = false;

  void Accept() {
    acceptor->async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        log::Warn("MLLP accept: " + ec.message());
      } else if (static_cast<int>(connections.size()) >= options.max_connections) {
        log::Warn("MLLP: connection limit reached, connection closed");
        error_code ignored;
        socket.close(ignored);
      } else {
        auto c = std::make_shared<Connection>(this, std::move(socket));
        connections.insert(c);
        c->Start();
      }
      Accept();
    });
  }
};

MllpListener::MllpListener() : impl_(std::make_unique<Impl>()) {}
MllpListener::~MllpListener() { Stop(); }

Status MllpListener::Start(const std::string& address, int port, Handler handler, MllpListenerOptions options) {
  if (impl_->started) return Status(ErrorCode::kInvalidArgument, "MLLP listener already started");
  if (!handler) return Status(ErrorCode::kInvalidArgument, "MLLP listener needs a handler");
  try {
    auto endpoint = tcp::endpoint(asio::ip::make_address(address), static_cast<uint16_t>(port));
    impl_->acceptor.emplace(impl_->ioc);
    impl_->acceptor->open(endpoint.protocol());
    impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor->bind(endpoint);
    impl_->acceptor->listen(asio::socket_base::max_listen_connections);
    impl_->port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    impl_->acceptor.reset();
    return Status(ErrorCode::kUnavailable,
                  "cannot listen for MLLP on " + address + ":" + std::to_string(port) + ": " + e.what());
  }
  impl_->handler = std::move(handler);
  impl_->options = options;
  impl_->started = true;
  impl_->Accept();
  impl_->thread = std::thread([this] {
    try {
      impl_->ioc.run();
    } catch (const std::exception& e) {
      log::Error(std::string("MLLP listener stopped: ") + e.what());
    }
  });
  log::Info("MLLP listening on port " + std::to_string(impl_->port));
  return Status::Ok();
}

int MllpListener::port() const { return impl_->port; }

void MllpListener::Stop() {
  if (!impl_->started) return;
  impl_->started = false;
  // Close everything on the io thread, then let run() return once no work is left.
  asio::post(impl_->ioc, [impl = impl_.get()] {
    error_code ignored;
    if (impl->acceptor) impl->acceptor->close(ignored);
    auto conns = impl->connections;  // Close() erases from the set
    for (auto& c : conns) c->Close();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->ioc.restart();
}

}  // namespace radflow::hl7
