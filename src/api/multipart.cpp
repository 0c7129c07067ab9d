#include "api/multipart.h"

#include <cctype>
#include <random>

namespace radflow::api {

namespace {
std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}
std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
constexpr size_t kMaxHeaderBlock = 16 * 1024;
}  // namespace

std::map<std::string, std::string> ParseMediaType(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  bool first = true;
  while (i <= header.size()) {
    // Split on ';' outside quotes.
    size_t j = i;
    bool quoted = false;
    while (j < header.size() && (quoted || header[j] != ';')) {
      if (header[j] == '"') quoted = !quoted;
      ++j;
    }
    std::string item = Trim(header.substr(i, j - i));
    if (first) {
      out[""] = Lower(item);
      first = false;
    } else if (!item.empty()) {
      auto eq = item.find('=');
      std::string name = Lower(Trim(item.substr(0, eq)));
      std::string value = eq == std::string::npos ? "" : Trim(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out[name] = value;
    }
    i = j + 1;
  }
  return out;
}

MultipartParser::MultipartParser(const std::string& boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + boundary), cb_(std::move(callbacks)) {
  // The first delimiter may start the body without a preceding CRLF.
  buffer_ = "\r\n";
}

Status MultipartParser::Feed(std::string_view data) {
  buffer_.append(data);
  return Process(false);
}

Status MultipartParser::Finish() {
  RADFLOW_RETURN_IF_ERROR(Process(true));
  if (state_ != State::kEpilogue) {
    return {ErrorCode::kInvalidArgument,
            state_ == State::kPreamble ? "multipart body has no boundary delimiter"
                                       : "multipart body ends before its close delimiter"};
  }
  return Status::Ok();
}

Status MultipartParser::Process(bool at_end) {
  for (;;) {
    switch (state_) {
      case State::kPreamble: {
        auto pos = buffer_.find(delimiter_);
        if (pos == std::string::npos) {
          // Keep only what could still be the start of a delimiter.
          if (buffer_.size() > delimiter_.size()) buffer_.erase(0, buffer_.size() - delimiter_.size());
          return Status::Ok();
        }
        buffer_.erase(0, pos + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        // "--" closes; otherwise optional transport padding, then CRLF (RFC 2046 5.1.1).
        if (buffer_.size() < 2) return Status::Ok();
        if (buffer_.compare(0, 2, "--") == 0) {
          state_ = State::kEpilogue;
          buffer_.clear();
          return Status::Ok();
        }
        auto crlf = buffer_.find("\r\n");
        if (crlf == std::string::npos) {
          if (buffer_.size() > 256) return {ErrorCode::kInvalidArgument, "malformed multipart delimiter line"};
          return Status::Ok();
        }
        for (size_t k = 0; k < crlf; ++k) {
          if (buffer_[k] != ' ' && buffer_[k] != '\t') {
            return {ErrorCode::kInvalidArgument, "malformed multipart delimiter line"};
          }
        }
        buffer_.erase(0, crlf + 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        std::map<std::string, std::string> headers;
        size_t end;
        if (buffer_.compare(0, 2, "\r\n") == 0) {
          end = 0;  // no headers
        } else {
          auto p = buffer_.find("\r\n\r\n");
          if (p == std::string::npos) {
            if (buffer_.size() > kMaxHeaderBlock) return {ErrorCode::kInvalidArgument, "multipart part headers too long"};
            return Status::Ok();
          }
          end = p + 2;
          size_t line_start = 0;
          while (line_start < end) {
            size_t line_end = buffer_.find("\r\n", line_start);
            std::string line = buffer_.substr(line_start, line_end - line_start);
            auto colon = line.find(':');
            if (colon == std::string::npos) return {ErrorCode::kInvalidArgument, "malformed multipart part header: " + line.substr(0, 80)};
            headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
            line_start = line_end + 2;
          }
        }
        buffer_.erase(0, end + 2);
        ++parts_;
        if (cb_.part_begin) RADFLOW_RETURN_IF_ERROR(cb_.part_begin(headers));
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        auto pos = buffer_.find(delimiter_);
        if (pos == std::string::npos) {
          // Hand over everything that cannot be part of a delimiter split across pieces.
          if (buffer_.size() > delimiter_.size()) {
            size_t n = buffer_.size() - delimiter_.size();
            if (cb_.part_data) RADFLOW_RETURN_IF_ERROR(cb_.part_data(std::string_view(buffer_).substr(0, n)));
            buffer_.erase(0, n);
          }
          (void)at_end;
          return Status::Ok();
        }
        if (pos > 0 && cb_.part_data) RADFLOW_RETURN_IF_ERROR(cb_.part_data(std::string_view(buffer_).substr(0, pos)));
        buffer_.erase(0, pos + delimiter_.size());
        if (cb_.part_end) RADFLOW_RETURN_IF_ERROR(cb_.part_end());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kEpilogue:
        buffer_.clear();
        return Status::Ok();
    }
  }
}

std::string PartHeader(const std::string& boundary, const std::string& content_type,
                       std::optional<size_t> content_length, const std::string& content_location) {
  std::string h = "--" + boundary + "\r\nContent-Type: " + content_type + "\r\n";
  if (content_length) h += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  if (!content_location.empty()) h += "Content-Location: " + content_location + "\r\n";
  return h + "\r\n";
}

std::string CloseDelimiter(const std::string& boundary) { return "--" + boundary + "--\r\n"; }

std::string NewBoundary() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "radflow-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace radflow::api
