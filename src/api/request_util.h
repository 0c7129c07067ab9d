// Small request helpers shared by the REST and DICOMweb handlers (internal to the api module).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http/http_server.h"

namespace radflow::api {

// A query parameter's value, "" when absent.
inline std::string Param(const http::Request& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

// The whole of `s` as a decimal integer.
template <typename Int>
bool ParseInt(const std::string& s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

inline http::Response BadRequest(const std::string& message) {
  return http::Response::Error(Status(ErrorCode::kInvalidArgument, message));
}

// "/api/v1/jobs/12/rerun" with prefix "/api/v1/jobs/" → {"12", "rerun"}.
inline std::pair<std::string, std::string> Split(const std::string& path, size_t prefix) {
  std::string rest = path.substr(prefix);
  auto slash = rest.find('/');
  if (slash == std::string::npos) return {rest, ""};
  return {rest.substr(0, slash), rest.substr(slash + 1)};
}

// "a,b,,c" → {"a", "b", "c"}.
inline std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace radflow::api
