#include "delivery/fhir.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "base/iso_time.h"
#include "crypto/crypto.h"

namespace radflow::delivery {

using nlohmann::json;

namespace {

constexpr const char* kUcum = "http://unitsofmeasure.org";
constexpr const char* kLoinc = "http://loinc.org";
constexpr const char* kDcm = "http://dicom.nema.org/resources/ontology/DCM";

bool IsOid(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return s.find("..") == std::string::npos;
}

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}


// FHIR string: non-empty, no leading/trailing whitespace trouble (R4 2.24.0.1).
std::string Clean(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string FhirStatus(const SignedReport& r) {
  if (r.corrected) return "amended";
  return r.status == "final" ? "final" : "preliminary";
}

json PatientReference(const SignedReport& r) {
  json ref = {{"type", "Patient"}};
  if (!Clean(r.patient_id).empty()) {
    json id = {{"value", Clean(r.patient_id)}};
    if (!r.issuer_of_patient_id.empty()) {
      id["system"] = IsOid(r.issuer_of_patient_id) ? "urn:oid:" + r.issuer_of_patient_id
                                                   : "urn:radflow:issuer:" + PercentEncode(r.issuer_of_patient_id);
    }
    ref["identifier"] = id;
  }
  const std::string name = PersonDisplay(r.patient_name);
  ref["display"] = name.empty() ? (r.patient_id.empty() ? "unknown patient" : r.patient_id) : name;
  return ref;
}

json Coding(const std::string& system, const std::string& code, const std::string& display) {
  json c = {{"system", system}, {"code", code}};
  if (!Clean(display).empty()) c["display"] = Clean(display);
  return c;
}

json ImagingStudyReference(const SignedReport& r) {
  return {{"reference", "ImagingStudy/" + ImagingStudyId(r.study_uid)}};
}

std::vector<std::string> SplitModalities(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + "\\") {
    if (c == '\\' || c == ',' || c == ' ' || c == '/') {
      if (!cur.empty() && std::find(out.begin(), out.end(), cur) == out.end()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

void SetIfNotEmpty(json& j, const char* key, const std::string& value) {
  const std::string v = Clean(value);
  if (!v.empty()) j[key] = v;
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

std::string ImagingStudyId(const std::string& uid) {
  std::string id;
  for (char c : uid) id += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '-';
  if (id.empty()) return "unknown";
  if (id.size() <= 64) return id;
  char hash[24];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(Fnv1a(uid)));
  return id.substr(0, 47) + "-" + hash;
}

std::string DiagnosticReportId(const SignedReport& r) { return std::to_string(r.report_id); }
std::string ObservationId(const SignedReport& r, int n) {
  return std::to_string(r.report_id) + "-" + std::to_string(n);
}

std::string FhirInstant(int64_t unix_ms) { return FormatIsoUtc(unix_ms, /*with_millis=*/true); }

std::string FhirDateTime(const std::string& da, const std::string& tm_in) {
  if (da.size() != 8) return "";
  for (char c : da) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return "";
  }
  std::tm tm{};
  tm.tm_year = std::stoi(da.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(da.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(da.substr(6, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year + 1900 < 1000) return "";
  const std::string date = da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
  // TM: HH[MM[SS[.F]]], possibly with colons (ACR-NEMA).
  std::string t;
  for (char c : tm_in) {
    if (c == '.') break;
    if (std::isdigit(static_cast<unsigned char>(c))) t += c;
  }
  if (t.size() < 2) return date;
  t.resize(6, '0');
  tm.tm_hour = std::stoi(t.substr(0, 2));
  tm.tm_min = std::stoi(t.substr(2, 2));
  tm.tm_sec = std::stoi(t.substr(4, 2));
  if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59) return date;
  tm.tm_isdst = -1;
  std::mktime(&tm);  // fills tm_gmtoff for the local zone on that date
  long off = tm.tm_gmtoff / 60;
  char zone[24];
  std::snprintf(zone, sizeof zone, "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 60, std::labs(off) % 60);
  return date + "T" + t.substr(0, 2) + ":" + t.substr(2, 2) + ":" + t.substr(4, 2) + zone;
}

std::string CodeSystemUri(const std::string& scheme) {
  if (scheme == "SCT" || scheme == "SNM3" || scheme == "SRT") return "http://snomed.info/sct";
  if (scheme == "LN") return kLoinc;
  if (scheme == "DCM") return kDcm;
  if (scheme == "UCUM") return kUcum;
  if (scheme == "RADLEX" || scheme == "RL") return "http://radlex.org";
  if (scheme == "HL70074") return "http://terminology.hl7.org/CodeSystem/v2-0074";
  if (scheme.rfind("urn:", 0) == 0 || scheme.rfind("http", 0) == 0) return scheme;
  return "urn:radflow:scheme:" + PercentEncode(scheme.empty() ? "local" : scheme);
}

json DiagnosticReportResource(const SignedReport& r) {
  json dr = {{"resourceType", "DiagnosticReport"}, {"id", DiagnosticReportId(r)}};
  json identifiers = json::array();
  identifiers.push_back({{"system", "urn:radflow:report"},
                         {"value", std::to_string(r.report_id) + "-v" + std::to_string(std::max(1, r.version))}});
  if (!r.sr_sop_uid.empty()) identifiers.push_back({{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + r.sr_sop_uid}});
  dr["identifier"] = identifiers;
  dr["status"] = FhirStatus(r);
  dr["category"] = json::array(
      {{{"coding", json::array({Coding("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology")})}}});
  json code = {{"coding", json::array({Coding(kLoinc, "18748-4", "Diagnostic imaging study")})}};
  SetIfNotEmpty(code, "text", r.study_description.empty() ? r.template_title : r.study_description);
  dr["code"] = code;
  dr["subject"] = PatientReference(r);
  const std::string effective = FhirDateTime(r.study_date, r.study_time);
  if (!effective.empty()) dr["effectiveDateTime"] = effective;
  dr["issued"] = FhirInstant(SignedAtMs(r));
  const std::string org = Clean(r.organization);
  if (!org.empty()) dr["performer"] = json::array({{{"type", "Organization"}, {"display", org}}});
  const std::string interpreter = PersonDisplay(r.signed_by);
  if (!interpreter.empty()) {
    dr["resultsInterpreter"] = json::array({{{"type", "Practitioner"}, {"display", interpreter}}});
  }
  json results = json::array();
  const size_t n = AcceptedMeasurements(r).size();
  for (size_t i = 1; i <= n; ++i)
    results.push_back({{"reference", "Observation/" + ObservationId(r, static_cast<int>(i))}});
  if (!results.empty()) dr["result"] = results;
  dr["imagingStudy"] = json::array({ImagingStudyReference(r)});
  const std::string conclusion = Clean(r.impression_text);
  if (!conclusion.empty()) dr["conclusion"] = conclusion;
  json form = {{"contentType", "text/plain; charset=utf-8"},
               {"language", "en-US"},
               {"data", crypto::Base64(ReportText(r))},
               {"creation", FhirInstant(SignedAtMs(r))}};
  SetIfNotEmpty(form, "title", r.template_title.empty() ? std::string("Radiology report") : r.template_title);
  dr["presentedForm"] = json::array({form});
  return dr;
}

json ObservationResources(const SignedReport& r) {
  json out = json::array();
  const std::string status = FhirStatus(r);
  const std::string effective = FhirDateTime(r.study_date, r.study_time);
  const std::string interpreter = PersonDisplay(r.signed_by);
  int n = 0;
  for (const DeliveredMeasurement& dm : AcceptedMeasurements(r)) {
    const report::Measurement& m = dm.measurement;
    const report::Proposal& p = *dm.proposal;
    json obs = {{"resourceType", "Observation"}, {"id", ObservationId(r, ++n)}, {"status", status}};
    obs["category"] =
        json::array({{{"coding", json::array({Coding("http://terminology.hl7.org/CodeSystem/observation-category",
                                                     "imaging", "Imaging")})}}});
    json code = json::object();
    if (!m.code.empty()) code["coding"] = json::array({Coding(CodeSystemUri(m.scheme), m.code, m.name)});
    std::string text = Clean(m.name);
    if (!Clean(p.finding.label).empty()) text = Clean(p.finding.label) + (text.empty() ? "" : " " + text);
    code["text"] = text.empty() ? "Measurement" : text;
    obs["code"] = code;
    obs["subject"] = PatientReference(r);
    if (!effective.empty()) obs["effectiveDateTime"] = effective;
    obs["issued"] = FhirInstant(SignedAtMs(r));
    if (!interpreter.empty()) obs["performer"] = json::array({{{"type", "Practitioner"}, {"display", interpreter}}});
    const std::string unit = m.unit.empty() ? "1" : m.unit;
    obs["valueQuantity"] = {{"value", std::isfinite(m.value) ? m.value : 0.0},
                            {"unit", UcumMeaning(unit)},
                            {"system", kUcum},
                            {"code", unit}};
    std::string site = Clean(p.site);
    if (!site.empty()) {
      obs["bodySite"] = {{"text", site}};
    } else if (!Clean(p.laterality).empty()) {
      obs["bodySite"] = {{"text", Clean(p.laterality)}};
    }
    const std::string app =
        Clean(p.finding.app_id + (p.finding.app_version.empty() ? "" : " " + p.finding.app_version));
    if (!app.empty()) {
      obs["method"] = {{"text", "AI app " + app + ", accepted by the reporting radiologist"}};
      obs["device"] = {{"display", "AI app " + app}};
      json note = {
          {"text", "Measured by AI app " + app +
                       (p.finding.sr_sop_uid.empty() ? std::string() : " (DICOM SR " + p.finding.sr_sop_uid + ")")}};
      obs["note"] = json::array({note});
    }
    obs["derivedFrom"] = json::array({ImagingStudyReference(r)});
    out.push_back(obs);
  }
  return out;
}

json ImagingStudyResource(const SignedReport& r) {
  json is = {{"resourceType", "ImagingStudy"}, {"id", ImagingStudyId(r.study_uid)}};
  json ids = json::array({{{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + r.study_uid}}});
  if (!Clean(r.accession_number).empty()) {
    ids.push_back(
        {{"type",
          {{"coding", json::array({Coding("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN", "Accession ID")})}}},
         {"value", Clean(r.accession_number)}});
  }
  is["identifier"] = ids;
  is["status"] = "available";
  json modality = json::array();
  for (const std::string& m : SplitModalities(r.modalities)) modality.push_back(Coding(kDcm, m, ""));
  if (!modality.empty()) is["modality"] = modality;
  is["subject"] = PatientReference(r);
  const std::string started = FhirDateTime(r.study_date, r.study_time);
  if (!started.empty()) is["started"] = started;
  const std::string referrer = PersonDisplay(r.referring_physician);
  if (!referrer.empty()) is["referrer"] = {{"type", "Practitioner"}, {"display", referrer}};
  SetIfNotEmpty(is, "description", r.study_description);
  return is;
}

namespace {

json Entry(const std::string& base_url, const json& resource, const char* mode) {
  json e = {{"fullUrl",
             base_url + "/" + resource["resourceType"].get<std::string>() + "/" + resource["id"].get<std::string>()},
            {"resource", resource}};
  if (mode) e["search"] = {{"mode", mode}};
  return e;
}

}  // namespace

json DiagnosticReportBundle(const SignedReport& r, const std::string& base_url, const std::string& type) {
  const bool search = type == "searchset";
  json entries = json::array();
  entries.push_back(Entry(base_url, DiagnosticReportResource(r), search ? "match" : nullptr));
  for (const json& o : ObservationResources(r)) entries.push_back(Entry(base_url, o, search ? "include" : nullptr));
  entries.push_back(Entry(base_url, ImagingStudyResource(r), search ? "include" : nullptr));
  json b = {{"resourceType", "Bundle"},
            {"type", search ? "searchset" : "collection"},
            {"timestamp", FhirInstant(SignedAtMs(r))}};
  if (search) b["total"] = 1;
  b["entry"] = entries;
  return b;
}

json SearchsetBundle(const std::vector<SignedReport>& reports, const std::string& base_url,
                     const std::string& self_url) {
  json b = {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", reports.size()}};
  if (!self_url.empty()) b["link"] = json::array({{{"relation", "self"}, {"url", self_url}}});
  json entries = json::array();
  std::set<std::string> studies;
  for (const SignedReport& r : reports) {
    entries.push_back(Entry(base_url, DiagnosticReportResource(r), "match"));
    for (const json& o : ObservationResources(r)) entries.push_back(Entry(base_url, o, "include"));
    if (studies.insert(ImagingStudyId(r.study_uid)).second) {
      entries.push_back(Entry(base_url, ImagingStudyResource(r), "include"));
    }
  }
  if (!entries.empty()) b["entry"] = entries;
  return b;
}

json OperationOutcome(const std::string& severity, const std::string& code, const std::string& diagnostics) {
  json issue = {{"severity", severity}, {"code", code}};
  if (!Clean(diagnostics).empty()) issue["diagnostics"] = Clean(diagnostics);
  return {{"resourceType", "OperationOutcome"}, {"issue", json::array({issue})}};
}

}  // namespace radflow::delivery
