// HL7 v2.5.1 ADT / ORM^O01 / OMI^O23 to rows (docs/orders.md, "HL7 mapping").
#include "orders/hl7_orders.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace radflow::orders {
namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

// "Family^Given^Middle^Prefix^Suffix" without trailing empty components (PS3.5 6.2.1).
std::string PersonName(std::vector<std::string> parts) {
  for (auto& p : parts) p = Trim(p);
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "^" : "") + parts[i];
  return out;
}

// XPN (2.A.88): 1 family, 2 given, 3 second names, 4 suffix, 5 prefix.
std::string XpnName(const hl7::Segment& s, int field) {
  return PersonName({s.Get(field, 1), s.Get(field, 2), s.Get(field, 3), s.Get(field, 5), s.Get(field, 4)});
}

// XCN (2.A.89): 1 ID, 2 family, 3 given, 4 second names, 5 suffix, 6 prefix.
std::string XcnName(const hl7::Segment& s, int field) {
  return PersonName({s.Get(field, 2), s.Get(field, 3), s.Get(field, 4), s.Get(field, 6), s.Get(field, 5)});
}

// CE/CWE text: component 2, else the identifier (component 1).
std::string CodedText(const hl7::Segment& s, int field) {
  std::string text = Trim(s.Get(field, 2));
  return text.empty() ? Trim(s.Get(field, 1)) : text;
}

// HL7 table 0001 to DICOM (0010,0040).
std::string Sex(const std::string& v) {
  const std::string s = Upper(Trim(v));
  if (s == "M" || s == "F" || s == "O") return s;
  if (s == "A" || s == "N") return "O";
  return "";  // U, empty
}

// A time field: kInvalidArgument "SEG-n: ..." when present but not a DTM.
Result<int64_t> TimeField(const std::string& value, const std::string& where) {
  if (Trim(value).empty()) return int64_t{0};
  auto t = ParseHl7Time(value);
  if (!t) return Status(ErrorCode::kInvalidArgument, where + ": '" + value + "' is not an HL7 date/time (YYYYMMDDHHMM[SS][+ZZZZ])");
  return *t;
}

// A priority field: "" when empty, kInvalidArgument when unknown.
Result<std::string> PriorityField(const std::string& value, const std::string& where) {
  if (Trim(value).empty()) return std::string();
  std::string p = PriorityFromHl7(value);
  if (p.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  where + ": unknown priority '" + value + "' (HL7 table 0027: S, A, R, P, C, T)");
  }
  return p;
}

// TQ duration (2.A.81 component 3): "M30", "H1", "S900" -> minutes; 0 unknown.
int TqDurationMinutes(const std::string& v) {
  if (v.size() < 2) return 0;
  int n = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return 0;
    n = n * 10 + (v[i] - '0');
    if (n > 100000) return 0;
  }
  switch (std::toupper(static_cast<unsigned char>(v[0]))) {
    case 'M': return n;
    case 'H': return n * 60;
    case 'S': return n / 60;
    case 'D': return n * 24 * 60;
    default: return 0;
  }
}

// DICOM modality of the order: OBR-24 when it is one (HL7 table 0074 uses the same letters for
// CT, MR, NM, US; RX/RAD are general radiology), else from the procedure text's first word.
std::string Modality(const std::string& section, const std::string& procedure_text, const std::string& code) {
  static const char* kDicom[] = {"CT", "MR", "US", "NM", "PT", "CR", "DX", "MG", "XA", "RF", "OT", "IO", "PX",
                                 "BMD", "ES", "OP", "XC"};
  const std::string s = Upper(Trim(section));
  for (const char* m : kDicom) {
    if (s == m) return s;
  }
  if (s == "NMR" || s == "MRI") return "MR";
  if (s == "PET") return "PT";
  if (s == "MAM" || s == "MAMMO") return "MG";
  for (const std::string& text : {procedure_text, code}) {
    std::string first = Upper(text.substr(0, text.find_first_of(" -_/,")));
    if (first == "CT" || first == "CTA" || first == "CTPA") return "CT";
    if (first == "MR" || first == "MRI" || first == "MRA") return "MR";
    if (first == "US" || first == "ULTRASOUND") return "US";
    if (first == "XR" || first == "X" || first == "XRAY" || first == "CR") return "CR";
    if (first == "DX") return "DX";
    if (first == "MAMMO" || first == "MAMMOGRAPHY" || first == "MG") return "MG";
    if (first == "NM") return "NM";
    if (first == "PET" || first == "PT") return "PT";
  }
  return s.empty() ? "" : "OT";
}

