#include "op/vr_values.h"

#include <cstdint>
#include <string>

namespace radflow::op {

namespace {

// Code points in UTF-8 text, or -1 when it is not UTF-8 (RFC 3629: no overlong forms,
// no surrogates, at most U+10FFFF).
long Utf8Length(std::string_view s) {
  long n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return -1;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto t = static_cast<uint8_t>(s[i + k]);
      if ((t >> 6) != 2) return -1;
      cp = (cp << 6) | (t & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return -1;
    }
    i += len;
  }
  return n;
}

Status Bad(std::string_view option, std::string_view value, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument,
                std::string(option) + " '" + std::string(value) + "' " + why);
}

// Backslash separates values; control characters other than ESC are excluded from SH, LO
// and PN (PS3.5 6.2).
Status CheckText(std::string_view option, std::string_view vr, std::string_view value, long max_chars) {
  for (char ch : value) {
    const auto c = static_cast<uint8_t>(ch);
    if (ch == '\\') return Bad(option, value, "contains a backslash, the DICOM value delimiter (PS3.5 6.2)");
    if ((c < 0x20 && c != 0x1B) || c == 0x7F) {
      return Bad(option, value, "contains a control character (not allowed in " + std::string(vr) + ", PS3.5 6.2)");
    }
  }
  const long n = Utf8Length(value);
  if (n < 0) return Bad(option, value, "is not UTF-8 text");
  if (n > max_chars) {
    return Bad(option, value,
               "is " + std::to_string(n) + " characters, more than the " + std::to_string(max_chars) + " of " +
                   std::string(vr) + " (PS3.5 6.2)");
  }
  return Status::Ok();
}

Status CheckUid(std::string_view option, std::string_view v) {
  const std::string why = "is not a UID (UI: digits and dots, no empty component, no leading zero, at most 64 "
                          "characters; PS3.5 9.1)";
  if (v.size() > 64) return Bad(option, v, why);
  size_t start = 0;
  for (;;) {
    const size_t dot = v.find('.', start);
    const std::string_view part = v.substr(start, dot == std::string_view::npos ? v.npos : dot - start);
    if (part.empty() || part.find_first_not_of("0123456789") != part.npos || (part.size() > 1 && part[0] == '0')) {
      return Bad(option, v, why);
    }
    if (dot == std::string_view::npos) return Status::Ok();
    start = dot + 1;
  }
}

Status CheckPersonName(std::string_view option, std::string_view v) {
  RADFLOW_RETURN_IF_ERROR(CheckText(option, "PN", v, 3 * 64 + 2));
  int groups = 0;
  size_t start = 0;
  for (;;) {
    const size_t eq = v.find('=', start);
    const std::string_view group = v.substr(start, eq == v.npos ? v.npos : eq - start);
    if (++groups > 3) return Bad(option, v, "has more than 3 component groups (PN, PS3.5 6.2.1)");
    if (Utf8Length(group) > 64) return Bad(option, v, "has a component group longer than 64 characters (PN)");
    size_t carets = 0;
    for (char c : group) carets += c == '^';
    if (carets > 4) return Bad(option, v, "has more than 5 name components (PN: family^given^middle^prefix^suffix)");
    if (eq == v.npos) return Status::Ok();
    start = eq + 1;
  }
}

}  // namespace

Status CheckVrValue(std::string_view option, std::string_view vr, std::string_view value) {
  if (value.empty()) return Status::Ok();
  if (vr == "UI") return CheckUid(option, value);
  if (vr == "SH") return CheckText(option, vr, value, 16);
  if (vr == "LO") return CheckText(option, vr, value, 64);
  if (vr == "PN") return CheckPersonName(option, value);
  return Status(ErrorCode::kInternal, "CheckVrValue: no check for VR " + std::string(vr));
}

}  // namespace radflow::op
