// HTTPS on HttpServer (docs/tls.md): the TLS context's protocol floor, cipher suites and
// server preference, observed through real handshakes of an OpenSSL client; req.secure;
// errors naming unreadable or mismatched files.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "http/http_server.h"

namespace radflow::http {
namespace {

namespace fs = std::filesystem;

// A CA and a server certificate for 127.0.0.1 made with the openssl command-line tool.
class Certs {
 public:
  Certs() {
    dir_ = fs::temp_directory_path() / ("radflow-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string script =
        "cd '" + d + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=radflow-test-ca 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=127.0.0.1 2>/dev/null && "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout other.key -out /dev/null "
        "-subj /CN=other 2>/dev/null";
    ok_ = std::system(script.c_str()) == 0;
  }
  ~Certs() { fs::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string path(const char* name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
  bool ok_ = false;
};

struct Handshake {
  bool ok = false;
  bool compressed = true;
  std::string version, cipher, response;
};

// Connects to 127.0.0.1:port with the given protocol range and TLS 1.2 cipher list; on
// success sends one GET and reads the answer.
Handshake Connect(uint16_t port, int min_version, int max_version, const char* ciphers12,
                  const std::string& ca_file) {
  Handshake h;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  // TLS 1.0/1.1 need security level 0 in OpenSSL 3 to be offered at all.
  SSL_CTX_set_security_level(ctx, 0);
  if (ciphers12) SSL_CTX_set_cipher_list(ctx, ciphers12);
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "127.0.0.1");
    if (SSL_connect(ssl) == 1) {
      h.ok = true;
      h.version = SSL_get_version(ssl);
      h.cipher = SSL_get_cipher_name(ssl);
      h.compressed = SSL_get_current_compression(ssl) != nullptr;
      const std::string req = "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) h.response.append(buf, n);
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return h;
}

class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new Certs(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << "openssl could not make the test certificates";
    server_.Route("GET", "/whoami", [](const Request& r) {
      return Response::Text(std::string(r.secure ? "secure" : "plain") + " " + r.remote_address);
    });
    Status st = server_.StartTls("127.0.0.1", 0,
                                 {certs_->path("server.pem"), certs_->path("server.key"), ""});
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = server_.tls_port();
    ASSERT_NE(port_, 0);
  }
  static Certs* certs_;
  HttpServer server_;
  uint16_t port_ = 0;
};
Certs* HttpsTest::certs_ = nullptr;

TEST_F(HttpsTest, Tls13AndSecureFlag) {
  auto h = Connect(port_, TLS1_3_VERSION, TLS1_3_VERSION, nullptr, certs_->path("ca.pem"));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.version, "TLSv1.3");
  EXPECT_NE(h.response.find("200 OK"), std::string::npos) << h.response;
  EXPECT_NE(h.response.find("secure 127.0.0.1"), std::string::npos) << h.response;
}

TEST_F(HttpsTest, Tls12WithEcdheAead) {
  for (const char* suite : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                            "ECDHE-RSA-CHACHA20-POLY1305"}) {
    auto h = Connect(port_, TLS1_2_VERSION, TLS1_2_VERSION, suite, certs_->path("ca.pem"));
    ASSERT_TRUE(h.ok) << suite;
    EXPECT_EQ(h.version, "TLSv1.2");
    EXPECT_EQ(h.cipher, suite);
    EXPECT_NE(h.response.find("secure"), std::string::npos);
  }
}

TEST_F(HttpsTest, NoCompression) {
  auto h = Connect(port_, TLS1_2_VERSION, TLS1_2_VERSION, nullptr, certs_->path("ca.pem"));
  ASSERT_TRUE(h.ok);
  EXPECT_FALSE(h.compressed);
}

TEST_F(HttpsTest, OldProtocolsAreRefused) {
  EXPECT_FALSE(Connect(port_, TLS1_1_VERSION, TLS1_1_VERSION, "ALL:@SECLEVEL=0", certs_->path("ca.pem")).ok);
  EXPECT_FALSE(Connect(port_, TLS1_VERSION, TLS1_VERSION, "ALL:@SECLEVEL=0", certs_->path("ca.pem")).ok);
}

TEST_F(HttpsTest, WeakTls12SuitesAreRefused) {
  // RSA key exchange (no forward secrecy), CBC modes, DHE: none of them is offered.
  for (const char* suite : {"AES128-GCM-SHA256", "AES256-SHA256", "ECDHE-RSA-AES128-SHA",
                            "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-GCM-SHA256",
                            "DES-CBC3-SHA:@SECLEVEL=0"}) {
    EXPECT_FALSE(Connect(port_, TLS1_2_VERSION, TLS1_2_VERSION, suite, certs_->path("ca.pem")).ok)
        << suite;
  }
}

TEST_F(HttpsTest, ServerChoosesItsPreferredSuite) {
  // The client prefers ChaCha20; the server's order puts AES-128-GCM first.
  auto h = Connect(port_, TLS1_2_VERSION, TLS1_2_VERSION,
                   "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
                   certs_->path("ca.pem"));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
}

TEST_F(HttpsTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char req[] = "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(::write(fd, req, sizeof req - 1), 0);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_EQ(got.find("plain"), std::string::npos) << got;
}

TEST(HttpsConfig, ErrorsNameTheFile) {
  Certs certs;
  ASSERT_TRUE(certs.ok());
  HttpServer server;
  Status missing = server.StartTls("127.0.0.1", 0, {"/nonexistent/cert.pem", certs.path("server.key"), ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("/nonexistent/cert.pem"), std::string::npos) << missing.message();

  Status not_pem = server.StartTls("127.0.0.1", 0, {certs.path("ext.cnf"), certs.path("server.key"), ""});
  ASSERT_FALSE(not_pem.ok());
  EXPECT_NE(not_pem.message().find("ext.cnf' is not a PEM certificate"), std::string::npos)
      << not_pem.message();

  Status mismatch = server.StartTls("127.0.0.1", 0, {certs.path("server.pem"), certs.path("other.key"), ""});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.message().find("other.key' does not match the certificate in"), std::string::npos)
      << mismatch.message();

  Status bad_ca = server.StartTls("127.0.0.1", 0,
                                  {certs.path("server.pem"), certs.path("server.key"), "/nonexistent/ca.pem"});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.message().find("/nonexistent/ca.pem"), std::string::npos) << bad_ca.message();
  EXPECT_EQ(server.tls_port(), 0);
}

TEST(HttpsConfig, PlainAndTlsSideBySide) {
  Certs certs;
  ASSERT_TRUE(certs.ok());
  HttpServer server;
  server.Route("GET", "/whoami", [](const Request& r) {
    return Response::Text(r.secure ? "secure" : "plain");
  });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  ASSERT_TRUE(server.StartTls("127.0.0.1", 0, {certs.path("server.pem"), certs.path("server.key"), ""}).ok());
  EXPECT_NE(server.port(), server.tls_port());
  auto h = Connect(server.tls_port(), TLS1_2_VERSION, TLS1_3_VERSION, nullptr, certs.path("ca.pem"));
  ASSERT_TRUE(h.ok);
  EXPECT_NE(h.response.find("secure"), std::string::npos);
  server.Stop();
}

}  // namespace
}  // namespace radflow::http
