// The hash-chained log: records appended by the writer thread, verified; each kind of tamper
// (an edited byte, a removed line, two lines swapped, a truncated tail, a record appended out
// of the chain) detected at the right record; two processes appending to one log; a torn
// last line and an index that fell behind repaired on open.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <set>
#include <thread>

#include "audit/audit_log.h"
#include "audit/audit_trail.h"
#include "audit_test_util.h"

namespace radflow::audit {
namespace {

using testing::ReadLines;
using testing::SampleEvent;
using testing::ScratchDir;
using testing::WriteLines;

std::unique_ptr<AuditTrail> OpenTrail(const std::string& dir) {
  AuditOptions o;
  o.data_dir = dir;
  auto t = AuditTrail::Open(o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t.value()) : nullptr;
}

// A log of n records, closed.
void WriteRecords(const std::string& dir, int n, int first = 0) {
  auto trail = OpenTrail(dir);
  ASSERT_TRUE(trail);
  for (int i = 0; i < n; ++i) trail->Record(SampleEvent(i % 2 ? "view" : "query", first + i));
  trail->Stop();
}

TEST(AuditChain, AppendsAndVerifies) {
  ScratchDir dir;
  WriteRecords(dir.path(), 10);
  auto lines = ReadLines(dir.log());
  ASSERT_EQ(lines.size(), 10u);
  std::string prev(kGenesisHash);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto r = ParseLine(lines[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(r->prev, prev);
    EXPECT_TRUE(HashMatches(lines[i], prev));
    EXPECT_EQ(r->hash, ChainHash(prev, std::string_view(lines[i]).substr(65)));
    EXPECT_NE(r->xml.find("<AuditMessage>"), std::string::npos);
    prev = r->hash;
  }
  VerifyResult v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 10);
  EXPECT_EQ(v.first_bad_seq, 0);
  EXPECT_EQ(v.message, "10 record(s) intact");

  // A second trail on the same directory goes on with the chain.
  WriteRecords(dir.path(), 5, 10);
  v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 15);
}

TEST(AuditChain, EmptyAndMissingLogsAreIntact) {
  ScratchDir dir;
  VerifyResult v = Verify(dir.path());
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.records, 0);
}

TEST(AuditChain, AnEditedByteIsDetectedAtItsRecord) {
  ScratchDir dir;
  WriteRecords(dir.path(), 8);
  auto lines = ReadLines(dir.log());
  // Change one character inside record 5's XML (the patient's name).
  auto pos = lines[4].find("Doe^Jane");
  ASSERT_NE(pos, std::string::npos);
  lines[4][pos] = 'R';
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
  EXPECT_EQ(v.records, 4);
  EXPECT_NE(v.message.find("hash mismatch"), std::string::npos) << v.message;
}

TEST(AuditChain, AnEditedHashIsDetected) {
  ScratchDir dir;
  WriteRecords(dir.path(), 4);
  auto lines = ReadLines(dir.log());
  lines[2][10] = lines[2][10] == 'a' ? 'b' : 'a';
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3) << v.message;
}

TEST(AuditChain, ARemovedLineIsDetected) {
  ScratchDir dir;
  WriteRecords(dir.path(), 8);
  auto lines = ReadLines(dir.log());
  lines.erase(lines.begin() + 3);  // record 4
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4);
  EXPECT_NE(v.message.find("found record 5 where 4 was expected"), std::string::npos) << v.message;
}

TEST(AuditChain, SwappedLinesAreDetected) {
  ScratchDir dir;
  WriteRecords(dir.path(), 8);
  auto lines = ReadLines(dir.log());
  std::swap(lines[5], lines[6]);  // records 6 and 7
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 6) << v.message;
}

TEST(AuditChain, ARenumberedRecordStillBreaksTheChain) {
  // Removing record 4 and renumbering the later ones (without recomputing hashes).
  ScratchDir dir;
  WriteRecords(dir.path(), 6);
  auto lines = ReadLines(dir.log());
  lines.erase(lines.begin() + 3);
  for (size_t i = 3; i < lines.size(); ++i) {
    const std::string from = "{\"seq\":" + std::to_string(i + 2) + ",";
    const std::string to = "{\"seq\":" + std::to_string(i + 1) + ",";
    auto p = lines[i].find(from);
    ASSERT_NE(p, std::string::npos);
    lines[i].replace(p, from.size(), to);
  }
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4);
  EXPECT_NE(v.message.find("previous-record hash"), std::string::npos) << v.message;
}

TEST(AuditChain, ARecordAppendedOutOfTheChainIsDetected) {
  ScratchDir dir;
  WriteRecords(dir.path(), 3);
  auto lines = ReadLines(dir.log());
  // A well-formed record with a correct hash of its own, chained to the genesis, not to 3.
  LogRecord forged;
  forged.seq = 4;
  forged.prev = std::string(kGenesisHash);
  forged.event = SampleEvent("login");
  forged.event_id = "110114";
  forged.action = "E";
  std::string line = FormatLine(forged);
  line.pop_back();
  lines.push_back(line);
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4);
  EXPECT_NE(v.message.find("previous-record hash"), std::string::npos) << v.message;
}

