// Character sets (PS3.3 C.12.1.1.2, PS3.5 6.1): DCMTK converts most to UTF-8; this covers
// the ISO 2022 code extensions its converter cannot open here (Japanese, Korean).
#pragma once

class DcmItem;

namespace radflow::dicom {

// Converts the item's text values to UTF-8 and sets SpecificCharacterSet to ISO_IR 192.
// Tries DCMTK first; for ISO 2022 with escape sequences, decodes values with iconv.
// Returns false when some value could not be converted (it is left as it was).
bool ConvertToUtf8(DcmItem& item);

}  // namespace radflow::dicom