Result<storage::PatientRow> ReadPid(const hl7::Segment& pid) {
  storage::PatientRow p;
  // PID-3 (CX, 2.A.14): the first identifier; the issuer is the assigning authority (3.4.1).
  p.patient_id = Trim(pid.Get(3, 1));
  p.issuer_of_patient_id = Trim(pid.Get(3, 4));
  if (p.patient_id.empty()) {
    // PID-2 (external ID, retained for backward compatibility) is read when PID-3 is empty.
    p.patient_id = Trim(pid.Get(2, 1));
    p.issuer_of_patient_id = Trim(pid.Get(2, 4));
  }
  if (p.patient_id.empty()) return Status(ErrorCode::kInvalidArgument, "PID-3: missing patient identifier");
  if (p.patient_id.size() > 64) return Status(ErrorCode::kInvalidArgument, "PID-3: patient identifier longer than 64 characters");
  p.patient_name = XpnName(pid, 5);
  const std::string birth = Trim(pid.Get(7, 1));
  if (!birth.empty()) {
    if (birth.size() < 8 || !std::all_of(birth.begin(), birth.begin() + 8, [](unsigned char c) { return std::isdigit(c); })) {
      return Status(ErrorCode::kInvalidArgument, "PID-7: '" + birth + "' is not a date (YYYYMMDD)");
    }
    p.birth_date = birth.substr(0, 8);
  }
  p.sex = Sex(pid.Get(8));
  // PID-11 (XAD): street, other, city, state, zip, country.
  std::vector<std::string> address;
  for (int c = 1; c <= 6; ++c) {
    std::string v = Trim(pid.Get(11, c));
    if (!v.empty()) address.push_back(v);
  }
  for (size_t i = 0; i < address.size(); ++i) p.address += (i ? ", " : "") + address[i];
  // PID-13 (XTN): the number (component 1), else the unformatted one (component 12).
  p.phone = Trim(pid.Get(13, 1));
  if (p.phone.empty()) p.phone = Trim(pid.Get(13, 12));
  return p;
}

// ORC-1 (HL7 table 0119) to the four changes radflow applies.
Result<std::string> Control(const std::string& value) {
  const std::string v = Upper(Trim(value));
  if (v == "NW") return std::string("NW");
  if (v == "XO" || v == "XX") return std::string("XO");
  if (v == "CA" || v == "OC" || v == "DC" || v == "OD") return std::string("CA");
  if (v == "SC") return std::string("SC");
  if (v.empty()) return Status(ErrorCode::kInvalidArgument, "ORC-1: missing order control");
  return Status(ErrorCode::kInvalidArgument,
                "ORC-1: unsupported order control '" + value + "' (NW, XO, XX, CA, OC, DC, SC)");
}

// One ORC group: its ORC, and the segments after it up to the next ORC.
struct Group {
  const hl7::Segment* orc = nullptr;
  const hl7::Segment* obr = nullptr;
  const hl7::Segment* tq1 = nullptr;
  const hl7::Segment* ipc = nullptr;
  const hl7::Segment* zds = nullptr;
};

