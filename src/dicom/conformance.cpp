#include "dicom/conformance.h"

#include <cstdint>
#include <cstdio>
#include <set>
#include <utility>

namespace radflow::dicom {

namespace {

// Requirement types (PS3.5 7.4). The C types are those whose condition reads off the object.
enum class Type {
  k1,
  k2,
  k1CUnlessTiledFull,  // required unless DimensionOrganizationType is TILED_FULL (C.7.6.16, C.7.6.17)
  k1CPixelData,        // Pixel Data unless Float / Double Float Pixel Data (C.7.6.3)
  k2CLaterality,       // Laterality, when neither ImageLaterality nor a specimen says it (C.7.3.1)
};

struct Attr {
  uint16_t group, element;
  const char* keyword;
  Type type;
};

// Attributes required in each item of a sequence.
struct ItemRule {
  uint16_t group, element;  // the sequence
  std::vector<Attr> attrs;
};

struct Module {
  const char* name;
  const char* ref;  // PS3.3 section
  std::vector<Attr> attrs;
  std::vector<ItemRule> items;
};

using T = Type;

struct Iod {
  const char* name;
  const char* ref;
  std::vector<const char*> sop_classes;
  std::vector<const Module*> modules;
};

const std::vector<Iod>& Iods() {
  // The modules are function-local statics like the table itself: initialised on first use,
  // never read before their constructors ran (no static initialisation order problem).
  static const Module kPatient{"Patient", "C.7.1.1",
                        {{0x0010, 0x0010, "PatientName", T::k2}, {0x0010, 0x0020, "PatientID", T::k2},
                         {0x0010, 0x0030, "PatientBirthDate", T::k2}, {0x0010, 0x0040, "PatientSex", T::k2}}, {}};
  static const Module kGeneralStudy{"General Study", "C.7.2.1",
                             {{0x0020, 0x000D, "StudyInstanceUID", T::k1}, {0x0008, 0x0020, "StudyDate", T::k2},
                              {0x0008, 0x0030, "StudyTime", T::k2}, {0x0008, 0x0090, "ReferringPhysicianName", T::k2},
                              {0x0020, 0x0010, "StudyID", T::k2}, {0x0008, 0x0050, "AccessionNumber", T::k2}}, {}};
  static const Module kGeneralSeries{"General Series", "C.7.3.1",
                              {{0x0008, 0x0060, "Modality", T::k1}, {0x0020, 0x000E, "SeriesInstanceUID", T::k1},
                               {0x0020, 0x0011, "SeriesNumber", T::k2}}, {}};
  static const Module kLaterality{"General Series", "C.7.3.1", {{0x0020, 0x0060, "Laterality", T::k2CLaterality}}, {}};
  static const Module kWsmSeries{"Whole Slide Microscopy Series", "C.8.12.3", {{0x0008, 0x0060, "Modality", T::k1}}, {}};
  static const Module kOpSeries{"Ophthalmic Photography Series", "C.8.17.1", {{0x0008, 0x0060, "Modality", T::k1}}, {}};
  static const Module kSegSeries{"Segmentation Series", "C.8.20.1",
                          {{0x0008, 0x0060, "Modality", T::k1}, {0x0020, 0x0011, "SeriesNumber", T::k1}}, {}};
  static const Module kSrSeries{"SR Document Series", "C.17.1",
                         {{0x0008, 0x0060, "Modality", T::k1}, {0x0020, 0x000E, "SeriesInstanceUID", T::k1},
                          {0x0020, 0x0011, "SeriesNumber", T::k1},
                          {0x0008, 0x1111, "ReferencedPerformedProcedureStepSequence", T::k2}}, {}};
  static const Module kFrameOfReference{"Frame of Reference", "C.7.4.1",
                                 {{0x0020, 0x0052, "FrameOfReferenceUID", T::k1},
                                  {0x0020, 0x1040, "PositionReferenceIndicator", T::k2}}, {}};
  static const Module kGeneralEquipment{"General Equipment", "C.7.5.1", {{0x0008, 0x0070, "Manufacturer", T::k2}}, {}};
  static const Module kEnhancedEquipment{"Enhanced General Equipment", "C.7.5.2",
                                  {{0x0008, 0x0070, "Manufacturer", T::k1}, {0x0008, 0x1090, "ManufacturerModelName", T::k1},
                                   {0x0018, 0x1000, "DeviceSerialNumber", T::k1}, {0x0018, 0x1020, "SoftwareVersions", T::k1}}, {}};
  static const Module kGeneralImage{"General Image", "C.7.6.1", {{0x0020, 0x0013, "InstanceNumber", T::k2}}, {}};
  static const Module kImagePlane{"Image Plane", "C.7.6.2",
                           {{0x0028, 0x0030, "PixelSpacing", T::k1}, {0x0020, 0x0037, "ImageOrientationPatient", T::k1},
                            {0x0020, 0x0032, "ImagePositionPatient", T::k1}, {0x0018, 0x0050, "SliceThickness", T::k2}}, {}};
  static const Module kImagePixel{"Image Pixel", "C.7.6.3",
                           {{0x0028, 0x0002, "SamplesPerPixel", T::k1}, {0x0028, 0x0004, "PhotometricInterpretation", T::k1},
                            {0x0028, 0x0010, "Rows", T::k1}, {0x0028, 0x0011, "Columns", T::k1},
                            {0x0028, 0x0100, "BitsAllocated", T::k1}, {0x0028, 0x0101, "BitsStored", T::k1},
                            {0x0028, 0x0102, "HighBit", T::k1}, {0x0028, 0x0103, "PixelRepresentation", T::k1},
                            {0x7FE0, 0x0010, "PixelData", T::k1CPixelData}}, {}};
  static const Module kCtImage{"CT Image", "C.8.2.1",
                        {{0x0008, 0x0008, "ImageType", T::k1}, {0x0028, 0x1052, "RescaleIntercept", T::k1},
                         {0x0028, 0x1053, "RescaleSlope", T::k1}, {0x0018, 0x0060, "KVP", T::k2},
                         {0x0020, 0x0012, "AcquisitionNumber", T::k2}}, {}};
  static const Module kMrImage{"MR Image", "C.8.3.1",
                        {{0x0008, 0x0008, "ImageType", T::k1}, {0x0018, 0x0020, "ScanningSequence", T::k1},
                         {0x0018, 0x0021, "SequenceVariant", T::k1}, {0x0018, 0x0022, "ScanOptions", T::k2},
                         {0x0018, 0x0023, "MRAcquisitionType", T::k2}, {0x0018, 0x0081, "EchoTime", T::k2},
                         {0x0018, 0x0091, "EchoTrainLength", T::k2}}, {}};
  static const Module kAcquisitionContext{"Acquisition Context", "C.7.6.14",
                                   {{0x0040, 0x0555, "AcquisitionContextSequence", T::k2}}, {}};
  // Shared Functional Groups are Type 1 in the WSM and SEG specialisations of C.7.6.16.
  static const Module kMultiFrameFunctionalGroups{
      "Multi-frame Functional Groups", "C.7.6.16",
      {{0x5200, 0x9229, "SharedFunctionalGroupsSequence", T::k1},
       {0x5200, 0x9230, "PerFrameFunctionalGroupsSequence", T::k1CUnlessTiledFull},
       {0x0020, 0x0013, "InstanceNumber", T::k1}, {0x0008, 0x0023, "ContentDate", T::k1},
       {0x0008, 0x0033, "ContentTime", T::k1}, {0x0028, 0x0008, "NumberOfFrames", T::k1}}, {}};
  static const Module kMultiFrameDimension{"Multi-frame Dimension", "C.7.6.17",
                                    {{0x0020, 0x9221, "DimensionOrganizationSequence", T::k1},
                                     {0x0020, 0x9222, "DimensionIndexSequence", T::k1CUnlessTiledFull}}, {}};
  static const Module kSpecimen{"Specimen", "C.7.6.22",
                         {{0x0040, 0x0512, "ContainerIdentifier", T::k1},
                          {0x0040, 0x0513, "IssuerOfTheContainerIdentifierSequence", T::k2},
                          {0x0040, 0x0518, "ContainerTypeCodeSequence", T::k2},
                          {0x0040, 0x0560, "SpecimenDescriptionSequence", T::k1}},
                         {{0x0040, 0x0560, {{0x0040, 0x0551, "SpecimenIdentifier", T::k1},
                                            {0x0040, 0x0554, "SpecimenUID", T::k1}}}}};
  static const Module kWsmImage{"Whole Slide Microscopy Image", "C.8.12.4",
                         {{0x0008, 0x0008, "ImageType", T::k1}, {0x0008, 0x002A, "AcquisitionDateTime", T::k1},
                          {0x0008, 0x9206, "VolumetricProperties", T::k1}, {0x0048, 0x0010, "SpecimenLabelInImage", T::k1},
                          {0x0028, 0x0301, "BurnedInAnnotation", T::k1}, {0x0048, 0x0011, "FocusMethod", T::k1},
                          {0x0048, 0x0012, "ExtendedDepthOfField", T::k1}, {0x0028, 0x2110, "LossyImageCompression", T::k1},
                          {0x0048, 0x0006, "TotalPixelMatrixColumns", T::k1}, {0x0048, 0x0007, "TotalPixelMatrixRows", T::k1},
                          {0x0048, 0x0008, "TotalPixelMatrixOriginSequence", T::k1}}, {}};
  static const Module kOpticalPath{"Optical Path", "C.8.12.5",
                            {{0x0048, 0x0105, "OpticalPathSequence", T::k1}},
                            {{0x0048, 0x0105, {{0x0048, 0x0106, "OpticalPathIdentifier", T::k1},
                                               {0x0022, 0x0016, "IlluminationTypeCodeSequence", T::k1}}}}};
  static const Module kOpImage{"Ophthalmic Photography Image", "C.8.17.2",
                        {{0x0008, 0x0008, "ImageType", T::k1}, {0x0020, 0x0013, "InstanceNumber", T::k1},
                         {0x0008, 0x0023, "ContentDate", T::k1}, {0x0008, 0x0033, "ContentTime", T::k1},
                         {0x0028, 0x0301, "BurnedInAnnotation", T::k1}}, {}};
  static const Module kOcularRegion{"Ocular Region Imaged", "C.8.17.5",
                             {{0x0020, 0x0062, "ImageLaterality", T::k1}, {0x0008, 0x2218, "AnatomicRegionSequence", T::k1}}, {}};
  static const Module kOpAcquisition{"Ophthalmic Photography Acquisition Parameters", "C.8.17.3",
                              {{0x0022, 0x0005, "PatientEyeMovementCommanded", T::k2},
                               {0x0022, 0x000C, "HorizontalFieldOfView", T::k2},
                               {0x0022, 0x001B, "RefractiveStateSequence", T::k2},
                               {0x0022, 0x000A, "EmmetropicMagnification", T::k2},
                               {0x0022, 0x000B, "IntraOcularPressure", T::k2}, {0x0022, 0x000D, "PupilDilated", T::k2}}, {}};
  static const Module kOpPhotographic{"Ophthalmic Photographic Parameters", "C.8.17.4",
                               {{0x0022, 0x0015, "AcquisitionDeviceTypeCodeSequence", T::k1},
                                {0x0022, 0x0016, "IlluminationTypeCodeSequence", T::k2},
                                {0x0022, 0x0017, "LightPathFilterTypeStackCodeSequence", T::k2},
                                {0x0022, 0x0018, "ImagePathFilterTypeStackCodeSequence", T::k2},
                                {0x0022, 0x0019, "LensesCodeSequence", T::k2}, {0x0018, 0x7004, "DetectorType", T::k2}}, {}};
  static const Module kSegImage{"Segmentation Image", "C.8.20.2",
                         {{0x0008, 0x0008, "ImageType", T::k1}, {0x0062, 0x0001, "SegmentationType", T::k1},
                          {0x0062, 0x0002, "SegmentSequence", T::k1}, {0x0028, 0x2110, "LossyImageCompression", T::k1},
                          {0x0070, 0x0080, "ContentLabel", T::k1}, {0x0070, 0x0081, "ContentDescription", T::k2}}, {}};
  static const Module kSrGeneral{"SR Document General", "C.17.2",
                          {{0x0020, 0x0013, "InstanceNumber", T::k1}, {0x0040, 0xA491, "CompletionFlag", T::k1},
                           {0x0040, 0xA493, "VerificationFlag", T::k1}, {0x0008, 0x0023, "ContentDate", T::k1},
                           {0x0008, 0x0033, "ContentTime", T::k1},
                           {0x0040, 0xA372, "PerformedProcedureCodeSequence", T::k2}}, {}};
  static const Module kSrContent{"SR Document Content", "C.17.3",
                          {{0x0040, 0xA040, "ValueType", T::k1}, {0x0040, 0xA050, "ContinuityOfContent", T::k1}}, {}};
  static const Module kSopCommon{"SOP Common", "C.12.1",
                          {{0x0008, 0x0016, "SOPClassUID", T::k1}, {0x0008, 0x0018, "SOPInstanceUID", T::k1}}, {}};
  static const std::vector<Iod> kIods = {
      {"CT Image", "A.3", {"1.2.840.10008.5.1.4.1.1.2"},
       {&kPatient, &kGeneralStudy, &kGeneralSeries, &kFrameOfReference, &kGeneralEquipment, &kGeneralImage,
        &kImagePlane, &kImagePixel, &kCtImage, &kSopCommon}},
      {"MR Image", "A.4", {"1.2.840.10008.5.1.4.1.1.4"},
       {&kPatient, &kGeneralStudy, &kGeneralSeries, &kFrameOfReference, &kGeneralEquipment, &kGeneralImage,
        &kImagePlane, &kImagePixel, &kMrImage, &kSopCommon}},
      {"VL Whole Slide Microscopy Image", "A.32.8", {"1.2.840.10008.5.1.4.1.1.77.1.6"},
       {&kPatient, &kGeneralStudy, &kGeneralSeries, &kLaterality, &kWsmSeries, &kFrameOfReference,
        &kGeneralEquipment, &kEnhancedEquipment, &kGeneralImage, &kImagePixel, &kAcquisitionContext,
        &kMultiFrameFunctionalGroups, &kMultiFrameDimension, &kSpecimen, &kWsmImage, &kOpticalPath, &kSopCommon}},
      {"Ophthalmic Photography Image", "A.39",
       {"1.2.840.10008.5.1.4.1.1.77.1.5.1", "1.2.840.10008.5.1.4.1.1.77.1.5.2"},
       {&kPatient, &kGeneralStudy, &kGeneralSeries, &kLaterality, &kOpSeries, &kGeneralEquipment, &kGeneralImage,
        &kImagePixel, &kOpImage, &kOcularRegion, &kOpAcquisition, &kOpPhotographic, &kSopCommon}},
      {"Segmentation", "A.51", {"1.2.840.10008.5.1.4.1.1.66.4"},
       {&kPatient, &kGeneralStudy, &kGeneralSeries, &kSegSeries, &kGeneralEquipment, &kEnhancedEquipment,
        &kGeneralImage, &kImagePixel, &kSegImage, &kMultiFrameFunctionalGroups, &kMultiFrameDimension, &kSopCommon}},
      {"Structured Report", "A.35",
       {"1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22", "1.2.840.10008.5.1.4.1.1.88.33",
        "1.2.840.10008.5.1.4.1.1.88.34"},
       {&kPatient, &kGeneralStudy, &kSrSeries, &kGeneralEquipment, &kSrGeneral, &kSrContent, &kSopCommon}},
      // Last, no SOP class: what any other object is checked against (Check).
      {"", "", {}, {&kPatient, &kGeneralStudy, &kSopCommon}},
  };
  return kIods;
}

const Iod* FindIod(const std::string& sop_class) {
  for (const auto& iod : Iods()) {
    for (const char* uid : iod.sop_classes) {
      if (sop_class == uid) return &iod;
    }
  }
  return nullptr;
}

std::string TagText(uint16_t g, uint16_t e) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04X,%04X)", g, e);
  return buf;
}

