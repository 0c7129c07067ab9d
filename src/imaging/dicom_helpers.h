// Small DCMTK accessors and vector arithmetic shared by imaging's series, RTSTRUCT and SEG
// readers and the AI result writers (ai/results), the modules that wrap DCMTK. Not for
// anything else (it shows DCMTK types).
#pragma once

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <filesystem>
#include <string>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging::internal {

inline double Dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline Vec3 Cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline Vec3 Sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }

// The value of a string attribute, "" when absent (or when item is null).
inline std::string GetString(DcmItem* item, const DcmTagKey& tag) {
  OFString v;
  if (!item || item->findAndGetOFString(tag, v).bad()) return "";
  return std::string(v.c_str());
}

// The first n values of a numeric attribute; false when item is null or a value is missing.
inline bool GetDoubles(DcmItem* item, const DcmTagKey& tag, double* out, int n) {
  if (!item) return false;
  for (int i = 0; i < n; ++i) {
    Float64 v = 0;
    if (item->findAndGetFloat64(tag, v, i).bad()) return false;
    out[i] = v;
  }
  return true;
}

// kNotFound for a missing file, kInvalidDicom for one DCMTK cannot read.
inline Status LoadDicom(const std::string& path, DcmFileFormat& ff) {
  if (!std::filesystem::exists(path)) return Status(ErrorCode::kNotFound, "no such file: " + path);
  if (ff.loadFile(path.c_str()).bad()) return Status(ErrorCode::kInvalidDicom, "cannot read " + path);
  return Status::Ok();
}

}  // namespace radflow::imaging::internal
