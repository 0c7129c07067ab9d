// Index rows in the DICOM JSON model (PS3.18 F.2), for QIDO-RS answers and STOW-RS
// responses.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "dicom/tag.h"
#include "storage/model.h"

namespace radflow::api {

// {"vr": VR, "Value": [...]} for a '\'-joined value; numbers for IS/DS/US/..., PN as
// {"Alphabetic": ...}; no "Value" when empty (PS3.18 F.2.5).
nlohmann::json AttributeJson(dicom::Tag tag, const std::string& value);
// "0020000D" style key.
std::string TagKey(dicom::Tag tag);

// The row's attributes that are in `fields` (or all when `all`), plus RetrieveURL.
nlohmann::json RowJson(const storage::Row& row, const std::set<dicom::Tag>& fields, bool all,
                       const std::string& retrieve_url);

}  // namespace radflow::api
