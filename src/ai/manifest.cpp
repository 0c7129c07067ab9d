// Manifest parsing: JSON or YAML → one JSON tree → one strict validator. Every error names
// the field's path ("rules[1].range.min: expected a number"); docs/apps.md is the reference.
#include "ai/manifest.h"

#include <dcmtk/dcmdata/dctag.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string_view>
#include <type_traits>

#include "ai/manifest_yaml.h"

namespace radflow::ai {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

Status Err(const std::string& path, const std::string& reason) {
  return Status(ErrorCode::kInvalidArgument, path + ": " + reason);
}
std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// ---- typed field access: a missing or null field is absent ----

const json* Field(const json& object, std::string_view key) {
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Status CheckObject(const json& j, const std::string& path,
                   std::initializer_list<std::string_view> known) {
  if (!j.is_object()) return Err(path, "expected an object");
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (!ok) return Err(Join(path, key), "unknown field");
  }
  return Status::Ok();
}

Status ReadString(const json& obj, const std::string& path, std::string_view key, std::string* out,
                  bool required = false) {
  const json* v = Field(obj, key);
  if (v == nullptr) return required ? Err(Join(path, key), "required") : Status::Ok();
  if (!v->is_string()) return Err(Join(path, key), "expected a string");
  *out = v->get<std::string>();
  if (required && out->empty()) return Err(Join(path, key), "must not be empty");
  return Status::Ok();
}

Status ReadBool(const json& obj, const std::string& path, std::string_view key, bool* out) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return Err(Join(path, key), "expected true or false");
  *out = v->get<bool>();
  return Status::Ok();
}

Status ToNumber(const json& v, const std::string& path, double* out) {
  if (!v.is_number()) return Err(path, "expected a number");
  *out = v.get<double>();
  return Status::Ok();
}

Status ReadNumber(const json& obj, const std::string& path, std::string_view key, double* out) {
  const json* v = Field(obj, key);
  return v == nullptr ? Status::Ok() : ToNumber(*v, Join(path, key), out);
}

// An integer; 2.0 (as YAML or JSON may write it) counts as one.
Status ToInteger(const json& v, const std::string& path, int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return Status::Ok();
  }
  if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>() &&
      std::fabs(v.get<double>()) < 9e15) {
    *out = static_cast<int64_t>(v.get<double>());
    return Status::Ok();
  }
  return Err(path, "expected an integer");
}

Status ReadInteger(const json& obj, const std::string& path, std::string_view key, int64_t min,
                   int64_t* out) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  RADFLOW_RETURN_IF_ERROR(ToInteger(*v, Join(path, key), out));
  if (*out < min) return Err(Join(path, key), "must be at least " + std::to_string(min));
  return Status::Ok();
}

Status ReadEnum(const json& obj, const std::string& path, std::string_view key,
                std::initializer_list<std::string_view> allowed, std::string* out) {
  std::string value = *out;
  RADFLOW_RETURN_IF_ERROR(ReadString(obj, path, key, &value));
  std::string list;
  for (auto a : allowed) {
    if (a == value) {
      *out = value;
      return Status::Ok();
    }
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return Err(Join(path, key), "'" + value + "' is not one of " + list);
}

Status ReadStringList(const json& obj, const std::string& path, std::string_view key,
                      std::vector<std::string>* out) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  const std::string p = Join(path, key);
  if (!v->is_array()) return Err(p, "expected an array of strings");
  out->clear();
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) return Err(At(p, i), "expected a string");
    out->push_back((*v)[i].get<std::string>());
  }
  return Status::Ok();
}

// A number used as a match value becomes its text ("3", "2.5"), as DICOM IS/DS values read.
Status ToMatchValue(const json& v, const std::string& path, std::string* out) {
  if (v.is_string()) {
    *out = v.get<std::string>();
  } else if (v.is_number_integer()) {
    *out = std::to_string(v.get<int64_t>());
  } else if (v.is_number_float()) {
    *out = v.dump();
  } else {
    return Err(path, "expected a string or a number");
  }
  return Status::Ok();
}

// ---- sections ----

