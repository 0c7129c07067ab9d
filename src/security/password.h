// Secrets of the local accounts (docs/authentication.md): Argon2id password hashes
// (RFC 9106) with OWASP's parameters and random tokens. SHA-256, random bytes and base64url
// come from crypto/crypto.h; libargon2 stays in password.cpp.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace radflow::security {

// Argon2id, m = 19456 KiB, t = 2, p = 1, 16-byte random salt, 32-byte tag (OWASP Password
// Storage Cheat Sheet). The PHC-format encoded string ("$argon2id$v=19$m=19456,t=2,p=1$…").
Result<std::string> HashPassword(std::string_view password);
// Whether `password` matches `encoded` (its parameters are read from the string); false for
// a malformed encoding.
bool VerifyPassword(std::string_view password, const std::string& encoded);

// 32 random bytes, base64url (43 characters), with `prefix` in front.
Result<std::string> RandomToken(std::string_view prefix = "");
// Comparison in time independent of where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace radflow::security
