#include "dicom/charset.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcspchrs.h>
#include <iconv.h>

#include <cerrno>
#include <map>
#include <optional>
#include <vector>

namespace radflow::dicom {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kEsc = 0x1B;

// What a byte means in the decoder's state (PS3.5 6.1.2.5, ISO 2022): G0 holds the bytes
// below 0x80, G1 those above. Romaji (ESC ( J) is read as ASCII: DICOM's delimiters must
// stay '\', '^' and '='.
enum class G0 { kAscii, kJis0208, kJis0212 };

// The iconv name of a G1 set: the 8-bit code whose upper half it is. Japanese half-width
// katakana (IR 13) and the JIS X 0208/0212 double-byte sets are re-encoded as EUC-JP (the
// same sets in their EUC positions: SS2, high-bit pairs, SS3), which glibc decodes.
constexpr const char* kEucJp = "EUC-JP";
constexpr const char* kKana = "kana";  // G1 = JIS X 0201 katakana, sent to kEucJp after SS2

struct State {
  G0 g0 = G0::kAscii;
  const char* g1 = nullptr;  // nullptr: no G1, a byte above 0x7F does not decode
};

// PS3.3 Table C.12-2/3/4/5: defined terms → (escape sequence, what it designates). Names,
// not code pages: the tables themselves are iconv's.
struct Term {
  std::string_view term;
  std::string_view escape;  // "" for the terms without code extensions
  bool g0;                  // designates G0 (else G1)
  G0 g0_set;
  const char* g1;
};

const std::vector<Term>& Terms() {
  static const std::vector<Term> kTerms = {
      {"ISO_IR 6", "", true, G0::kAscii, nullptr},
      {"ISO 2022 IR 6", "\x1B(B", true, G0::kAscii, nullptr},
      {"ISO_IR 13", "", false, G0::kAscii, kKana},
      {"ISO 2022 IR 13", "\x1B)I", false, G0::kAscii, kKana},
      {"ISO 2022 IR 87", "\x1B$B", true, G0::kJis0208, nullptr},
      {"ISO 2022 IR 159", "\x1B$(D", true, G0::kJis0212, nullptr},
      {"ISO 2022 IR 149", "\x1B$)C", false, G0::kAscii, "EUC-KR"},
      {"ISO 2022 IR 58", "\x1B$)A", false, G0::kAscii, "EUC-CN"},
      {"ISO_IR 100", "", false, G0::kAscii, "ISO-8859-1"},
      {"ISO_IR 101", "", false, G0::kAscii, "ISO-8859-2"},
      {"ISO_IR 109", "", false, G0::kAscii, "ISO-8859-3"},
      {"ISO_IR 110", "", false, G0::kAscii, "ISO-8859-4"},
      {"ISO_IR 144", "", false, G0::kAscii, "ISO-8859-5"},
      {"ISO_IR 127", "", false, G0::kAscii, "ISO-8859-6"},
      {"ISO_IR 126", "", false, G0::kAscii, "ISO-8859-7"},
      {"ISO_IR 138", "", false, G0::kAscii, "ISO-8859-8"},
      {"ISO_IR 148", "", false, G0::kAscii, "ISO-8859-9"},
      {"ISO_IR 203", "", false, G0::kAscii, "ISO-8859-15"},
      {"ISO_IR 166", "", false, G0::kAscii, "TIS-620"},
      {"ISO 2022 IR 100", "\x1B-A", false, G0::kAscii, "ISO-8859-1"},
      {"ISO 2022 IR 101", "\x1B-B", false, G0::kAscii, "ISO-8859-2"},
      {"ISO 2022 IR 109", "\x1B-C", false, G0::kAscii, "ISO-8859-3"},
      {"ISO 2022 IR 110", "\x1B-D", false, G0::kAscii, "ISO-8859-4"},
      {"ISO 2022 IR 144", "\x1B-L", false, G0::kAscii, "ISO-8859-5"},
      {"ISO 2022 IR 127", "\x1B-G", false, G0::kAscii, "ISO-8859-6"},
      {"ISO 2022 IR 126", "\x1B-F", false, G0::kAscii, "ISO-8859-7"},
      {"ISO 2022 IR 138", "\x1B-H", false, G0::kAscii, "ISO-8859-8"},
      {"ISO 2022 IR 148", "\x1B-M", false, G0::kAscii, "ISO-8859-9"},
      {"ISO 2022 IR 203", "\x1B-b", false, G0::kAscii, "ISO-8859-15"},
      {"ISO 2022 IR 166", "\x1B-T", false, G0::kAscii, "TIS-620"},
      // ESC ( J (JIS X 0201 romaji) returns G0 to single bytes; not a defined term of its own.
      {"", "\x1B(J", true, G0::kAscii, nullptr},
  };
  return kTerms;
}

// Multi-byte character sets without code extensions: the whole value is in one code.
const char* WholeValueCode(std::string_view term) {
  if (term == "ISO_IR 192") return "UTF-8";
  if (term == "GB18030") return "GB18030";
  if (term == "GBK") return "GBK";
  return nullptr;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\0')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> SplitTerms(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = value.find('\\', start);
    out.push_back(Trim(std::string_view(value).substr(start, end == std::string::npos ? end : end - start)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || c == kEsc) return false;
  }
  return true;
}

}  // namespace