bool IsKnownKeyword(const std::string& keyword) {
  if (keyword == "NumberOfSeriesRelatedInstances" || keyword == "SliceCount") return true;
  DcmTag tag;
  return DcmTag::findTagFromName(keyword.c_str(), tag).good();
}

Status ParseRule(const json& j, const std::string& path, Rule* rule) {
  RADFLOW_RETURN_IF_ERROR(
      CheckObject(j, path, {"attribute", "equals", "in", "regex", "range", "case_sensitive"}));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, path, "attribute", &rule->attribute, true));
  if (!IsKnownKeyword(rule->attribute)) {
    return Err(Join(path, "attribute"), "unknown DICOM keyword '" + rule->attribute + "'");
  }
  RADFLOW_RETURN_IF_ERROR(ReadBool(j, path, "case_sensitive", &rule->case_sensitive));
  int ops = 0;
  for (auto op : {"equals", "in", "regex", "range"}) ops += Field(j, op) != nullptr ? 1 : 0;
  if (ops != 1) return Err(path, "expected exactly one of equals, in, regex, range");

  if (const json* v = Field(j, "equals")) {
    rule->op = Rule::Op::kEquals;
    rule->values.resize(1);
    return ToMatchValue(*v, Join(path, "equals"), &rule->values[0]);
  }
  if (const json* v = Field(j, "in")) {
    rule->op = Rule::Op::kIn;
    const std::string p = Join(path, "in");
    if (!v->is_array() || v->empty()) return Err(p, "expected a non-empty array");
    rule->values.resize(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      RADFLOW_RETURN_IF_ERROR(ToMatchValue((*v)[i], At(p, i), &rule->values[i]));
    }
    return Status::Ok();
  }
  if (Field(j, "regex") != nullptr) {
    rule->op = Rule::Op::kRegex;
    RADFLOW_RETURN_IF_ERROR(ReadString(j, path, "regex", &rule->pattern, true));
    try {
      std::regex re(rule->pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Err(Join(path, "regex"), std::string("invalid regular expression: ") + e.what());
    }
    return Status::Ok();
  }
  rule->op = Rule::Op::kRange;
  if (rule->case_sensitive) return Err(Join(path, "case_sensitive"), "does not apply to range");
  const json& range = *Field(j, "range");
  const std::string p = Join(path, "range");
  RADFLOW_RETURN_IF_ERROR(CheckObject(range, p, {"min", "max"}));
  double value = 0;
  if (const json* v = Field(range, "min")) {
    RADFLOW_RETURN_IF_ERROR(ToNumber(*v, Join(p, "min"), &value));
    rule->min = value;
  }
  if (const json* v = Field(range, "max")) {
    RADFLOW_RETURN_IF_ERROR(ToNumber(*v, Join(p, "max"), &value));
    rule->max = value;
  }
  if (!rule->min && !rule->max) return Err(p, "expected min or max (or both)");
  if (rule->min && rule->max && *rule->min > *rule->max) {
    return Err(p, "min is greater than max");
  }
  return Status::Ok();
}

Status ParseRunner(const json& j, const std::string& base_dir, Runner* runner) {
  const std::string expected = " (expected builtin:<name>, torchscript or onnx)";
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s.rfind("builtin:", 0) != 0 || s.size() == 8) {
      return Err("runner", "unknown runner '" + s + "'" + expected);
    }
    runner->kind = Runner::Kind::kBuiltin;
    runner->builtin = s.substr(8);
    return Status::Ok();
  }
  if (!j.is_object()) return Err("runner", "expected a string or an object");
  RADFLOW_RETURN_IF_ERROR(CheckObject(j, "runner", {"type", "model"}));
  std::string type;
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "runner", "type", &type, true));
  if (type == "torchscript") {
    runner->kind = Runner::Kind::kTorchScript;
  } else if (type == "onnx") {
    runner->kind = Runner::Kind::kOnnx;
  } else {
    return Err("runner.type", "unknown runner '" + type + "'" + expected);
  }
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "runner", "model", &runner->model, true));
  fs::path model(runner->model);
  if (model.is_relative()) model = fs::path(base_dir.empty() ? "." : base_dir) / model;
  std::error_code ec;
  model = fs::absolute(model, ec).lexically_normal();
  runner->model = model.string();
  if (!fs::is_regular_file(model, ec))
    return Err("runner.model", "file not found: " + runner->model);
  return Status::Ok();
}

