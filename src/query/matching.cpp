#include "query/matching.h"

#include <algorithm>

#include "dicom/instance.h"
#include "dicom/tag.h"
#include "storage/index.h"

namespace radflow::query {

using storage::Constraint;
using storage::ValueKind;

namespace {

std::string Trim(const std::string& v) {
  size_t b = 0, e = v.size();
  while (b < e && v[b] == ' ') ++b;
  while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\0')) --e;
  return v.substr(b, e - b);
}

std::vector<std::string> Split(const std::string& v, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == sep) {
      out.push_back(Trim(v.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

bool IsDigitsOrDot(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

Result<std::optional<Constraint>> ParseMatchingKey(dicom::Tag tag, const std::string& raw) {
  const std::string value = Trim(raw);
  if (value.empty() || value == "*") return std::optional<Constraint>();

  const storage::IndexedAttribute* attr = storage::FindIndexedAttribute(tag);
  const ValueKind kind = attr ? attr->kind : ValueKind::kText;
  Constraint c;
  c.tag = tag;

  if (value.find('\\') != std::string::npos) {
    c.type = Constraint::Type::kUidList;
    for (auto& v : Split(value, '\\')) {
      if (!v.empty()) c.uids.push_back(v);
    }
    return std::optional<Constraint>(c);
  }
  if ((kind == ValueKind::kDate || kind == ValueKind::kTime) &&
      value.find('-') != std::string::npos) {
    auto parts = Split(value, '-');
    if (parts.size() != 2 || (parts[0].empty() && parts[1].empty()) ||
        !IsDigitsOrDot(parts[0]) || !IsDigitsOrDot(parts[1])) {
      return {ErrorCode::kInvalidArgument, "malformed range '" + value + "' for " +
                                               dicom::TagToString(tag) + " (PS3.4 C.2.2.2.5)"};
    }
    c.type = Constraint::Type::kRange;
    c.range_lower = parts[0];
    // An upper bound covers everything it is a prefix of: "1200" includes 12:00:59.
    // 0x7F sorts after every digit and '.'.
    c.range_upper = parts[1].empty() ? "" : parts[1] + "\x7f";
    if (!c.range_lower.empty() && !c.range_upper.empty() && c.range_lower > c.range_upper) {
      return {ErrorCode::kInvalidArgument, "range '" + value + "' has its bounds reversed"};
    }
    return std::optional<Constraint>(c);
  }
  if (kind != ValueKind::kUid && value.find_first_of("*?") != std::string::npos) {
    c.type = Constraint::Type::kWildcard;
    c.value = value;
    return std::optional<Constraint>(c);
  }
  c.type = Constraint::Type::kSingleValue;
  c.value = value;
  return std::optional<Constraint>(c);
}

Result<storage::Query> BuildQuery(storage::ResourceLevel level,
                                  const std::vector<std::pair<dicom::Tag, std::string>>& keys) {
  storage::Query q;
  q.level = level;
  for (const auto& [tag, value] : keys) {
    if (storage::FindIndexedAttribute(tag) == nullptr) continue;
    auto c = ParseMatchingKey(tag, value);
    if (!c.ok()) return c.status();
    if (c.value()) q.constraints.push_back(*c.value());
  }
  return q;
}

Result<std::vector<storage::InstanceLocation>> LocateSeries(storage::Index& index,
                                                           const std::string& series_uid) {
  if (!dicom::IsValidUid(series_uid)) {
    return Status(ErrorCode::kInvalidArgument, "not a UID: '" + series_uid + "'");
  }
  auto q = BuildQuery(storage::ResourceLevel::kInstance, {{dicom::tags::kSeriesInstanceUID, series_uid}});
  if (!q.ok()) return q.status();
  auto found = index.Locate(q.value());
  if (!found.ok()) return found.status();
  if (found->empty()) return Status(ErrorCode::kNotFound, "no series " + series_uid);
  return found;
}

}  // namespace radflow::query