std::string Trimmed(std::string v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
  return v;
}

// A short top-level value the check reads (from the attribute map: textual VRs only).
std::string ValueOf(const ParsedInstance& p, uint16_t g, uint16_t e) {
  return Trimmed(p.attributes.Get(MakeTag(g, e)));
}

// DimensionOrganizationType (C.7.6.17.1): TILED_FULL implies the frames' positions (C.8.12.4.1.1).
bool TiledFull(const ParsedInstance& p) {
  return ValueOf(p, 0x0020, 0x9311) == "TILED_FULL";
}

bool IsType2(const Attr& a) { return a.type == T::k2 || a.type == T::k2CLaterality; }

// Where a problem was found: a module at the top level, or item `item` (0-based) of one of
// its sequences. Spelled out only for a problem (the check runs on every stored object).
struct Where {
  const Module* module;
  const ItemRule* rule = nullptr;
  size_t item = 0;
  std::string Text() const {
    const std::string m = std::string(module->name) + " module (PS3.3 " + module->ref + ")";
    if (rule == nullptr) return ": " + m;
    return ": item " + std::to_string(item + 1) + " of " + TagText(rule->group, rule->element) + ", " + m;
  }
  // Tells items apart for the once-per-attribute rule ("" at the top level).
  std::string Scope() const {
    return rule == nullptr ? "" : TagText(rule->group, rule->element) + "#" + std::to_string(item);
  }
};

