// MLLP over loopback TCP: MllpSend against MllpListener, several connections, bad framing,
// the size limit, timeouts and clean shutdown. Hand-built bytes on raw sockets for framing.
#include "hl7/mllp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hl7/message.h"

namespace radflow::hl7 {
namespace {

std::string Msg(const std::string& control_id) {
  return "MSH|^~\\&|SENDER|FAC|RADFLOW|RAD|20240501120000||ORU^R01^ORU_R01|" + control_id +
         "|P|2.5.1\rPID|1||123^^^HOSP^MR\rOBX|1|TX|59776-5^Findings^LN||No acute finding.||||||F\r";
}

// Acknowledges every parseable message AA; records what arrived.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> messages;
  MllpListener::Handler Handler() {
    return [this](const std::string& m) {
      {
        std::lock_guard<std::mutex> lock(mu);
        messages.push_back(m);
      }
      auto parsed = Parse(m);
      return parsed.ok() ? BuildAck(*parsed, "AA", "") : BuildRejectAck(m, parsed.status().message());
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return messages.size();
  }
};

// A raw client socket for hand-made bytes.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one framed reply (content), "" on timeout or close. (The helpers' timeouts here are
  // hang guards, not timing claims.)
  std::string ReadFrame(int timeout_ms = 5000) {
    std::string& buf = received_;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (buf.find(std::string{kEndBlock, kCarriageReturn}) == std::string::npos) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        char c[4096];
        ssize_t n = ::recv(fd_, c, sizeof c, 0);
        if (n <= 0) return "";
        buf.append(c, static_cast<size_t>(n));
      }
      size_t s = buf.find(kStartBlock), e = buf.find(std::string{kEndBlock, kCarriageReturn});
      if (s != std::string::npos && e != std::string::npos && e > s) {
        std::string frame = buf.substr(s + 1, e - s - 1);
        buf.erase(0, e + 2);
        return frame;
      }
    }
    return "";
  }
  // True when the peer closed the connection within timeout_ms.
  bool ClosedByPeer(int timeout_ms = 3000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char c[4096];
      ssize_t n = ::recv(fd_, c, sizeof c, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

TEST(Mllp, FrameWrapsTheMessage) { EXPECT_EQ(Frame("MSH|x"), std::string("\x0bMSH|x\x1c\x0d")); }

TEST(Mllp, SendReceivesTheAck) {
  Recorder rec;
  MllpListener listener;
  ASSERT_TRUE(listener.Start("127.0.0.1", 0, rec.Handler()).ok());
  ASSERT_GT(listener.port(), 0);
  auto ack = MllpSend("127.0.0.1", listener.port(), Msg("CTL1"), 5000);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  auto parsed = Parse(*ack);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->Find("MSA")->Get(1), "AA");
  EXPECT_EQ(parsed->Find("MSA")->Get(2), "CTL1");
  ASSERT_EQ(rec.count(), 1u);
  EXPECT_EQ(rec.messages[0], Msg("CTL1"));
  listener.Stop();
}

TEST(Mllp, ManyConnectionsAtOnceAndSeveralMessagesPerConnection) {
  Recorder rec;
  MllpListener listener;
  ASSERT_TRUE(listener.Start("127.0.0.1", 0, rec.Handler()).ok());
  std::atomic<int> acked{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 8; ++i) {
    senders.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        std::string id = "C";
        id += std::to_string(i);
        id += '-';
        id += std::to_string(k);
        auto ack = MllpSend("127.0.0.1", listener.port(), Msg(id));
        if (ack.ok() && ack->find("MSA|AA|" + id) != std::string::npos) {
          ++acked;
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(acked.load(), 40);
  // Two messages back to back on one connection, in one write: two ACKs in order.
  RawClient client(listener.port());
  ASSERT_TRUE(client.connected());
  client.Send(Frame(Msg("A1")) + Frame(Msg("A2")));
  EXPECT_NE(client.ReadFrame().find("MSA|AA|A1"), std::string::npos);
  EXPECT_NE(client.ReadFrame().find("MSA|AA|A2"), std::string::npos);
  listener.Stop();
  EXPECT_EQ(rec.count(), 42u);
}

TEST(Mllp, BadFramingIsDiscardedNotFatal) {
  Recorder rec;
  MllpListener listener;
  ASSERT_TRUE(listener.Start("127.0.0.1", 0, rec.Handler()).ok());
  RawClient client(listener.port());
  ASSERT_TRUE(client.connected());
  // Bytes before any start block; then a frame broken by a new start block; then a good one
  // whose end block comes in a separate write; a frame without the trailing <CR>.
  client.Send("garbage without framing\r\n");
  client.Send(std::string(1, kStartBlock) + "MSH|^~\\&|half a message");
  client.Send(std::string(1, kStartBlock) + Msg("GOOD1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.Send(std::string{kEndBlock, kCarriageReturn});
  EXPECT_NE(client.ReadFrame().find("MSA|AA|GOOD1"), std::string::npos);
  client.Send(std::string(1, kStartBlock) + Msg("GOOD2") + std::string(1, kEndBlock));
  EXPECT_NE(client.ReadFrame().find("MSA|AA|GOOD2"), std::string::npos);
  // Not HL7 inside a frame: the handler answers AR.
  client.Send(Frame("hello"));
  EXPECT_NE(client.ReadFrame().find("MSA|AR|"), std::string::npos);
  listener.Stop();
  EXPECT_EQ(rec.count(), 3u);
}

TEST(Mllp, OversizedMessageGetsArAndTheConnectionCloses) {
  Recorder rec;
  MllpListener listener;
  MllpListenerOptions options;
  options.max_message_bytes = 1024;
  ASSERT_TRUE(listener.Start("127.0.0.1", 0, rec.Handler(), options).ok());
  RawClient client(listener.port());
  ASSERT_TRUE(client.connected());
  client.Send(std::string(1, kStartBlock) + Msg("BIG") + std::string(2000, 'x'));
  const std::string reply = client.ReadFrame();
  EXPECT_NE(reply.find("MSA|AR|BIG"), std::string::npos) << reply;
  EXPECT_NE(reply.find("ERR|"), std::string::npos);
  EXPECT_TRUE(client.ClosedByPeer());
  EXPECT_EQ(rec.count(), 0u);
  listener.Stop();
}

TEST(Mllp, SendErrorsAreClear) {
  // Nobody listening: a closed port on loopback (bind then close to find one).
  int port = 0;
  {
    MllpListener l;
    ASSERT_TRUE(l.Start("127.0.0.1", 0, [](const std::string&) { return std::string(); }).ok());
    port = l.port();
    l.Stop();
  }
  auto refused = MllpSend("127.0.0.1", port, Msg("X"), 2000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos);

  // A peer that never answers: the timeout names the stage.
  MllpListener silent;
  ASSERT_TRUE(silent.Start("127.0.0.1", 0, [](const std::string&) { return std::string(); }).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto timed_out = MllpSend("127.0.0.1", silent.port(), Msg("Y"), 300);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(timed_out.status().message().find("timed out"), std::string::npos) << timed_out.status().message();
  EXPECT_NE(timed_out.status().message().find("acknowledgment"), std::string::npos);
  // Hang guard, not a speed claim: the 300 ms timeout ends the wait (10 × it, for a loaded machine).
  EXPECT_LT(ms, 3000);
  silent.Stop();
}

TEST(Mllp, StopClosesOpenConnectionsAndIsIdempotent) {
  Recorder rec;
  auto listener = std::make_unique<MllpListener>();
  ASSERT_TRUE(listener->Start("127.0.0.1", 0, rec.Handler()).ok());
  EXPECT_FALSE(listener->Start("127.0.0.1", 0, rec.Handler()).ok());  // already started
  RawClient idle(listener->port());
  ASSERT_TRUE(idle.connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  listener->Stop();
  listener->Stop();
  // Hang guard, not a speed claim: Stop closes the idle connection instead of waiting out its
  // 5 min idle timeout (docs/report-delivery.md).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(idle.ClosedByPeer());
  listener.reset();
}

TEST(Mllp, StartFailsOnABusyPort) {
  MllpListener a, b;
  ASSERT_TRUE(a.Start("127.0.0.1", 0, [](const std::string&) { return std::string(); }).ok());
  Status st = b.Start("127.0.0.1", a.port(), [](const std::string&) { return std::string(); });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
}

// Interoperability with an MLLP implementation radflow did not write: Debian's python3-hl7.
bool HavePythonHl7() { return std::system("/usr/bin/python3 -c 'import hl7.mllp' > /dev/null 2>&1") == 0; }
std::string PeerScript() { return std::string(RADFLOW_SOURCE_DIR) + "/tests/unit/hl7/mllp_peer.py"; }

TEST(MllpInterop, PythonHl7ClientToOurListener) {
  if (!HavePythonHl7()) GTEST_SKIP() << "python3-hl7 not installed";
  Recorder rec;
  MllpListener listener;
  ASSERT_TRUE(listener.Start("127.0.0.1", 0, rec.Handler()).ok());
  char path[] = "/tmp/radflow-mllp-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string m = Msg("PY1");
  ASSERT_EQ(::write(fd, m.data(), m.size()), static_cast<ssize_t>(m.size()));
  ::close(fd);
  const std::string cmd = "/usr/bin/python3 '" + PeerScript() + "' send 127.0.0.1 " + std::to_string(listener.port()) +
                          " '" + path + "' 2>&1";
  std::string out;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    char buf[4096];
    while (pipe && fgets(buf, sizeof buf, pipe.get())) out += buf;
  }
  ::unlink(path);
  auto ack = Parse(out);
  ASSERT_TRUE(ack.ok()) << out;
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AA");
  EXPECT_EQ(ack->Find("MSA")->Get(2), "PY1");
  ASSERT_EQ(rec.count(), 1u);
  EXPECT_EQ(rec.messages[0], m);
}

TEST(MllpInterop, OurSendToPythonHl7Server) {
  if (!HavePythonHl7()) GTEST_SKIP() << "python3-hl7 not installed";
  const std::string cmd = "/usr/bin/python3 '" + PeerScript() + "' serve 2 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe);
  char buf[4096];
  int port = 0;
  if (fgets(buf, sizeof buf, pipe.get())) std::sscanf(buf, "PORT %d", &port);
  ASSERT_GT(port, 0) << buf;
  for (const char* id : {"TO-PY-1", "TO-PY-2"}) {
    auto ack = MllpSend("127.0.0.1", port, Msg(id), 10000);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    auto parsed = Parse(*ack);
    ASSERT_TRUE(parsed.ok()) << *ack;
    EXPECT_EQ(parsed->Find("MSA")->Get(1), "AA");
    EXPECT_EQ(parsed->Find("MSA")->Get(2), id);
    EXPECT_EQ(parsed->Find("MSH")->Get(9, 1), "ACK");
  }
  std::string out;
  while (fgets(buf, sizeof buf, pipe.get())) out += buf;
  EXPECT_NE(out.find("GOT TO-PY-1"), std::string::npos) << out;
  EXPECT_NE(out.find("GOT TO-PY-2"), std::string::npos) << out;
}

}  // namespace
}  // namespace radflow::hl7
