#include "dicom/json_model.h"

#include "dicom/charset.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcjson.h>
#include <dcmtk/dcmdata/dcstack.h>

#include <set>
#include <sstream>

namespace radflow::dicom {

namespace {

bool IsBinaryVr(DcmEVR vr) {
  switch (vr) {
    case EVR_OB: case EVR_OW: case EVR_OF: case EVR_OD: case EVR_OL: case EVR_OV:
    case EVR_UN: case EVR_ox: case EVR_px: case EVR_pixelSQ:
      return true;
    default:
      return false;
  }
}

class BulkDataFormat : public DcmJsonFormatCompact {
 public:
  BulkDataFormat(const JsonOptions& options, std::set<DcmTagKey> bulk)
      : DcmJsonFormatCompact(OFFalse), options_(options), bulk_(std::move(bulk)) {}

  OFBool asBulkDataURI(const DcmTagKey& tag, OFString& uri) override {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%04X%04X", tag.getGroup(), tag.getElement());
    if (tag == DCM_PixelData) {
      uri = (options_.pixel_data_uri.empty() ? options_.bulk_base_uri + "/" + hex
                                             : options_.pixel_data_uri).c_str();
      return OFTrue;
    }
    if (bulk_.count(tag) == 0) return OFFalse;
    uri = (options_.bulk_base_uri + "/" + hex).c_str();
    return OFTrue;
  }

 private:
  const JsonOptions& options_;
  std::set<DcmTagKey> bulk_;
};

Result<std::unique_ptr<DcmFileFormat>> Load(const std::string& path, Uint32 max_read) {
  auto ff = std::make_unique<DcmFileFormat>();
  OFCondition cond = ff->loadFile(path.c_str(), EXS_Unknown, EGL_noChange, max_read, ERM_autoDetect);
  if (cond.bad()) return Status(ErrorCode::kInvalidDicom, std::string("cannot read ") + path + ": " + cond.text());
  return ff;
}

}  // namespace

Result<std::string> InstanceToDicomJson(const std::string& path, const JsonOptions& options) {
  try {
    auto ff = Load(path, static_cast<Uint32>(options.inline_limit));
    if (!ff.ok()) return ff.status();
    DcmDataset* ds = ff.value()->getDataset();
    // Binary values too long to inline, wherever they are.
    std::set<DcmTagKey> bulk;
    DcmStack stack;
    while (ds->nextObject(stack, OFTrue).good()) {
      DcmObject* obj = stack.top();
      if (IsBinaryVr(obj->ident()) && obj->getLengthField() > options.inline_limit) {
        bulk.insert(obj->getTag());
      }
    }
    (void)ConvertToUtf8(*ds);  // PS3.18 F.2: JSON is UTF-8
    BulkDataFormat format(options, std::move(bulk));
    std::ostringstream out;
    // DcmDataset::writeJson writes the members only; the object braces are ours.
    out << "{";
    OFCondition cond = ds->writeJson(out, format);
    out << "}";
    if (cond.bad()) return Status(ErrorCode::kInternal, std::string("JSON encoding: ") + cond.text());
    return out.str();
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidDicom, std::string("cannot encode ") + path + ": " + e.what());
  }
}

Result<std::string> ReadBulkValue(const std::string& path, Tag tag) {
  try {
    auto ff = Load(path, 4096);
    if (!ff.ok()) return ff.status();
    DcmDataset* ds = ff.value()->getDataset();
    DcmElement* el = nullptr;
    if (ds->findAndGetElement(DcmTagKey(Group(tag), Element(tag)), el, OFTrue).bad() || !el) {
      return Status(ErrorCode::kNotFound, "no element " + TagToString(tag));
    }
    Uint8* bytes = nullptr;
    if (el->getUint8Array(bytes).bad() || bytes == nullptr) {
      // Not a byte-addressable value (e.g. encapsulated pixel data): the frames endpoint serves those.
      return Status(ErrorCode::kInvalidArgument, "element " + TagToString(tag) + " is not bulk data (a binary value)");
    }
    return std::string(reinterpret_cast<const char*>(bytes), el->getLength());
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidDicom, std::string("cannot read ") + path + ": " + e.what());
  }
}

}  // namespace radflow::dicom
