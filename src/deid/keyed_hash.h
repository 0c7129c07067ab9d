// Keyed hashes behind UIDs, pseudonyms and date shifts (HMAC-SHA256, RFC 2104), and random
// bytes for the site secret, over radflow_crypto.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace radflow::deid {

using Digest = std::array<uint8_t, 32>;  // = crypto::Sha256Digest

// HMAC-SHA256(key, domain + '\0' + message): the domain separates the uses of one secret
// ("uid", "patient", "date-shift"), so no output of one can be replayed as another.
Digest KeyedHash(std::string_view key, std::string_view domain, std::string_view message);


// "2.25." + the decimal value of the first 16 bytes (PS3.5 B.2: UUID-derived UID form).
std::string UidFromDigest(const Digest& d);

}  // namespace radflow::deid
