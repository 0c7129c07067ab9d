// Events between the radflow nodes of one index (issue 15, docs/postgresql.md "Several nodes:
// events and stability"): a node publishes a small message on a channel, every other node's
// subscribers receive it. PostgreSQL carries it with LISTEN/NOTIFY (pg_cluster_bus.cpp);
// an SQLite index has one node only, so its bus is in-process (a shared LocalExchange lets
// tests stand two nodes in one process).
//
// Delivery is at most once and only while connected: a listener that lost its connection
// re-LISTENs, but what was sent during the gap is not replayed. Subscribers must therefore
// treat a message as a hint (the database stays the truth) and be quick: they run on the
// bus's thread (PostgreSQL) or the publisher's (in-process).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct BusMessage {
  std::string channel;
  std::string node_id;  // the sender's
  std::string payload;  // small JSON (PostgreSQL limits a notification to 8000 bytes)
};

class ClusterBus {
 public:
  using Handler = std::function<void(const BusMessage&)>;
  virtual ~ClusterBus() = default;
  // Sends to every other node's subscribers of `channel` (letters, digits, '_'). Payloads
  // over kMaxPayload bytes are refused (kInvalidArgument).
  virtual Status Publish(const std::string& channel, const std::string& payload) = 0;
  // Receives what other nodes publish on `channel` from now on (never this node's own).
  virtual Status Subscribe(const std::string& channel, Handler handler) = 0;
  // Ends delivery (joins the listener thread); Publish fails afterwards. Idempotent.
  virtual void Stop() = 0;
  virtual const std::string& node_id() const = 0;

  static constexpr size_t kMaxPayload = 7000;  // NOTIFY's 8000 less the envelope
};

// The in-process bus: endpoints sharing one exchange see each other's messages.
class LocalExchange {
 public:
  struct Endpoint;
  void Deliver(const BusMessage& m);
  void Add(Endpoint* e);
  void Remove(Endpoint* e);

 private:
  // Recursive: a handler may publish (delivery runs under the lock, so that an endpoint
  // is never removed while one of its handlers runs).
  std::recursive_mutex mu_;
  std::vector<Endpoint*> endpoints_;
};
std::unique_ptr<ClusterBus> NewLocalBus(std::shared_ptr<LocalExchange> exchange,
                                        const std::string& node_id);

// Opens the bus of the index at `location` (as OpenDb: a postgresql:// URI, else an SQLite
// file, whose bus is in-process with an exchange of its own).
Result<std::unique_ptr<ClusterBus>> OpenClusterBus(const std::string& location,
                                                   const std::string& node_id);

// Whether a channel name is usable on every bus (also a PostgreSQL identifier).
bool ValidChannel(const std::string& channel);

}  // namespace radflow::storage