template <size_t N, typename T>
Status ReadFixedArray(const json& obj, const std::string& path, std::string_view key,
                      std::optional<std::array<T, N>>* out, bool positive) {
  const json* v = Field(obj, key);
  if (v == nullptr) return Status::Ok();
  const std::string p = Join(path, key);
  const std::string what = std::is_integral_v<T> ? "integers" : "numbers";
  if (!v->is_array() || v->size() != N) {
    return Err(p, "expected an array of " + std::to_string(N) + " " + what);
  }
  std::array<T, N> values{};
  for (size_t i = 0; i < N; ++i) {
    if constexpr (std::is_integral_v<T>) {
      int64_t x = 0;
      RADFLOW_RETURN_IF_ERROR(ToInteger((*v)[i], At(p, i), &x));
      values[i] = static_cast<T>(x);
    } else {
      double x = 0;
      RADFLOW_RETURN_IF_ERROR(ToNumber((*v)[i], At(p, i), &x));
      values[i] = static_cast<T>(x);
    }
    if (positive && !(values[i] > 0)) return Err(At(p, i), "must be greater than 0");
  }
  *out = values;
  return Status::Ok();
}

Status ParsePreprocess(const json& j, Preprocess* pre) {
  const std::string p = "preprocess";
  RADFLOW_RETURN_IF_ERROR(CheckObject(
      j, p,
      {"mode", "window", "normalise", "scale", "offset", "spacing", "patch", "tiling", "overlap"}));
  RADFLOW_RETURN_IF_ERROR(ReadEnum(j, p, "mode", {"2d", "3d"}, &pre->mode));
  RADFLOW_RETURN_IF_ERROR((ReadFixedArray<2, double>(j, p, "window", &pre->window, false)));
  if (pre->window && !((*pre->window)[0] < (*pre->window)[1])) {
    return Err("preprocess.window", "low must be below high");
  }
  RADFLOW_RETURN_IF_ERROR(
      ReadEnum(j, p, "normalise", {"none", "zscore", "scale"}, &pre->normalise));
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, p, "scale", &pre->scale));
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, p, "offset", &pre->offset));
  std::optional<std::array<double, 3>> spacing;
  RADFLOW_RETURN_IF_ERROR((ReadFixedArray<3, double>(j, p, "spacing", &spacing, true)));
  if (spacing) pre->spacing = *spacing;
  // A 2d patch may give only (x, y); z is then 1.
  if (const json* v = Field(j, "patch");
      v != nullptr && pre->mode == "2d" && v->is_array() && v->size() == 2) {
    json padded = *v;
    padded.push_back(1);
    RADFLOW_RETURN_IF_ERROR(
        (ReadFixedArray<3, int64_t>(json{{"patch", padded}}, p, "patch", &pre->patch, true)));
  } else {
    RADFLOW_RETURN_IF_ERROR((ReadFixedArray<3, int64_t>(j, p, "patch", &pre->patch, true)));
  }
  RADFLOW_RETURN_IF_ERROR(ReadEnum(j, p, "tiling", {"tile", "none"}, &pre->tiling));
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, p, "overlap", &pre->overlap));
  if (pre->overlap < 0 || pre->overlap >= 1) {
    return Err("preprocess.overlap", "must be in [0, 1)");
  }
  return Status::Ok();
}

Status ParseCode(const json& j, const std::string& p, Code* code) {
  RADFLOW_RETURN_IF_ERROR(CheckObject(j, p, {"value", "scheme", "meaning"}));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, p, "value", &code->value, true));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, p, "scheme", &code->scheme, true));
  return ReadString(j, p, "meaning", &code->meaning, true);
}

