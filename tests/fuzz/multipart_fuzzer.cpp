// libFuzzer target over the STOW-RS multipart parser (api::MultipartParser): untrusted
// request bodies, fed in pieces of varying size, must give a Status, never a crash; the
// parts seen must not depend on how the body was split.
#include <cstdint>
#include <string>
#include <vector>

#include "api/multipart.h"

namespace {
std::vector<std::string> Parse(const std::string& body, size_t piece, bool* ok) {
  std::vector<std::string> parts;
  radflow::api::MultipartParser::Callbacks cb;
  cb.part_begin = [&](const std::map<std::string, std::string>&) {
    parts.emplace_back();
    return radflow::Status::Ok();
  };
  cb.part_data = [&](std::string_view d) {
    parts.back().append(d);
    return radflow::Status::Ok();
  };
  cb.part_end = [] { return radflow::Status::Ok(); };
  radflow::api::MultipartParser p("bnd", std::move(cb));
  *ok = true;
  for (size_t i = 0; i < body.size() && *ok; i += piece) *ok = p.Feed(std::string_view(body).substr(i, piece)).ok();
  if (*ok) *ok = p.Finish().ok();
  return parts;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 17;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool ok_whole = false, ok_pieces = false;
  auto whole = Parse(body, body.size() + 1, &ok_whole);
  auto pieces = Parse(body, piece, &ok_pieces);
  if (ok_whole != ok_pieces || (ok_whole && whole != pieces)) __builtin_trap();
  return 0;
}
