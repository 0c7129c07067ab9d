// AWS Signature Version 4 (header authentication), as S3 and S3-compatible servers check it:
// the canonical request, the string to sign, the derived signing key and the Authorization
// header. Pure functions over strings, so that they are tested against AWS's published
// vectors (tests/unit/objstore/sigv4_test.cpp) without a network.
// Reference: AWS "Create a signed AWS API request" (Signature Version 4) and the S3 API's
// "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)".
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace radflow::objstore {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct SigningRequest {
  std::string method;          // GET, PUT, POST, DELETE, HEAD
  std::string canonical_uri;   // the path as sent, already URI-encoded (S3: encoded once)
  KeyValues query;             // raw (not encoded) names and values
  KeyValues headers;           // every header to sign (host and x-amz-date included)
  std::string payload_hash;    // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigningParams {
  std::string access_key, secret_key;
  std::string region = "us-east-1";
  std::string service = "s3";
  std::string amz_date;  // "YYYYMMDDTHHMMSSZ" (UTC); its first 8 characters are the scope date
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lower-case hex
  std::string signed_headers; // "host;x-amz-date"
  std::string authorization;  // the Authorization header's value
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, every other byte
// is %XX (upper-case hex); '/' stays when !encode_slash (paths), is %2F otherwise (query).
std::string UriEncode(std::string_view s, bool encode_slash);
// Names and values encoded, sorted by encoded name then value, joined by '&'.
std::string CanonicalQueryString(const KeyValues& query);
// "YYYYMMDDTHHMMSSZ" for a time point.
std::string AmzDate(std::chrono::system_clock::time_point t);

SignedRequest SignV4(const SigningRequest& request, const SigningParams& params);

// Hex SHA-256 of the empty string (a body-less request's payload hash).
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace radflow::objstore