std::string SanitizeUtf8(std::string_view in, bool* lossy) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // RFC 3629: the lead byte gives the length; the ranges exclude overlongs and surrogates.
    size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    bool ok = n != 0 && i + n <= in.size();
    for (size_t k = 1; ok && k < n; ++k) {
      const auto t = static_cast<unsigned char>(in[i + k]);
      ok = k == 1 ? (t >= lo && t <= hi) : (t >= 0x80 && t <= 0xBF);
    }
    if (ok) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out += kReplacement;
      *lossy = true;
      ++i;
    }
  }
  return out;
}

struct TextDecoder::Impl {
  std::string charset;
  DcmSpecificCharacterSet dcmtk;
  std::optional<bool> dcmtk_ok;  // selected on the first non-ASCII value: most objects have none
  const char* whole_value = nullptr;  // ISO_IR 192, GB18030, GBK
  State initial;
  std::map<std::string, iconv_t> iconvs;

  ~Impl() {
    for (auto& [name, cd] : iconvs) {
      if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
    }
  }

  // `in` in `code` → UTF-8; each byte iconv refuses becomes U+FFFD.
  void Iconv(const std::string& in, const char* code, std::string& out, bool* lossy) {
    auto it = iconvs.find(code);
    if (it == iconvs.end()) it = iconvs.emplace(code, iconv_open("UTF-8", code)).first;
    iconv_t cd = it->second;
    if (cd == reinterpret_cast<iconv_t>(-1)) {
      for (unsigned char c : in) {
        if (c < 0x80) out += static_cast<char>(c);
        else { out += kReplacement; *lossy = true; }
      }
      return;
    }
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
    char* src = const_cast<char*>(in.data());
    size_t left = in.size();
    char buf[512];
    while (left > 0) {
      char* dst = buf;
      size_t room = sizeof buf;
      const size_t rc = iconv(cd, &src, &left, &dst, &room);
      const int err = errno;  // before append: an allocation may change errno
      out.append(buf, static_cast<size_t>(dst - buf));
      if (rc != static_cast<size_t>(-1) || err == E2BIG) continue;
      out += kReplacement;  // EILSEQ, or EINVAL (a character cut off at the end)
      *lossy = true;
      ++src;
      --left;
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
  }

  // The ISO 2022 walk (PS3.5 6.1.2.5): escape sequences switch G0/G1; runs of bytes in one
  // code go to iconv together.
  std::string Fallback(std::string_view value, bool person_name, bool* lossy) {
    std::string out;
    if (whole_value != nullptr) {
      Iconv(std::string(value), whole_value, out, lossy);
      return out;
    }
    std::string run;
    const char* run_code = nullptr;  // nullptr: ASCII only so far
    auto flush = [&] {
      if (run_code == nullptr) out += run;
      else Iconv(run, run_code, out, lossy);
      run.clear();
      run_code = nullptr;
    };
    auto to = [&](const char* code) {
      if (run_code != nullptr && run_code != code) flush();
      run_code = code;
    };
    auto bad = [&] {
      flush();
      out += kReplacement;
      *lossy = true;
    };
    State st = initial;
    size_t i = 0;
    while (i < value.size()) {
      const auto c = static_cast<unsigned char>(value[i]);
      if (c == kEsc) {
        const Term* hit = nullptr;
        for (const auto& t : Terms()) {
          if (!t.escape.empty() && value.substr(i, t.escape.size()) == t.escape) hit = &t;
        }
        if (hit == nullptr) {
          bad();
          ++i;
          continue;
        }
        if (hit->g0) st.g0 = hit->g0_set;
        else st.g1 = hit->g1;
        i += hit->escape.size();
        continue;
      }
      if (st.g0 != G0::kAscii && c >= 0x21 && c <= 0x7E) {
        // A double-byte character in G0: JIS X 0208 / 0212 pairs, re-encoded as EUC-JP.
        const auto d = i + 1 < value.size() ? static_cast<unsigned char>(value[i + 1]) : 0;
        if (d < 0x21 || d > 0x7E) {
          bad();
          ++i;
          continue;
        }
        to(kEucJp);
        if (st.g0 == G0::kJis0212) run += '\x8F';
        run += static_cast<char>(c | 0x80);
        run += static_cast<char>(d | 0x80);
        i += 2;
        continue;
      }
      if (c < 0x80) {
        // CR, LF, FF, HT and the value delimiters return to the initial sets (PS3.5 6.1.2.5.3).
        if (c == '\\' || c == '\r' || c == '\n' || c == '\f' || c == '\t' ||
            (person_name && (c == '^' || c == '='))) {
          st = initial;
        }
        run += static_cast<char>(c);
        ++i;
        continue;
      }
      if (st.g1 == nullptr) {
        bad();
      } else if (st.g1 == kKana) {
        to(kEucJp);
        run += '\x8E';
        run += static_cast<char>(c);
      } else {
        to(st.g1);
        run += static_cast<char>(c);
      }
      ++i;
    }
    flush();
    return out;
  }
};

TextDecoder::TextDecoder(const std::string& specific_character_set) : impl_(std::make_unique<Impl>()) {
  impl_->charset = specific_character_set;
  const std::vector<std::string> terms = SplitTerms(specific_character_set);
  const std::string& first = terms.front();
  impl_->whole_value = terms.size() == 1 ? WholeValueCode(first) : nullptr;
  for (const auto& t : Terms()) {
    if (t.term.empty() || t.term != first) continue;
    if (t.g0) impl_->initial.g0 = t.g0_set;
    else impl_->initial.g1 = t.g1;
  }
}

TextDecoder::~TextDecoder() = default;

const std::string& TextDecoder::character_set() const { return impl_->charset; }

std::string TextDecoder::Decode(std::string_view value, bool person_name, bool* lossy) {
  if (IsAscii(value)) return std::string(value);
  // A set DCMTK cannot open (Japanese here) is the fallback's: DCMTK converts all others.
  if (!impl_->dcmtk_ok) impl_->dcmtk_ok = impl_->dcmtk.selectCharacterSet(impl_->charset.c_str()).good();
  if (*impl_->dcmtk_ok) {
    OFString converted;
    if (impl_->dcmtk.convertString(value.data(), value.size(), converted, person_name ? "\\^=" : "\\").good()) {
      // DCMTK refuses bytes a set does not define (the fallback then replaces them); the
      // check is the guarantee the index relies on, whatever the converter.
      return SanitizeUtf8(std::string_view(converted.c_str(), converted.length()), lossy);
    }
  }
  return SanitizeUtf8(impl_->Fallback(value, person_name, lossy), lossy);
}

bool IsCharsetVr(DcmEVR vr) {
  return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_ST || vr == EVR_LT ||
         vr == EVR_UT || vr == EVR_UC;
}

namespace {

// Returns false when some bytes became U+FFFD; *changed when a value was rewritten.
bool ConvertItem(DcmItem& item, TextDecoder& inherited, bool* changed) {
  std::unique_ptr<TextDecoder> own;
  TextDecoder* decoder = &inherited;
  if (item.tagExists(DCM_SpecificCharacterSet)) {
    OFString charset;
    item.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset);
    own = std::make_unique<TextDecoder>(charset.c_str());
    decoder = own.get();
  }
  bool all_ok = true;
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* el = item.getElement(i);
    if (el->ident() == EVR_SQ) {
      auto* seq = static_cast<DcmSequenceOfItems*>(el);
      for (unsigned long k = 0; k < seq->card(); ++k) {
        all_ok = ConvertItem(*seq->getItem(k), *decoder, changed) && all_ok;
      }
      continue;
    }
    if (!IsCharsetVr(el->ident())) continue;
    char* raw = nullptr;
    if (el->getString(raw).bad() || raw == nullptr) continue;
    const std::string value(raw, el->getLength());
    if (IsAscii(value)) continue;
    bool lossy = false;
    const std::string converted = decoder->Decode(value, el->ident() == EVR_PN, &lossy);
    all_ok = all_ok && !lossy;
    if (converted != value) {
      el->putString(converted.c_str(), static_cast<Uint32>(converted.size()));
      *changed = true;
    }
  }
  if (own && !own->character_set().empty()) item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  return all_ok;
}

}  // namespace

bool ConvertToUtf8(DcmItem& item) {
  TextDecoder ascii("");
  bool changed = false;
  bool ok = ConvertItem(item, ascii, &changed);
  if (changed) item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  return ok;
}

}  // namespace radflow::dicom
