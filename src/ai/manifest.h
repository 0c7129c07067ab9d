// App manifests: what an app is, which series it runs on, what it needs and how it runs.
// JSON or YAML (docs/apps.md documents every field). Parsing is strict: an unknown field, a
// wrong type or a missing required field is an error naming the field's path
// (e.g. "rules[1].range.min: expected a number").
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ai/app.h"
#include "base/status.h"

namespace radflow::ai {

// One routing rule over a series attribute. `attribute` is a DICOM keyword of the series'
// first instance (any attribute, e.g. "BodyPartExamined", "SliceThickness") or one of the
// computed keys "NumberOfSeriesRelatedInstances" (files in the series) and "SliceCount"
// (files, or frames of a single multi-frame file). See docs/apps.md and ai/routing.h.
struct Rule {
  enum class Op { kEquals, kIn, kRegex, kRange };
  std::string attribute;
  Op op = Op::kEquals;
  std::vector<std::string> values;  // kEquals: one value; kIn: any of them
  std::string pattern;              // kRegex (ECMAScript, whole value must match)
  std::optional<double> min;        // kRange: inclusive bounds, either may be absent
  std::optional<double> max;
  bool case_sensitive = false;  // kEquals / kIn / kRegex
};

struct Preprocess {
  std::string mode = "3d";                      // "2d" (slice-wise, axial) or "3d"
  std::optional<std::array<double, 2>> window;  // clip HU to [low, high] then scale to [0, 1]
  std::string normalise = "none";               // "none" | "zscore" | "scale" (x * scale + offset)
  double scale = 1, offset = 0;
  std::optional<imaging::Vec3> spacing;         // resample to this spacing (mm) first
  std::optional<std::array<int64_t, 3>> patch;  // network input size (x, y, z); 2d uses x, y
  std::string tiling = "tile";  // "tile" (sliding window, covers all) | "none" (whole volume)
  double overlap = 0.25;        // tile overlap fraction
};

struct Postprocess {
  std::string op = "argmax";  // "argmax" (C channels → label) | "threshold" (1 channel)
  double threshold = 0.5;
  bool sigmoid = false;             // apply a sigmoid before thresholding
  std::vector<std::string> labels;  // name per label 1..N (label 0 is background)
  bool findings = true;             // connected components → findings
  double min_volume_ml = 0;         // smaller components are dropped
  Code finding_type;                // coded type of each finding
  std::string severity = "info";
};

struct Runner {
  enum class Kind { kBuiltin, kTorchScript, kOnnx };
  Kind kind = Kind::kBuiltin;
  std::string builtin;  // kBuiltin: the registered name
  std::string model;    // model file, resolved to an absolute path against the manifest's folder
};

struct Resources {
  int threads = 1;
  int64_t memory_mb = 2048;
  bool gpu = false;  // wanted; the CPU backends run without one
};

struct AppManifest {
  std::string id;  // [a-z0-9-]+, unique
  std::string name;
  std::string version;
  std::string vendor;
  std::string intended_use;
  bool enabled = true;      // default state; the REST API can change it (persisted in the index)
  std::vector<Rule> rules;  // all must match
  // What the app is given: "volume" (the series loaded as a volume in patient space, the
  // default) or "files" (the series' Part-10 files only, for slides and photographs: the
  // app reads them and writes its own results, AppOutput::objects).
  std::string input = "volume";
  // Subset of "seg", "sr", "findings", "derived".
  std::vector<std::string> outputs{"seg", "sr", "findings"};
  Resources resources;
  double timeout_s = 600;
  int max_attempts = 3;  // including the first
  int priority = 0;      // higher runs first; a STAT order adds 100
  Runner runner;
  Preprocess preprocess;
  Postprocess postprocess;
  std::string settings_json = "{}";  // app-specific settings, passed through
  std::string source;                // the manifest file it came from
};

// The runner as a manifest writes it: "builtin:<name>", "torchscript" or "onnx".
std::string RunnerName(const Runner& runner);

// Parses one manifest. `base_dir` resolves a relative model path; `format` is "json" or
// "yaml" ("yml" too). Errors (kInvalidArgument) read "<field path>: <reason>". Does not
// check that a builtin runner is registered (LoadApps does).
Result<AppManifest> ParseManifest(const std::string& text, const std::string& format,
                                  const std::string& base_dir);
// Reads and parses one file (format by extension: .json, .yaml, .yml); `source` is set to
// its absolute path. Errors read "<file>: <field path>: <reason>".
Result<AppManifest> LoadManifestFile(const std::string& path);

// Orders two app versions: <0 when a is older than b, 0 when equal, >0 when newer. Semantic
// versioning (semver.org 11) without its strictness: the parts before a '-' split on '.'
// are compared part by part, numbers numerically (missing parts count as 0, so 1.2 ==
// 1.2.0) and other text lexically after numbers; a pre-release ("1.2.0-rc1", after '-')
// is older than its release; build metadata (after '+') is ignored.
int CompareVersions(std::string_view a, std::string_view b);

// The manifest file as JSON text (a YAML manifest converted), for showing it.
Result<std::string> ManifestFileAsJson(const std::string& path);

struct LoadedApps {
  std::vector<AppManifest> apps;      // per id the newest installed version, sorted by id
  std::vector<AppManifest> versions;  // every installed version: by id, newest first
  std::vector<std::string> errors;    // "file: field: reason", one per rejected manifest

  // The newest installed version of this id, or nullptr.
  const AppManifest* Find(std::string_view id) const;
  // That version of this id (CompareVersions equal), or nullptr.
  const AppManifest* Find(std::string_view id, std::string_view version) const;
  // The installed versions of this id, newest first (empty for an unknown id).
  std::vector<const AppManifest*> Versions(std::string_view id) const;
};
// Every *.json / *.yaml / *.yml directly in each folder. One folder holds one manifest of
// an id; several versions of an app are installed from several folders (a site folder
// beside the shipped one): each (id, version) is kept, and a later folder's manifest of the
// same id and version overrides the earlier one. A bad manifest is reported and skipped;
// the others load. A runner naming an unregistered builtin is an error too.
LoadedApps LoadApps(const std::vector<std::string>& folders);

}  // namespace radflow::ai
