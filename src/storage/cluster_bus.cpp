#include "storage/cluster_bus.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>

#include "storage/db.h"
#include "storage/pg_cluster_bus.h"

namespace radflow::storage {

bool ValidChannel(const std::string& channel) {
  if (channel.empty() || channel.size() > 63) return false;  // NAMEDATALEN - 1
  return std::all_of(channel.begin(), channel.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

struct LocalExchange::Endpoint {
  std::string node_id;
  std::multimap<std::string, ClusterBus::Handler> handlers;  // by channel
};

void LocalExchange::Add(Endpoint* e) {
  std::lock_guard g(mu_);
  endpoints_.push_back(e);
}

void LocalExchange::Remove(Endpoint* e) {
  std::lock_guard g(mu_);
  endpoints_.erase(std::remove(endpoints_.begin(), endpoints_.end(), e), endpoints_.end());
}

void LocalExchange::Deliver(const BusMessage& m) {
  std::lock_guard g(mu_);
  // A copy: a handler that subscribes (Remove, then Add on this thread) changes the vector.
  const std::vector<Endpoint*> endpoints = endpoints_;
  for (Endpoint* e : endpoints) {
    if (e->node_id == m.node_id) continue;  // never a node's own message
    auto [from, to] = e->handlers.equal_range(m.channel);
    for (auto it = from; it != to; ++it) it->second(m);
  }
}

namespace {

class LocalBus final : public ClusterBus {
 public:
  LocalBus(std::shared_ptr<LocalExchange> exchange, std::string node_id)
      : exchange_(std::move(exchange)) {
    endpoint_.node_id = std::move(node_id);
    exchange_->Add(&endpoint_);
  }
  ~LocalBus() override { Stop(); }

  Status Publish(const std::string& channel, const std::string& payload) override {
    if (!ValidChannel(channel)) return {ErrorCode::kInvalidArgument, "bus channel '" + channel + "' is not a name"};
    if (payload.size() > kMaxPayload) {
      return {ErrorCode::kInvalidArgument, "bus payload of " + std::to_string(payload.size()) +
                                               " bytes on " + channel + " exceeds " + std::to_string(kMaxPayload)};
    }
    if (stopped_) return {ErrorCode::kUnavailable, "cluster bus stopped"};
    exchange_->Deliver({channel, endpoint_.node_id, payload});
    return Status::Ok();
  }
  Status Subscribe(const std::string& channel, Handler handler) override {
    if (!ValidChannel(channel)) return {ErrorCode::kInvalidArgument, "bus channel '" + channel + "' is not a name"};
    exchange_->Remove(&endpoint_);  // handlers change outside a delivery
    endpoint_.handlers.emplace(channel, std::move(handler));
    if (!stopped_) exchange_->Add(&endpoint_);
    return Status::Ok();
  }
  void Stop() override {
    if (stopped_.exchange(true)) return;
    exchange_->Remove(&endpoint_);
  }
  const std::string& node_id() const override { return endpoint_.node_id; }

 private:
  std::shared_ptr<LocalExchange> exchange_;
  LocalExchange::Endpoint endpoint_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<ClusterBus> NewLocalBus(std::shared_ptr<LocalExchange> exchange,
                                        const std::string& node_id) {
  return std::make_unique<LocalBus>(std::move(exchange), node_id);
}

Result<std::unique_ptr<ClusterBus>> OpenClusterBus(const std::string& location,
                                                   const std::string& node_id) {
  if (node_id.empty() || node_id.find('\n') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "cluster bus: node id must be one non-empty line");
  }
  if (IsPostgresLocation(location)) return OpenPgClusterBus(location, node_id);
  // One node per SQLite file (the data directory's lock): nobody else to hear.
  return NewLocalBus(std::make_shared<LocalExchange>(), node_id);
}

}  // namespace radflow::storage