TEST(AuditChain, ATruncatedTailIsDetectedAgainstTheIndex) {
  ScratchDir dir;
  WriteRecords(dir.path(), 9);
  auto lines = ReadLines(dir.log());
  lines.resize(6);  // records 7..9 gone, the rest a perfect chain
  WriteLines(dir.log(), lines);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 7);
  EXPECT_EQ(v.records, 6);
  EXPECT_NE(v.message.find("the index lists records up to 9"), std::string::npos) << v.message;

  // Appending after the truncation keeps the gap visible (no reused numbers).
  WriteRecords(dir.path(), 1, 100);
  auto after = ReadLines(dir.log());
  ASSERT_EQ(after.size(), 7u);
  EXPECT_EQ(ParseLine(after.back())->seq, 10);
  v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 7) << v.message;
}

TEST(AuditChain, ARemovedLogIsDetected) {
  ScratchDir dir;
  WriteRecords(dir.path(), 3);
  std::filesystem::remove(dir.log());
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 1) << v.message;
}

TEST(AuditChain, ARewrittenLogIsDetected) {
  // A whole new, self-consistent chain in place of the old one: the index's head differs.
  ScratchDir dir;
  WriteRecords(dir.path(), 3);
  ScratchDir other;
  WriteRecords(other.path(), 3, 50);
  std::filesystem::copy_file(other.log(), dir.log(), std::filesystem::copy_options::overwrite_existing);
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3) << v.message;
  EXPECT_NE(v.message.find("rewritten"), std::string::npos) << v.message;
}

TEST(AuditChain, ATornLastLineIsRemovedOnOpen) {
  ScratchDir dir;
  WriteRecords(dir.path(), 3);
  {
    std::ofstream out(dir.log(), std::ios::binary | std::ios::app);
    out << "0123456789abcdef {\"seq\":4,\"at\":";  // a crash mid-write, before fsync
  }
  VerifyResult v = Verify(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 4);
  WriteRecords(dir.path(), 2, 10);
  v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 5);
}

TEST(AuditChain, ThreadsRecordingAtOnceMakeOneChain) {
  ScratchDir dir;
  auto trail = OpenTrail(dir.path());
  ASSERT_TRUE(trail);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) trail->Record(SampleEvent("view", t * 1000 + i));
    });
  }
  for (auto& th : threads) th.join();
  trail->Flush();
  EXPECT_EQ(trail->stats().durable, 400);
  VerifyResult v = trail->Verify();
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 400);
}

TEST(AuditChain, TwoProcessesAppendToOneLog) {
  ScratchDir dir;
  WriteRecords(dir.path(), 1);  // the index exists before the writers race
  constexpr int kPerProcess = 150;
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      AuditOptions o;
      o.data_dir = dir.path();
      auto t = AuditTrail::Open(o);
      if (!t.ok()) ::_exit(3);
      for (int i = 0; i < kPerProcess; ++i) {
        AuditEvent e = SampleEvent("query", i);
        e.user = "writer" + std::to_string(p);
        (*t)->Record(e);
        if (i % 10 == 0) (*t)->Flush();  // many small batches, interleaving with the other
      }
      (*t)->Stop();
      ::_exit((*t)->stats().durable == kPerProcess ? 0 : 4);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  VerifyResult v = Verify(dir.path());
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 1 + 2 * kPerProcess);
  // Both writers' records interleave (the log is not two consecutive runs) and all are indexed.
  auto lines = ReadLines(dir.log());
  int switches = 0;
  std::string last;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string user = ParseLine(lines[i])->event.user;
    if (!last.empty() && user != last) ++switches;
    last = user;
  }
  EXPECT_GT(switches, 1);
  auto trail = OpenTrail(dir.path());
  ASSERT_TRUE(trail);
  AuditQuery q;
  q.user = "writer1";
  auto page = trail->Search(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, kPerProcess);
  q.user.clear();
  page = trail->Search(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1 + 2 * kPerProcess);
}

TEST(AuditChain, RecordsTheIndexMissedAreIndexedOnOpen) {
  // A crash between the fsync of the log and the index's commit: rows 3 and 4 missing.
  ScratchDir dir;
  WriteRecords(dir.path(), 4);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/index.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM audit_records WHERE seq > 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto trail = OpenTrail(dir.path());
  ASSERT_TRUE(trail);
  auto page = trail->Search(AuditQuery{});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(page->records.front().seq, 4);
  auto xml = trail->MessageXml(3);
  ASSERT_TRUE(xml.ok());
  ASSERT_TRUE(xml->has_value());
  EXPECT_NE((*xml)->find("<AuditMessage>"), std::string::npos);
}

}  // namespace
}  // namespace radflow::audit
