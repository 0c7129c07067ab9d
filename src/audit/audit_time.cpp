// Times in the audit trail: xsd:dateTime in UTC with milliseconds (PS3.15 A.5.1
// EventDateTime; RFC 5424 TIMESTAMP), and the forms the search accepts.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "audit/audit_trail.h"

namespace radflow::audit {

namespace {

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

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

std::string FormatTime(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

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
