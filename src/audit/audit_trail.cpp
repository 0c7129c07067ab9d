#include "audit/audit_trail.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/audit_message.h"
#include "audit/syslog_sender.h"
#include "base/clock.h"
#include "base/log.h"
#include "storage/index.h"
#include "storage/index_location.h"

namespace radflow::audit {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxPending = 100000;  // the disk failing for long: beyond this, drop (logged)

std::string LogPath(const std::string& data_dir) { return data_dir + "/audit/audit.log"; }

// flock(2) for the duration of a scope.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }

 private:
  int fd_;
};

// Opens the index, applying the migrations first when index.db lacks the audit table (the
// CLI on a data directory an older server created).
Result<std::unique_ptr<storage::AuditStore>> OpenStore(const std::string& db_path) {
  auto store = storage::AuditStore::Open(db_path);
  if (store.ok()) return store;
  if (store.status().code() != ErrorCode::kNotFound && store.status().code() != ErrorCode::kDatabaseError) {
    return store.status();
  }
  auto index = storage::Index::Open(db_path);
  if (!index.ok()) return index.status();
  return storage::AuditStore::Open(db_path);
}

}  // namespace

class AuditTrail::Impl {
 public:
  AuditOptions options;
  std::string log_path;
  NodeInfo node;
  std::unique_ptr<storage::AuditStore> store;
  std::unique_ptr<SyslogSender> syslog;

  // Appending (writer thread only, and Open before it starts).
  int fd = -1;
  int64_t known_end = -1;  // the file size after our last write; -1: re-read the tail
  int64_t last_seq = 0;
  std::string last_hash = std::string(kGenesisHash);
  bool index_behind = false;

  mutable std::mutex mu;
  std::condition_variable cv_work, cv_done;
  std::vector<AuditEvent> pending;
  int64_t enqueued = 0;   // events handed to the writer so far (tickets)
  int64_t completed = 0;  // tickets durable (or dropped)
  bool writing = false;
  bool failed = false;    // the last attempt failed (Flush stops waiting)
  bool stop = false;
  std::thread writer;
  std::atomic<int64_t> dropped{0}, durable{0};

  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  Status OpenLog() {
    if (fd >= 0) ::close(fd);
    fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return {ErrorCode::kIoError, "cannot open the audit log " + log_path + ": " + std::strerror(errno)};
    known_end = -1;
    return Status::Ok();
  }

