// What the index stores and answers: resource levels, the indexed attributes and their
// columns, matching constraints and result rows. Plain types, no SQL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dicom/instance.h"
#include "dicom/tag.h"

namespace radflow::storage {

// PS3.4 C.6: the Query/Retrieve information model levels.
enum class ResourceLevel { kPatient = 0, kStudy = 1, kSeries = 2, kInstance = 3 };
const char* LevelName(ResourceLevel level);  // "PATIENT", "STUDY", "SERIES", "IMAGE"
std::optional<ResourceLevel> ParseLevel(std::string_view dicom_name);

// How values of an attribute are compared (PS3.4 C.2.2.2 depends on the VR).
enum class ValueKind { kText, kPersonName, kUid, kDate, kTime, kNumber, kComputed };

struct IndexedAttribute {
  dicom::Tag tag;
  ResourceLevel level;
  const char* column;  // qualified column: "p.patient_name"
  ValueKind kind;
};
// Every attribute the index can match on and return.
std::span<const IndexedAttribute> IndexedAttributes();
const IndexedAttribute* FindIndexedAttribute(dicom::Tag tag);

// One matching condition on one attribute (PS3.4 C.2.2.2).
struct Constraint {
  enum class Type { kSingleValue, kWildcard, kRange, kUidList };
  dicom::Tag tag = 0;
  Type type = Type::kSingleValue;
  std::string value;        // single value, or wildcard pattern with '*' and '?'
  std::string range_lower;  // kRange: '' means open
  std::string range_upper;
  std::vector<std::string> uids;  // kUidList
  // PN only (QIDO-RS fuzzymatching, PS3.18 8.3.4.1): every word of `value` is a case- and
  // accent-insensitive prefix of some component of the name.
  bool fuzzy = false;
};

struct Query {
  ResourceLevel level = ResourceLevel::kStudy;
  std::vector<Constraint> constraints;
  size_t limit = 0;  // 0: no limit
  size_t offset = 0;
};

// Where an instance's file is and what it is.
struct InstanceLocation {
  std::string study_uid;
  std::string series_uid;
  std::string sop_uid;
  std::string sop_class_uid;
  std::string transfer_syntax_uid;
  std::string blob_path;  // relative to the blob root
  uint64_t blob_size = 0;
  // Compression at rest (docs/compression.md): the syntax the instance arrived in when the
  // compactor re-encoded it; '' or equal to transfer_syntax_uid: stored as it arrived.
  std::string original_transfer_syntax_uid;
  bool CompressedAtRest() const {
    return !original_transfer_syntax_uid.empty() && original_transfer_syntax_uid != transfer_syntax_uid;
  }
};

// One matched resource: every indexed attribute of its level and the levels above.
struct Row {
  std::map<dicom::Tag, std::string> values;
  InstanceLocation location;  // filled at instance level only
};

// What ingest hands to the index for one new instance.
struct InstanceEntry {
  dicom::ParsedInstance instance;
  std::string blob_path;
  uint64_t blob_size = 0;
  // What the IOD's mandatory modules lack (dicom::CheckConformance); stored, never refused.
  std::vector<std::string> conformance_problems;
};

// One instance's conformance report (GET /api/v1/studies/{uid}/conformance).
struct InstanceConformance {
  std::string series_uid;
  std::string sop_uid;
  std::string sop_class_uid;
  std::vector<std::string> problems;
};

struct IndexStats {
  int64_t patients = 0, studies = 0, series = 0, instances = 0, bytes = 0;
};

}  // namespace radflow::storage
