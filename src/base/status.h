// Status and Result<T>: expected failures travel as values, never as exceptions
// across a module boundary (LevelDB's Status, DuckDB's error policy).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace radflow {

// One table maps each code to its HTTP status and DIMSE status (see status.cpp).
enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,   // malformed request or parameter
  kInvalidDicom,      // bytes are not a readable DICOM object
  kMissingAttribute,  // a Type 1 attribute the hub needs is absent
  kUnsupported,       // SOP class / transfer syntax / feature not supported
  kNotFound,
  kConflict,          // different object with an existing SOP Instance UID
  kIoError,
  kDatabaseError,
  kUnavailable,       // peer unreachable, shutting down
  kCancelled,
  kInternal,
  kUnauthenticated,   // no or bad credentials (HTTP 401)
  kPermissionDenied,  // authenticated, not allowed (HTTP 403; DIMSE 0x0124 Refused: not authorized)
};

struct ErrorInfo {
  int http_status;
  uint16_t dimse_status;  // for C-STORE responses (PS3.4 B.2.3)
  std::string_view name;
};

const ErrorInfo& Describe(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  int http_status() const { return Describe(code_).http_status; }
  uint16_t dimse_status() const { return Describe(code_).dimse_status; }
  // "InvalidDicom: truncated file" — for logs and CLI output.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  Result(ErrorCode code, std::string message) : v_(Status(code, std::move(message))) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define RADFLOW_RETURN_IF_ERROR(expr)      \
  do {                                     \
    ::radflow::Status _st = (expr);        \
    if (!_st.ok()) return _st;             \
  } while (0)

}  // namespace radflow
