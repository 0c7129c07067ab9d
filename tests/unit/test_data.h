// Paths to the shared real test data, and a scratch directory per test.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace radflow::testing {

inline std::string DataPath(const std::string& relative) {
  return std::string(RADFLOW_SHARED_DATA) + "/" + relative;
}

// The chest CT slices (real, 512x512).
inline std::vector<std::string> ChestCtFiles() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(
           DataPath("dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel"))) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("radflow-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

}  // namespace radflow::testing
