#include "deid/dataset_cleaner.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dctag.h>
#include <dcmtk/dcmdata/dcvr.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include "deid/deidentify.h"
#include "deid/profile_table.h"

namespace radflow::deid {

namespace {

// How the string values of an item are treated besides the rows of Table E.1-1.
enum class Mode {
  kNormal,
  kDummy,  // inside a sequence whose action is D: free text and names become dummies
  kScrub,  // inside a sequence whose action is C: free text is scrubbed of identifiers
};

struct Context {
  const Deidentifier& deid;
  const DeidOptions& options;
  const ProfileTable& table;
  std::vector<std::string> identifiers;
  std::string root_patient_id;
  int shift_days = 0;
};

// (0040,A160) Text Value is not a row of Table E.1-1; it only occurs in structured content
// (Content Sequence, whose basic action is D, Acquisition Context, Specimen Preparation), so
// radflow gives it the Content Sequence's codes: D, and C under Clean Structured Content.
const ProfileRow& TextValueRow() {
  static const ProfileRow row = [] {
    ProfileRow r;
    r.group = 0x0040;
    r.element = 0xA160;
    r.keyword.assign("TextValue", 9);
    r.basic.assign(1, 'D');
    r.option[static_cast<int>(ProfileOption::kCleanStructured)] = 'C';
    return r;
  }();
  return row;
}

bool IsStringVr(DcmEVR vr) {
  switch (vr) {
    case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT:
    case EVR_IS: case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST:
    case EVR_TM: case EVR_UC: case EVR_UI: case EVR_UR: case EVR_UT:
      return true;
    default:
      return false;
  }
}

bool IsFreeTextVr(DcmEVR vr) {
  return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_LT || vr == EVR_ST ||
         vr == EVR_UT || vr == EVR_UC || vr == EVR_AE;
}

std::string ValueOf(DcmElement* e) {
  OFString v;
  if (e->getLength() == 0) return {};
  if (e->getOFStringArray(v).bad()) return {};
  return std::string(v.c_str(), v.length());
}

void Put(DcmElement* e, const std::string& v) { e->putString(v.c_str()); }

std::vector<std::string> SplitValues(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = v.find('\\', start);
    out.push_back(v.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string JoinValues(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back('\\');
    out += v[i];
  }
  return out;
}

// A dummy value valid for the VR (PS3.15 E.1.1 "D"); "" for VRs that get zero length.
std::string DummyFor(DcmEVR vr) {
  switch (vr) {
    case EVR_PN: return "ANONYMOUS";
    case EVR_AE: case EVR_CS: case EVR_LO: case EVR_SH: case EVR_LT: case EVR_ST:
    case EVR_UT: case EVR_UC:
      return "ANONYMIZED";
    case EVR_DA: return "19000101";
    case EVR_DT: return "19000101000000";
    case EVR_TM: return "000000";
    case EVR_AS: return "000Y";
    case EVR_DS: case EVR_IS: case EVR_US: case EVR_SS: case EVR_UL: case EVR_SL:
    case EVR_FL: case EVR_FD:
      return "0";
    default:
      return "";
  }
}

// Days from 1970-01-01 for a civil date (H. Hinnant's algorithm) and back.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Removes every case-insensitive occurrence of the identifiers; trims and collapses spaces.
std::string Scrub(const std::string& text, const std::vector<std::string>& identifiers) {
  std::string out = text;
  for (const auto& id : identifiers) {
    std::string lower = Lower(out);
    const std::string lid = Lower(id);
    size_t p = 0;
    while ((p = lower.find(lid, p)) != std::string::npos) {
      out.erase(p, lid.size());
      lower.erase(p, lid.size());
    }
  }
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed.push_back(c);
  }
  while (!collapsed.empty() && (collapsed.back() == ' ' || collapsed.back() == '^')) collapsed.pop_back();
  return collapsed;
}

// PS3.15 Table E.3.10-1 (DICOM 2026d), a subset: technique parameters that carry no
// identity. Keyed by (private creator, group, element low byte).
struct SafeKey {
  const char* creator;
  unsigned group;
  unsigned element;
};
constexpr SafeKey kSafePrivate[] = {
    {"Philips PET Private Group", 0x7053, 0x00},  // SUV Factor
    {"Philips PET Private Group", 0x7053, 0x09},  // Activity Concentration Factor
    {"ELSCINT1", 0x00E1, 0x21},                    // DLP
    {"ELSCINT1", 0x00E1, 0x50},                    // Acquisition Duration
    {"ELSCINT1", 0x01F1, 0x01},                    // Acquisition Type
    {"ELSCINT1", 0x01F1, 0x07},                    // Table Velocity
    {"ELSCINT1", 0x01F1, 0x26},                    // Pitch
    {"ELSCINT1", 0x01F1, 0x27},                    // Rotation Time
    {"GEMS_ACQU_01", 0x0019, 0x23},                // Table Speed [mm/rotation]
    {"GEMS_ACQU_01", 0x0019, 0x24},                // Mid Scan Time [sec]
    {"GEMS_ACQU_01", 0x0019, 0x27},                // Rotation Speed (Gantry Period)
    {"GEMS_PARM_01", 0x0043, 0x27},                // Scan Pitch Ratio
    {"GEMS_HELIOS_01", 0x0045, 0x01},              // Number of Macro Rows in Detector
    {"GEMS_HELIOS_01", 0x0045, 0x02},              // Macro width at ISO Center
    {"Philips Imaging DD 001", 0x2001, 0x01},      // MR Image Chemical Shift
    {"Philips Imaging DD 001", 0x2001, 0x03},      // MR Image Diffusion B-Factor
    {"Philips Imaging DD 001", 0x2001, 0x04},      // MR Image Diffusion Direction
};

// Well-known or class UIDs that name no instance: kept (PS3.15 E.1.1 replaces instance UIDs).
bool IsClassUidAttribute(DcmTag tag) {
  const std::string name = tag.getTagName() ? tag.getTagName() : "";
  return name.find("ClassUID") != std::string::npos ||
         name.find("TransferSyntax") != std::string::npos ||
         name.find("CodingScheme") != std::string::npos ||
         name.find("MappingResource") != std::string::npos ||
         name.find("ContextGroupExtensionCreator") != std::string::npos ||
         name == "SOPClassesInStudy" || name == "ContextUID";
}

std::string MapUids(const std::string& value, const Deidentifier& deid) {
  auto parts = SplitValues(value);
  for (auto& p : parts) {
    if (p.empty() || p.rfind("1.2.840.10008.", 0) == 0) continue;  // DICOM well-known UIDs
    p = deid.MapUid(p);
  }
  return JoinValues(parts);
}

class Cleaner {
 public:
  explicit Cleaner(Context& c) : c_(c) {}

