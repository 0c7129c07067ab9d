#include "audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "audit/audit_trail.h"
#include "crypto/crypto.h"

namespace radflow::audit {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsHash(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

}  // namespace

std::string ChainHash(std::string_view prev_hex, std::string_view record) {
  unsigned char prev[32] = {};
  if (IsHash(prev_hex)) {
    for (size_t i = 0; i < 32; ++i) {
      prev[i] = static_cast<unsigned char>(HexValue(prev_hex[2 * i]) * 16 + HexValue(prev_hex[2 * i + 1]));
    }
  }
  crypto::Sha256Hasher hash;
  hash.Update(std::string_view(reinterpret_cast<const char*>(prev), sizeof prev));
  hash.Update(record);
  return crypto::Hex(hash.Final());
}

std::string FormatLine(LogRecord& r) {
  nlohmann::ordered_json j;
  const AuditEvent& e = r.event;
  j["seq"] = r.seq;
  j["at"] = FormatTime(e.at_ms);
  j["at_ms"] = e.at_ms;
  j["prev"] = r.prev;
  j["event"] = e.event;
  j["event_id"] = r.event_id;
  j["action"] = r.action;
  j["outcome"] = r.outcome;
  j["success"] = e.success;
  j["failure_reason"] = e.failure_reason;
  j["user"] = e.user;
  j["role"] = e.role;
  j["source"] = e.source;
  j["patient_id"] = e.patient_id;
  j["patient_name"] = e.patient_name;
  j["study_uid"] = e.study_uid;
  j["detail"] = e.detail;
  j["interface"] = e.interface;
  j["xml"] = r.xml;
  // Invalid UTF-8 is replaced (the fields are cleaned before; this is the last guard).
  const std::string record = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.hash = ChainHash(r.prev, record);
  return r.hash + " " + record + "\n";
}

Result<LogRecord> ParseLine(std::string_view line) {
  if (line.size() < 66 || line[64] != ' ' || !IsHash(line.substr(0, 64))) {
    return {ErrorCode::kInvalidArgument, "not a record: it does not start with a hash"};
  }
  auto j = nlohmann::json::parse(line.substr(65), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return {ErrorCode::kInvalidArgument, "not a record: its JSON does not parse"};
  }
  LogRecord r;
  try {
    r.hash = std::string(line.substr(0, 64));
    r.seq = j.at("seq").get<int64_t>();
    r.prev = j.at("prev").get<std::string>();
    AuditEvent& e = r.event;
    e.at_ms = j.at("at_ms").get<int64_t>();
    e.event = j.at("event").get<std::string>();
    r.event_id = j.at("event_id").get<std::string>();
    r.action = j.at("action").get<std::string>();
    r.outcome = j.at("outcome").get<int>();
    e.success = j.at("success").get<bool>();
    e.failure_reason = j.at("failure_reason").get<std::string>();
    e.user = j.at("user").get<std::string>();
    e.role = j.at("role").get<std::string>();
    e.source = j.at("source").get<std::string>();
    e.patient_id = j.at("patient_id").get<std::string>();
    e.patient_name = j.at("patient_name").get<std::string>();
    e.study_uid = j.at("study_uid").get<std::string>();
    e.detail = j.at("detail").get<std::string>();
    e.interface = j.at("interface").get<std::string>();
    r.xml = j.at("xml").get<std::string>();
  } catch (const std::exception& ex) {
    return {ErrorCode::kInvalidArgument, std::string("not a record: ") + ex.what()};
  }
  return r;
}

bool HashMatches(std::string_view line, std::string_view prev_hex) {
  if (line.size() < 66 || line[64] != ' ') return false;
  return ChainHash(prev_hex, line.substr(65)) == line.substr(0, 64);
}

storage::AuditRow ToRow(const LogRecord& r, int64_t offset, int64_t length) {
  storage::AuditRow row;
  const AuditEvent& e = r.event;
  row.seq = r.seq;
  row.at = e.at_ms;
  row.event = e.event;
  row.event_id = r.event_id;
  row.action = r.action;
  row.outcome = r.outcome;
  row.user = e.user;
  row.role = e.role;
  row.source = e.source;
  row.patient_id = e.patient_id;
  row.patient_name = e.patient_name;
  row.study_uid = e.study_uid;
  row.detail = e.detail;
  row.interface = e.interface;
  row.failure_reason = e.failure_reason;
  row.hash = r.hash;
  row.offset = offset;
  row.length = length;
  return row;
}

Status ForEachLine(const std::string& path, int64_t offset,
                   const std::function<bool(std::string_view, int64_t, bool)>& fn) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {ErrorCode::kIoError, "cannot read " + path};
  std::string buf;
  int64_t buf_offset = offset;  // file offset of buf[0]
  std::string chunk(1 << 16, '\0');
  int64_t pos = offset;
  for (;;) {
    const ssize_t n = ::pread(fd, chunk.data(), chunk.size(), pos);
    if (n < 0) {
      ::close(fd);
      return {ErrorCode::kIoError, "cannot read " + path};
    }
    if (n == 0) break;
    pos += n;
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (;;) {
      const size_t nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      if (!fn(std::string_view(buf).substr(start, nl - start), buf_offset + static_cast<int64_t>(start), false)) {
        ::close(fd);
        return Status::Ok();
      }
      start = nl + 1;
    }
    buf.erase(0, start);
    buf_offset += static_cast<int64_t>(start);
  }
  ::close(fd);
  if (!buf.empty()) fn(buf, buf_offset, true);
  return Status::Ok();
}

}  // namespace radflow::audit
