#include "dicom/instance.h"

#include "dicom/charset.h"
#include "dicom/conformance.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <dcmtk/oflog/oflog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>

namespace radflow::dicom {

namespace {

// Values longer than this are not loaded by the parser (pixel data, large blobs): the
// index needs none of them, and skipping them keeps ingest I/O-bound.
constexpr Uint32 kMaxLoadedValue = 4096;
// Longer textual values are not copied into the attribute map.
constexpr Uint32 kMaxIndexedValue = 1024;

bool IsTextualVr(DcmEVR vr) {
  switch (vr) {
    case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT:
    case EVR_IS: case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST:
    case EVR_TM: case EVR_UC: case EVR_UI: case EVR_UR: case EVR_UT:
    case EVR_US: case EVR_SS: case EVR_UL: case EVR_SL: case EVR_FL: case EVR_FD:
      return true;
    default:
      return false;
  }
}

// True when the file is shorter than the declared lengths require. DCMTK skips values it
// does not load, so a file truncated inside pixel data would otherwise parse "fine".
bool DeclaredLengthsExceedFile(DcmDataset& ds, uintmax_t file_size) {
  DcmElement* pixel = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel).bad() || pixel == nullptr) return false;
  Uint32 len = pixel->getLengthField();
  if (len == DCM_UndefinedLength) return false;  // encapsulated: checked by the parser
  // The element's value ends at least `len` bytes after the start of the dataset.
  return static_cast<uintmax_t>(len) > file_size;
}

Tag TagOf(const DcmElement& el) {
  return MakeTag(el.getGTag(), el.getETag());
}

// Zero length (PS3.5 7.1.1), or a sequence without items; encapsulated Pixel Data (undefined
// length, PS3.5 A.4) is not empty. The length field as read: DcmElement::getLength() would
// load values the parser left on disk.
bool IsEmptyValue(DcmElement& el) {
  if (el.ident() == EVR_SQ) return static_cast<DcmSequenceOfItems&>(el).card() == 0;
  return el.getLengthField() == 0;
}

void SortByTag(ItemPresence& item) {
  auto by_tag = [](const ElementPresence& a, const ElementPresence& b) { return a.tag < b.tag; };
  // DCMTK keeps an item's elements in tag order already; sorting is the guarantee Find needs.
  if (!std::is_sorted(item.elements.begin(), item.elements.end(), by_tag)) {
    std::stable_sort(item.elements.begin(), item.elements.end(), by_tag);
  }
}

ItemPresence PresenceOf(DcmItem& item) {
  ItemPresence out;
  out.elements.reserve(item.card());
  for (unsigned long i = 0; i < item.card(); ++i) {
    if (DcmElement* el = item.getElement(i)) out.elements.push_back({TagOf(*el), IsEmptyValue(*el)});
  }
  SortByTag(out);
  return out;
}

}  // namespace

const ElementPresence* ItemPresence::Find(Tag tag) const {
  auto it = std::lower_bound(elements.begin(), elements.end(), tag,
                             [](const ElementPresence& e, Tag t) { return e.tag < t; });
  return it != elements.end() && it->tag == tag ? &*it : nullptr;
}

const std::vector<ItemPresence>& DatasetPresence::ItemsOf(Tag sequence) const {
  static const std::vector<ItemPresence> kNone;
  auto it = std::lower_bound(sequences.begin(), sequences.end(), sequence,
                             [](const auto& s, Tag t) { return s.first < t; });
  return it != sequences.end() && it->first == sequence ? it->second : kNone;
}

const std::string& AttributeMap::Get(Tag tag) const {
  static const std::string kEmpty;
  auto it = values_.find(tag);
  return it == values_.end() ? kEmpty : it->second;
}

std::string NewUid() {
  char buf[100];
  dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
  return buf;
}

bool IsValidUid(std::string_view uid) {
  // Lenient on purpose: real modalities emit components with leading zeros; what the hub
  // needs is a key that is safe everywhere (SQL, file names, URLs). Up to 128 characters,
  // not PS3.5 9.1's 64: slides from the field carry longer ones (issue 17) and must still be
  // stored; dicom::CheckConformance reports a UID over 64 as a conformance problem.
  if (uid.empty() || uid.size() > 128) return false;
  for (char c : uid) {
    if ((c < '0' || c > '9') && c != '.') return false;
  }
  return true;
}

namespace {
Result<ParsedInstance> Parse(const std::string& path) {
  // DCMTK logs parse problems itself; radflow reports them once, as a Status.
  static std::once_flag quiet;
  std::call_once(quiet, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
  // A Part-10 file has a 128-byte preamble and "DICM" (PS3.10 7.1). Checked here rather
  // than with DCMTK's ERM_fileOnly, which also refuses transfer syntaxes DCMTK 3.6.7 does
  // not know (HTJ2K, Deflated Image Frame Compression). One open gives the size too.
  uintmax_t file_size = 0;
  {
    char head[132] = {};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return {ErrorCode::kIoError, "cannot read " + path + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(::fileno(f), &st) == 0) file_size = static_cast<uintmax_t>(st.st_size);
    size_t got = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    if (got < sizeof head || std::memcmp(head + 128, "DICM", 4) != 0) {
      return {ErrorCode::kInvalidDicom,
              "not a DICOM Part-10 file (no preamble and \"DICM\" prefix, PS3.10 7.1)"};
    }
  }
  DcmFileFormat ff;
  OFCondition cond = ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, kMaxLoadedValue,
                                 ERM_autoDetect);
  if (cond.bad()) {
    std::string why = cond.text();
    if (cond == EC_FileMetaInfoHeaderMissing || why.find("Meta") != std::string::npos) {
      return {ErrorCode::kInvalidDicom,
              "not a DICOM Part-10 file (no File Meta Information, PS3.10 7.1): " + why};
    }
    return {ErrorCode::kInvalidDicom, "cannot parse DICOM: " + why};
  }

  ParsedInstance out;
  OFString ts;
  if (ff.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts).bad() || ts.empty()) {
    return {ErrorCode::kInvalidDicom, "File Meta Information lacks TransferSyntaxUID (0002,0010)"};
  }
  out.transfer_syntax_uid = ts.c_str();

