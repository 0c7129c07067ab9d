// DICOM attribute matching (PS3.4 C.2.2.2): turns the values of matching keys, as C-FIND
// identifiers and QIDO-RS query parameters carry them, into index constraints.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/model.h"

namespace radflow::storage {
class Index;
}

namespace radflow::query {

// nullopt: universal matching (empty value or "*", C.2.2.2.3), no constraint.
// kSingleValue, kWildcard ('*'/'?', C.2.2.2.4), kRange (dates and times "A-B", "-B", "A-",
// C.2.2.2.5) or kUidList (values separated by '\', C.2.2.2.2 and list matching).
// Fails with kInvalidArgument for a malformed range.
Result<std::optional<storage::Constraint>> ParseMatchingKey(dicom::Tag tag,
                                                            const std::string& value);

// A query at `level` from (tag, value) matching keys. Keys the index does not hold are
// ignored for matching (PS3.4 C.2.2.1.2 allows the SCP to return them empty).
Result<storage::Query> BuildQuery(storage::ResourceLevel level,
                                  const std::vector<std::pair<dicom::Tag, std::string>>& keys);

// The instances of one series, its UID taken literally — never as a matching key, which
// ("", "*", a '\\' list) would select other series. kInvalidArgument for a value that is not
// a UID, kNotFound for a series without instances.
Result<std::vector<storage::InstanceLocation>> LocateSeries(storage::Index& index,
                                                           const std::string& series_uid);

}  // namespace radflow::query