  void CleanItem(DcmItem& item, Mode mode) {
    CleanPrivate(item);
    for (unsigned long i = 0; i < item.card();) {
      DcmElement* e = item.getElement(i);
      if (CleanElement(item, e, mode)) {
        delete item.remove(i);
      } else {
        ++i;
      }
    }
  }

 private:
  // Returns true when the element is to be removed.
  bool CleanElement(DcmItem& item, DcmElement* e, Mode mode) {
    const DcmTag& tag = e->getTag();
    const uint16_t g = tag.getGTag();
    const uint16_t el = tag.getETag();
    if (g & 1) return false;                     // private: CleanPrivate decided
    if (el == 0x0000) return true;               // group lengths (retired)
    if ((g & 0xFF00) == 0x6000 || (g & 0xFF00) == 0x5000) return true;  // overlays, curves
    const DcmEVR vr = tag.getEVR();

    // Pseudonyms instead of zero length (E.1.1 Z allows a dummy): stable per patient.
    if (vr == EVR_UN && g == 0x0010 && (el == 0x0010 || el == 0x0020)) return true;
    if (g == 0x0010 && el == 0x0020) {
      Put(e, c_.deid.PseudonymFor(ValueOf(e)));
      return false;
    }
    if (g == 0x0010 && el == 0x0010) {
      OFString id;
      std::string pid = item.findAndGetOFString(DCM_PatientID, id).good()
                            ? std::string(id.c_str()) : c_.root_patient_id;
      Put(e, c_.deid.PseudonymFor(pid));
      return false;
    }

    const ProfileRow* row = c_.table.Find(g, el);
    if (!row && g == 0x0040 && el == 0xA160) row = &TextValueRow();
    if (!row) return CleanUnlisted(e, vr, mode);
    // A listed attribute still UN (its VR unknown to the dictionary) cannot be given a
    // dummy or a mapped value: it goes unless the profile keeps it.
    if (vr == EVR_UN) return Resolve(*row, c_.options) != Action::kKeep;

    const Action action = Resolve(*row, c_.options);
    const int by = ResolvingOption(*row, c_.options);
    auto* sq = dynamic_cast<DcmSequenceOfItems*>(e);
    switch (action) {
      case Action::kRemove:
        return true;
      case Action::kZero:
        // "X/Z" on a sequence: an empty sequence is invalid where the sequence is Type 3
        // (1-n items), so it is removed; Acquisition Context Sequence is Type 2 in the
        // Acquisition Context Module (PS3.3 C.7.6.14) and stays, empty.
        if (sq && row->basic != "Z" && !(g == 0x0040 && el == 0x0555)) return true;
        if (sq) {
          while (sq->card() > 0) delete sq->remove(0UL);
        } else {
          e->clear();
        }
        return false;
      case Action::kKeep:
        if (sq) CleanItems(*sq, mode);
        return false;
      case Action::kUid:
        Put(e, MapUids(ValueOf(e), c_.deid));
        return false;
      case Action::kDummy:
        if (sq) {
          if (g == 0x0040 && el == 0xA730) {
            CleanItems(*sq, Mode::kNormal);  // Content Sequence: text and names replaced
          } else {
            CleanItems(*sq, Mode::kDummy);
          }
          return false;
        }
        if (vr == EVR_UI) {
          Put(e, MapUids(ValueOf(e), c_.deid));
          return false;
        }
        if ((vr == EVR_DA || vr == EVR_DT) && c_.options.retain_dates) {
          return ShiftDates(e, vr);
        }
        {
          std::string d = DummyFor(vr);
          if (d.empty()) e->clear();
          else Put(e, d);
        }
        return false;
      case Action::kClean:
        return Clean(item, e, vr, sq, by, mode);
    }
    return false;
  }

