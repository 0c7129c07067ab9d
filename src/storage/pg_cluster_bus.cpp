#include "storage/pg_cluster_bus.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/log.h"
#include "storage/db.h"

namespace radflow::storage {

namespace {

using Clock = std::chrono::steady_clock;

std::string OneLine(const char* s) {
  std::string out = s ? s : "";
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A message on the wire: the sender's node id, a newline, the payload.
std::string Envelope(const std::string& node_id, const std::string& payload) {
  return node_id + "\n" + payload;
}

class PgClusterBus final : public ClusterBus {
 public:
  PgClusterBus(std::string uri, std::string node_id, int wake_fd)
      : uri_(std::move(uri)), node_id_(std::move(node_id)), wake_fd_(wake_fd) {
    thread_ = std::thread([this] { Listen(); });
  }
  ~PgClusterBus() override {
    Stop();
    ::close(wake_fd_);
  }

  Status Publish(const std::string& channel, const std::string& payload) override {
    if (!ValidChannel(channel)) return {ErrorCode::kInvalidArgument, "bus channel '" + channel + "' is not a name"};
    if (payload.size() > kMaxPayload) {
      return {ErrorCode::kInvalidArgument, "bus payload of " + std::to_string(payload.size()) +
                                               " bytes on " + channel + " exceeds " + std::to_string(kMaxPayload)};
    }
    if (stop_) return {ErrorCode::kUnavailable, "cluster bus stopped"};
    std::lock_guard g(publish_mu_);
    Status s;
    // Twice: PgDb connects again after the server ended its session, for the next statement.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!publisher_) {
        auto db = OpenDb(uri_);
        if (!db.ok()) return db.status();
        publisher_ = std::move(db.value());
      }
      auto p = publisher_->Prepare("SELECT pg_notify(?, ?)");
      if (!p.ok()) {
        s = p.status();
        publisher_.reset();
        continue;
      }
      Statement st(p.value());
      st.Bind(1, channel).Bind(2, Envelope(node_id_, payload));
      s = Status::Ok();
      st.Step(&s);
      if (s.ok()) return s;
    }
    return s;
  }

