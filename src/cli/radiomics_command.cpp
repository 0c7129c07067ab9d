#include "cli/radiomics_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
#include "imaging/seg.h"
#include "imaging/series_volume.h"
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
  if (config.size() == 1) return radiomics::IbsiConfiguration(config[0]);
  std::ifstream in(config);
  if (!in) return Status(ErrorCode::kNotFound, "--config must be A..E or a JSON file: " + config);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return radiomics::ChainSettingsFromJson(text);
}

int Fail(const Status& st) {
  std::cerr << "radflow radiomics: " << st.ToString() << "\n";
  return 1;
}

}  // namespace

int RunRadiomics(const RadiomicsOptions& o) {
  if (o.format != "csv" && o.format != "json") return Fail({ErrorCode::kInvalidArgument, "--format must be csv or json"});
  auto config = LoadConfig(o.config);
  if (!config.ok()) return Fail(config.status());
  auto image = LoadImage(o.image);
  if (!image.ok()) return Fail(image.status());
  auto mask = LoadMask(o, image->geometry());
  if (!mask.ok()) return Fail(mask.status());
  auto extraction = radiomics::ExtractFeatures(image.value(), mask.value(), config.value());
  if (!extraction.ok()) return Fail(extraction.status());
  const auto& e = extraction.value();
  if (o.format == "csv") {
    std::cout << "tag,value\n";
    for (const auto& f : e.features) std::printf("%s,%.10g\n", f.tag.c_str(), f.value);
    return 0;
  }
  nlohmann::ordered_json j;
  for (const auto& f : e.features) j["features"][f.tag] = f.value;
  j["diagnostics"]["int_mask_vox_count_interp_roi"] = e.chain.interpolated_roi.voxels;
  j["diagnostics"]["int_mask_vox_count_reseg_roi"] = e.chain.resegmented_roi.voxels;
  j["diagnostics"]["int_mask_mean_int_reseg_roi"] = e.chain.resegmented_roi.mean;
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace radflow::cli