  bool Clean(DcmItem& item, DcmElement* e, DcmEVR vr, DcmSequenceOfItems* sq, int by, Mode mode) {
    const uint16_t g = e->getTag().getGTag();
    const uint16_t el = e->getTag().getETag();
    if (by == static_cast<int>(ProfileOption::kRetainLongModifiedDates)) {
      if (vr == EVR_DA || vr == EVR_DT) return ShiftDates(e, vr);
      return false;  // TM and the time zone offset kept: the shift is in whole days
    }
    if (by == static_cast<int>(ProfileOption::kCleanGraphics)) {
      if (sq && g == 0x0070 && el == 0x0001) return CleanGraphicAnnotations(*sq);
      return true;  // overlays and curves are removed, not cleaned
    }
    if (sq) {
      CleanItems(*sq, g == 0x0040 && el == 0xA730 ? Mode::kNormal : Mode::kScrub);
      return false;
    }
    (void)item;
    (void)mode;
    if (!IsStringVr(vr) || vr == EVR_UI) return true;
    const std::string value = ValueOf(e);
    std::string cleaned = Scrub(value, c_.identifiers);
    // A value that was nothing but identifiers becomes a dummy: it may be Type 1.
    if (cleaned.empty() && !value.empty()) cleaned = DummyFor(vr);
    if (cleaned.empty()) e->clear();
    else Put(e, cleaned);
    return false;
  }

