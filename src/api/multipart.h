// multipart/related (RFC 2387, RFC 2046 5.1) for DICOMweb: a streaming parser for request
// bodies (STOW-RS) and helpers to write response parts (WADO-RS).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace radflow::api {

// Media type parameters: `multipart/related; type="application/dicom"; boundary=xyz`
// → {"", "multipart/related"}, {"type", "application/dicom"}, {"boundary", "xyz"}
// (names lower-cased, quotes removed; the media type itself under "").
std::map<std::string, std::string> ParseMediaType(std::string_view header);

class MultipartParser {
 public:
  struct Callbacks {
    std::function<Status(const std::map<std::string, std::string>& headers)> part_begin;
    std::function<Status(std::string_view data)> part_data;
    std::function<Status()> part_end;
  };
  MultipartParser(const std::string& boundary, Callbacks callbacks);

  // Feeds the next piece of the body. Memory stays bounded by the piece size plus the
  // delimiter length, whatever the size of the parts.
  Status Feed(std::string_view data);
  // The body ended: fails unless the close delimiter was seen.
  Status Finish();
  int parts() const { return parts_; }

 private:
  Status Process(bool at_end);
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  std::string delimiter_;  // "\r\n--" + boundary
  Callbacks cb_;
  State state_ = State::kPreamble;
  std::string buffer_;
  int parts_ = 0;
};

// The header block of one response part.
std::string PartHeader(const std::string& boundary, const std::string& content_type,
                       std::optional<size_t> content_length = std::nullopt,
                       const std::string& content_location = "");
std::string CloseDelimiter(const std::string& boundary);
std::string NewBoundary();

}  // namespace radflow::api
