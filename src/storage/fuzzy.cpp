#include "storage/fuzzy.h"

#include <vector>

namespace radflow::storage {

namespace {

// Base letters of U+00C0..U+017F ('\0': keep as is).
constexpr char kFold[] =
    "AAAAAAACEEEEIIII" "DNOOOOO\0OUUUUYTs"  // C0-DF (D7 multiplication sign kept)
    "aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty"  // E0-FF
    "AaAaAaCcCcCcCcDd" "DdEeEeEeEeEeGgGg"  // 100-11F
    "GgGgHhHhIiIiIiIi" "IiJjJjKkkLlLlLlL"  // 120-13F
    "lLlNnNnNnnNnOoOo" "OoOoRrRrRrSsSsSs"  // 140-15F
    "SsTtTtTtUuUuUuUu" "UuUuWwYyYZzZzZzs";  // 160-17F

std::vector<std::string> Split(const std::string& s, std::string_view seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (seps.find(c) != std::string_view::npos) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

std::string FoldForMatching(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      if (cp >= 0xC0 && cp <= 0x17F && kFold[cp - 0xC0] != '\0') {
        char f = kFold[cp - 0xC0];
        out += static_cast<char>(f >= 'A' && f <= 'Z' ? f + 32 : f);
        ++i;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  return out;
}

bool FuzzyPersonNameMatch(std::string_view name, std::string_view query) {
  auto components = Split(FoldForMatching(name), "^= -");
  auto words = Split(FoldForMatching(query), " ^,*");
  for (const auto& w : words) {
    bool found = false;
    for (const auto& c : components) {
      if (c.compare(0, w.size(), w) == 0) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace radflow::storage
