#include "dicom/charset.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <iconv.h>

#include <string>

namespace radflow::dicom {

namespace {

// iconv's ISO-2022-JP-2 understands the escape sequences DICOM's Japanese repertoires use
// (ESC $ B, ESC $ ( D, ESC ( J, ESC ( B); ISO-2022-KR the Korean one (ESC $ ) C).
std::string Iconv(const std::string& in, const char* from, bool* ok) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    *ok = false;
    return in;
  }
  std::string out(in.size() * 4 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) {
    *ok = false;
    return in;
  }
  out.resize(out.size() - dst_left);
  return out;
}

bool IsText(DcmEVR vr) {
  return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_ST || vr == EVR_LT ||
         vr == EVR_UT || vr == EVR_UC;
}

bool ConvertValues(DcmItem& item, const char* from) {
  bool all_ok = true;
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* el = item.getElement(i);
    if (el->ident() == EVR_SQ) {
      auto* seq = static_cast<DcmSequenceOfItems*>(el);
      for (unsigned long k = 0; k < seq->card(); ++k) all_ok = ConvertValues(*seq->getItem(k), from) && all_ok;
      continue;
    }
    if (!IsText(el->ident())) continue;
    char* raw = nullptr;
    if (el->getString(raw).bad() || raw == nullptr) continue;
    std::string value(raw, el->getLength());
    bool ascii = true;
    for (unsigned char c : value) ascii = ascii && c < 0x80 && c != 0x1B;
    if (ascii) continue;
    bool ok = true;
    std::string converted = Iconv(value, from, &ok);
    if (ok) el->putString(converted.c_str(), static_cast<Uint32>(converted.size()));
    all_ok = all_ok && ok;
  }
  return all_ok;
}

}  // namespace

bool ConvertToUtf8(DcmItem& item) {
  OFString charset;
  if (item.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset).bad() || charset.empty() ||
      charset == "ISO_IR 192" || charset == "ISO_IR 6") {
    return true;
  }
  if (item.convertToUTF8().good()) return true;
  const std::string cs = charset.c_str();
  const char* from = nullptr;
  if (cs.find("ISO 2022 IR 87") != std::string::npos || cs.find("ISO 2022 IR 159") != std::string::npos) {
    from = "ISO-2022-JP-2";
  } else if (cs.find("ISO 2022 IR 149") != std::string::npos) {
    from = "ISO-2022-KR";
  }
  if (from == nullptr) return false;
  bool ok = ConvertValues(item, from);
  item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  return ok;
}

}  // namespace radflow::dicom
