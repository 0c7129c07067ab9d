// DICOM for fundus-quality: reading the Ophthalmic Photography image (PS3.3 A.39) and
// writing the app's Segmentation (PS3.3 A.51) of it. DCMTK stays inside fundus_dicom.cpp.
#pragma once

#include <string>
#include <vector>

#include "ai/results/results.h"
#include "apps/ophthalmic/fundus_analysis.h"
#include "apps/ophthalmic/fundus_image.h"
#include "base/status.h"

namespace radflow::apps::ophthalmic {

struct Photo {
  std::string path;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  FundusImage image;
};

// The series' first OP instance (Ophthalmic Photography 8 or 16 Bit Image Storage, lowest
// InstanceNumber), decoded through radflow_pixel as 8-bit RGB (MONOCHROME1/2 replicated,
// 16-bit scaled by BitsStored; YBR_FULL converted here (PS3.3 C.7.6.3.1.2) unless the JPEG
// family's decoder already gave RGB). kInvalidArgument: no files, none is an OP image, or
// Rows x Columns over kMaxFundusPixels (64 MP, checked before decoding); kUnsupported: a
// photometric interpretation or bit depth not handled (e.g. YBR_FULL_422 outside JPEG);
// decoding errors as pixel::DecodeFrame reports them.
Result<Photo> ReadOphthalmicPhoto(const std::vector<std::string>& files);

// A BINARY SEG on the photograph's pixel grid: segment 1 the retinal vessels, segment 2 the
// optic disc (when found). One frame per segment, each deriving from the photograph
// (DerivationImageSequence, C.7.6.16.2.6); the photograph has no Frame of Reference, so
// neither has the SEG (nor plane position / orientation, A.51.5.1).
Result<ai::WrittenObject> WriteFundusSegmentation(const FundusAnalysis& analysis, const Photo& photo,
                                                  const ai::Algorithm& algorithm,
                                                  const std::string& path, int series_number);

}  // namespace radflow::apps::ophthalmic
