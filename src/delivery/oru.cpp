#include "delivery/oru.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "hl7/message.h"

namespace radflow::delivery {

namespace {

std::vector<std::string> SplitPn(const std::string& pn) {
  std::vector<std::string> c;
  size_t start = 0;
  while (true) {
    size_t p = pn.find('^', start);
    c.push_back(pn.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  c.resize(5);
  return c;
}

bool IsOid(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return true;
}

// DICOM PN Family^Given^Middle^Prefix^Suffix -> XPN Family^Given^Middle^Suffix^Prefix.
std::vector<std::string> Xpn(const std::string& pn) {
  auto c = SplitPn(pn);
  return {c[0], c[1], c[2], c[4], c[3]};
}

// XCN / CNN person: id, then the XPN components.
std::vector<std::string> Person(const std::string& pn) {
  std::vector<std::string> out{""};
  for (auto& part : Xpn(pn)) out.push_back(part);
  return out;
}

// Local DTM (no offset: DICOM dates and times are local) from DA + TM.
std::string LocalDtm(const std::string& da, const std::string& tm) {
  if (da.size() != 8) return "";
  std::string t;
  for (char c : tm) {
    if (c == '.') break;
    if (std::isdigit(static_cast<unsigned char>(c))) t += c;
  }
  return da + t.substr(0, 6);
}

// NM (2.A.47): an optional sign, digits and an optional decimal point; no exponent.
std::string FormatNm(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

char DeriveStatus(const SignedReport& r, char requested) {
  if (requested == 'P' || requested == 'F' || requested == 'C') return requested;
  if (r.corrected) return 'C';
  return r.status == "final" ? 'F' : 'P';
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string PrivateCode(const std::string& name) {
  std::string code = "RF-";
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (code.size() >= 16) break;
  }
  return code;
}

}  // namespace

std::string BuildOruR01(const SignedReport& r, const OruOptions& o, char result_status, const std::string& control_id) {
  const char status_char = DeriveStatus(r, result_status);
  const std::string status(1, status_char);
  const std::string observed = LocalDtm(r.study_date, r.study_time);
  const std::string signed_dtm = hl7::FormatDtm(SignedAtMs(r));
  hl7::Message m;

  hl7::Segment& msh = m.Add("MSH");
  msh.Set(1, "|");
  msh.Set(3, o.sending_application);
  msh.Set(4, o.sending_facility);
  msh.Set(5, o.receiving_application);
  msh.Set(6, o.receiving_facility);
  msh.Set(7, hl7::FormatDtm(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
  msh.SetComponents(9, {"ORU", "R01", "ORU_R01"});
  msh.Set(10, control_id.empty() ? hl7::NewControlId() : control_id);
  msh.Set(11, o.processing_id.empty() ? "P" : o.processing_id);
  msh.Set(12, "2.5.1");
  msh.Set(18, "UNICODE UTF-8");

  hl7::Segment& pid = m.Add("PID");
  pid.Set(1, "1");
  pid.SetComponents(3, {r.patient_id, "", "", "", "MR"});
  if (!r.issuer_of_patient_id.empty()) {
    // CX.4 assigning authority (HD): namespace id, or universal id + type ISO for an OID.
    if (IsOid(r.issuer_of_patient_id)) {
      pid.SetSubcomponents(3, 4, {"", r.issuer_of_patient_id, "ISO"});
    } else {
      pid.SetSubcomponents(3, 4, {r.issuer_of_patient_id});
    }
  }
  pid.SetComponents(5, Xpn(r.patient_name));
  pid.Set(7, r.birth_date);
  const std::string sex = r.sex == "M" || r.sex == "F" || r.sex == "O" ? r.sex : (r.sex.empty() ? "" : "U");
  pid.Set(8, sex);

  hl7::Segment& pv1 = m.Add("PV1");
  pv1.Set(1, "1");
  pv1.Set(2, o.patient_class.empty() ? "U" : o.patient_class);

  hl7::Segment& orc = m.Add("ORC");
  orc.Set(1, "RE");
  if (!r.accession_number.empty()) orc.SetComponents(3, {r.accession_number, o.sending_application});
  orc.Set(5, status_char == 'P' ? "IP" : "CM");
  orc.Set(9, signed_dtm);
  if (!r.referring_physician.empty()) orc.SetComponents(12, Person(r.referring_physician));

  hl7::Segment& obr = m.Add("OBR");
  obr.Set(1, "1");
  if (!r.accession_number.empty()) obr.SetComponents(3, {r.accession_number, o.sending_application});
  std::vector<std::string> service{"18748-4", "Diagnostic imaging study", "LN"};
  if (!r.study_description.empty()) {
    std::string alt = r.modalities.empty() ? "STUDY" : r.modalities;
    for (char& c : alt) {
      if (c == '\\' || c == ' ') c = '_';
    }
    service.insert(service.end(), {alt, r.study_description, "L"});
  }
  obr.SetComponents(4, service);
  obr.Set(7, observed);
  if (!r.referring_physician.empty()) obr.SetComponents(16, Person(r.referring_physician));
  obr.Set(18, r.accession_number);
  obr.Set(22, signed_dtm);
  obr.Set(24, "RAD");
  obr.Set(25, status);
  if (!r.signed_by.empty()) {
    // OBR-32 (NDL): component 1 is a CNN, its parts subcomponents.
    std::vector<std::string> cnn{""};
    if (r.signed_by.find('^') != std::string::npos) {
      for (auto& part : Xpn(r.signed_by)) cnn.push_back(part);
    } else {
      cnn.push_back(r.signed_by);
    }
    obr.SetSubcomponents(32, 1, cnn);
  }

  int set_id = 0;
  if (!r.study_uid.empty()) {
    hl7::Segment& obx = m.Add("OBX");
    obx.Set(1, std::to_string(++set_id));
    obx.Set(2, "HD");
    obx.SetComponents(3, {"113014", "DICOM Study", "DCM"});
    obx.Set(5, r.study_uid);
    obx.Set(11, "O");
  }
  const std::vector<DeliveredMeasurement> measurements = AcceptedMeasurements(r);
  int section_no = 0;
  for (const ReportSection& s : ReportSections(r)) {
    ++section_no;
    for (const std::string& line : Lines(s.text)) {
      hl7::Segment& obx = m.Add("OBX");
      obx.Set(1, std::to_string(++set_id));
      obx.Set(2, "TX");
      obx.SetComponents(3, {s.code, s.meaning, "LN"});
      obx.Set(4, std::to_string(section_no));
      obx.Set(5, line);
      obx.Set(11, status);
      obx.Set(14, observed);
    }
    if (!s.findings) continue;
    // The accepted measurements, one OBX NM each, grouped by finding in OBX-4.
    const report::Proposal* current = nullptr;
    int finding_no = 0;
    for (const DeliveredMeasurement& dm : measurements) {
      if (dm.proposal != current) {
        current = dm.proposal;
        ++finding_no;
      }
      const report::Measurement& mm = dm.measurement;
      hl7::Segment& obx = m.Add("OBX");
      obx.Set(1, std::to_string(++set_id));
      obx.Set(2, "NM");
      if (!mm.code.empty()) {
        obx.SetComponents(3, {mm.code, mm.name, mm.scheme.empty() ? "L" : mm.scheme});
      } else {
        obx.SetComponents(3, {PrivateCode(mm.name), mm.name, "99RADFLOW"});
      }
      obx.Set(4, std::to_string(section_no) + "." + std::to_string(finding_no));
      obx.Set(5, FormatNm(mm.value));
      const std::string unit = mm.unit.empty() ? "1" : mm.unit;
      obx.SetComponents(6, {unit, UcumMeaning(unit), "UCUM"});
      obx.Set(11, status);
      obx.Set(14, observed);
      const report::AiFinding& f = current->finding;
      std::string note = "AI-measured";
      if (!f.app_id.empty()) note += " by " + f.app_id + (f.app_version.empty() ? "" : " " + f.app_version);
      if (!f.label.empty()) note += "; finding: " + f.label;
      if (!current->site.empty()) note += "; site: " + current->site;
      note += "; accepted by the reporting radiologist";
      hl7::Segment& nte = m.Add("NTE");
      nte.Set(1, "1");
      nte.Set(2, "L");  // table 0105: the filler is the source of the comment
      nte.Set(3, note);
    }
  }
  return m.Encode();
}

// ---------------------------------------------------------------------------------------

namespace {

Status Missing(const std::string& where, const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, where + ": " + what);
}

// Digits of a DTM, up to YYYYMMDDHHMMSS, padded with zeros after the date; '' when no date.
std::string NormalizeDtm(const std::string& dtm) {
  std::string d;
  for (char c : dtm) {
    if (c == '+' || c == '-' || c == '.') break;
    if (std::isdigit(static_cast<unsigned char>(c))) d += c;
  }
  if (d.size() < 8) return "";
  d.resize(14, '0');
  return d;
}

// XPN (Family^Given^Middle^Suffix^Prefix) -> DICOM PN (Family^Given^Middle^Prefix^Suffix).
std::string PnFromXpn(const hl7::Segment& s, int field, int first_component, int sub = 0) {
  std::string parts[5];
  for (int i = 0; i < 5; ++i) {
    parts[i] = sub ? s.Get(field, first_component, sub + i) : s.Get(field, first_component + i);
  }
  std::string pn = parts[0] + "^" + parts[1] + "^" + parts[2] + "^" + parts[4] + "^" + parts[3];
  while (!pn.empty() && pn.back() == '^') pn.pop_back();
  return pn;
}

}  // namespace

Result<ExternalReport> ParseOruR01(const std::string& text) {
  auto parsed = hl7::Parse(text);
  if (!parsed.ok()) return parsed.status();
  const hl7::Message& m = *parsed;
  const hl7::Segment& msh = *m.Find("MSH");
  const std::string type = msh.Get(9, 1) + "^" + msh.Get(9, 2);
  if (type != "ORU^R01") return Missing("MSH-9", "expected ORU^R01, got " + type);
  ExternalReport out;
  out.control_id = msh.Get(10);
  if (out.control_id.empty()) return Missing("MSH-10", "missing message control id");
  out.sending_application = msh.Get(3);
  out.sending_facility = msh.Get(4);

  const hl7::Segment* pid = m.Find("PID");
  if (!pid) return Missing("PID", "missing segment");
  // PID-3 repeats: prefer an MR identifier, else the first with an id.
  int chosen = 0;
  for (int rep = 1; rep <= pid->Repetitions(3); ++rep) {
    if (pid->Get(3, 1, 1, rep).empty()) continue;
    if (!chosen) chosen = rep;
    if (pid->Get(3, 5, 1, rep) == "MR") {
      chosen = rep;
      break;
    }
  }
  if (!chosen) return Missing("PID-3", "missing patient identifier");
  out.patient_id = pid->Get(3, 1, 1, chosen);
  out.issuer_of_patient_id = pid->Get(3, 4, 1, chosen);
  if (out.issuer_of_patient_id.empty()) out.issuer_of_patient_id = pid->Get(3, 4, 2, chosen);
  out.patient_name = PnFromXpn(*pid, 5, 1);

  const hl7::Segment* obr = m.Find("OBR");
  if (!obr) return Missing("OBR", "missing segment");
  const hl7::Segment* orc = m.Find("ORC");
  out.filler_order_number = obr->Get(3);
  out.accession_number = obr->Get(18);
  if (out.accession_number.empty()) out.accession_number = out.filler_order_number;
  if (out.accession_number.empty() && orc) out.accession_number = orc->Get(3);

  std::string status_code = obr->Get(25);
  std::string status_field = "OBR-25";
  const auto obxs = m.FindAll("OBX");
  if (status_code.empty()) {
    for (const hl7::Segment* obx : obxs) {
      if (obx->Get(3) != "113014" && !obx->Get(11).empty()) {
        status_code = obx->Get(11);
        status_field = "OBX-11";
        break;
      }
    }
  }
  if (status_code.empty()) return Missing("OBR-25", "missing result status");
  if (status_code == "F") {
    out.status = "final";
  } else if (status_code == "C") {
    out.status = "corrected";
  } else if (status_code == "P" || status_code == "R" || status_code == "A" || status_code == "S") {
    out.status = "preliminary";
  } else {
    return Missing(status_field, "result status '" + status_code + "' carries no report (expected P, F or C)");
  }

  // The author: OBR-32 (NDL, CNN in subcomponents: id&family&given&middle&suffix&prefix).
  std::string family = obr->Get(32, 1, 2), id = obr->Get(32, 1, 1);
  if (!family.empty()) {
    out.author = PnFromXpn(*obr, 32, 1, 2);
  } else if (!id.empty()) {
    out.author = id;
  }

  std::vector<std::string> lines;
  for (const hl7::Segment* obx : obxs) {
    const std::string vt = obx->Get(2);
    if (obx->Get(3) == "113014") {
      out.study_uid = obx->Get(5);
      continue;
    }
    if (out.author.empty() && !obx->Get(16, 2).empty()) out.author = PnFromXpn(*obx, 16, 2);
    if (vt == "TX" || vt == "FT" || vt == "ST") {
      for (int rep = 1; rep <= obx->Repetitions(5); ++rep) {
        // A TX/FT value holds no components; a '^' in it was sent unescaped — keep it.
        std::string value;
        const auto comps = obx->Components(5, rep);
        for (size_t i = 0; i < comps.size(); ++i) value += (i ? "^" : "") + comps[i];
        lines.push_back(value);
      }
    } else if (vt == "CE" || vt == "CWE") {
      const std::string v = obx->Get(5, 2).empty() ? obx->Get(5, 1) : obx->Get(5, 2);
      if (!v.empty()) lines.push_back((obx->Get(3, 2).empty() ? "" : obx->Get(3, 2) + ": ") + v);
    } else if (vt == "NM" || vt == "SN") {
      std::string v;
      for (const auto& c : obx->Components(5)) v += c;
      std::string line = (obx->Get(3, 2).empty() ? obx->Get(3, 1) : obx->Get(3, 2)) + ": " + v;
      if (!obx->Get(6).empty()) line += " " + obx->Get(6);
      lines.push_back(line);
    }
  }
  if (out.study_uid.empty()) {
    if (const hl7::Segment* zds = m.Find("ZDS")) out.study_uid = zds->Get(1);
  }
  for (const std::string& l : lines) out.text += l + "\n";
  if (out.text.find_first_not_of(" \t\n") == std::string::npos) return Missing("OBX", "no report text (TX, FT or ST)");

  out.observed_at = NormalizeDtm(obr->Get(7));
  if (out.observed_at.empty()) out.observed_at = NormalizeDtm(obr->Get(22));
  if (out.observed_at.empty()) out.observed_at = NormalizeDtm(msh.Get(7));
  return out;
}

}  // namespace radflow::delivery
