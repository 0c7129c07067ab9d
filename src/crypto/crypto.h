// Small cryptographic helpers over OpenSSL libcrypto, without OpenSSL types in the API:
// SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), CSPRNG bytes and base64 (RFC 4648).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace radflow::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
// The digest's bytes as a string_view (to encode them, to feed them to another hash).
inline std::string_view AsBytes(const Sha256Digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }
// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// SHA-256 over data given in pieces (a file read in blocks, a prefix and a record).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view data);
  Sha256Digest Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA256(key, data).
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// Lower-case hex of bytes.
std::string Hex(const uint8_t* data, size_t n);
inline std::string Hex(const Sha256Digest& d) { return Hex(d.data(), d.size()); }

// n bytes from OpenSSL's CSPRNG (RAND_bytes). Internal error when it fails.
Result<std::string> RandomBytes(size_t n);

// RFC 4648 §4 base64 with '=' padding.
std::string Base64(std::string_view bytes);
// RFC 4648 §5 base64url without padding.
std::string Base64Url(std::string_view bytes);

}  // namespace radflow::crypto
