#include "deid/keyed_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>

namespace radflow::deid {

Digest KeyedHash(std::string_view key, std::string_view domain, std::string_view message) {
  std::string data;
  data.reserve(domain.size() + 1 + message.size());
  data.append(domain);
  data.push_back('\0');
  data.append(message);
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) return {};
  return out;
}

std::string UidFromDigest(const Digest& d) {
  unsigned __int128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | d[i];
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

}  // namespace radflow::deid