  Status Subscribe(const std::string& channel, Handler handler) override {
    if (!ValidChannel(channel)) return {ErrorCode::kInvalidArgument, "bus channel '" + channel + "' is not a name"};
    std::unique_lock lock(mu_);
    handlers_.emplace(channel, std::move(handler));
    Wake();
    // From a handler (the listener thread itself): it LISTENs once the handler returns.
    if (std::this_thread::get_id() == thread_.get_id()) return Status::Ok();
    // Until the LISTEN is in place, so that what is published after Subscribe arrives. A
    // server that is down only delays it: the thread LISTENs once it is back.
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return listening_.count(channel) > 0 || stop_; })) {
      log::Warn("cluster bus: not yet listening on " + channel + " (PostgreSQL unreachable); will once connected");
    }
    return Status::Ok();
  }

  void Stop() override {
    if (stop_.exchange(true)) return;
    Wake();
    if (thread_.joinable()) thread_.join();
    std::lock_guard g(publish_mu_);
    publisher_.reset();
  }

  const std::string& node_id() const override { return node_id_; }

 private:
  void Wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }

  // Waits for the wake descriptor (and the socket, when >= 0) up to timeout_ms; true when
  // the socket is readable.
  bool WaitFor(int socket, int timeout_ms) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {socket, POLLIN, 0}};
    const int n = ::poll(fds, socket >= 0 ? 2 : 1, timeout_ms);
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof(v));
    }
    return n > 0 && socket >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP));
  }

  PGconn* Connect() {
    // Keepalives: a connection that died without a word (a partition, a failover without
    // RST) is noticed within about a minute instead of never, as nothing is ever sent on it.
    const char* keys[] = {"dbname", "application_name", "connect_timeout", "keepalives",
                          "keepalives_idle", "keepalives_interval", "keepalives_count", nullptr};
    const char* values[] = {uri_.c_str(), kBusApplicationName, "10", "1", "30", "10", "3", nullptr};
    PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (c && PQstatus(c) == CONNECTION_OK) return c;
    const std::string why = c ? OneLine(PQerrorMessage(c)) : "out of memory";
    if (c) PQfinish(c);
    if (!warned_) log::Warn("cluster bus: cannot connect to " + RedactLocation(uri_) + ": " + why);
    warned_ = true;
    return nullptr;
  }

  // LISTENs on the channels subscribed since the last call; false when the connection failed.
  bool ListenNew(PGconn* c) {
    std::vector<std::string> todo;
    {
      std::lock_guard g(mu_);
      for (const auto& [channel, h] : handlers_) {
        if (!listening_.count(channel) && std::find(todo.begin(), todo.end(), channel) == todo.end()) {
          todo.push_back(channel);
        }
      }
    }
    for (const auto& channel : todo) {
      char* ident = PQescapeIdentifier(c, channel.c_str(), channel.size());
      if (!ident) return false;
      PGresult* res = PQexec(c, ("LISTEN " + std::string(ident)).c_str());
      PQfreemem(ident);
      const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      PQclear(res);
      if (!ok) return false;
      std::lock_guard g(mu_);
      listening_.insert(channel);
    }
    if (!todo.empty()) cv_.notify_all();
    return true;
  }

  void Dispatch(const PGnotify* n) {
    const std::string text = n->extra ? n->extra : "";
    const size_t nl = text.find('\n');
    if (nl == std::string::npos) return;  // not radflow's
    BusMessage m{n->relname, text.substr(0, nl), text.substr(nl + 1)};
    if (m.node_id == node_id_) return;
    std::vector<Handler> to_call;
    {
      std::lock_guard g(mu_);
      auto [from, to] = handlers_.equal_range(m.channel);
      for (auto it = from; it != to; ++it) to_call.push_back(it->second);
    }
    for (auto& h : to_call) h(m);
  }

  void Listen() {
    PGconn* c = nullptr;
    int pause_ms = 100;
    Clock::time_point connected_at{};
    while (!stop_) {
      if (!c) {
        c = Connect();
        if (!c) {
          WaitFor(-1, pause_ms);
          pause_ms = std::min(pause_ms * 2, 2000);
          continue;
        }
        if (warned_) log::Info("cluster bus: listening again on " + RedactLocation(uri_));
        warned_ = false;
        connected_at = Clock::now();
        std::lock_guard g(mu_);
        listening_.clear();  // a new session listens on nothing yet
      }
      bool ok = ListenNew(c);
      // What libpq read already (during a LISTEN's PQexec, or with the last PQconsumeInput)
      // is delivered before waiting: the socket would not wake for it.
      while (PGnotify* n = PQnotifies(c)) {
        Dispatch(n);
        PQfreemem(n);
      }
      if (ok && WaitFor(PQsocket(c), -1)) {
        ok = PQconsumeInput(c) == 1;
        while (PGnotify* n = PQnotifies(c)) {
          Dispatch(n);
          PQfreemem(n);
        }
      }
      if (!ok || PQstatus(c) == CONNECTION_BAD) {
        // Events sent until the next LISTEN are not replayed (docs/postgresql.md).
        log::Warn("cluster bus: lost the listening connection: " +
                  OneLine(PQerrorMessage(c)) + "; connecting again");
        warned_ = true;
        PQfinish(c);
        c = nullptr;
        {
          std::lock_guard g(mu_);
          listening_.clear();
        }
        // A session that lasted (a restart, a terminated backend) is replaced after 100 ms;
        // one dropped again soon after connecting (LISTEN refused, a server that accepts and
        // closes) waits longer each time instead of spinning.
        if (Clock::now() - connected_at > std::chrono::seconds(10)) pause_ms = 100;
        WaitFor(-1, pause_ms);
        pause_ms = std::min(pause_ms * 2, 2000);
      }
    }
    if (c) PQfinish(c);
    cv_.notify_all();
  }

  const std::string uri_;
  const std::string node_id_;
  const int wake_fd_;
  std::atomic<bool> stop_{false};
  bool warned_ = false;  // the listener thread's

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::string, Handler> handlers_;
  std::set<std::string> listening_;  // channels LISTENed on the current session

  std::mutex publish_mu_;
  std::unique_ptr<Db> publisher_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<ClusterBus>> OpenPgClusterBus(const std::string& uri,
                                                     const std::string& node_id) {
  // Fails early on a bad URI or an unreachable server, as OpenDb does for the index.
  auto probe = OpenDb(uri);
  if (!probe.ok()) return probe.status();
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return Status(ErrorCode::kIoError, "cluster bus: eventfd failed");
  return std::unique_ptr<ClusterBus>(new PgClusterBus(uri, node_id, wake));
}

}  // namespace radflow::storage