enum class Pass { kAll, kType1, kType2 };

// Checks the attributes of one module (or one sequence item) that `pass` takes and appends
// their problems.
void CheckAttrs(const ItemPresence& ds, const ParsedInstance& root, const std::vector<Attr>& attrs, Pass pass,
                const Where& where, std::set<std::string>& seen, std::vector<std::string>& out) {
  for (const Attr& a : attrs) {
    if (pass != Pass::kAll && IsType2(a) != (pass == Pass::kType2)) continue;
    const ElementPresence* el = ds.Find(MakeTag(a.group, a.element));
    const char* type = "1";
    switch (a.type) {
      case T::k1:
        break;
      case T::k2:
        type = "2";
        break;
      case T::k1CUnlessTiledFull:
        if (TiledFull(root)) continue;
        type = "1C";
        break;
      case T::k1CPixelData:
        if (ds.Find(MakeTag(0x7FE0, 0x0008)) || ds.Find(MakeTag(0x7FE0, 0x0009))) continue;
        type = "1C";
        break;
      case T::k2CLaterality:
        if (root.presence.top.Find(MakeTag(0x0020, 0x0062)) || root.presence.top.Find(MakeTag(0x0040, 0x0560))) {
          continue;
        }
        type = "2C";
        break;
    }
    const bool type2 = type[0] == '2';
    std::string problem;
    if (el == nullptr) {
      problem = "missing Type " + std::string(type) + " " + a.keyword + " " + TagText(a.group, a.element);
    } else if (!type2 && el->empty) {
      problem = "empty Type " + std::string(type) + " " + a.keyword + " " + TagText(a.group, a.element);
    } else {
      continue;
    }
    // An attribute several modules require is reported once, by the first (strictest) one.
    const std::string key = TagText(a.group, a.element) + where.Scope();
    if (!seen.insert(key).second) continue;
    out.push_back(problem + where.Text());
  }
}

