// MLLP, the Minimal Lower Layer Protocol (HL7 v2.5.1 Appendix C, MLLP Release 1): each
// message framed as <VT=0x0B> message <FS=0x1C><CR=0x0D> over TCP. A sender waits for the
// receiver's framed acknowledgment before sending the next message. Boost.Asio stays in
// mllp.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"

namespace radflow::hl7 {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;
inline constexpr size_t kDefaultMaxMessageBytes = 4u << 20;  // 4 MiB

// "\x0B" + message + "\x1C\x0D".
std::string Frame(const std::string& message);

// Sends one framed message to host:port and returns the framed reply's content (the ACK).
// `timeout_ms` bounds the whole exchange (connect, write, read). kUnavailable when the peer
// cannot be reached, closes early or does not answer in time (the message says which);
// kInvalidArgument for a reply over 4 MiB or not framed.
Result<std::string> MllpSend(const std::string& host, int port, const std::string& message, int timeout_ms = 10000);

struct MllpListenerOptions {
  size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger: AR and the connection closed
  int idle_timeout_ms = 300000;                        // a connection silent this long is closed
  int max_connections = 64;                            // more are closed on accept
};

// An MLLP receiver: one background thread (Asio) serving any number of connections. Each
// complete message goes to `handler`, called on that thread one message at a time; its
// return value is sent back framed (empty: nothing sent). Bytes outside a frame are
// discarded; a start block inside a frame restarts it. A message over the size limit is
// answered with an AR acknowledgment (ERR-3 102) and the connection closed.
class MllpListener {
 public:
  using Handler = std::function<std::string(const std::string& message)>;

  MllpListener();
  ~MllpListener();  // Stop()
  MllpListener(const MllpListener&) = delete;
  MllpListener& operator=(const MllpListener&) = delete;

  // Binds address:port (0: any free port) and starts serving. kUnavailable when the port
  // cannot be bound; kInvalidArgument when already started.
  Status Start(const std::string& address, int port, Handler handler, MllpListenerOptions options = {});
  int port() const;
  // Closes the listening socket and every connection, waits for the thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::hl7
