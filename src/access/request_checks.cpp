#include "access/request_checks.h"

#include <chrono>
#include <utility>

namespace radflow::access {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void StripSuffix(std::string& s, std::string_view suffix) {
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    s.resize(s.size() - suffix.size());
  }
}

}  // namespace

bool IsBrowserNavigation(std::string_view method, std::string_view accept, std::string_view sec_fetch_mode) {
  if (method != "GET" && method != "HEAD") return false;
  if (accept.find("text/html") == std::string_view::npos) return false;
  return sec_fetch_mode.empty() || sec_fetch_mode == "navigate";
}

bool OriginMatchesHost(std::string_view origin, std::string_view host) {
  const size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  const std::string scheme = Lower(origin.substr(0, scheme_end));
  std::string o = Lower(origin.substr(scheme_end + 3));
  std::string h = Lower(host);
  if (o.empty() || o.find('/') != std::string::npos) return false;
  const std::string_view default_port = scheme == "https" ? ":443" : ":80";
  StripSuffix(o, default_port);
  StripSuffix(h, default_port);
  return o == h;
}

AuditCoalescer::AuditCoalescer(audit::AuditSink sink, std::function<int64_t()> clock, bool background)
    : sink_(std::move(sink)), clock_(std::move(clock)) {
  if (background) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_) {
        cv_.wait_for(lock, std::chrono::seconds(5));
        if (stopping_) break;
        lock.unlock();
        Sweep();
        lock.lock();
      }
    });
  }
}

AuditCoalescer::~AuditCoalescer() { Stop(); }

int64_t AuditCoalescer::Now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AuditCoalescer::Key(const audit::AuditEvent& e) {
  std::string key;
  key.reserve(e.user.size() + e.event.size() + e.study_uid.size() + 4);
  key.append(e.user).append(1, '\n').append(e.event).append(1, '\n').append(e.study_uid).append(1, '\n');
  key.append(e.success ? "1" : "0");
  return key;
}

bool AuditCoalescer::AddRepeat(const audit::AuditEvent& e) {
  if (!sink_) return false;
  const int64_t now = Now();
  const std::string key = Key(e);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  auto it = open_.find(key);
  if (it == open_.end() || now - it->second.started >= kWindowMs) return false;
  Window& w = it->second;
  // The window's first lookup found no patient (study not yet indexed, or a failed read):
  // the caller looks it up again rather than auditing this access without one.
  if (!e.study_uid.empty() && w.patient_id.empty()) return false;
  ++w.repeats;
  w.last = e;
  w.last.at_ms = now;
  w.last.patient_id = w.patient_id;
  w.last.patient_name = w.patient_name;
  return true;
}

void AuditCoalescer::Add(audit::AuditEvent e) {
  if (!sink_) return;
  const int64_t now = Now();
  const std::string key = Key(e);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {  // after Stop: no more windows
    e.at_ms = now;
    sink_(e);
    return;
  }
  auto it = open_.find(key);
  if (it != open_.end() && now - it->second.started < kWindowMs) {
    ++it->second.repeats;
    e.at_ms = now;
    if (it->second.patient_id.empty()) {  // found now: later repeats may skip the lookup
      it->second.patient_id = e.patient_id;
      it->second.patient_name = e.patient_name;
    }
    it->second.last = std::move(e);
    return;
  }
  if (it != open_.end()) Close(it->second);
  e.detail += "; count=1";
  e.at_ms = now;
  sink_(e);
  open_[key] = Window{now, 0, audit::AuditEvent{}, e.patient_id, e.patient_name};
}

void AuditCoalescer::Close(Window& w) {
  if (w.repeats == 0) return;
  audit::AuditEvent e = w.last;
  e.detail += "; count=" + std::to_string(w.repeats) + " (repeated within 60 s)";
  sink_(e);
  w.repeats = 0;
}

void AuditCoalescer::Sweep() {
  const int64_t now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = open_.begin(); it != open_.end();) {
    if (now - it->second.started >= kWindowMs) {
      Close(it->second);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

void AuditCoalescer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [key, w] : open_) Close(w);
    open_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace radflow::access