std::vector<std::string> Check(const ParsedInstance& p) {
  const Iod* iod = FindIod(p.sop_class_uid);
  if (iod == nullptr) iod = &Iods().back();
  std::vector<std::string> out;
  std::set<std::string> seen;
  // Type 1 first, so that an attribute two modules require is reported with its strictest type.
  for (Pass pass : {Pass::kType1, Pass::kType2}) {
    for (const Module* m : iod->modules) CheckAttrs(p.presence.top, p, m->attrs, pass, {m}, seen, out);
  }
  // UIDs over 64 characters (PS3.5 9.1): stored anyway (the hub keys on up to 128).
  for (const auto& [tag, name] : {std::pair{0x00080018u, "SOPInstanceUID"}, std::pair{0x0020000Du, "StudyInstanceUID"},
                                  std::pair{0x0020000Eu, "SeriesInstanceUID"},
                                  std::pair{0x00200052u, "FrameOfReferenceUID"}}) {
    const std::string value = ValueOf(p, uint16_t(tag >> 16), uint16_t(tag & 0xFFFF));
    if (value.size() > 64) {
      out.push_back(std::string(name) + " " + TagText(uint16_t(tag >> 16), uint16_t(tag & 0xFFFF)) + " is " +
                    std::to_string(value.size()) + " characters, more than the 64 of PS3.5 9.1");
    }
  }
  for (const Module* m : iod->modules) {
    for (const ItemRule& rule : m->items) {
      const auto& items = p.presence.ItemsOf(MakeTag(rule.group, rule.element));
      for (size_t k = 0; k < items.size(); ++k) {
        CheckAttrs(items[k], p, rule.attrs, Pass::kAll, {m, &rule, k}, seen, out);
      }
    }
  }
  return out;
}

}  // namespace

std::string ConformanceIodName(const std::string& sop_class_uid) {
  const Iod* iod = FindIod(sop_class_uid);
  return iod ? iod->name : "";
}

bool ConformanceChecksItemsOf(Tag sequence) {
  // Asked for every top-level sequence of every parsed object: the few tags, once.
  static const std::vector<Tag> kSequences = [] {
    std::vector<Tag> tags;
    for (const auto& iod : Iods()) {
      for (const Module* m : iod.modules) {
        for (const ItemRule& rule : m->items) tags.push_back(MakeTag(rule.group, rule.element));
      }
    }
    return tags;
  }();
  for (Tag t : kSequences) {
    if (t == sequence) return true;
  }
  return false;
}

std::vector<std::string> CheckConformance(const ParsedInstance& instance) {
  auto problems = Check(instance);
  if (!instance.charset_problem.empty()) problems.push_back(instance.charset_problem);
  return problems;
}

Result<std::vector<std::string>> CheckConformance(const std::string& path) {
  auto parsed = ParsePart10File(path);
  if (!parsed.ok()) return parsed.status();
  return CheckConformance(parsed.value());
}

}  // namespace radflow::dicom
