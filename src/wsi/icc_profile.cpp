#include "wsi/icc_profile.h"

#include <cmath>
#include <cstring>
#include <string>

namespace radflow::wsi {

namespace {

void Put32(Bytes& b, size_t at, uint32_t v) {
  b[at] = v >> 24; b[at + 1] = (v >> 16) & 255; b[at + 2] = (v >> 8) & 255; b[at + 3] = v & 255;
}
void Add32(Bytes& b, uint32_t v) { b.resize(b.size() + 4); Put32(b, b.size() - 4, v); }
uint32_t S15(double v) { return static_cast<uint32_t>(static_cast<int32_t>(std::lround(v * 65536.0))); }
void AddSig(Bytes& b, const char* s) { b.insert(b.end(), s, s + 4); }
void Pad4(Bytes& b) { while (b.size() % 4) b.push_back(0); }

Bytes Xyz(double x, double y, double z) {
  Bytes t;
  AddSig(t, "XYZ ");
  Add32(t, 0);
  Add32(t, S15(x)); Add32(t, S15(y)); Add32(t, S15(z));
  return t;
}

Bytes Gamma(double g) {
  Bytes t;
  AddSig(t, "curv");
  Add32(t, 0);
  Add32(t, 1);  // one entry: a gamma value (u8Fixed8Number)
  const uint16_t v = static_cast<uint16_t>(std::lround(g * 256));
  t.push_back(v >> 8); t.push_back(v & 255);
  return t;
}

Bytes Desc(const std::string& s) {  // textDescriptionType (ICC.1:2001-04 6.5.17)
  Bytes t;
  AddSig(t, "desc");
  Add32(t, 0);
  Add32(t, static_cast<uint32_t>(s.size() + 1));
  t.insert(t.end(), s.begin(), s.end());
  t.push_back(0);
  Add32(t, 0); Add32(t, 0);  // no Unicode
  t.push_back(0); t.push_back(0); t.push_back(0);  // ScriptCode code, count
  t.resize(t.size() + 67, 0);
  return t;
}

Bytes Text(const std::string& s) {
  Bytes t;
  AddSig(t, "text");
  Add32(t, 0);
  t.insert(t.end(), s.begin(), s.end());
  t.push_back(0);
  return t;
}

}  // namespace

Bytes SrgbIccProfile() {
  struct Tag { const char* sig; Bytes data; };
  const Tag tags[] = {
      {"desc", Desc("sRGB (radflow, gamma 2.2)")},
      {"cprt", Text("No copyright, use freely")},
      {"wtpt", Xyz(0.9642, 1.0, 0.8249)},
      {"rXYZ", Xyz(0.4361, 0.2225, 0.0139)},
      {"gXYZ", Xyz(0.3851, 0.7169, 0.0971)},
      {"bXYZ", Xyz(0.1431, 0.0606, 0.7141)},
      {"rTRC", Gamma(2.2)},
      {"gTRC", Gamma(2.2)},
      {"bTRC", Gamma(2.2)},
  };
  const size_t n = sizeof tags / sizeof tags[0];
  Bytes p(128, 0);
  Add32(p, static_cast<uint32_t>(n));
  const size_t table = p.size();
  p.resize(p.size() + 12 * n, 0);
  for (size_t i = 0; i < n; ++i) {
    Pad4(p);
    const size_t at = p.size();
    p.insert(p.end(), tags[i].data.begin(), tags[i].data.end());
    std::memcpy(&p[table + 12 * i], tags[i].sig, 4);
    Put32(p, table + 12 * i + 4, static_cast<uint32_t>(at));
    Put32(p, table + 12 * i + 8, static_cast<uint32_t>(tags[i].data.size()));
  }
  Pad4(p);
  Put32(p, 0, static_cast<uint32_t>(p.size()));
  Put32(p, 8, 0x02100000);  // version 2.1
  std::memcpy(&p[12], "mntr", 4);
  std::memcpy(&p[16], "RGB ", 4);
  std::memcpy(&p[20], "XYZ ", 4);
  // date 2026-01-01 00:00:00
  const uint16_t date[6] = {2026, 1, 1, 0, 0, 0};
  for (int i = 0; i < 6; ++i) { p[24 + 2 * i] = date[i] >> 8; p[25 + 2 * i] = date[i] & 255; }
  std::memcpy(&p[36], "acsp", 4);
  Put32(p, 64, 0);  // perceptual
  Put32(p, 68, S15(0.9642)); Put32(p, 72, S15(1.0)); Put32(p, 76, S15(0.8249));
  return p;
}

}  // namespace radflow::wsi