  DcmDataset* ds = ff.getDataset();
  // A deflated dataset (PS3.5 A.5) is longer than its file: the check applies to the others.
  const bool deflated = out.transfer_syntax_uid == "1.2.840.10008.1.2.1.99";
  if (!deflated && DeclaredLengthsExceedFile(*ds, file_size)) {
    return {ErrorCode::kInvalidDicom, "file truncated: PixelData length exceeds the file size"};
  }

  // Index values are UTF-8 (PostgreSQL's text and PS3.18 F.2 JSON require it); the blob
  // stays as received. Bytes that do not decode are no reason to refuse a valid object:
  // they are indexed as U+FFFD and reported once (charset_problem).
  OFString charset;
  ds->findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
  TextDecoder decoder(charset.c_str());
  std::string undecoded;  // the attributes with U+FFFD, for charset_problem

  // One walk of the top level: the attribute map, and the presence the IOD check reads
  // (dicom/conformance.h), so that the check needs no second parse.
  out.presence.top.elements.reserve(ds->card());
  for (unsigned long i = 0; i < ds->card(); ++i) {
    DcmElement* el = ds->getElement(i);
    if (el == nullptr) continue;
    const Tag tag = TagOf(*el);
    const bool empty = IsEmptyValue(*el);
    out.presence.top.elements.push_back({tag, empty});
    if (el->ident() == EVR_SQ && !empty && ConformanceChecksItemsOf(tag)) {
      auto& seq = static_cast<DcmSequenceOfItems&>(*el);
      std::vector<ItemPresence> items;
      items.reserve(seq.card());
      for (unsigned long k = 0; k < seq.card(); ++k) {
        if (DcmItem* item = seq.getItem(k)) items.push_back(PresenceOf(*item));
      }
      out.presence.sequences.emplace_back(tag, std::move(items));
    }
    if (!IsTextualVr(el->ident())) continue;
    if (el->getLengthField() > kMaxIndexedValue) continue;
    OFString value;
    if (el->getOFStringArray(value).bad()) continue;
    bool lossy = false;
    const DcmEVR vr = el->ident();
    std::string text = IsCharsetVr(vr) ? decoder.Decode(value.c_str(), vr == EVR_PN, &lossy)
                                  : SanitizeUtf8(value.c_str(), &lossy);
    if (lossy) {
      DcmTag name = el->getTag();
      undecoded += (undecoded.empty() ? "" : ", ") + std::string(name.getTagName()) + " " +
                   name.toString().c_str();
    }
    out.attributes.Set(tag, std::move(text));
  }
  if (!undecoded.empty()) {
    out.charset_problem = "text not decodable from SpecificCharacterSet (0008,0005) '" +
                          std::string(charset.c_str()) + "' (PS3.5 6.1), indexed with U+FFFD: " +
                          undecoded;
  }
  SortByTag(out.presence.top);
  std::sort(out.presence.sequences.begin(), out.presence.sequences.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  struct Required {
    Tag tag;
    const char* name;
    std::string* dest;
  };
  const Required required[] = {
      {tags::kSOPClassUID, "SOPClassUID (0008,0016)", &out.sop_class_uid},
      {tags::kSOPInstanceUID, "SOPInstanceUID (0008,0018)", &out.sop_instance_uid},
      {tags::kStudyInstanceUID, "StudyInstanceUID (0020,000D)", &out.study_instance_uid},
      {tags::kSeriesInstanceUID, "SeriesInstanceUID (0020,000E)", &out.series_instance_uid},
  };
  for (const auto& r : required) {
    std::string v = out.attributes.Get(r.tag);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
    if (v.empty()) return {ErrorCode::kMissingAttribute, std::string("missing ") + r.name};
    if (!IsValidUid(v)) {
      return {ErrorCode::kMissingAttribute,
              std::string("invalid UID in ") + r.name + ": '" + v + "' (PS3.5 9.1)"};
    }
    *r.dest = v;
  }
  return out;
}

}  // namespace

Result<ParsedInstance> ParsePart10File(const std::string& path) {
  // Untrusted bytes: DCMTK's parser can throw (fuzzing found std::length_error inside
  // DICOMDIR record parsing); that must be a rejection, not a crash.
  try {
    return Parse(path);
  } catch (const std::exception& e) {
    return {ErrorCode::kInvalidDicom, std::string("cannot parse DICOM: parser error: ") + e.what()};
  } catch (...) {
    return {ErrorCode::kInvalidDicom, "cannot parse DICOM: parser error"};
  }
}

}  // namespace radflow::dicom