  // Attributes Table E.1-1 does not list.
  bool CleanUnlisted(DcmElement* e, DcmEVR vr, Mode mode) {
    if (auto* sq = dynamic_cast<DcmSequenceOfItems*>(e)) {
      CleanItems(*sq, mode);
      return false;
    }
    // Every instance UID is replaced, listed or not (e.g. Source Frame of Reference UID):
    // references stay consistent and no original UID survives.
    if (vr == EVR_UI) {
      if (!IsClassUidAttribute(e->getTag())) Put(e, MapUids(ValueOf(e), c_.deid));
      return false;
    }
    // Dates and times not in the table (Instance Creation Date, Frame Acquisition DateTime,
    // SR DATE/TIME items...) are treated like the listed ones: shifted under the modified
    // dates option, else replaced by dummies (times kept when dates are shifted).
    if (vr == EVR_DA || vr == EVR_DT) {
      if (c_.options.retain_dates) return ShiftDates(e, vr);
      if (e->getLength() > 0) Put(e, DummyFor(vr));
      return false;
    }
    if (vr == EVR_TM) {
      if (!c_.options.retain_dates && e->getLength() > 0) Put(e, DummyFor(vr));
      return false;
    }
    if (mode == Mode::kDummy && IsFreeTextVr(vr) && e->getLength() > 0) {
      Put(e, DummyFor(vr));
    } else if (mode == Mode::kScrub && IsFreeTextVr(vr) && e->getLength() > 0) {
      std::string cleaned = Scrub(ValueOf(e), c_.identifiers);
      if (cleaned.empty()) cleaned = DummyFor(vr);
      Put(e, cleaned);
    }
    return false;
  }

  void CleanItems(DcmSequenceOfItems& sq, Mode mode) {
    for (unsigned long i = 0; i < sq.card(); ++i) CleanItem(*sq.getItem(i), mode);
  }

  bool ShiftDates(DcmElement* e, DcmEVR vr) {
    if (e->getLength() == 0) return false;
    auto parts = SplitValues(ValueOf(e));
    for (auto& p : parts) {
      if (p.empty()) continue;
      std::string shifted = vr == EVR_DA ? ShiftDa(p, c_.shift_days) : ShiftDt(p, c_.shift_days);
      p = shifted.empty() ? DummyFor(vr) : shifted;
    }
    Put(e, JoinValues(parts));
    return false;
  }

  // Clean Graphics (E.3.3): text objects removed, graphic objects kept; items left empty go.
  bool CleanGraphicAnnotations(DcmSequenceOfItems& sq) {
    for (unsigned long i = 0; i < sq.card();) {
      DcmItem* item = sq.getItem(i);
      item->findAndDeleteElement(DCM_TextObjectSequence);
      CleanItem(*item, Mode::kNormal);
      DcmSequenceOfItems* graphics = nullptr;
      if (item->findAndGetSequence(DCM_GraphicObjectSequence, graphics).bad() || !graphics ||
          graphics->card() == 0) {
        delete sq.remove(i);
      } else {
        ++i;
      }
    }
    return sq.card() == 0;
  }

