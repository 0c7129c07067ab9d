// The guard's small checks: browser navigations, CSRF origins, audit coalescing.
#include "access/request_checks.h"

#include <gtest/gtest.h>

#include <vector>

namespace radflow::access {
namespace {

TEST(RequestChecks, BrowserNavigation) {
  EXPECT_TRUE(IsBrowserNavigation("GET", "text/html,application/xhtml+xml", ""));
  EXPECT_TRUE(IsBrowserNavigation("GET", "text/html", "navigate"));
  EXPECT_TRUE(IsBrowserNavigation("HEAD", "text/html", ""));
  EXPECT_FALSE(IsBrowserNavigation("GET", "text/html", "cors"));  // fetch() from a page
  EXPECT_FALSE(IsBrowserNavigation("GET", "application/json", ""));
  EXPECT_FALSE(IsBrowserNavigation("GET", "", ""));
  EXPECT_FALSE(IsBrowserNavigation("POST", "text/html", "navigate"));
}

TEST(RequestChecks, OriginMatchesHost) {
  EXPECT_TRUE(OriginMatchesHost("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(OriginMatchesHost("https://Radflow.Example.org", "radflow.example.org"));
  EXPECT_TRUE(OriginMatchesHost("https://radflow.example.org:443", "radflow.example.org"));
  EXPECT_TRUE(OriginMatchesHost("http://radflow:80", "radflow"));
  EXPECT_FALSE(OriginMatchesHost("http://evil.example", "127.0.0.1:8080"));
  EXPECT_FALSE(OriginMatchesHost("http://127.0.0.1:8081", "127.0.0.1:8080"));
  EXPECT_FALSE(OriginMatchesHost("null", "127.0.0.1:8080"));
  EXPECT_FALSE(OriginMatchesHost("", "127.0.0.1:8080"));
  EXPECT_FALSE(OriginMatchesHost("http://127.0.0.1:8080", ""));
  EXPECT_FALSE(OriginMatchesHost("http://127.0.0.1:8080/x", "127.0.0.1:8080"));
}

audit::AuditEvent Event(std::string user, std::string event, std::string study, bool success = true) {
  audit::AuditEvent e;
  e.user = std::move(user);
  e.event = std::move(event);
  e.study_uid = std::move(study);
  e.success = success;
  e.detail = "GET /x";
  return e;
}

TEST(AuditCoalescer, OneRecordPerKeyAndWindowWithTheCount) {
  std::vector<audit::AuditEvent> out;
  int64_t now = 1000000;
  AuditCoalescer c([&](const audit::AuditEvent& e) { out.push_back(e); }, [&] { return now; }, false);
  c.Add(Event("ann", "retrieve", "1.2"));
  ASSERT_EQ(out.size(), 1u);  // the first at once
  EXPECT_EQ(out[0].detail, "GET /x; count=1");
  EXPECT_EQ(out[0].at_ms, now);
  for (int i = 0; i < 36; ++i) {
    now += 1000;
    c.Add(Event("ann", "retrieve", "1.2"));
  }
  c.Add(Event("bob", "retrieve", "1.2"));                 // another user
  c.Add(Event("ann", "query", "1.2"));                    // another event
  c.Add(Event("ann", "retrieve", "9.9"));                 // another study
  c.Add(Event("ann", "retrieve", "1.2", /*success=*/false));  // another outcome
  EXPECT_EQ(out.size(), 5u);
  c.Sweep();  // the window is still open
  EXPECT_EQ(out.size(), 5u);
  now += AuditCoalescer::kWindowMs;
  c.Sweep();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[5].user, "ann");
  EXPECT_EQ(out[5].event, "retrieve");
  EXPECT_EQ(out[5].study_uid, "1.2");
  EXPECT_EQ(out[5].detail, "GET /x; count=36 (repeated within 60 s)");
  // A new window after the old one closed starts with a record of its own.
  c.Add(Event("ann", "retrieve", "1.2"));
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[6].detail, "GET /x; count=1");
  now += 1000;
  c.Add(Event("ann", "retrieve", "1.2"));
  c.Stop();  // closes the open windows
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[7].detail, "GET /x; count=1 (repeated within 60 s)");
  c.Add(Event("ann", "retrieve", "1.2"));  // after Stop: passed on as it comes
  EXPECT_EQ(out.size(), 9u);
}

TEST(AuditCoalescer, ANewEventAfterTheWindowClosesTheOldOne) {
  std::vector<audit::AuditEvent> out;
  int64_t now = 0;
  AuditCoalescer c([&](const audit::AuditEvent& e) { out.push_back(e); }, [&] { return now; }, false);
  c.Add(Event("ann", "view", "1"));
  now = 10;
  c.Add(Event("ann", "view", "1"));
  now = AuditCoalescer::kWindowMs + 5;  // no sweep ran: the next event closes the window
  c.Add(Event("ann", "view", "1"));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].detail, "GET /x; count=1 (repeated within 60 s)");
  EXPECT_EQ(out[2].detail, "GET /x; count=1");
}