Result<OrderEvent> ReadGroup(const Group& g, const std::optional<storage::PatientRow>& patient,
                             int64_t message_time) {
  OrderEvent ev;
  auto control = Control(g.orc->Get(1));
  if (!control.ok()) return control.status();
  ev.control = *control;
  storage::OrderRow& o = ev.order;
  o.source = "hl7";
  if (patient) {
    o.patient_id = patient->patient_id;
    o.issuer_of_patient_id = patient->issuer_of_patient_id;
    o.patient_name = patient->patient_name;
    o.birth_date = patient->birth_date;
    o.sex = patient->sex;
  }
  const hl7::Segment& orc = *g.orc;
  o.placer_order_number = Trim(orc.Get(2, 1));
  o.filler_order_number = Trim(orc.Get(3, 1));
  ev.order_status = Upper(Trim(orc.Get(5)));
  auto booked = TimeField(orc.Get(9, 1), "ORC-9");
  if (!booked.ok()) return booked.status();
  o.booked_at = *booked ? *booked : message_time;
  o.referring_physician = XcnName(orc, 12);
  // ORC-7 (TQ, deprecated in 2.5 but sent): 3 duration, 4 start, 6 priority.
  auto orc_start = TimeField(orc.Get(7, 4), "ORC-7.4");
  if (!orc_start.ok()) return orc_start.status();
  o.scheduled_at = *orc_start;
  o.duration_minutes = TqDurationMinutes(Trim(orc.Get(7, 3)));
  auto orc_priority = PriorityField(orc.Get(7, 6), "ORC-7.6");
  if (!orc_priority.ok()) return orc_priority.status();
  std::string priority = *orc_priority;
  ev.control_as_sent = Upper(Trim(orc.Get(1)));
  ev.control_reason = CodedText(orc, 16);
  std::string reason;

  if (g.obr) {
    const hl7::Segment& obr = *g.obr;
    if (o.placer_order_number.empty()) o.placer_order_number = Trim(obr.Get(2, 1));
    if (o.filler_order_number.empty()) o.filler_order_number = Trim(obr.Get(3, 1));
    o.procedure_code = Trim(obr.Get(4, 1));
    o.procedure_text = Trim(obr.Get(4, 2));
    o.procedure_scheme = Trim(obr.Get(4, 3));
    if (o.procedure_text.empty()) o.procedure_text = o.procedure_code;
    // IHE RAD TF-2 4.4 (Procedure Scheduled): OBR-18 accession, OBR-19 requested procedure
    // ID, OBR-20 scheduled procedure step ID; radflow reads OBR-21 as the station's AE title.
    o.accession_number = Trim(obr.Get(18, 1));
    o.requested_procedure_id = Trim(obr.Get(19, 1));
    o.procedure_step_id = Trim(obr.Get(20, 1));
    o.station_ae = Trim(obr.Get(21, 1));
    const std::string referrer = XcnName(obr, 16);
    if (!referrer.empty()) o.referring_physician = referrer;
    // OBR-27 (TQ) overrides ORC-7; OBR-36 scheduled date/time; OBR-5 (deprecated) priority.
    auto obr_start = TimeField(obr.Get(27, 4), "OBR-27.4");
    if (!obr_start.ok()) return obr_start.status();
    if (*obr_start) o.scheduled_at = *obr_start;
    auto scheduled = TimeField(obr.Get(36, 1), "OBR-36");
    if (!scheduled.ok()) return scheduled.status();
    if (*scheduled && !o.scheduled_at) o.scheduled_at = *scheduled;
    if (int d = TqDurationMinutes(Trim(obr.Get(27, 3)))) o.duration_minutes = d;
    auto obr_priority = PriorityField(obr.Get(27, 6), "OBR-27.6");
    if (!obr_priority.ok()) return obr_priority.status();
    if (!obr_priority->empty()) priority = *obr_priority;
    if (priority.empty()) {
      auto old_priority = PriorityField(obr.Get(5), "OBR-5");
      if (!old_priority.ok()) return old_priority.status();
      priority = *old_priority;
    }
    // OBR-31 reason for study (CWE), else OBR-13 relevant clinical information.
    std::string why = CodedText(obr, 31);
    if (why.empty()) why = Trim(obr.Get(13, 1));
    if (!why.empty()) reason = why;
    o.modality = Modality(obr.Get(24), o.procedure_text, o.procedure_code);
  }
  if (g.tq1) {
    // TQ1 (4.5.4): 7 start date/time, 9 priority (CWE), 13 occurrence duration (CQ).
    auto start = TimeField(g.tq1->Get(7, 1), "TQ1-7");
    if (!start.ok()) return start.status();
    if (*start) o.scheduled_at = *start;
    auto p = PriorityField(g.tq1->Get(9, 1), "TQ1-9");
    if (!p.ok()) return p.status();
    if (!p->empty()) priority = *p;
    const std::string qty = Trim(g.tq1->Get(13, 1)), unit = Upper(Trim(g.tq1->Get(13, 2)));
    if (!qty.empty()) {
      if (qty.size() > 5 || qty.find_first_not_of("0123456789") != std::string::npos || std::stoi(qty) == 0) {
        return Status(ErrorCode::kInvalidArgument, "TQ1-13: '" + qty + "' is not a duration");
      }
      const int n = std::stoi(qty);
      o.duration_minutes = unit.rfind("H", 0) == 0 ? n * 60 : (unit.rfind("S", 0) == 0 ? n / 60 : n);
    }
  }
  if (g.ipc) {
    // IPC (4A.4.1): 1 accession, 2 requested procedure ID, 3 StudyInstanceUID, 4 scheduled
    // procedure step ID, 5 modality, 7 scheduled station name, 9 scheduled station AE title.
    const hl7::Segment& ipc = *g.ipc;
    auto take = [](std::string& into, const std::string& v) {
      if (!Trim(v).empty()) into = Trim(v);
    };
    take(o.accession_number, ipc.Get(1, 1));
    take(o.requested_procedure_id, ipc.Get(2, 1));
    take(o.study_uid, ipc.Get(3, 1));
    take(o.procedure_step_id, ipc.Get(4, 1));
    const std::string modality = Modality(ipc.Get(5, 1), "", "");
    if (!modality.empty()) o.modality = modality;
    take(o.station_name, ipc.Get(7, 1));
    take(o.station_ae, ipc.Get(9, 1));
  }
  if (g.zds && o.study_uid.empty()) o.study_uid = Trim(g.zds->Get(1, 1));  // IHE ZDS-1
  if (!o.study_uid.empty() && (o.study_uid.size() > 64 ||
                               o.study_uid.find_first_not_of("0123456789.") != std::string::npos)) {
    return Status(ErrorCode::kInvalidArgument, std::string(g.ipc ? "IPC-3" : "ZDS-1") + ": '" + o.study_uid +
                                                   "' is not a UID (digits and dots, at most 64)");
  }
  if (o.accession_number.size() > 16) {
    return Status(ErrorCode::kInvalidArgument, std::string(g.ipc ? "IPC-1" : "OBR-18") +
                                                   ": accession number longer than 16 characters (DICOM SH)");
  }
  if (o.station_ae.size() > 16) {
    return Status(ErrorCode::kInvalidArgument,
                  std::string(g.ipc ? "IPC-9" : "OBR-21") + ": station AE title longer than 16 characters");
  }
  o.priority = priority.empty() ? "ROUTINE" : priority;
  o.reason = reason;

  if (o.placer_order_number.empty() && o.accession_number.empty() && o.filler_order_number.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "ORC-2: missing placer order number (and no filler order number or accession number)");
  }
  if (ev.control == "NW") {
    if (!g.obr) return Status(ErrorCode::kInvalidArgument, "OBR-4: a new order needs its OBR segment");
    if (o.patient_id.empty()) return Status(ErrorCode::kInvalidArgument, "PID-3: a new order needs the patient identifier");
    if (o.procedure_code.empty() && o.procedure_text.empty()) {
      return Status(ErrorCode::kInvalidArgument, "OBR-4: missing universal service identifier (requested procedure)");
    }
  }
  if (ev.control == "SC" && ev.order_status.empty()) {
    return Status(ErrorCode::kInvalidArgument, "ORC-5: a status change needs the order status");
  }
  if (ev.control != "NW") o.priority = priority;  // a change: '' (not given) keeps the order's
  return ev;
}

}  // namespace

