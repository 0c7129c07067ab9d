// Scratch data directories and helpers for the audit suite.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/audit_event.h"

namespace radflow::audit::testing {

// A fresh directory under the system temp dir, removed at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> n{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("radflow-audit-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string log() const { return path_ + "/audit/audit.log"; }

 private:
  std::string path_;
};

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

inline AuditEvent SampleEvent(const std::string& event, int i = 0) {
  AuditEvent e;
  e.event = event;
  e.user = "alice";
  e.role = "radiologist";
  e.source = "10.1.2.3";
  e.patient_id = "PAT" + std::to_string(i % 3);
  e.patient_name = "Doe^Jane" + std::to_string(i % 3);
  e.study_uid = "1.2.826.0.1.3680043.8.498." + std::to_string(1000 + i);
  e.detail = "GET /dicom-web/studies/" + e.study_uid;
  e.interface = "http";
  e.at_ms = 1796000000000 + i * 1000;
  return e;
}

}  // namespace radflow::audit::testing
