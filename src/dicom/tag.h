// DICOM attribute tags and keyword lookup (PS3.6 data dictionary, via DCMTK's dictionary).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace radflow::dicom {

// A tag as one 32-bit number: group in the high half, element in the low half.
using Tag = uint32_t;
constexpr Tag MakeTag(uint16_t group, uint16_t element) {
  return (static_cast<uint32_t>(group) << 16) | element;
}
constexpr uint16_t Group(Tag t) { return static_cast<uint16_t>(t >> 16); }
constexpr uint16_t Element(Tag t) { return static_cast<uint16_t>(t & 0xFFFF); }

// "(0010,0010)" style, upper-case hex.
std::string TagToString(Tag tag);
// Accepts a PS3.6 keyword ("PatientName") or an 8-hex-digit tag ("00100010").
std::optional<Tag> ParseTag(std::string_view keyword_or_hex);
// PS3.6 keyword, or "" when the dictionary does not know the tag.
std::string KeywordOf(Tag tag);
// Two-letter VR from the dictionary ("PN", "DA", ...), or "UN".
std::string VrOf(Tag tag);

namespace tags {
constexpr Tag kTransferSyntaxUID = MakeTag(0x0002, 0x0010);
constexpr Tag kSpecificCharacterSet = MakeTag(0x0008, 0x0005);
constexpr Tag kSOPClassUID = MakeTag(0x0008, 0x0016);
constexpr Tag kSOPInstanceUID = MakeTag(0x0008, 0x0018);
constexpr Tag kStudyDate = MakeTag(0x0008, 0x0020);
constexpr Tag kSeriesDate = MakeTag(0x0008, 0x0021);
constexpr Tag kStudyTime = MakeTag(0x0008, 0x0030);
constexpr Tag kSeriesTime = MakeTag(0x0008, 0x0031);
constexpr Tag kAccessionNumber = MakeTag(0x0008, 0x0050);
constexpr Tag kQueryRetrieveLevel = MakeTag(0x0008, 0x0052);
constexpr Tag kRetrieveAETitle = MakeTag(0x0008, 0x0054);
constexpr Tag kInstanceAvailability = MakeTag(0x0008, 0x0056);
constexpr Tag kModality = MakeTag(0x0008, 0x0060);
constexpr Tag kModalitiesInStudy = MakeTag(0x0008, 0x0061);
constexpr Tag kSOPClassesInStudy = MakeTag(0x0008, 0x0062);
constexpr Tag kManufacturer = MakeTag(0x0008, 0x0070);
constexpr Tag kInstitutionName = MakeTag(0x0008, 0x0080);
constexpr Tag kReferringPhysicianName = MakeTag(0x0008, 0x0090);
constexpr Tag kStudyDescription = MakeTag(0x0008, 0x1030);
constexpr Tag kSeriesDescription = MakeTag(0x0008, 0x103E);
constexpr Tag kManufacturerModelName = MakeTag(0x0008, 0x1090);
constexpr Tag kAvailableTransferSyntaxUID = MakeTag(0x0008, 0x3002);
constexpr Tag kPatientName = MakeTag(0x0010, 0x0010);
constexpr Tag kPatientID = MakeTag(0x0010, 0x0020);
constexpr Tag kIssuerOfPatientID = MakeTag(0x0010, 0x0021);
constexpr Tag kPatientBirthDate = MakeTag(0x0010, 0x0030);
constexpr Tag kPatientSex = MakeTag(0x0010, 0x0040);
constexpr Tag kBodyPartExamined = MakeTag(0x0018, 0x0015);
constexpr Tag kSliceThickness = MakeTag(0x0018, 0x0050);
constexpr Tag kStudyInstanceUID = MakeTag(0x0020, 0x000D);
constexpr Tag kSeriesInstanceUID = MakeTag(0x0020, 0x000E);
constexpr Tag kStudyID = MakeTag(0x0020, 0x0010);
constexpr Tag kSeriesNumber = MakeTag(0x0020, 0x0011);
constexpr Tag kInstanceNumber = MakeTag(0x0020, 0x0013);
constexpr Tag kNumberOfPatientRelatedStudies = MakeTag(0x0020, 0x1200);
constexpr Tag kNumberOfPatientRelatedSeries = MakeTag(0x0020, 0x1202);
constexpr Tag kNumberOfPatientRelatedInstances = MakeTag(0x0020, 0x1204);
constexpr Tag kNumberOfStudyRelatedSeries = MakeTag(0x0020, 0x1206);
constexpr Tag kNumberOfStudyRelatedInstances = MakeTag(0x0020, 0x1208);
constexpr Tag kNumberOfSeriesRelatedInstances = MakeTag(0x0020, 0x1209);
constexpr Tag kNumberOfFrames = MakeTag(0x0028, 0x0008);
constexpr Tag kRows = MakeTag(0x0028, 0x0010);
constexpr Tag kColumns = MakeTag(0x0028, 0x0011);
constexpr Tag kPixelData = MakeTag(0x7FE0, 0x0010);
}  // namespace tags

}  // namespace radflow::dicom
