// Times in the audit trail: xsd:dateTime in UTC with milliseconds (PS3.15 A.5.1
// EventDateTime; RFC 5424 TIMESTAMP), and the forms the search accepts.
#include <cctype>
#include <charconv>

#include "audit/audit_trail.h"
#include "base/civil_date.h"
#include "base/iso_time.h"

namespace radflow::audit {

namespace {

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatTime(int64_t unix_ms) { return FormatIsoUtc(unix_ms, /*with_millis=*/true); }

Result<int64_t> ParseTime(const std::string& s) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + s + "' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.fff]Z or unix ms)");
  };
  if (s.empty()) return bad();
  if (s.find('-') == std::string::npos) {  // unix ms
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return bad();
    return v;
  }
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return bad();
  }
  size_t pos = 10;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != ' ') || !Digits(s, pos + 1, 2, &h) || s.size() < pos + 6 ||
        s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &mi)) {
      return bad();
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!Digits(s, pos + 1, 2, &sec)) return bad();
      pos += 3;
      if (pos < s.size() && s[pos] == '.') {
        size_t k = pos + 1;
        int scale = 100;
        while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          ms += (s[k] - '0') * scale;
          scale /= 10;
          ++k;
        }
        if (k == pos + 1) return bad();
        pos = k;
      }
    }
    if (pos < s.size() && s[pos] == 'Z') ++pos;
    if (pos != s.size() || h > 23 || mi > 59 || sec > 60) return bad();
  }
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * int64_t{60000} + sec * int64_t{1000} + ms;
}

}  // namespace radflow::audit
