// libFuzzer target over the ingest parse-and-validate path (dicom::ParsePart10File) and the
// conformance check ingest runs on what it parsed (dicom::CheckConformance).
// Untrusted bytes must yield a Status, never a crash or a hang.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "dicom/conformance.h"
#include "dicom/instance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/radflow-fuzz-" + std::to_string(::getpid()) + ".dcm";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto r = radflow::dicom::ParsePart10File(path);
  if (r.ok()) {
    // A parsed instance always carries the keys ingest relies on.
    if (!radflow::dicom::IsValidUid(r->sop_instance_uid)) __builtin_trap();
    (void)radflow::dicom::CheckConformance(*r);
  }
  return 0;
}
