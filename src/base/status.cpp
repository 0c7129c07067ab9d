#include "base/status.h"

namespace radflow {

namespace {
// DIMSE statuses: PS3.4 B.2.3 (Storage) and PS3.7 C. 0xA700 "Refused: out of resources",
// 0xA900 "Error: data set does not match SOP class", 0xC000 "Error: cannot understand".
constexpr ErrorInfo kTable[] = {
    {200, 0x0000, "Ok"},
    {400, 0xC000, "InvalidArgument"},
    {400, 0xC000, "InvalidDicom"},
    {400, 0xA900, "MissingAttribute"},
    {415, 0xA900, "Unsupported"},
    {404, 0xC000, "NotFound"},
    {409, 0xA900, "Conflict"},
    {500, 0xA700, "IoError"},
    {500, 0xA700, "DatabaseError"},
    {503, 0xA700, "Unavailable"},
    {499, 0xFE00, "Cancelled"},
    {500, 0xC000, "Internal"},
    {401, 0x0124, "Unauthenticated"},
    {403, 0x0124, "PermissionDenied"},
};
}  // namespace

const ErrorInfo& Describe(ErrorCode code) {
  auto i = static_cast<size_t>(code);
  if (i >= sizeof(kTable) / sizeof(kTable[0])) i = static_cast<size_t>(ErrorCode::kInternal);
  return kTable[i];
}

std::string Status::ToString() const {
  if (ok()) return "Ok";
  return std::string(Describe(code_).name) + ": " + message_;
}

}  // namespace radflow
