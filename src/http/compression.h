// gzip for response bodies (RFC 1952), through zlib.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace radflow::http {

std::optional<std::string> Gzip(std::string_view data);

// Text-like media types that gzip shrinks (JSON, DICOM JSON, text, JavaScript, SVG,
// web manifests); not images or DICOM, which are compressed already or binary.
bool IsCompressible(std::string_view content_type);

}  // namespace radflow::http
