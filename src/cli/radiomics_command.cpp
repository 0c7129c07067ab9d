#include "cli/radiomics_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"
#include "radiomics/ibsi_reference.h"
#include "radiomics/pipeline.h"

namespace fs = std::filesystem;

namespace radflow::cli {

namespace {

bool IsNifti(const std::string& p) {
  return p.size() > 4 && (p.ends_with(".nii") || p.ends_with(".nii.gz"));
}

Result<imaging::ImageVolume> LoadImage(const std::string& path) {
  if (IsNifti(path)) return imaging::ReadNifti(path);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return Status(ErrorCode::kInvalidArgument, "--image must be a NIfTI file or a DICOM series folder: " + path);
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  if (files.empty()) return Status(ErrorCode::kNotFound, "no files in " + path);
  auto series = imaging::LoadSeries(files);
  if (!series.ok()) return series.status();
  return std::move(series->volume);
}

Result<imaging::Mask> LoadMask(const RadiomicsOptions& o, const imaging::Geometry& grid) {
  if (IsNifti(o.mask)) {
    auto m = imaging::ReadNiftiMask(o.mask);
    if (!m.ok()) return m.status();
    if (!m->geometry().SameGrid(grid, 1e-3)) {
      return Status(ErrorCode::kInvalidArgument, "the mask " + o.mask + " is not on the image grid");
    }
    return m;
  }
  std::string rtstruct = o.mask;
  std::error_code ec;
  if (fs::is_directory(rtstruct, ec)) {  // a folder holding one RTSTRUCT (or SEG) file
    for (const auto& e : fs::directory_iterator(rtstruct, ec)) {
      if (e.is_regular_file()) {
        rtstruct = e.path().string();
        break;
      }
    }
  }
  // DICOM SEG (Modality SEG / Segmentation or Label Map Segmentation Storage): --roi is a
  // SegmentLabel or SegmentNumber, or may be left out when the SEG holds one segment.
  if (imaging::IsSegmentationFile(rtstruct)) {
    auto m = imaging::ReadSegment(rtstruct, o.roi, grid);
    if (!m.ok()) return m.status();
    return m;
  }
  auto rois = imaging::ListRois(rtstruct);
  if (!rois.ok()) {
    return Status(ErrorCode::kInvalidArgument, "--mask must be a NIfTI file or an RTSTRUCT, or a DICOM SEG (" +
                                                   rois.status().message() + ")");
  }
  auto names = [&] {
    std::string list;
    for (const auto& n : rois.value()) list += (list.empty() ? "" : ", ") + n;
    return list;
  };
  std::string roi = o.roi;
  if (roi.empty()) {
    if (rois->size() != 1) {
      return Status(ErrorCode::kInvalidArgument, "--roi is needed; the RTSTRUCT holds: " + names());
    }
    roi = rois->front();
  }
  if (std::find(rois->begin(), rois->end(), roi) == rois->end()) {
    return Status(ErrorCode::kNotFound, "no ROI '" + roi + "' in the RTSTRUCT (it holds: " + names() + ")");
  }
  return imaging::RasterizeRoi(rtstruct, roi, grid);
}

Result<radiomics::ChainSettings> LoadConfig(const std::string& config) {
  if (config.size() == 1 || config == "phantom") return radiomics::IbsiConfiguration(config);
  std::ifstream in(config);
  if (!in) return Status(ErrorCode::kNotFound, "--config must be A..E, phantom or a JSON file: " + config);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return radiomics::ChainSettingsFromJson(text);
}

int Fail(const Status& st) {
  std::cerr << "radflow radiomics: " << st.ToString() << "\n";
  return 1;
}

std::string Number(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

// One output row: a value radflow computed, or a reference row it gave none for (value
// empty); `ref` is its reference row, if any.
struct Row {
  std::string tag;
  std::optional<double> value;
  const radiomics::IbsiComparison* ref = nullptr;
};

const char* Within(const radiomics::IbsiComparison& c) { return !c.ours ? "missing" : c.within ? "yes" : "no"; }

}  // namespace

int RunRadiomics(const RadiomicsOptions& o) {
  if (o.format != "csv" && o.format != "json") {
    return Fail({ErrorCode::kInvalidArgument, "--format must be csv or json"});
  }
  auto config = LoadConfig(o.config);
  if (!config.ok()) return Fail(config.status());
  std::vector<radiomics::IbsiReferenceRow> table;
  if (!o.reference.empty()) {
    auto t = radiomics::ReadIbsiReferenceTable(o.reference);
    if (!t.ok()) return Fail(t.status());
    // A named configuration is compared with its own table only: the z-rad export names its
    // data set in every row ("configuration C", "digital phantom").
    const std::string expected = radiomics::IbsiDataSetName(o.config);
    if (!expected.empty() && !t->empty() && !t->front().dataset.empty() && t->front().dataset != expected) {
      return Fail({ErrorCode::kInvalidArgument, "the reference table " + o.reference + " is for '" +
                                                    t->front().dataset + "', not for --config " + o.config});
    }
    // Diagnostic rows are compared only when the diagnostics are asked for.
    for (auto& r : t.value()) {
      if (o.diagnostics || !r.diagnostic()) table.push_back(std::move(r));
    }
  }
  auto image = LoadImage(o.image);
  if (!image.ok()) return Fail(image.status());
  auto mask = LoadMask(o, image->geometry());
  if (!mask.ok()) return Fail(mask.status());
  auto extraction = radiomics::ExtractFeatures(image.value(), mask.value(), config.value());
  if (!extraction.ok()) return Fail(extraction.status());
  const auto& features = extraction->features;
  std::vector<radiomics::Feature> diagnostics;
  if (o.diagnostics) diagnostics = radiomics::IbsiDiagnostics(extraction->chain);

  std::vector<radiomics::IbsiComparison> comparison;
  if (!o.reference.empty()) {
    std::map<std::string, double> ours;
    for (const auto& f : features) ours.emplace(f.tag, f.value);
    for (const auto& f : diagnostics) ours.emplace(f.tag, f.value);
    comparison = radiomics::CompareWithIbsi(ours, table);
  }
  std::map<std::string, const radiomics::IbsiComparison*> by_tag;
  for (const auto& c : comparison) by_tag.emplace(c.reference.tag, &c);
  auto rows_of = [&](const std::vector<radiomics::Feature>& list) {
    std::vector<Row> rows;
    for (const auto& f : list) {
      auto it = by_tag.find(f.tag);
      rows.push_back({f.tag, f.value, it == by_tag.end() ? nullptr : it->second});
    }
    return rows;
  };
  std::vector<Row> rows = rows_of(features);
  for (auto& r : rows_of(diagnostics)) rows.push_back(std::move(r));
  for (const auto& c : comparison) {
    if (!c.ours) rows.push_back({c.reference.tag, std::nullopt, &c});  // missing: last
  }

  if (!o.reference.empty()) {
    int features_within = 0, features_total = 0, diag_within = 0, diag_total = 0, missing = 0;
    for (const auto& c : comparison) {
      (c.reference.diagnostic() ? diag_total : features_total) += 1;
      (c.reference.diagnostic() ? diag_within : features_within) += c.ours && c.within;
      missing += !c.ours;
    }
    std::fprintf(stderr,
                 "radflow radiomics: %d of %d features within tolerance, %d of %d diagnostic values "
                 "within tolerance, %d missing\n",
                 features_within, features_total, diag_within, diag_total, missing);
  }

  if (o.format == "csv") {
    std::string out = o.reference.empty() ? "tag,value\n" : "tag,value,reference,tolerance,allowed,deviation,within\n";
    for (const auto& r : rows) {
      out += r.tag + "," + (r.value ? Number(*r.value) : "");
      if (!o.reference.empty()) {
        if (r.ref) {
          const auto& c = *r.ref;
          out += "," + c.reference.printed + "," + Number(c.reference.tolerance) + "," + Number(c.allowed) + "," +
                 (c.ours ? Number(c.deviation) : "") + "," + Within(c);
        } else {
          out += ",,,,,";
        }
      }
      out += "\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  nlohmann::ordered_json j;
  j["features"] = nlohmann::ordered_json::object();
  for (const auto& f : features) j["features"][f.tag] = f.value;
  if (o.diagnostics) {
    j["diagnostics"] = nlohmann::ordered_json::object();
    for (const auto& f : diagnostics) j["diagnostics"][f.tag] = f.value;
  }
  if (!o.reference.empty()) {
    j["comparison"] = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
      nlohmann::ordered_json e;
      e["tag"] = r.tag;
      e["value"] = r.value ? nlohmann::ordered_json(*r.value) : nlohmann::ordered_json();
      const auto* c = r.ref;
      e["reference"] = c ? nlohmann::ordered_json(c->reference.printed) : nlohmann::ordered_json();
      e["tolerance"] = c ? nlohmann::ordered_json(c->reference.tolerance) : nlohmann::ordered_json();
      e["allowed"] = c ? nlohmann::ordered_json(c->allowed) : nlohmann::ordered_json();
      e["deviation"] = c && c->ours ? nlohmann::ordered_json(c->deviation) : nlohmann::ordered_json();
      e["within"] = c ? nlohmann::ordered_json(Within(*c)) : nlohmann::ordered_json();
      j["comparison"].push_back(std::move(e));
    }
  }
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace radflow::cli
