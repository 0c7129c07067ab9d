// Reads the measurement groups of a TID 1500 Measurement Report (ours or another tool's)
// by walking the SR content tree with DCMTK dcmsr: every CONTAINER (125007, DCM,
// "Measurement Group") and its direct children (PS3.16 TID 1501 / TID 1411).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmsr/dsrdoc.h>

#include <cstdlib>
#include <filesystem>

#include "ai/results/results.h"

namespace radflow::ai {
namespace {

Code ToCode(const DSRCodedEntryValue& c) {
  return {c.getCodeValue().c_str(), c.getCodingSchemeDesignator().c_str(), c.getCodeMeaning().c_str()};
}

bool Is(const DSRCodedEntryValue& c, const char* value, const char* scheme) {
  return c.getCodeValue() == value && c.getCodingSchemeDesignator() == scheme;
}

// One child of a Measurement Group into the group (concepts from TID 1501 / TID 1411).
void ReadGroupItem(DSRContentItem& item, SrMeasurementGroup& group) {
  const DSRCodedEntryValue& name = item.getConceptName();
  switch (item.getValueType()) {
    case DSRTypes::VT_Text:
      if (Is(name, "112039", "DCM")) group.tracking_identifier = item.getStringValue().c_str();
      break;
    case DSRTypes::VT_UIDRef:
      if (Is(name, "112040", "DCM")) group.tracking_uid = item.getStringValue().c_str();
      break;
    case DSRTypes::VT_Code:
      if (Is(name, "121071", "DCM")) group.finding = ToCode(item.getCodeValue());
      break;
    case DSRTypes::VT_Image: {
      const DSRImageReferenceValue& ref = item.getImageReference();
      if (ref.getSegmentList().getNumberOfItems() > 0) {
        group.referenced_segment = std::string(ref.getSOPInstanceUID().c_str()) + "#" +
                                   std::to_string(ref.getSegmentList().getItem(1));
      }
      break;
    }
    case DSRTypes::VT_Num: {
      const DSRNumericMeasurementValue& num = item.getNumericValue();
      if (num.getNumericValue().empty()) break;  // no MeasuredValueSequence item
      Measurement m;
      m.name = ToCode(name);
      m.value = std::strtod(num.getNumericValue().c_str(), nullptr);
      m.unit = ToCode(num.getMeasurementUnit());
      group.measurements.push_back(m);
      break;
    }
    default:
      break;
  }
}

}  // namespace

Result<SrDocument> ReadMeasurementReport(const std::string& path) {
  if (!std::filesystem::exists(path)) return Status(ErrorCode::kNotFound, "no such file: " + path);
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad()) return Status(ErrorCode::kInvalidDicom, "cannot read " + path);
  DSRDocument doc;
  OFCondition c = doc.read(*file.getDataset());
  if (c.bad()) return Status(ErrorCode::kInvalidArgument, std::string("not a readable SR document: ") + c.text());

  SrDocument out;
  OFString uid;
  doc.getSOPInstanceUID(uid);
  out.sop_instance_uid = uid.c_str();
  DSRDocumentTree& tree = doc.getTree();
  if (tree.gotoRoot() == 0) return out;
  DSRContentItem& root = tree.getCurrentContentItem();
  out.title = ToCode(root.getConceptName());
  OFString tid, resource;
  if (root.getTemplateIdentification(tid, resource).good()) out.template_id = tid.c_str();
  // Title (126000, DCM, "Imaging Measurement Report") marks TID 1500 when writers omit the id.
  if (out.template_id.empty() && Is(root.getConceptName(), "126000", "DCM")) out.template_id = "1500";

  // Depth-first walk; a group's children are the nodes one level below it until the walk
  // returns to the group's level.
  size_t group_level = 0;
  bool in_group = false;
  while (tree.iterate(OFTrue) != 0) {
    const size_t level = tree.getLevel();
    if (in_group && level <= group_level) in_group = false;
    DSRContentItem& item = tree.getCurrentContentItem();
    if (item.getValueType() == DSRTypes::VT_Container && Is(item.getConceptName(), "125007", "DCM")) {
      out.groups.emplace_back();
      group_level = level;
      in_group = true;
      continue;
    }
    if (in_group && level == group_level + 1) ReadGroupItem(item, out.groups.back());
  }
  return out;
}

}  // namespace radflow::ai
