#include "storage/sql_dialect.h"

namespace radflow::storage {

std::string SqlGroupConcat(Backend b, const std::string& expr, const std::string& sep_literal) {
  return b == Backend::kSqlite ? "group_concat(" + expr + ", " + sep_literal + ")"
                               : "string_agg(" + expr + ", " + sep_literal + ")";
}

std::string SqlWildcard(Backend b, const std::string& column) {
  return b == Backend::kSqlite ? column + " GLOB ?" : column + " LIKE ? ESCAPE '\\'";
}

std::string WildcardPattern(Backend b, const std::string& v) {
  if (b == Backend::kPostgres) return LikePattern(v);
  std::string out;  // GLOB: '*' and '?' mean what DICOM means; a literal '[' is "[[]"
  for (char c : v) {
    if (c == '[') out += "[[]";
    else out += c;
  }
  return out;
}

std::string SqlWildcardNoCase(Backend b, const std::string& column) {
  return SqlLikeNoCase(b, column, '\\');
}

std::string LikePattern(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '*') out += '%';
    else if (c == '?') out += '_';
    else if (c == '%' || c == '_' || c == '\\') { out += '\\'; out += c; }
    else out += c;
  }
  return out;
}

std::string SqlEqualsNoCase(Backend b, const std::string& column) {
  return b == Backend::kSqlite ? column + " = ? COLLATE NOCASE" : "lower(" + column + ") = lower(?)";
}

std::string SqlJsonNumber(Backend b, const std::string& column, const std::string& dotted_path) {
  if (b == Backend::kSqlite) return "json_extract(" + column + ", '$." + dotted_path + "')";
  std::string keys;
  for (char c : dotted_path) keys += c == '.' ? ',' : c;
  return "(" + column + "::jsonb #>> '{" + keys + "}')::float8";
}

std::string SqlLimitOffset(Backend b, int64_t limit, int64_t offset) {
  std::string out;
  if (limit > 0) out = " LIMIT " + std::to_string(limit);
  else if (offset > 0 && b == Backend::kSqlite) out = " LIMIT -1";
  if (offset > 0) out += " OFFSET " + std::to_string(offset);
  return out;
}

std::string SqlGreatest(Backend b, const std::string& x, const std::string& y) {
  return (b == Backend::kSqlite ? "max(" : "GREATEST(") + x + ", " + y + ")";
}

std::string SqlLeast(Backend b, const std::string& x, const std::string& y) {
  return (b == Backend::kSqlite ? "min(" : "LEAST(") + x + ", " + y + ")";
}

std::string SqlLikeNoCase(Backend b, const std::string& expr, char escape) {
  return expr + (b == Backend::kSqlite ? " LIKE" : " ILIKE") + " ? ESCAPE '" + std::string(1, escape) + "'";
}

std::string SqlCastInteger(Backend b, const std::string& column) {
  if (b == Backend::kSqlite) return "CAST(" + column + " AS INTEGER)";
  return "COALESCE(CAST(substring(" + column + " from '^[[:space:]]*([-+]?[0-9]{1,18})') AS BIGINT), 0)";
}

std::string SqlBytewise(Backend b, const std::string& expr) {
  return b == Backend::kSqlite ? expr : expr + " COLLATE \"C\"";
}

}  // namespace radflow::storage