  // The log was replaced (moved away, deleted): append to the file at the path.
  Status ReopenIfReplaced() {
    struct stat a{}, b{};
    if (::fstat(fd, &a) != 0 || ::stat(log_path.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
      log::Warn("audit: " + log_path + " was replaced; appending to the file now at that path");
      return OpenLog();
    }
    return Status::Ok();
  }

  // Under the lock: learn the last record of a log another process (or a crash) changed.
  Status ReadTail(int64_t size) {
    last_seq = 0;
    last_hash = std::string(kGenesisHash);
    if (size == 0) {
      known_end = 0;  // (H3: without this the first record was indexed at offset -1)
      return Status::Ok();
    }
    // Start from the indexed head when its line is still where the index says (no full scan).
    auto head = store->Head();
    const std::optional<storage::AuditRow> head_row = head.ok() ? *head : std::nullopt;
    int64_t torn_at = -1;
    std::string bad;
    auto scan = [&](int64_t from) {
      last_seq = 0;
      last_hash = std::string(kGenesisHash);
      torn_at = -1;
      bad.clear();
      bool first = true, start_ok = true;
      Status st = ForEachLine(log_path, from, [&](std::string_view line, int64_t offset, bool torn) {
        if (torn) {
          torn_at = offset;
          return false;
        }
        auto r = ParseLine(line);
        if (first && from > 0 && (!r.ok() || r->seq != head_row->seq || r->hash != head_row->hash)) {
          start_ok = false;
          return false;
        }
        first = false;
        if (r.ok()) {
          last_seq = r->seq;
          last_hash = r->hash;
        } else {
          // A damaged record: chain on after it (verify reports it) with its hash if readable.
          ++last_seq;
          last_hash = line.size() >= 64 ? std::string(line.substr(0, 64)) : std::string(kGenesisHash);
          bad = r.status().message();
        }
        return true;
      });
      return st.ok() ? Result<bool>(start_ok) : Result<bool>(st);
    };
    Result<bool> st = true;
    if (head_row && head_row->offset + head_row->length <= size) st = scan(head_row->offset);
    if (st.ok() && !(head_row && head_row->offset + head_row->length <= size && st.value())) st = scan(0);
    if (!st.ok()) return st.status();
    if (head_row && head_row->seq > last_seq) {
      // Records the index lists are gone from the log: go on after them, so that the gap
      // stays visible to verify instead of being papered over by reused numbers.
      log::Error("audit: " + log_path + " ends at record " + std::to_string(last_seq) + " but the index lists records up to " +
                 std::to_string(head_row->seq) + "; run `radflow audit verify`");
      last_seq = head_row->seq;
    }
    if (!bad.empty()) log::Error("audit: the log's last records are damaged (" + bad + "); run `radflow audit verify`");
    if (torn_at >= 0) {
      // A record whose write never completed (a crash before fsync): it was never durable.
      log::Warn("audit: removing a torn record of " + std::to_string(size - torn_at) + " byte(s) at the end of " +
                log_path);
      if (::ftruncate(fd, torn_at) != 0) return {ErrorCode::kIoError, "cannot truncate a torn audit record"};
      size = torn_at;
    }
    known_end = size;
    return Status::Ok();
  }

  // Under the lock: index the records after the index's head (a crash between the log and
  // the index, or an index write that failed).
  Status Reindex() {
    auto head = store->Head();
    if (!head.ok()) return head.status();
    const int64_t from = head->has_value() ? (*head)->offset + (*head)->length : 0;
    std::vector<storage::AuditRow> rows;
    Status st = ForEachLine(log_path, from, [&](std::string_view line, int64_t offset, bool torn) {
      if (torn) return false;
      auto r = ParseLine(line);
      if (r.ok()) rows.push_back(ToRow(*r, offset, static_cast<int64_t>(line.size()) + 1));
      return true;
    });
    if (!st.ok()) return st;
    if (!rows.empty()) log::Info("audit: indexed " + std::to_string(rows.size()) + " record(s) found in the log");
    RADFLOW_RETURN_IF_ERROR(store->Insert(rows));
    index_behind = false;
    return Status::Ok();
  }

  // Under the lock: the log is not where this process left it. Records another process (the
  // CLI) appended after our last write are chained on and sent to syslog too, so that the
  // receiver gets every record; anything else (a first write, a shrunk file) re-reads the tail.
  Status CatchUp(int64_t size) {
    if (known_end < 0 || size < known_end) return ReadTail(size);
    bool torn = false;
    int64_t end = known_end;
    Status st = ForEachLine(log_path, known_end, [&](std::string_view line, int64_t offset, bool is_torn) {
      if (is_torn) {
        torn = true;
        return false;
      }
      auto r = ParseLine(line);
      if (!r.ok() || r->seq != last_seq + 1) {
        torn = true;  // not a clean continuation: let ReadTail sort it out
        return false;
      }
      last_seq = r->seq;
      last_hash = r->hash;
      end = offset + static_cast<int64_t>(line.size()) + 1;
      if (syslog) syslog->Enqueue({r->event.at_ms, r->event.event, r->outcome == 0 ? 5 : 4, r->xml});
      return true;
    });
    if (!st.ok()) return st;
    if (torn || end != size) return ReadTail(size);
    known_end = size;
    return Status::Ok();
  }

  // Between batches, with syslog on: forward what other processes appended meanwhile.
  void ForwardForeign() {
    if (fd < 0) return;
    struct stat sb{};
    if (::fstat(fd, &sb) != 0 || sb.st_size == known_end) return;
    FileLock lock(fd);
    if (::fstat(fd, &sb) == 0 && sb.st_size != known_end) {
      Status st = CatchUp(sb.st_size);
      if (!st.ok()) log::Warn("audit: " + st.message());
    }
  }

  // Appends one batch: lock, catch up with the file, write, fsync, index, unlock.
  Status WriteBatch(std::vector<AuditEvent>& batch) {
    if (fd < 0) RADFLOW_RETURN_IF_ERROR(OpenLog());
    RADFLOW_RETURN_IF_ERROR(ReopenIfReplaced());
    FileLock lock(fd);
    struct stat sb{};
    if (::fstat(fd, &sb) != 0) return {ErrorCode::kIoError, "cannot stat " + log_path};
    if (sb.st_size != known_end) RADFLOW_RETURN_IF_ERROR(CatchUp(sb.st_size));
    if (index_behind) RADFLOW_RETURN_IF_ERROR(Reindex());

    std::string bytes;
    std::vector<storage::AuditRow> rows;
    std::vector<SyslogMessage> to_syslog;
    int64_t seq = last_seq;
    std::string prev = last_hash;
    int64_t offset = known_end;
    for (AuditEvent& e : batch) {
      LogRecord r;
      r.seq = ++seq;
      r.prev = prev;
      r.event = e;
      const EventCodes& codes = CodesFor(e.event);
      r.event_id = std::string(codes.event_id);
      r.action = std::string(codes.action);
      r.outcome = OutcomeOf(e);
      r.xml = BuildAuditMessage(e, node);
      const std::string line = FormatLine(r);
      rows.push_back(ToRow(r, offset, static_cast<int64_t>(line.size())));
      offset += static_cast<int64_t>(line.size());
      prev = r.hash;
      bytes += line;
      if (syslog) to_syslog.push_back({e.at_ms, e.event, r.outcome == 0 ? 5 : 4, r.xml});
    }
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = std::strerror(errno);
        if (::ftruncate(fd, known_end) != 0) known_end = -1;  // a partial batch is no record
        return {ErrorCode::kIoError, "cannot append to " + log_path + ": " + why};
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      known_end = -1;
      return {ErrorCode::kIoError, "cannot fsync " + log_path + ": " + std::strerror(errno)};
    }
    known_end = offset;
    last_seq = seq;
    last_hash = prev;
    Status indexed = store->Insert(rows);
    if (!indexed.ok()) {
      index_behind = true;  // the log has them; the next batch (or Open) indexes them
      log::Error("audit: indexing failed (" + indexed.message() + "); the records are in the log");
    }
    for (auto& m : to_syslog) syslog->Enqueue(std::move(m));
    return Status::Ok();
  }

