// Where SQLite and PostgreSQL spell one thing differently (docs/postgresql.md "Portable
// SQL"): the stores write everything else once. Internal to the storage module.
#pragma once

#include <string>

#include "storage/db.h"

namespace radflow::storage {

// group_concat(expr, sep) / string_agg(expr, sep); `sep_literal` is a quoted SQL literal.
std::string SqlGroupConcat(Backend b, const std::string& expr, const std::string& sep_literal);

// DICOM wildcard matching (PS3.4 C.2.2.2.4: '*' any sequence, '?' one character),
// case-sensitive, of `column` against one bound parameter: SQLite `column GLOB ?`,
// PostgreSQL `column LIKE ? ESCAPE '\'`. Bind WildcardPattern(b, value).
std::string SqlWildcard(Backend b, const std::string& column);
std::string WildcardPattern(Backend b, const std::string& dicom_value);

// The same match without regard to ASCII case (person names): `column LIKE ? ESCAPE '\'`
// (SQLite's LIKE ignores ASCII case) / `column ILIKE ? ESCAPE '\'`. Bind LikePattern(value).
std::string SqlWildcardNoCase(Backend b, const std::string& column);
// A DICOM wildcard value as a LIKE pattern ('%', '_' and '\' escaped with '\').
std::string LikePattern(const std::string& dicom_value);

// Equality of a column and one bound parameter without regard to ASCII case:
// `column = ? COLLATE NOCASE` / `lower(column) = lower(?)`.
std::string SqlEqualsNoCase(Backend b, const std::string& column);

// A number inside a JSON text column at a path of object keys ("timings.app_ms"):
// json_extract(column, '$.timings.app_ms') / (column::jsonb #>> '{timings,app_ms}')::float8.
std::string SqlJsonNumber(Backend b, const std::string& column, const std::string& dotted_path);

}  // namespace radflow::storage