// AddRepeat: the guard's shortcut (no patient lookup for a repeat). A key with no open window
// (first, another key, after the window, after Stop) is left to Add; a repeat is counted and
// its closing record carries the patient of the window's first event.
TEST(AuditCoalescer, AddRepeatCountsOnlyOpenWindows) {
  std::vector<audit::AuditEvent> out;
  int64_t now = 0;
  AuditCoalescer c([&](const audit::AuditEvent& e) { out.push_back(e); }, [&] { return now; }, false);
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "1.2")));
  auto first = Event("ann", "retrieve", "1.2");
  first.patient_id = "P1";
  first.patient_name = "DOE^JANE";
  c.Add(first);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].patient_id, "P1");
  now = 10;
  EXPECT_TRUE(c.AddRepeat(Event("ann", "retrieve", "1.2")));   // no patient fields given
  now = 20;
  EXPECT_TRUE(c.AddRepeat(Event("ann", "retrieve", "1.2")));
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "9.9")));  // another study
  EXPECT_FALSE(c.AddRepeat(Event("bob", "retrieve", "1.2")));  // another user
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "1.2", /*success=*/false)));
  EXPECT_EQ(out.size(), 1u);
  now = AuditCoalescer::kWindowMs;  // the window is over: not a repeat any more
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "1.2")));
  c.Sweep();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].detail, "GET /x; count=2 (repeated within 60 s)");
  EXPECT_EQ(out[1].patient_id, "P1");
  EXPECT_EQ(out[1].patient_name, "DOE^JANE");
  EXPECT_EQ(out[1].at_ms, 20);
  c.Add(first);
  c.Stop();
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "1.2")));  // after Stop: Add passes it on

  AuditCoalescer silent(nullptr, [&] { return now; }, false);
  EXPECT_FALSE(silent.AddRepeat(Event("ann", "retrieve", "1.2")));
}

// A window whose first lookup found no patient does not hand that emptiness to its
// repeats: the caller is told to look the patient up (and Add keeps the one found).
TEST(AuditCoalescer, RepeatOfAWindowWithoutPatientIsLookedUp) {
  std::vector<audit::AuditEvent> out;
  int64_t now = 0;
  AuditCoalescer c([&](const audit::AuditEvent& e) { out.push_back(e); }, [&] { return now; }, false);
  c.Add(Event("ann", "retrieve", "1.2"));  // lookup came back empty
  now = 10;
  EXPECT_FALSE(c.AddRepeat(Event("ann", "retrieve", "1.2")));
  auto found = Event("ann", "retrieve", "1.2");
  found.patient_id = "P1";
  found.patient_name = "DOE^JANE";
  c.Add(found);
  now = 20;
  EXPECT_TRUE(c.AddRepeat(Event("ann", "retrieve", "1.2")));
  c.Sweep();
  now = AuditCoalescer::kWindowMs + 1;
  c.Sweep();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].detail, "GET /x; count=2 (repeated within 60 s)");
  EXPECT_EQ(out[1].patient_id, "P1");
  c.Stop();
}

}  // namespace
}  // namespace radflow::access