Status ParsePostprocess(const json& j, Postprocess* post) {
  const std::string p = "postprocess";
  RADFLOW_RETURN_IF_ERROR(CheckObject(j, p,
                                      {"op", "threshold", "sigmoid", "labels", "findings",
                                       "min_volume_ml", "finding_type", "severity"}));
  RADFLOW_RETURN_IF_ERROR(ReadEnum(j, p, "op", {"argmax", "threshold"}, &post->op));
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, p, "threshold", &post->threshold));
  RADFLOW_RETURN_IF_ERROR(ReadBool(j, p, "sigmoid", &post->sigmoid));
  RADFLOW_RETURN_IF_ERROR(ReadStringList(j, p, "labels", &post->labels));
  for (size_t i = 0; i < post->labels.size(); ++i) {
    if (post->labels[i].empty()) return Err(At("postprocess.labels", i), "must not be empty");
  }
  RADFLOW_RETURN_IF_ERROR(ReadBool(j, p, "findings", &post->findings));
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, p, "min_volume_ml", &post->min_volume_ml));
  if (post->min_volume_ml < 0) return Err("postprocess.min_volume_ml", "must not be negative");
  if (const json* v = Field(j, "finding_type")) {
    RADFLOW_RETURN_IF_ERROR(ParseCode(*v, "postprocess.finding_type", &post->finding_type));
  }
  return ReadEnum(j, p, "severity", {"info", "low", "moderate", "high", "critical"},
                  &post->severity);
}

Status ParseResources(const json& j, Resources* res) {
  RADFLOW_RETURN_IF_ERROR(CheckObject(j, "resources", {"threads", "memory_mb", "gpu"}));
  int64_t threads = res->threads;
  RADFLOW_RETURN_IF_ERROR(ReadInteger(j, "resources", "threads", 1, &threads));
  if (threads > 1024) return Err("resources.threads", "must be at most 1024");
  res->threads = static_cast<int>(threads);
  RADFLOW_RETURN_IF_ERROR(ReadInteger(j, "resources", "memory_mb", 1, &res->memory_mb));
  return ReadBool(j, "resources", "gpu", &res->gpu);
}

