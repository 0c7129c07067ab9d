#include "deid/keyed_hash.h"

#include <algorithm>

#include "crypto/crypto.h"

namespace radflow::deid {

Digest KeyedHash(std::string_view key, std::string_view domain, std::string_view message) {
  std::string data;
  data.reserve(domain.size() + 1 + message.size());
  data.append(domain);
  data.push_back('\0');
  data.append(message);
  return crypto::HmacSha256(key, data);
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
