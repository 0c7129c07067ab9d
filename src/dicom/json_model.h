// The DICOM JSON model (PS3.18 F) of a stored instance, for WADO-RS metadata, and the
// bulk data it refers to.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"
#include "dicom/tag.h"

namespace radflow::dicom {

struct JsonOptions {
  // Binary values (OB, OW, OF, OD, OL, OV, UN) longer than inline_limit are not inlined
  // but referenced as "<bulk_base_uri>/<8 hex digits of the tag>" (PS3.18 F.2.6);
  // PixelData always, as `pixel_data_uri` when given.
  std::string bulk_base_uri;
  std::string pixel_data_uri;
  size_t inline_limit = 1024;
};

// One JSON object: {"00080005": {"vr": "CS", "Value": [...]}, ...}, in UTF-8.
Result<std::string> InstanceToDicomJson(const std::string& path, const JsonOptions& options);

// The value bytes of the first element with this tag (the top level first, then nested,
// depth-first), in the byte order of the file's transfer syntax. kNotFound if absent.
Result<std::string> ReadBulkValue(const std::string& path, Tag tag);

}  // namespace radflow::dicom
