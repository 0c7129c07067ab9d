// The S3 client's configuration pieces: credentials (environment, shared credentials
// file), s3:// URLs, and the mapping of S3 error codes to Status codes.
#include <cstdlib>
#include <fstream>

#include "objstore/s3_client.h"

namespace radflow::objstore {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// ---- credentials -------------------------------------------------------------------------

Result<S3Credentials> S3Credentials::FromFile(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kNotFound, "no credentials file " + path);
  S3Credentials c;
  std::string line, section;
  bool found = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = Lower(Trim(line.substr(0, eq))), v = Trim(line.substr(eq + 1));
    found = true;
    if (k == "aws_access_key_id") c.access_key = v;
    else if (k == "aws_secret_access_key") c.secret_key = v;
    else if (k == "aws_session_token") c.session_token = v;
  }
  if (!found || c.access_key.empty() || c.secret_key.empty()) {
    return Status(ErrorCode::kNotFound, "no aws_access_key_id/aws_secret_access_key in profile [" + profile +
                                            "] of " + path);
  }
  return c;
}

Result<S3Credentials> S3Credentials::FromEnvironment() {
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id && *id && secret && *secret) {
    S3Credentials c{id, secret, ""};
    if (const char* token = std::getenv("AWS_SESSION_TOKEN")) c.session_token = token;
    return c;
  }
  std::string file;
  if (const char* f = std::getenv("AWS_SHARED_CREDENTIALS_FILE"); f && *f) file = f;
  else if (const char* home = std::getenv("HOME"); home && *home) file = std::string(home) + "/.aws/credentials";
  const char* profile = std::getenv("AWS_PROFILE");
  auto from_file = FromFile(file, profile && *profile ? profile : "default");
  if (from_file.ok()) return from_file;
  return Status(ErrorCode::kNotFound, "no S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and " +
                                          from_file.status().message());
}

Result<std::pair<std::string, std::string>> ParseS3Url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) return Status(ErrorCode::kInvalidArgument, "not an s3:// URL: " + url);
  std::string rest = url.substr(5);
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (bucket.empty()) return Status(ErrorCode::kInvalidArgument, "no bucket in " + url);
  return std::make_pair(bucket, prefix);
}

ErrorCode ErrorCodeFor(const std::string& code, long http) {
  if (code == "NoSuchKey" || code == "NoSuchBucket" || code == "NoSuchUpload" || code == "NotFound") {
    return ErrorCode::kNotFound;
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem") {
    return ErrorCode::kPermissionDenied;
  }
  if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "ExpiredToken" ||
      code == "InvalidToken" || code == "TokenRefreshRequired" || code == "RequestTimeTooSkewed" ||
      code == "AuthorizationHeaderMalformed") {
    return ErrorCode::kUnauthenticated;
  }
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "InternalError" || code == "RequestTimeout" ||
      http >= 500 || http == 429) {
    return ErrorCode::kUnavailable;
  }
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "IncompleteBody") {
    return ErrorCode::kIoError;  // the bytes were damaged on the way
  }
  if (code.empty()) {
    if (http == 404) return ErrorCode::kNotFound;
    if (http == 403) return ErrorCode::kPermissionDenied;
    if (http == 401) return ErrorCode::kUnauthenticated;
  }
  if (http >= 400 && http < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kIoError;
}

}  // namespace radflow::objstore