  // Private attributes (E.3.10): kept only when on the safe list, with their creator.
  void CleanPrivate(DcmItem& item) {
    std::map<std::pair<uint16_t, uint16_t>, std::string> creators;
    for (unsigned long i = 0; i < item.card(); ++i) {
      DcmElement* e = item.getElement(i);
      const uint16_t g = e->getTag().getGTag(), el = e->getTag().getETag();
      if ((g & 1) && el >= 0x0010 && el <= 0x00FF) creators[{g, el}] = ValueOf(e);
    }
    std::set<std::pair<uint16_t, uint16_t>> used;
    for (unsigned long i = 0; i < item.card();) {
      DcmElement* e = item.getElement(i);
      const uint16_t g = e->getTag().getGTag(), el = e->getTag().getETag();
      bool remove = false;
      if (g & 1) {
        if (el >= 0x1000) {
          auto it = creators.find({g, static_cast<uint16_t>(el >> 8)});
          remove = it == creators.end() || !IsSafePrivate(it->second, g, el & 0xFF);
          if (!remove) used.insert(it->first);
        } else if (el < 0x0010 || el > 0x00FF) {
          remove = true;  // group length, illegal elements
        }
      }
      if (remove) delete item.remove(i);
      else ++i;
    }
    for (unsigned long i = 0; i < item.card();) {
      DcmElement* e = item.getElement(i);
      const uint16_t g = e->getTag().getGTag(), el = e->getTag().getETag();
      if ((g & 1) && el >= 0x0010 && el <= 0x00FF && !used.count({g, el})) delete item.remove(i);
      else ++i;
    }
  }

