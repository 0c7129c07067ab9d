// Character sets (PS3.3 C.12.1.1.2, PS3.5 6.1): text values to UTF-8. DCMTK converts first;
// what its converter cannot open here (Debian's DCMTK 3.6.7 over glibc iconv has no
// ISO 2022 IR 87 / IR 159, Japanese) or cannot decode goes through a small ISO 2022 decoder
// over iconv. The result is always valid UTF-8: bytes nothing decodes become U+FFFD.
#pragma once

#include <dcmtk/dcmdata/dcvr.h>

#include <memory>
#include <string>
#include <string_view>

class DcmItem;

namespace radflow::dicom {

// Decodes the text values of one dataset (or sequence item) from its Specific Character
// Set (0008,0005) value, e.g. "ISO_IR 100" or "ISO 2022 IR 13\ISO 2022 IR 87"; "" is the
// default repertoire (ASCII). Not thread-safe: one per parse.
class TextDecoder {
 public:
  explicit TextDecoder(const std::string& specific_character_set);
  ~TextDecoder();
  TextDecoder(const TextDecoder&) = delete;
  TextDecoder& operator=(const TextDecoder&) = delete;

  // One value of a VR the character set applies to (SH, LO, ST, LT, PN, UC, UT; PS3.5
  // 6.1.2.3), multiple values joined by '\'. `person_name`: '^' and '=' also return to the
  // initial character set (PS3.5 6.1.2.5.3). Sets *lossy when some bytes became U+FFFD.
  std::string Decode(std::string_view value, bool person_name, bool* lossy);

  // The (0008,0005) value as given.
  const std::string& character_set() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The VRs Specific Character Set applies to (PS3.5 6.1.2.3): SH, LO, ST, LT, PN, UC, UT.
bool IsCharsetVr(DcmEVR vr);

// `text` with every byte sequence that is not UTF-8 (overlong forms and surrogates too) replaced by
// U+FFFD; *lossy set when it replaced any. For values the character set does not apply to.
std::string SanitizeUtf8(std::string_view text, bool* lossy);

// Converts the item's text values (and those of its sequences' items, each item under its
// own Specific Character Set when it has one) to UTF-8 and sets SpecificCharacterSet to
// ISO_IR 192 where one was given or a value changed. Returns false when some bytes could not
// be decoded (they became U+FFFD).
bool ConvertToUtf8(DcmItem& item);

}  // namespace radflow::dicom
