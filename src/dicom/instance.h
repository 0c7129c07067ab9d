// Parsing and validating one Part-10 instance: the first step of every ingest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "dicom/tag.h"

namespace radflow::dicom {

// The top-level, short, textual attributes of an instance (values in UTF-8, multiple
// values joined by '\'), enough for the index and for matching. Not the full object:
// the stored Part-10 file stays the source of truth.
class AttributeMap {
 public:
  void Set(Tag tag, std::string value) { values_[tag] = std::move(value); }
  bool Has(Tag tag) const { return values_.count(tag) != 0; }
  // Empty string when absent.
  const std::string& Get(Tag tag) const;
  const std::map<Tag, std::string>& values() const { return values_; }

 private:
  std::map<Tag, std::string> values_;
};

struct ParsedInstance {
  AttributeMap attributes;
  std::string transfer_syntax_uid;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
};

// Reads and validates a Part-10 file (PS3.10 7.1: preamble, "DICM", File Meta
// Information). Fails with kInvalidDicom naming the reason (no File Meta, truncated,
// unreadable element) or kMissingAttribute (a UID the hub keys on is absent or invalid).
// Large values (pixel data) are skipped, not loaded.
Result<ParsedInstance> ParsePart10File(const std::string& path);

// PS3.5 9.1, leniently: 1-64 characters, digits and dots only.
bool IsValidUid(std::string_view uid);

}  // namespace radflow::dicom
