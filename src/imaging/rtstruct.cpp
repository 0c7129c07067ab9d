#include "imaging/rtstruct.h"

#include "imaging/dicom_helpers.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace radflow::imaging {
namespace {

using internal::GetString;



// Even-odd fill of one polygon (continuous indices x, y) into plane k, toggling voxels:
// toggling per contour makes nested contours holes.
void FillPolygon(const std::vector<std::array<double, 2>>& poly, size_t k, Mask& mask) {
  const auto& s = mask.geometry().size;
  std::vector<double> xs;
  for (size_t j = 0; j < s[1]; ++j) {
    const double y = double(j);
    xs.clear();
    for (size_t a = 0; a < poly.size(); ++a) {
      const auto& p = poly[a];
      const auto& q = poly[(a + 1) % poly.size()];
      if ((p[1] <= y) != (q[1] <= y)) {  // half-open rule: each crossing counted once
        xs.push_back(p[0] + (y - p[1]) * (q[0] - p[0]) / (q[1] - p[1]));
      }
    }
    std::sort(xs.begin(), xs.end());
    for (size_t n = 0; n + 1 < xs.size(); n += 2) {
      const long from = std::max(0L, long(std::ceil(xs[n])));
      const long to = std::min(long(s[0]) - 1, long(std::ceil(xs[n + 1])) - 1);
      for (long i = from; i <= to; ++i) mask.at(size_t(i), j, k) ^= 1;
    }
  }
}

}  // namespace

Result<std::vector<std::string>> ListRois(const std::string& rtstruct_path) {
  DcmFileFormat ff;
  RADFLOW_RETURN_IF_ERROR(internal::LoadDicom(rtstruct_path, ff));
  std::vector<std::string> names;
  DcmItem* roi = nullptr;
  for (long n = 0;
       ff.getDataset()->findAndGetSequenceItem(DCM_StructureSetROISequence, roi, n).good(); ++n) {
    names.push_back(GetString(roi, DCM_ROIName));
  }
  return names;
}

Result<Mask> RasterizeRoi(const std::string& rtstruct_path, const std::string& roi_name,
                          const Geometry& grid) {
  DcmFileFormat ff;
  RADFLOW_RETURN_IF_ERROR(internal::LoadDicom(rtstruct_path, ff));
  DcmDataset* ds = ff.getDataset();
  // ROIName → ROINumber (C.8.8.5) → the ROIContourSequence item that references it (C.8.8.6).
  std::string number;
  DcmItem* item = nullptr;
  for (long n = 0; ds->findAndGetSequenceItem(DCM_StructureSetROISequence, item, n).good(); ++n) {
    if (GetString(item, DCM_ROIName) == roi_name) number = GetString(item, DCM_ROINumber);
  }
  DcmItem* contours = nullptr;
  for (long n = 0;
       !number.empty() && ds->findAndGetSequenceItem(DCM_ROIContourSequence, item, n).good(); ++n) {
    if (GetString(item, DCM_ReferencedROINumber) == number) contours = item;
  }
  if (!contours) return Status(ErrorCode::kNotFound, "no contours for ROI " + roi_name);

  Mask mask(grid, 0);
  DcmItem* c = nullptr;
  for (long n = 0; contours->findAndGetSequenceItem(DCM_ContourSequence, c, n).good(); ++n) {
    if (GetString(c, DCM_ContourGeometricType) != "CLOSED_PLANAR") continue;
    DcmElement* data = nullptr;
    if (c->findAndGetElement(DCM_ContourData, data).bad()) continue;
    const unsigned long values = data->getVM();
    if (values % 3 != 0 || values < 9) {
      return Status(ErrorCode::kInvalidDicom, "ContourData is not a list of 3 or more points");
    }
    std::vector<std::array<double, 2>> poly;
    double k_sum = 0;
    for (unsigned long p = 0; p < values; p += 3) {
      Vec3 xyz;
      for (int r = 0; r < 3; ++r) {
        Float64 v = 0;
        if (data->getFloat64(v, p + r).bad())
          return Status(ErrorCode::kInvalidDicom, "bad ContourData");
        xyz[r] = v;
      }
      Vec3 idx = grid.PointToIndex(xyz);
      poly.push_back({idx[0], idx[1]});
      k_sum += idx[2];
    }
    const double k = k_sum / double(poly.size());
    const long plane = std::lround(k);
    if (std::abs(k - double(plane)) > 0.5 || plane < 0 || plane >= long(grid.size[2])) continue;
    FillPolygon(poly, size_t(plane), mask);
  }
  return mask;
}

}  // namespace radflow::imaging