bool IsValidId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Status ParseTree(const json& j, const std::string& base_dir, AppManifest* m) {
  if (!j.is_object()) return Err("manifest", "expected an object at the top level");
  RADFLOW_RETURN_IF_ERROR(
      CheckObject(j, "",
                  {"id", "name", "version", "vendor", "intended_use", "enabled", "rules", "input",
                   "outputs", "resources", "timeout_s", "max_attempts", "priority", "runner", "preprocess",
                   "postprocess", "settings"}));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "", "id", &m->id, true));
  if (!IsValidId(m->id)) {
    return Err("id", "'" + m->id + "' must match [a-z0-9][a-z0-9-]* (at most 64 characters)");
  }
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "", "name", &m->name, true));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "", "version", &m->version, true));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "", "vendor", &m->vendor));
  RADFLOW_RETURN_IF_ERROR(ReadString(j, "", "intended_use", &m->intended_use));
  RADFLOW_RETURN_IF_ERROR(ReadBool(j, "", "enabled", &m->enabled));

  if (const json* rules = Field(j, "rules")) {
    if (!rules->is_array()) return Err("rules", "expected an array of rules");
    m->rules.resize(rules->size());
    for (size_t i = 0; i < rules->size(); ++i) {
      RADFLOW_RETURN_IF_ERROR(ParseRule((*rules)[i], At("rules", i), &m->rules[i]));
    }
  }
  // What the app is given (docs/apps.md, "input"): a volume, or the series' files only.
  RADFLOW_RETURN_IF_ERROR(ReadEnum(j, "", "input", {"volume", "files"}, &m->input));
  if (Field(j, "outputs") != nullptr) {
    RADFLOW_RETURN_IF_ERROR(ReadStringList(j, "", "outputs", &m->outputs));
    std::set<std::string> seen;
    for (size_t i = 0; i < m->outputs.size(); ++i) {
      const std::string& o = m->outputs[i];
      if (o != "seg" && o != "sr" && o != "findings" && o != "derived") {
        return Err(At("outputs", i), "'" + o + "' is not one of seg, sr, findings, derived");
      }
      if (!seen.insert(o).second) return Err(At("outputs", i), "'" + o + "' listed twice");
    }
  }
  if (m->input == "files") {
    // A files app writes its own objects (SEG, SR): a derived volume series needs a volume.
    for (size_t i = 0; i < m->outputs.size(); ++i) {
      if (m->outputs[i] == "derived") return Err(At("outputs", i), "'derived' needs input 'volume'");
    }
  }
  if (const json* v = Field(j, "resources")) {
    RADFLOW_RETURN_IF_ERROR(ParseResources(*v, &m->resources));
  }
  RADFLOW_RETURN_IF_ERROR(ReadNumber(j, "", "timeout_s", &m->timeout_s));
  if (!(m->timeout_s > 0)) return Err("timeout_s", "must be greater than 0");
  int64_t integer = m->max_attempts;
  RADFLOW_RETURN_IF_ERROR(ReadInteger(j, "", "max_attempts", 1, &integer));
  if (integer > 100) return Err("max_attempts", "must be at most 100");
  m->max_attempts = static_cast<int>(integer);
  integer = m->priority;
  RADFLOW_RETURN_IF_ERROR(ReadInteger(j, "", "priority", -1000, &integer));
  if (integer > 1000) return Err("priority", "must be in [-1000, 1000]");
  m->priority = static_cast<int>(integer);

  const json* runner = Field(j, "runner");
  if (runner == nullptr) return Err("runner", "required");
  RADFLOW_RETURN_IF_ERROR(ParseRunner(*runner, base_dir, &m->runner));
  // A model sees tensors cut from a volume; only C++ apps read slides and photographs.
  if (m->input == "files" && m->runner.kind != Runner::Kind::kBuiltin) {
    return Err("input", "'files' needs a builtin runner (a model runner takes a volume)");
  }
  if (m->input == "files" && (Field(j, "preprocess") != nullptr || Field(j, "postprocess") != nullptr)) {
    return Err(Field(j, "preprocess") != nullptr ? "preprocess" : "postprocess",
               "does not apply to input 'files'");
  }
  if (const json* v = Field(j, "preprocess")) {
    RADFLOW_RETURN_IF_ERROR(ParsePreprocess(*v, &m->preprocess));
  }
  // A model sees fixed-size tiles unless it takes the whole volume (tiling "none").
  if (m->runner.kind != Runner::Kind::kBuiltin && m->preprocess.tiling == "tile" &&
      !m->preprocess.patch) {
    return Err("preprocess.patch", "required for a model runner when tiling is 'tile'");
  }
  if (const json* v = Field(j, "postprocess")) {
    RADFLOW_RETURN_IF_ERROR(ParsePostprocess(*v, &m->postprocess));
  }
  if (const json* v = Field(j, "settings")) {
    if (!v->is_object()) return Err("settings", "expected an object");
    m->settings_json = v->dump();
  }
  return Status::Ok();
}

}  // namespace

Result<AppManifest> ParseManifest(const std::string& text, const std::string& format,
                                  const std::string& base_dir) {
  json tree;
  if (format == "json") {
    try {
      tree = json::parse(text);
    } catch (const json::exception& e) {
      return Err("manifest", std::string("invalid JSON: ") + e.what());
    }
  } else if (format == "yaml" || format == "yml") {
    Result<std::string> converted = YamlToJsonText(text);
    if (!converted.ok()) return Err("manifest", converted.status().message());
    tree = json::parse(converted.value(), nullptr, /*allow_exceptions=*/false);
    if (tree.is_discarded()) return Err("manifest", "invalid YAML");
  } else {
    return Err("manifest", "unknown format '" + format + "' (expected json or yaml)");
  }
  AppManifest manifest;
  try {
    RADFLOW_RETURN_IF_ERROR(ParseTree(tree, base_dir, &manifest));
  } catch (const std::exception& e) {  // a bug, not bad input: still no exception escapes
    return Err("manifest", std::string("internal error: ") + e.what());
  }
  return manifest;
}

std::string RunnerName(const Runner& runner) {
  switch (runner.kind) {
    case Runner::Kind::kBuiltin: return "builtin:" + runner.builtin;
    case Runner::Kind::kTorchScript: return "torchscript";
    case Runner::Kind::kOnnx: return "onnx";
  }
  return "";
}

}  // namespace radflow::ai
