// Random lower-case hex names for files nobody else may pick (temporary files, blob names,
// staged downloads). Not for secrets: crypto::RandomBytes is the CSPRNG.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace radflow {

// n hex digits from a per-thread mt19937_64 seeded from std::random_device.
inline std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) bits = rng();
    s[i] = kHex[bits & 0xF];
    bits >>= 4;
  }
  return s;
}

}  // namespace radflow
