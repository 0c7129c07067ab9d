// Small pure checks of the guard (docs/access-control.md): browser navigations, the CSRF
// origin check, and the audit trail's coalescing of repeated access.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "audit/audit_event.h"

namespace radflow::access {

// A browser navigation: GET or HEAD whose Accept names text/html and whose Sec-Fetch-Mode
// (Fetch Metadata) is absent or "navigate". Those get 302 /login?next= instead of a 401.
bool IsBrowserNavigation(std::string_view method, std::string_view accept, std::string_view sec_fetch_mode);

// Whether an Origin header ("scheme://host[:port]", RFC 6454) names the request's Host header
// (default ports 80/443 ignored, case-insensitive). "null" or "" never matches.
bool OriginMatchesHost(std::string_view origin, std::string_view host);

// One audit record per user + event + study + outcome per window: the first event of a key is
// passed on at once (detail "...; count=1"); the repeats within the window become one more
// record when the window closes (detail "...; count=N (repeated within 60 s)"). Thread-safe.
class AuditCoalescer {
 public:
  static constexpr int64_t kWindowMs = 60000;
  // clock: unix ms (null: the system clock). background: a thread closes windows every 5 s.
  AuditCoalescer(audit::AuditSink sink, std::function<int64_t()> clock = nullptr, bool background = true);
  ~AuditCoalescer();  // Stop()
  void Add(audit::AuditEvent e);
  // When `e` repeats an open window (same key, within kWindowMs) counts it there, with the
  // patient fields of the window's first event (the key names the study), and returns true:
  // the caller then need not look the patient up. false: pass `e` to Add (also without a sink).
  bool AddRepeat(const audit::AuditEvent& e);
  // Closes the windows older than kWindowMs (the background thread calls it).
  void Sweep();
  // Closes every window and stops the thread. Idempotent.
  void Stop();

 private:
  struct Window {
    int64_t started = 0;
    int64_t repeats = 0;
    audit::AuditEvent last;
    std::string patient_id, patient_name;  // of the window's first event
  };
  static std::string Key(const audit::AuditEvent& e);
  void Close(Window& w);
  int64_t Now() const;
  audit::AuditSink sink_;
  std::function<int64_t()> clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Window> open_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace radflow::access
