// Shared loaders for the lung app tests (real data from /work/shared/data).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "imaging/series_volume.h"

namespace radflow::apps::lung::testing {

inline std::string DataDir() { return std::string(RADFLOW_SHARED_DATA) + "/dicom"; }
inline std::string ChestDir() { return DataDir() + "/ct_chest_lung_dx/Lung_Dx-A0001"; }
inline std::string IbsiDir() { return DataDir() + "/ct_lung_ibsi_pat1"; }

inline std::vector<std::string> DcmFiles(const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Loaded once per process (the suite shares them).
inline const imaging::SeriesVolume* Chest() {
  static const auto* v = [] {
    auto r = imaging::LoadSeries(DcmFiles(ChestDir() + "/CT_5mm_lung_kernel"));
    return r.ok() ? new imaging::SeriesVolume(std::move(r.value())) : nullptr;
  }();
  return v;
}

inline const imaging::SeriesVolume* Ibsi() {
  static const auto* v = [] {
    auto r = imaging::LoadSeries(DcmFiles(IbsiDir() + "/dicom/image"));
    return r.ok() ? new imaging::SeriesVolume(std::move(r.value())) : nullptr;
  }();
  return v;
}

}  // namespace radflow::apps::lung::testing
