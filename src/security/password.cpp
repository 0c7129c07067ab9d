#include "security/password.h"

#include <argon2.h>
#include <openssl/crypto.h>

#include "crypto/crypto.h"

namespace radflow::security {

namespace {
// OWASP Password Storage Cheat Sheet, Argon2id: m = 19 MiB, t = 2, p = 1.
constexpr uint32_t kMemoryKiB = 19456;
constexpr uint32_t kIterations = 2;
constexpr uint32_t kParallelism = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  auto salt = crypto::RandomBytes(kSaltBytes);
  if (!salt.ok()) return salt.status();
  const size_t len = argon2_encodedlen(kIterations, kMemoryKiB, kParallelism, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(kIterations, kMemoryKiB, kParallelism, password.data(), password.size(),
                                 salt->data(), salt->size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return {ErrorCode::kInternal, std::string("argon2: ") + argon2_error_message(rc)};
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Result<std::string> RandomToken(std::string_view prefix) {
  auto bytes = crypto::RandomBytes(32);
  if (!bytes.ok()) return bytes.status();
  return std::string(prefix) + crypto::Base64Url(bytes.value());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace radflow::security
