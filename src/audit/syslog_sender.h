// Syslog over TLS (RFC 5425) for the audit trail: RFC 5424 messages, octet-counting framing
// ("MSG-LEN SP SYSLOG-MSG"), an OpenSSL client that verifies the receiver's certificate
// against a CA file and its name (or IP address) against the configured host. Its own thread
// and a bounded queue: a receiver that is down costs only the queue (dropped messages are
// counted and logged); it reconnects with exponential backoff (docs/audit.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace radflow::audit {

struct SyslogMessage {
  int64_t at_ms = 0;
  std::string msgid;  // RFC 5424 MSGID (the event name)
  int severity = 5;   // notice; 4 warning for failures
  std::string msg;    // the XML
};

// "host:port" → (host, port). InvalidArgument naming what is wrong.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text);

// The RFC 5424 SYSLOG-MSG (facility 10, security/authorization) of one message:
//   <PRI>1 TIMESTAMP HOSTNAME radflow PROCID MSGID - MSG
std::string FormatSyslog(const SyslogMessage& m, const std::string& hostname, int pid);

class SyslogSender {
 public:
  // Loads the CA file (InvalidArgument when unreadable) and starts the thread; connects lazily.
  static Result<std::unique_ptr<SyslogSender>> Create(const std::string& host, uint16_t port,
                                                      const std::string& ca_file, size_t max_queue);
  ~SyslogSender();  // Stop(0)

  // Never blocks on the network: a full queue drops the message (counted).
  void Enqueue(SyslogMessage m);
  // Waits up to drain_ms for the queue to empty, then stops the thread.
  void Stop(int drain_ms);

  int64_t sent() const;
  int64_t dropped() const;
  bool connected() const;

 private:
  class Impl;
  explicit SyslogSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::audit
