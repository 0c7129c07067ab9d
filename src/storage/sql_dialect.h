// Where SQLite and PostgreSQL spell one thing differently (docs/postgresql.md "Portable
// SQL"): the stores write everything else once. Internal to the storage module.
#pragma once

#include <cstdint>
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

// " LIMIT <limit> OFFSET <offset>" for a query's tail; `limit` <= 0 means no limit (SQLite
// then needs LIMIT -1 before an OFFSET, which PostgreSQL refuses: it writes OFFSET alone).
// "" when neither applies.
std::string SqlLimitOffset(Backend b, int64_t limit, int64_t offset);

// The larger / smaller of two expressions (a scalar, not the aggregate): SQLite's two-argument
// max(a, b) / PostgreSQL's GREATEST(a, b). Neither argument may be NULL (the two disagree there).
std::string SqlGreatest(Backend b, const std::string& x, const std::string& y);
std::string SqlLeast(Backend b, const std::string& x, const std::string& y);

// `expr LIKE ? ESCAPE '<escape>'` without regard to ASCII case, for a LIKE pattern the caller
// escaped itself: SQLite's LIKE (ASCII case-insensitive) / PostgreSQL's ILIKE.
std::string SqlLikeNoCase(Backend b, const std::string& expr, char escape);

// A text column as an integer the way SQLite's CAST(col AS INTEGER) reads it: the leading
// integer after optional blanks, 0 when there is none ('' and 'abc' give 0, '12a' 12).
// PostgreSQL's CAST refuses such text, so it takes the digits with a regular expression.
std::string SqlCastInteger(Backend b, const std::string& column);

// `expr` compared and sorted byte by byte (as SQLite's default BINARY collation does): on
// PostgreSQL `expr COLLATE "C"`, since a database's linguistic collation (en_US…) ignores
// punctuation at first and so breaks prefix ranges such as [ 'doe', 'dof' ).
std::string SqlBytewise(Backend b, const std::string& expr);

}  // namespace radflow::storage
