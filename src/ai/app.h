// What an AI app receives and returns. Apps are pure functions of an AppInput (a volume in
// patient space and what is known about its series); they know nothing of DICOM writing,
// jobs or the index. The engine turns an AppOutput into standard results (IHE AIR): a DICOM
// SEG for `segments`, a TID 1500 SR for `findings`, derived image series for `derived`,
// and finding rows in the index.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "imaging/series_volume.h"
#include "imaging/volume.h"

namespace radflow::ai {

struct AppManifest;

// A coded concept (PS3.3 8.8): CodeValue, CodingSchemeDesignator, CodeMeaning.
struct Code {
  std::string value;
  std::string scheme;
  std::string meaning;
  bool empty() const { return value.empty(); }
};

// One numeric measurement of a finding, for TID 1500 (TID 300 measurement) and the index.
struct Measurement {
  Code name;  // the measured quantity (TID 300 ConceptName), e.g. (118565006, SCT, "Volume")
  double value = 0;
  Code unit;     // UCUM, e.g. (ml, UCUM, "milliliter"), ([hnsf'U], UCUM, "Hounsfield unit")
};

// How a finding compares with the same lesion on a prior examination (longitudinal
// tracking, workflow/lesion_tracking.h: TrackedLesion maps onto it one to one). Written
// into the finding's SR measurement group (docs/ai-results.md, "Longitudinal tracking").
struct PriorComparison {
  std::string status = "tracked";  // "tracked" | "new" (no prior) | "resolved" (prior only)
  // The prior examination's object compared against (its TID 1500 SR, else one of its
  // images): listed in the SR's PertinentOtherEvidenceSequence. Empty: none listed.
  std::string study_uid, series_uid, sop_class_uid, sop_instance_uid;
  double interval_days = 0;        // current − prior study date; 0: unknown
  // "tracked" only:
  double volume_change_pct = 0;    // 100·(V2 − V1)/V1
  double diameter_change_mm = 0;   // longest diameter D2 − D1
  std::optional<double> doubling_time_days;  // only when the lesion grew
};

struct Finding {
  Code type;                 // what was found, e.g. (27925004, SCT, "Nodule")
  std::string label;         // short human-readable text, e.g. "right upper lobe nodule 8 mm"
  imaging::Vec3 center{};    // patient coordinates (LPS, mm)
  double size_mm = 0;        // longest diameter, 0 when not applicable
  double volume_ml = 0;      // 0 when not applicable
  double score = 0;          // 0..1: suspicion or confidence
  std::string severity = "info";  // info | low | moderate | high | critical
  int segment_number = 0;    // the SEG segment outlining it (1-based), 0 when none
  std::vector<Measurement> measurements;
  // TID 1500 identity across examinations: Tracking Unique Identifier (112040) — empty: a
  // fresh UID — and Tracking Identifier (112039) — empty: the label (or the type's meaning).
  std::string tracking_uid;
  std::string tracking_id;
  std::optional<PriorComparison> prior;  // set when compared with a prior examination
};

// One segment of the output SEG, on the input volume's grid.
struct SegmentOutput {
  std::string label;   // SegmentLabel
  Code category;       // SegmentedPropertyCategoryCodeSequence, e.g. (49755003, SCT, "Morphologically Altered Structure")
  Code type;           // SegmentedPropertyTypeCodeSequence, e.g. (27925004, SCT, "Nodule")
  imaging::Mask mask;  // non-zero inside
};

// A derived image series (e.g. a denoised CT): same geometry and HU scale as the input.
struct DerivedSeries {
  std::string series_description;
  std::string derivation_description;  // DerivationDescription (0008,2111)
  imaging::ImageVolume image;          // HU, on the input volume's grid
};

// A Part-10 object an app wrote itself (apps whose manifest input is "files": a SEG of a
// slide, a SEG or SR of a photograph), into AppInput::out_dir. The engine stores it as it
// is, through IngestService::Store, like the objects it writes for volume apps.
struct AppObject {
  std::string path;  // under AppInput::out_dir
  std::string kind;  // "seg" | "sr"
};

struct AppOutput {
  std::vector<SegmentOutput> segments;  // volume apps only (on the input volume's grid)
  std::vector<Finding> findings;
  std::vector<DerivedSeries> derived;   // volume apps only
  std::vector<AppObject> objects;       // files apps: the objects they wrote
  std::string summary;  // one line for the job list, e.g. "2 nodules, largest 8 mm"
};

struct AppInput {
  // HU (after rescale), on LoadSeries' regular grid. Empty for an app whose manifest input
  // is "files" (slides, photographs): such an app reads `files` itself.
  imaging::ImageVolume image;
  imaging::SeriesReport report;   // what the stack looked like (tilt, spacing, missing slices)
  std::vector<std::string> files; // the series' Part-10 files
  std::map<std::string, std::string> attributes;  // first instance's attributes by keyword
  const AppManifest* manifest = nullptr;
  int threads = 1;
  std::string out_dir;  // where a files app writes its own objects (AppOutput::objects)
};

// A built-in app: C++ compiled into radflow, named by `runner: builtin:<name>`.
using BuiltinApp = std::function<Result<AppOutput>(const AppInput&)>;

// Registered at start-up (RegisterBuiltinApps in ai/builtin_apps.cpp); thread-safe reads.
void RegisterBuiltin(const std::string& name, BuiltinApp app);
const BuiltinApp* FindBuiltin(const std::string& name);
std::vector<std::string> BuiltinNames();

}  // namespace radflow::ai
