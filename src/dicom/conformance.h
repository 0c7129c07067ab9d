// Conformance of a stored object to its IOD (PS3.3 Annex A): a table-driven check of the
// mandatory modules' Type 1 and Type 2 attributes (and a few Type 1C/2C ones whose
// condition is plain), at the top level and in the items of the sequences that matter to
// viewers (OpticalPathSequence, SpecimenDescriptionSequence).
//
// A report, never a refusal: ingest stores the object whatever it says (docs/wsi.md).
// Tables cover CT, MR, VL Whole Slide Microscopy, Ophthalmic Photography 8/16 bit,
// Segmentation and the Basic Text / Enhanced / Comprehensive (3D) SR IODs; any other SOP
// class is checked against the modules every IOD has (Patient, General Study, SOP Common).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "dicom/instance.h"
#include "dicom/tag.h"

namespace radflow::dicom {

// One problem per line, e.g. "missing Type 1 ImageType (0008,0008): Whole Slide
// Microscopy Image module (PS3.3 C.8.12.4)" or "empty Type 1 OpticalPathSequence
// (0048,0105): ...". Empty when the object meets every checked requirement.
// Reads only what ParsePart10File recorded (`presence`, the attribute map): no file access,
// so ingest's one DCMTK parse serves both.
std::vector<std::string> CheckConformance(const ParsedInstance& instance);

// ParsePart10File and the check (tests, tools). Errors: ParsePart10File's.
Result<std::vector<std::string>> CheckConformance(const std::string& path);

// True for the sequences whose items the tables check (ParsePart10File records their
// items' elements; of other sequences only presence and emptiness).
bool ConformanceChecksItemsOf(Tag sequence);

// The IOD name the tables check a SOP class against ("VL Whole Slide Microscopy Image"),
// or "" when no table covers it (only the common modules are checked).
std::string ConformanceIodName(const std::string& sop_class_uid);

}  // namespace radflow::dicom
