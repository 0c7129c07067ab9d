#include "objstore/sigv4.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "crypto/crypto.h"

namespace radflow::objstore {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trim(): leading and trailing spaces go, and runs of spaces become one (the SigV4
// canonical header rule; get-header-value-trim tests it, quotes included).
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const KeyValues& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SignedRequest SignV4(const SigningRequest& request, const SigningParams& params) {
  // Canonical headers: lower-case names, sorted; repeated names joined with ',' in order.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string& slot = headers[Lower(name)];
    if (!slot.empty()) slot += ',';
    slot += TrimValue(value);
  }
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  SignedRequest out;
  out.signed_headers = signed_headers;
  out.canonical_request = request.method + "\n" + (request.canonical_uri.empty() ? "/" : request.canonical_uri) +
                          "\n" + CanonicalQueryString(request.query) + "\n" + canonical_headers + "\n" +
                          signed_headers + "\n" + request.payload_hash;
  const std::string date = params.amz_date.substr(0, 8);
  const std::string scope = date + "/" + params.region + "/" + params.service + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + params.amz_date + "\n" + scope + "\n" +
                       crypto::Sha256Hex(out.canonical_request);
  // kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
  auto k = crypto::HmacSha256("AWS4" + params.secret_key, date);
  k = crypto::HmacSha256(crypto::AsBytes(k), params.region);
  k = crypto::HmacSha256(crypto::AsBytes(k), params.service);
  k = crypto::HmacSha256(crypto::AsBytes(k), "aws4_request");
  out.signature = crypto::Hex(crypto::HmacSha256(crypto::AsBytes(k), out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + params.access_key + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature;
  return out;
}

}  // namespace radflow::objstore