std::optional<int64_t> ParseHl7Time(std::string_view value) {
  std::string v = Trim(std::string(value));
  // Split off the offset (+ZZZZ / -ZZZZ) and the fraction.
  std::string offset;
  size_t sign = v.find_first_of("+-");
  if (sign != std::string::npos) {
    offset = v.substr(sign);
    v = v.substr(0, sign);
  }
  int64_t millis = 0;
  size_t dot = v.find('.');
  if (dot != std::string::npos) {
    std::string frac = v.substr(dot + 1);
    v = v.substr(0, dot);
    if (frac.empty() || frac.size() > 4 || frac.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    while (frac.size() < 3) frac += '0';
    millis = std::stoi(frac.substr(0, 3));
  }
  if (v.size() < 8 || v.size() > 14 || v.size() % 2 != 0 || v.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  auto num = [&](size_t at, size_t n) { return v.size() >= at + n ? std::stoi(v.substr(at, n)) : 0; };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(8, 2);
  tm.tm_min = num(10, 2);
  tm.tm_sec = num(12, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  const int mday = tm.tm_mday, mon = tm.tm_mon;
  int64_t seconds = 0;
  if (!offset.empty()) {
    if (offset.size() != 5 || offset.find_first_not_of("0123456789", 1) != std::string::npos) return std::nullopt;
    const int hh = std::stoi(offset.substr(1, 2)), mm = std::stoi(offset.substr(3, 2));
    if (hh > 14 || mm > 59) return std::nullopt;
    seconds = static_cast<int64_t>(timegm(&tm)) - (offset[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  } else {
    tm.tm_isdst = -1;  // no offset: the hub's local time (contract: process TZ)
    seconds = static_cast<int64_t>(std::mktime(&tm));
  }
  if (tm.tm_mday != mday || tm.tm_mon != mon) return std::nullopt;  // 31 February and the like
  return seconds * 1000 + millis;
}

std::string PriorityFromHl7(const std::string& value) {
  const std::string v = Upper(Trim(value));
  // HL7 table 0027; DICOM RequestedProcedurePriority (PS3.3 C.4.11) passes through.
  if (v == "S" || v == "STAT") return "STAT";
  if (v == "A" || v == "T" || v == "HIGH" || v == "ASAP" || v == "URGENT") return "HIGH";
  if (v == "R" || v == "C" || v == "ROUTINE") return "ROUTINE";
  if (v == "P" || v == "MEDIUM") return "MEDIUM";
  if (v == "LOW") return "LOW";
  return "";
}

Result<AdtEvent> ParseAdt(const hl7::Message& message) {
  const hl7::Segment* msh = message.Find("MSH");
  if (!msh) return Status(ErrorCode::kInvalidArgument, "MSH-1: missing MSH segment");
  if (Upper(Trim(msh->Get(9, 1))) != "ADT") {
    return Status(ErrorCode::kInvalidArgument, "MSH-9.1: not an ADT message ('" + msh->Get(9, 1) + "')");
  }
  AdtEvent ev;
  const std::string trigger = Upper(Trim(msh->Get(9, 2)));
  if (trigger == "A04" || trigger == "A01" || trigger == "A05" || trigger == "A28") {
    ev.trigger = "A04";
  } else if (trigger == "A08" || trigger == "A31") {
    ev.trigger = "A08";
  } else if (trigger == "A40") {
    ev.trigger = "A40";
  } else {
    return Status(ErrorCode::kUnsupported, "MSH-9.2: unsupported ADT trigger event '" + trigger +
                                               "' (A01, A04, A05, A08, A28, A31, A40)");
  }
  const hl7::Segment* pid = message.Find("PID");
  if (!pid) return Status(ErrorCode::kInvalidArgument, "PID-3: missing PID segment");
  auto patient = ReadPid(*pid);
  if (!patient.ok()) return patient.status();
  ev.patient = std::move(patient.value());
  if (ev.trigger == "A40") {
    // MRG-1 (CX): the prior patient identifier, merged into the PID-3 before it (3.4.9).
    const hl7::Segment* current = nullptr;
    for (const auto& seg : message.segments) {
      if (seg.id() == "PID") {
        current = &seg;
      } else if (seg.id() == "MRG") {
        if (!current) return Status(ErrorCode::kInvalidArgument, "PID-3: MRG without a preceding PID segment");
        auto survivor = ReadPid(*current);
        if (!survivor.ok()) return survivor.status();
        AdtEvent::Merge m{std::move(survivor.value()), Trim(seg.Get(1, 1)), Trim(seg.Get(1, 4))};
        if (m.from_id.empty()) return Status(ErrorCode::kInvalidArgument, "MRG-1: missing prior patient identifier");
        if (m.from_id == m.patient.patient_id && m.from_issuer == m.patient.issuer_of_patient_id) {
          return Status(ErrorCode::kInvalidArgument, "MRG-1: the prior patient identifier equals PID-3");
        }
        ev.merges.push_back(std::move(m));
        current = nullptr;
      }
    }
    if (ev.merges.empty()) return Status(ErrorCode::kInvalidArgument, "MRG-1: an A40 needs the MRG segment");
    ev.merge_from_id = ev.merges.front().from_id;
    ev.merge_from_issuer = ev.merges.front().from_issuer;
  }
  return ev;
}

Result<std::vector<OrderEvent>> ParseOrders(const hl7::Message& message) {
  const hl7::Segment* msh = message.Find("MSH");
  if (!msh) return Status(ErrorCode::kInvalidArgument, "MSH-1: missing MSH segment");
  const std::string code = Upper(Trim(msh->Get(9, 1)));
  if (code != "ORM" && code != "OMI") {
    return Status(ErrorCode::kInvalidArgument, "MSH-9.1: not an ORM or OMI message ('" + msh->Get(9, 1) + "')");
  }
  auto message_time = TimeField(msh->Get(7, 1), "MSH-7");
  if (!message_time.ok()) return message_time.status();
  std::optional<storage::PatientRow> patient;
  if (const hl7::Segment* pid = message.Find("PID")) {
    auto p = ReadPid(*pid);
    if (!p.ok()) return p.status();
    patient = std::move(p.value());
  }
  std::vector<Group> groups;
  for (const auto& seg : message.segments) {
    const std::string& id = seg.id();
    if (id == "ORC") {
      groups.push_back({&seg});
    } else if (!groups.empty()) {
      Group& g = groups.back();
      if (id == "OBR" && !g.obr) g.obr = &seg;
      else if (id == "TQ1" && !g.tq1) g.tq1 = &seg;
      else if (id == "IPC" && !g.ipc) g.ipc = &seg;  // the first IPC: one scheduled step per order
      else if (id == "ZDS" && !g.zds) g.zds = &seg;
    } else if (id == "OBR") {
      return Status(ErrorCode::kInvalidArgument, "ORC-1: OBR without a preceding ORC segment");
    }
  }
  if (groups.empty()) return Status(ErrorCode::kInvalidArgument, "ORC-1: missing ORC segment");
  std::vector<OrderEvent> out;
  for (const auto& g : groups) {
    auto ev = ReadGroup(g, patient, *message_time);
    if (!ev.ok()) return ev.status();
    out.push_back(std::move(ev.value()));
  }
  return out;
}

}  // namespace radflow::orders
