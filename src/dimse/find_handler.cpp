// C-FIND identifiers ↔ index queries and rows (PS3.4 C.4.1, C.2.2).
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>

#include "dicom/charset.h"
#include "dimse/association.h"
#include "query/matching.h"

namespace radflow::dimse {

Result<storage::Query> QueryFromIdentifier(DcmDataset& identifier) {
  OFString level_name;
  identifier.findAndGetOFString(DCM_QueryRetrieveLevel, level_name);
  auto level = storage::ParseLevel(level_name.c_str());
  if (!level) {
    return {ErrorCode::kInvalidArgument,
            "missing or invalid QueryRetrieveLevel (0008,0052): '" +
                std::string(level_name.c_str()) + "'"};
  }
  // The index holds UTF-8: keys in another character set are decoded before matching.
  OFString charset;
  identifier.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
  dicom::TextDecoder decoder(charset.c_str());
  std::vector<std::pair<dicom::Tag, std::string>> keys;
  for (unsigned long i = 0; i < identifier.card(); ++i) {
    DcmElement* el = identifier.getElement(i);
    const DcmTagKey& key = el->getTag();
    if (key == DCM_QueryRetrieveLevel || key == DCM_SpecificCharacterSet) continue;
    if (el->ident() == EVR_SQ) continue;  // sequence matching: not supported, universal
    OFString value;
    if (el->getLength() > 0) el->getOFStringArray(value);
    bool lossy = false;
    keys.emplace_back(dicom::MakeTag(key.getGroup(), key.getElement()),
                      decoder.Decode(value.c_str(), el->ident() == EVR_PN, &lossy));
  }
  return query::BuildQuery(*level, keys);
}

DcmDataset* ResponseFromRow(DcmDataset& request, const storage::Row& row,
                            storage::ResourceLevel level, const std::string& retrieve_ae) {
  auto* rsp = new DcmDataset;
  bool non_ascii = false;
  for (unsigned long i = 0; i < request.card(); ++i) {
    const DcmTagKey key = request.getElement(i)->getTag();
    if (key == DCM_SpecificCharacterSet) continue;
    if (key == DCM_QueryRetrieveLevel) {
      rsp->putAndInsertString(key, storage::LevelName(level));
      continue;
    }
    if (key == DCM_RetrieveAETitle) {
      rsp->putAndInsertString(key, retrieve_ae.c_str());
      continue;
    }
    if (key == DCM_InstanceAvailability) {
      rsp->putAndInsertString(key, "ONLINE");
      continue;
    }
    auto it = row.values.find(dicom::MakeTag(key.getGroup(), key.getElement()));
    const storage::IndexedAttribute* attr = storage::FindIndexedAttribute(it == row.values.end() ? 0 : it->first);
    if (it != row.values.end() && attr && attr->level <= level && !it->second.empty()) {
      for (unsigned char c : it->second) non_ascii = non_ascii || c >= 0x80;
      rsp->putAndInsertString(key, it->second.c_str());
    } else {
      // A requested key radflow does not hold, or that has no value: returned empty
      // (PS3.4 C.4.1.1.3.2 allows a zero-length value for keys not supported).
      rsp->insertEmptyElement(DcmTag(key));
    }
  }
  // Index values are UTF-8 (converted on ingest): the response says so whatever the
  // request's character set (PS3.4 C.4.1.1.3: the SCP may answer in another one).
  if (non_ascii) rsp->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  return rsp;
}

}  // namespace radflow::dimse