  void Run() {
    int backoff_ms = 100;
    for (;;) {
      std::vector<AuditEvent> batch;
      {
        std::unique_lock lock(mu);
        if (syslog) {
          while (!cv_work.wait_for(lock, std::chrono::seconds(2), [&] { return stop || !pending.empty(); })) {
            lock.unlock();
            ForwardForeign();
            lock.lock();
          }
        } else {
          cv_work.wait(lock, [&] { return stop || !pending.empty(); });
        }
        if (pending.empty()) break;  // stopping, nothing left
        batch.swap(pending);
        writing = true;
      }
      Status st = WriteBatch(batch);
      std::unique_lock lock(mu);
      writing = false;
      if (st.ok()) {
        completed += static_cast<int64_t>(batch.size());
        durable += static_cast<int64_t>(batch.size());
        failed = false;
        backoff_ms = 100;
        cv_done.notify_all();
        continue;
      }
      log::Error("audit: " + st.message() + " (retrying)");
      failed = true;
      // Keep them, oldest first, for the next attempt.
      batch.insert(batch.end(), std::make_move_iterator(pending.begin()), std::make_move_iterator(pending.end()));
      pending.swap(batch);
      cv_done.notify_all();
      if (stop) {
        log::Error("audit: stopping with " + std::to_string(pending.size()) + " record(s) not written");
        dropped += static_cast<int64_t>(pending.size());
        completed += static_cast<int64_t>(pending.size());
        pending.clear();
        cv_done.notify_all();
        break;
      }
      cv_work.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stop; });
      backoff_ms = std::min(backoff_ms * 2, 5000);
    }
  }
};

