#include "research/export_files.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "research/ibsi_features.h"

namespace radflow::research {

namespace {

std::string Quote(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Num(double v) {
  if (std::isnan(v) || std::isinf(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::vector<std::string> FindingsCsvColumns(const std::vector<FindingCsvRow>& rows) {
  std::vector<std::string> c{"patient",     "study",     "series",       "finding",     "app",
                             "app_version", "type_code", "type",         "label",       "site",
                             "center_x_mm", "center_y_mm", "center_z_mm", "size_mm",    "volume_ml",
                             "score",       "severity",  "mask_file",    "features_source"};
  for (const auto& n : IbsiFeatureNames()) c.push_back(n);
  const size_t fixed = c.size();
  for (const auto& r : rows) {
    for (const auto& [name, value] : r.measurements) {
      if (std::find(c.begin() + static_cast<long>(fixed), c.end(), name) == c.end()) c.push_back(name);
    }
  }
  return c;
}

std::string FindingsCsv(const std::vector<FindingCsvRow>& rows) {
  std::string out;
  const auto columns = FindingsCsvColumns(rows);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    out += columns[i];
  }
  out += "\r\n";
  const size_t n_features = IbsiFeatureNames().size();
  for (const auto& r : rows) {
    std::vector<std::string> f{r.patient,    r.study,      r.series,    std::to_string(r.finding), r.app,
                               r.app_version, r.type_code, r.type_meaning, r.label,                r.site,
                               Num(r.x),      Num(r.y),    Num(r.z),    Num(r.size_mm),            Num(r.volume_ml),
                               Num(r.score),  r.severity,  r.mask_file, r.features_source};
    for (size_t i = 0; i < n_features; ++i) f.push_back(i < r.ibsi.size() ? Num(r.ibsi[i]) : "");
    for (size_t i = f.size(); i < columns.size(); ++i) {
      std::string cell;
      for (const auto& [name, value] : r.measurements) {
        if (name == columns[i]) cell = Num(value);
      }
      f.push_back(cell);
    }
    for (size_t i = 0; i < f.size(); ++i) {
      if (i) out += ',';
      out += Quote(f[i]);
    }
    out += "\r\n";
  }
  return out;
}

std::vector<DeidCode> DeidMethodCodes(const deid::DeidOptions& o) {
  // PS3.16 CID 7050, the same list the de-identified objects carry (deid::MethodCodes).
  std::vector<DeidCode> codes;
  for (const auto& c : deid::MethodCodes(o, o.clean_pixels)) codes.push_back({c.value, "DCM", c.meaning});
  return codes;
}

std::string ManifestJson(const ManifestInput& in) {
  using nlohmann::ordered_json;
  ordered_json criteria = ordered_json::parse(in.criteria_json.empty() ? "{}" : in.criteria_json, nullptr, false);
  if (criteria.is_discarded()) criteria = ordered_json::object();
  ordered_json codes = ordered_json::array();
  for (const auto& c : DeidMethodCodes(in.options)) {
    codes.push_back({{"value", c.value}, {"scheme", c.scheme}, {"meaning", c.meaning}});
  }
  ordered_json options = {{"retain_dates", in.options.retain_dates},
                          {"retain_patient_chars", in.options.retain_patient_chars},
                          {"retain_device", in.options.retain_device},
                          {"clean_descriptors", in.options.clean_descriptors},
                          {"clean_structured", in.options.clean_structured},
                          {"clean_graphics", in.options.clean_graphics},
                          {"clean_pixels", in.options.clean_pixels}};
  ordered_json files = ordered_json::array();
  for (const auto& f : in.files) files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  ordered_json j;
  j["radflow_version"] = in.radflow_version;
  j["created_at_ms"] = in.created_at_ms;
  j["cohort"] = {{"name", in.cohort_name},
                 {"version", in.cohort_version},
                 {"description", in.cohort_description},
                 {"criteria", criteria},
                 {"counts",
                  {{"patients", in.patients},
                   {"studies", in.studies},
                   {"series", in.series},
                   {"instances", in.instances},
                   {"lesions", in.lesions}}}};
  j["deidentification"] = {{"profile", "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile"},
                           {"options", options},
                           {"method_codes", codes},
                           {"pseudonyms", "keyed hash (HMAC-SHA256) with the site secret: stable across exports"}};
  j["formats"] = in.formats;
  j["contents"] = {{"dicom_files", in.dicom_files},   {"dicom_skipped", in.dicom_skipped},
                   {"nifti_images", in.nifti_images}, {"nifti_masks", in.nifti_masks},
                   {"findings_rows", in.csv_rows}};
  j["skipped"] = in.skipped_reasons;
  j["warnings"] = in.warnings;
  j["files"] = files;
  return j.dump(2) + "\n";
}

Result<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kIoError, "cannot read " + path);
  crypto::Sha256Hasher hash;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) hash.Update(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return Status(ErrorCode::kIoError, "read error on " + path);
  return crypto::Hex(hash.Final());
}

Result<std::vector<std::string>> ListFiles(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> out;
  fs::recursive_directory_iterator it(folder, ec), end;
  if (ec) return Status(ErrorCode::kIoError, "cannot list " + folder + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status(ErrorCode::kIoError, "cannot list " + folder + ": " + ec.message());
    if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), folder, ec).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace radflow::research
