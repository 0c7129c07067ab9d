// gzip for response bodies (RFC 1952), through zlib.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace radflow::http {

std::optional<std::string> Gzip(std::string_view data);

}  // namespace radflow::http