AuditTrail::AuditTrail(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditTrail::~AuditTrail() { Stop(); }

Result<std::unique_ptr<AuditTrail>> AuditTrail::Open(const AuditOptions& options) {
  if (options.data_dir.empty()) return {ErrorCode::kInvalidArgument, "the audit trail needs a data directory"};
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.db_path = storage::IndexLocation(options.data_dir, options.db_path);
  if (impl->options.source_id.empty()) impl->options.source_id = "RADFLOW";
  impl->log_path = LogPath(options.data_dir);
  impl->node.source_id = impl->options.source_id;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  impl->node.host = host;
  impl->node.process_id = std::to_string(::getpid());

  std::optional<std::pair<std::string, uint16_t>> receiver;
  if (!options.syslog.empty()) {
    auto hp = ParseHostPort(options.syslog);
    if (!hp.ok()) return hp.status();
    if (options.syslog_ca.empty()) {
      return {ErrorCode::kInvalidArgument, "--audit-syslog needs --audit-syslog-ca (the receiver is verified)"};
    }
    receiver = hp.value();
  }
  std::error_code ec;
  fs::create_directories(options.data_dir + "/audit", ec);
  if (ec) return {ErrorCode::kIoError, "cannot create " + options.data_dir + "/audit: " + ec.message()};
  auto store = OpenStore(impl->options.db_path);
  if (!store.ok()) return store.status();
  impl->store = std::move(store.value());
  RADFLOW_RETURN_IF_ERROR(impl->OpenLog());
  {
    FileLock lock(impl->fd);
    struct stat sb{};
    if (::fstat(impl->fd, &sb) != 0) return {ErrorCode::kIoError, "cannot stat " + impl->log_path};
    RADFLOW_RETURN_IF_ERROR(impl->ReadTail(sb.st_size));
    Status st = impl->Reindex();
    if (!st.ok()) {
      impl->index_behind = true;
      log::Error("audit: cannot index the log's newest records: " + st.message());
    }
  }
  if (receiver) {
    auto sender = SyslogSender::Create(receiver->first, receiver->second, options.syslog_ca, options.syslog_queue);
    if (!sender.ok()) return sender.status();
    impl->syslog = std::move(sender.value());
  }
  Impl* raw = impl.get();
  raw->writer = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<AuditTrail>(new AuditTrail(std::move(impl)));
}

void AuditTrail::Record(AuditEvent event) {
  if (event.at_ms <= 0) event.at_ms = UnixMillis();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stop) {
      ++impl_->dropped;
      return;
    }
    ++impl_->enqueued;
    if (impl_->pending.size() >= kMaxPending) {
      const int64_t n = ++impl_->dropped;
      ++impl_->completed;
      if ((n & (n - 1)) == 0) log::Error("audit: " + std::to_string(n) + " record(s) dropped: the log cannot be written");
      return;
    }
    impl_->pending.push_back(std::move(event));
  }
  impl_->cv_work.notify_one();
}

AuditSink AuditTrail::Sink() {
  return [this](const AuditEvent& e) { Record(e); };
}

void AuditTrail::Flush() {
  std::unique_lock lock(impl_->mu);
  const int64_t target = impl_->enqueued;
  impl_->failed = false;
  impl_->cv_done.wait(lock, [&] { return impl_->completed >= target || impl_->failed || !impl_->writer.joinable(); });
}

void AuditTrail::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stop) return;
    impl_->stop = true;
  }
  impl_->cv_work.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  impl_->cv_done.notify_all();
  if (impl_->syslog) impl_->syslog->Stop(2000);
}

Result<AuditPage> AuditTrail::Search(const AuditQuery& query) {
  Flush();
  return impl_->store->Search(query);
}

Result<std::optional<std::string>> AuditTrail::MessageXml(int64_t seq) {
  Flush();
  auto row = impl_->store->Get(seq);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<std::string>();
  const storage::AuditRow& r = **row;
  std::optional<std::string> xml;
  Status st = ForEachLine(impl_->log_path, r.offset, [&](std::string_view line, int64_t, bool) {
    auto rec = ParseLine(line);
    if (rec.ok() && rec->seq == seq) xml = rec->xml;
    return false;
  });
  if (!st.ok()) return st;
  if (!xml) {
    return {ErrorCode::kDatabaseError,
            "record " + std::to_string(seq) + " is indexed but not where the index says in the log (run `radflow audit verify`)"};
  }
  return xml;
}

VerifyResult AuditTrail::Verify() {
  Flush();
  return audit::Verify(impl_->options.data_dir);
}

AuditTrail::Stats AuditTrail::stats() const {
  Stats s;
  {
    std::lock_guard lock(impl_->mu);
    s.recorded = impl_->enqueued;
  }
  s.durable = impl_->durable;
  s.dropped = impl_->dropped;
  if (impl_->syslog) {
    s.syslog_sent = impl_->syslog->sent();
    s.syslog_dropped = impl_->syslog->dropped();
    s.syslog_connected = impl_->syslog->connected();
  }
  return s;
}

}  // namespace radflow::audit

namespace radflow::audit {

Status RecordNow(const AuditOptions& options, AuditEvent event) {
  AuditOptions local = options;
  local.syslog.clear();
  auto trail = AuditTrail::Open(local);
  if (!trail.ok()) return trail.status();
  if (event.interface.empty()) event.interface = "cli";
  if (event.user.empty()) {
    const char* user = std::getenv("USER");
    event.user = user ? user : "";
  }
  (*trail)->Record(std::move(event));
  (*trail)->Flush();
  const AuditTrail::Stats s = (*trail)->stats();
  (*trail)->Stop();
  if (s.durable < 1) return {ErrorCode::kIoError, "the audit record could not be written to " + LogPath(options.data_dir)};
  return Status::Ok();
}

}  // namespace radflow::audit