  Context& c_;
};

void AddCode(DcmSequenceOfItems& sq, const char* value, const char* meaning) {
  auto* item = new DcmItem();
  item->putAndInsertString(DCM_CodeValue, value);
  item->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
  item->putAndInsertString(DCM_CodeMeaning, meaning);
  sq.append(item);
}

}  // namespace

bool IsSafePrivate(const std::string& creator, unsigned group, unsigned element_low_byte) {
  std::string c = creator;
  while (!c.empty() && (c.back() == ' ' || c.back() == '\0')) c.pop_back();
  for (const auto& k : kSafePrivate) {
    if (k.group == group && k.element == element_low_byte && c == k.creator) return true;
  }
  return false;
}

std::string ShiftDa(const std::string& da, int days) {
  if (da.size() != 8 || !AllDigits(da)) return {};
  const int64_t y = std::stoll(da.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(da.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(da.substr(6, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) return {};
  int64_t ny;
  unsigned nm, nd;
  CivilFromDays(DaysFromCivil(y, m, d) + days, ny, nm, nd);
  if (ny < 0 || ny > 9999) return {};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", static_cast<int>(ny), nm, nd);
  return buf;
}

std::string ShiftDt(const std::string& dt, int days) {
  if (dt.size() < 4 || !AllDigits(dt.substr(0, 4))) return {};
  // YYYY or YYYYMM: completed to the first day, shifted, cut back to the same precision.
  std::string date = dt.substr(0, std::min<size_t>(8, dt.size()));
  if (!AllDigits(date)) return {};
  const size_t precision = date.size();
  if (precision < 8) date += std::string("0101").substr(0, 8 - precision >= 4 ? 4 : 8 - precision);
  if (date.size() == 6) date += "01";
  std::string shifted = ShiftDa(date, days);
  if (shifted.empty()) return {};
  return shifted.substr(0, precision) + dt.substr(precision);
}

std::vector<std::string> CollectIdentifiers(DcmItem& ds) {
  std::set<std::string> ids;
  auto add = [&](const std::string& v) {
    std::string s = v;
    while (!s.empty() && (s.back() == ' ' || s.back() == '^')) s.pop_back();
    if (s.size() >= 3) ids.insert(s);
  };
  auto add_name = [&](const std::string& pn) {
    add(pn);
    std::string part;
    for (char ch : pn + "^") {
      if (ch == '^' || ch == '=' || ch == ' ' || ch == '\\') {
        add(part);
        part.clear();
      } else {
        part.push_back(ch);
      }
    }
  };
  const DcmTagKey names[] = {DCM_PatientName, DCM_ReferringPhysicianName, DCM_PerformingPhysicianName,
                             DCM_OperatorsName, DCM_NameOfPhysiciansReadingStudy,
                             DCM_PhysiciansOfRecord, DCM_OtherPatientNames, DCM_PatientBirthName,
                             DCM_PatientMotherBirthName, DCM_RequestingPhysician};
  const DcmTagKey values[] = {DCM_PatientID, DCM_RETIRED_OtherPatientIDs, DCM_AccessionNumber,
                              DCM_InstitutionName, DCM_InstitutionAddress, DCM_StationName,
                              DCM_PatientAddress, DCM_PatientTelephoneNumbers, DCM_StudyID};
  OFString v;
  // The whole value, split here (ST/LT values are one value whatever their backslashes).
  for (const auto& k : names) {
    if (ds.findAndGetOFStringArray(k, v).good()) {
      for (const auto& one : SplitValues(v.c_str())) add_name(one);
    }
  }
  for (const auto& k : values) {
    if (ds.findAndGetOFStringArray(k, v).good()) {
      for (const auto& one : SplitValues(v.c_str())) add(one);
    }
  }
  if (ds.findAndGetOFString(DCM_PatientBirthDate, v).good() && v.length() == 8) {
    std::string d = v.c_str();
    add(d);
    add(d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2));
    add(d.substr(6, 2) + "." + d.substr(4, 2) + "." + d.substr(0, 4));
    add(d.substr(4, 2) + "/" + d.substr(6, 2) + "/" + d.substr(0, 4));
  }
  std::vector<std::string> out(ids.begin(), ids.end());
  // Longest first, so a full name goes before its components.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  return out;
}

std::string UnsafeReason(DcmDataset& ds, bool clean_pixels) {
  if (ds.tagExists(DCM_DirectoryRecordSequence)) {
    // PS3.10 8: a DICOMDIR's record offsets change with every value; it is rebuilt from the
    // de-identified files (e.g. dcmmkdir) instead.
    return "DICOMDIR: build a new one over the de-identified files (dcmmkdir)";
  }
  if (ds.tagExists(DCM_EncapsulatedDocument)) {
    return "encapsulated document: its content (PDF, CDA, ...) cannot be de-identified";
  }
  OFString burned;
  if (!clean_pixels && ds.findAndGetOFString(DCM_BurnedInAnnotation, burned).good() &&
      burned == "YES") {
    return "BurnedInAnnotation YES: the pixels carry text; use the clean-pixels option";
  }
  return {};
}

void CleanDataset(DcmDataset& ds, const Deidentifier& deid, bool pixels_cleaned) {
  const DeidOptions& o = deid.options();
  OFString pid;
  ds.findAndGetOFString(DCM_PatientID, pid);
  Context c{deid, o, ProfileTable::Get(), CollectIdentifiers(ds), pid.c_str(),
            deid.DateShiftDays(pid.c_str())};
  if (!ds.tagExists(DCM_PatientID)) ds.putAndInsertString(DCM_PatientID, "");
  if (!ds.tagExists(DCM_PatientName)) ds.putAndInsertString(DCM_PatientName, "");
  Cleaner(c).CleanItem(ds, Mode::kNormal);

  // PS3.15 E.1.1 / PS3.3 C.12.1.1.8: what was done, as text and as CID 7050 codes.
  ds.putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  // One value per option (LO: 64 characters a value).
  std::string method = "radflow PS3.15 E Basic Profile";
  const std::string opts = FormatDeidOptions(o);
  if (!opts.empty()) {
    method.push_back('\\');
    for (char ch : opts) method.push_back(ch == ',' ? '\\' : ch);
  }
  ds.putAndInsertString(DCM_DeidentificationMethod, method.c_str());
  auto* codes = new DcmSequenceOfItems(DCM_DeidentificationMethodCodeSequence);
  for (const auto& code : MethodCodes(o, pixels_cleaned)) {
    AddCode(*codes, code.value.c_str(), code.meaning.c_str());
  }
  ds.insert(codes, true);
  ds.putAndInsertString(DCM_LongitudinalTemporalInformationModified,
                        o.retain_dates ? "MODIFIED" : "REMOVED");
  if (pixels_cleaned) ds.putAndInsertString(DCM_BurnedInAnnotation, "NO");
}

}  // namespace radflow::deid
