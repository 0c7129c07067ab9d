// Parsing and validating one Part-10 instance: the first step of every ingest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// One element as the IOD check (dicom/conformance.h) needs it: present, and whether its
// value is empty (zero length, or a sequence without items: PS3.5 7.4 "zero length").
struct ElementPresence {
  Tag tag = 0;
  bool empty = false;
};

// The elements of one dataset or sequence item, sorted by tag (PS3.5 7.1).
struct ItemPresence {
  std::vector<ElementPresence> elements;
  // nullptr when absent.
  const ElementPresence* Find(Tag tag) const;
};

// The structure the IOD check reads, recorded during ParsePart10File's walk so that
// ingest parses each object once: every top-level element, and the elements of each item
// of the few sequences whose items the check looks into (dicom::ConformanceChecksItemsOf).
struct DatasetPresence {
  ItemPresence top;
  // (sequence tag, its items), sorted by tag; only sequences with items.
  std::vector<std::pair<Tag, std::vector<ItemPresence>>> sequences;
  // Empty when the sequence is absent or has no items.
  const std::vector<ItemPresence>& ItemsOf(Tag sequence) const;
};

struct ParsedInstance {
  AttributeMap attributes;
  DatasetPresence presence;
  std::string transfer_syntax_uid;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  // Set when some indexed text did not decode from the object's SpecificCharacterSet: the
  // attributes concerned, indexed with U+FFFD for those bytes (dicom::CheckConformance
  // reports it). Empty otherwise.
  std::string charset_problem;
};

// Reads and validates a Part-10 file (PS3.10 7.1: preamble, "DICM", File Meta
// Information). Fails with kInvalidDicom naming the reason (no File Meta, truncated,
// unreadable element) or kMissingAttribute (a UID the hub keys on is absent or invalid).
// Large values (pixel data) are skipped, not loaded. Fills `presence` on the way.
Result<ParsedInstance> ParsePart10File(const std::string& path);

// PS3.5 9.1, leniently: 1-128 characters (the standard says 64), digits and dots only.
bool IsValidUid(std::string_view uid);

// A new UID (PS3.5 9.1) under DCMTK's site root: for the objects radflow writes.
std::string NewUid();

}  // namespace radflow::dicom
