// FHIR R4 ServiceRequest <-> storage::OrderRow (http://hl7.org/fhir/R4/servicerequest.html;
// the mapping table is in docs/orders.md, section "REST and FHIR").
#include "orders/fhir_service_request.h"

#include <cctype>
#include <ctime>

#include <nlohmann/json.hpp>

#include "base/civil_date.h"
#include "base/iso_time.h"

namespace radflow::orders {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// HL7 v2 table 0203 (identifier type), as FHIR names it.
constexpr const char* kV2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203";
// DICOM's code system (PS3.16), whose modality codes (CID 29) name the scheduled modality.
constexpr const char* kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
constexpr const char* kStatusExtension = "http://radflow.invalid/fhir/StructureDefinition/order-status";

Status Invalid(const std::string& path, const std::string& why) {
  return Status(ErrorCode::kInvalidArgument, "ServiceRequest." + path + ": " + why);
}

// Coding system URIs <-> the HL7 v2 coding system names OrderRow::procedure_scheme keeps
// (HL7 v2 table 0396).
struct SchemeUri {
  const char* scheme;
  const char* uri;
};
constexpr SchemeUri kSchemes[] = {
    {"LN", "http://loinc.org"},
    {"SCT", "http://snomed.info/sct"},
    {"C4", "http://www.ama-assn.org/go/cpt"},
    {"RADLEX", "http://www.radlex.org"},
    {"DCM", kDicomSystem},
};

std::string SchemeOfUri(const std::string& uri) {
  for (const auto& s : kSchemes) {
    if (uri == s.uri) return s.scheme;
  }
  return uri;  // another system: kept as given
}

std::string UriOfScheme(const std::string& scheme) {
  for (const auto& s : kSchemes) {
    if (scheme == s.scheme) return s.uri;
  }
  return scheme;
}

// The string member `key` of `j` (absent or null: ""), or an error naming path.key.
Result<std::string> Str(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Invalid(path + key, "expected a string");
  return it->get<std::string>();
}

// An array member (absent: empty array), or an error.
Result<json> Arr(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return json::array();
  if (!it->is_array()) return Invalid(path + key, "expected an array");
  return *it;
}

int Digits(const std::string& s, size_t pos, size_t n, bool* ok) {
  int v = 0;
  if (pos + n > s.size()) {
    *ok = false;
    return 0;
  }
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) *ok = false;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

// FHIR dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime): YYYY-MM-DD, or
// YYYY-MM-DDThh:mm[:ss[.fff]] with Z or ±hh:mm (a time SHALL carry its zone; without one
// it is read as the hub's local time). Date only: local midnight.
Result<int64_t> ParseFhirDateTime(const std::string& s) {
  bool ok = true;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') {
    return Status(ErrorCode::kInvalidArgument, "'" + s + "' is not a FHIR dateTime (YYYY-MM-DDThh:mm:ssZ)");
  }
  const int y = Digits(s, 0, 4, &ok), mo = Digits(s, 5, 2, &ok), d = Digits(s, 8, 2, &ok);
  if (!ok || !IsCivilDate(y, mo, d)) {
    return Status(ErrorCode::kInvalidArgument, "'" + s + "' is not a valid date");
  }
  int hh = 0, mi = 0, ss = 0, ms = 0;
  size_t pos = 10;
  bool zoned = false;
  int64_t offset_s = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T') return Status(ErrorCode::kInvalidArgument, "'" + s + "': expected 'T' after the date");
    hh = Digits(s, pos + 1, 2, &ok);
    if (pos + 3 >= s.size() || s[pos + 3] != ':') ok = false;
    mi = Digits(s, pos + 4, 2, &ok);
    pos += 6;
    if (ok && pos < s.size() && s[pos] == ':') {
      ss = Digits(s, pos + 1, 2, &ok);
      pos += 3;
      if (ok && pos < s.size() && s[pos] == '.') {
        size_t start = ++pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        if (pos == start) ok = false;
        std::string frac = s.substr(start, pos - start) + "00";
        ms = std::stoi(frac.substr(0, 3));
      }
    }
    if (ok && pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        zoned = true;
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
        const int oh = Digits(s, pos + 1, 2, &ok), om = Digits(s, pos + 4, 2, &ok);
        offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        zoned = true;
      } else {
        ok = false;
      }
    }
    if (!ok || hh > 23 || mi > 59 || ss > 60) {
      return Status(ErrorCode::kInvalidArgument, "'" + s + "' is not a FHIR dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)");
    }
  }
  int64_t seconds = 0;
  if (zoned) {
    seconds = DaysFromCivil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset_s;
  } else {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    tm.tm_isdst = -1;
    seconds = static_cast<int64_t>(std::mktime(&tm));
  }
  return seconds * 1000 + ms;
}

// FHIR priority <-> DICOM RequestedProcedurePriority: stat→STAT, asap and urgent→HIGH,
// routine→ROUTINE; back: STAT→stat, HIGH→urgent, the others→routine.
Result<std::string> PriorityOfFhir(const std::string& p) {
  if (p.empty() || p == "routine") return std::string("ROUTINE");
  if (p == "urgent" || p == "asap") return std::string("HIGH");
  if (p == "stat") return std::string("STAT");
  return Status(ErrorCode::kInvalidArgument, "ServiceRequest.priority: '" + p +
                                                 "' is not routine, urgent, asap or stat");
}

std::string FhirOfPriority(const std::string& p) {
  if (p == "STAT") return "stat";
  if (p == "HIGH") return "urgent";
  return "routine";
}

namespace {

// DICOM PN (Family^Given^Middle^Prefix^Suffix) from a FHIR HumanName.
std::string PersonNameOf(const json& name) {
  if (!name.is_object()) return "";
  std::string family = name.value("family", std::string());
  std::vector<std::string> given;
  if (name.contains("given") && name["given"].is_array()) {
    for (const auto& g : name["given"]) {
      if (g.is_string()) given.push_back(g.get<std::string>());
    }
  }
  std::string prefix, suffix;
  if (name.contains("prefix") && name["prefix"].is_array() && !name["prefix"].empty() &&
      name["prefix"][0].is_string()) {
    prefix = name["prefix"][0].get<std::string>();
  }
  if (name.contains("suffix") && name["suffix"].is_array() && !name["suffix"].empty() &&
      name["suffix"][0].is_string()) {
    suffix = name["suffix"][0].get<std::string>();
  }
  if (family.empty() && given.empty() && name.contains("text") && name["text"].is_string()) {
    return name["text"].get<std::string>();
  }
  std::string middle;
  for (size_t i = 1; i < given.size(); ++i) middle += (middle.empty() ? "" : " ") + given[i];
  std::string pn = family + "^" + (given.empty() ? "" : given[0]) + "^" + middle + "^" + prefix + "^" + suffix;
  while (!pn.empty() && pn.back() == '^') pn.pop_back();
  return pn;
}

ordered_json HumanNameOf(const std::string& pn) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= pn.size(); ++i) {
    if (i == pn.size() || pn[i] == '^') {
      parts.push_back(pn.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.resize(5);
  ordered_json n = ordered_json::object();
  if (!parts[0].empty()) n["family"] = parts[0];
  ordered_json given = ordered_json::array();
  if (!parts[1].empty()) given.push_back(parts[1]);
  if (!parts[2].empty()) given.push_back(parts[2]);
  if (!given.empty()) n["given"] = given;
  if (!parts[3].empty()) n["prefix"] = ordered_json::array({parts[3]});
  if (!parts[4].empty()) n["suffix"] = ordered_json::array({parts[4]});
  return n;
}

// The patient of a ServiceRequest: subject.reference to a contained Patient ("#id"), or
// "Patient/<id>", or subject.identifier.
Status ReadSubject(const json& sr, storage::OrderRow& o) {
  auto it = sr.find("subject");
  if (it == sr.end() || it->is_null()) return Invalid("subject", "missing (the patient is required)");
  if (!it->is_object()) return Invalid("subject", "expected a Reference object");
  const json& subject = *it;
  auto ref = Str(subject, "reference", "subject.");
  if (!ref.ok()) return ref.status();
  const json* patient = nullptr;
  if (!ref->empty() && (*ref)[0] == '#') {
    auto contained = Arr(sr, "contained", "");
    if (!contained.ok()) return contained.status();
    for (const auto& c : sr["contained"]) {
      if (c.is_object() && c.value("resourceType", "") == "Patient" && c.value("id", "") == ref->substr(1)) {
        patient = &c;
      }
    }
    if (patient == nullptr) return Invalid("subject.reference", "'" + *ref + "' names no contained Patient");
  }
  auto read_identifier = [&](const json& ids, const std::string& path) -> Status {
    if (!ids.is_array()) return Invalid(path, "expected an array of Identifier");
    for (size_t i = 0; i < ids.size(); ++i) {
      const json& id = ids[i];
      if (!id.is_object()) return Invalid(path + "[" + std::to_string(i) + "]", "expected an Identifier");
      auto value = Str(id, "value", path + "[" + std::to_string(i) + "].");
      if (!value.ok()) return value.status();
      if (value->empty()) continue;
      o.patient_id = *value;
      if (id.contains("assigner") && id["assigner"].is_object() && id["assigner"].contains("display") &&
          id["assigner"]["display"].is_string()) {
        o.issuer_of_patient_id = id["assigner"]["display"].get<std::string>();
      } else if (id.contains("system") && id["system"].is_string()) {
        o.issuer_of_patient_id = id["system"].get<std::string>();
      }
      return Status::Ok();
    }
    return Status::Ok();
  };
  if (patient != nullptr) {
    const std::string cpath = "contained(Patient)";
    if (patient->contains("identifier")) {
      if (Status st = read_identifier((*patient)["identifier"], cpath + ".identifier"); !st.ok()) return st;
    }
    if (patient->contains("name") && (*patient)["name"].is_array() && !(*patient)["name"].empty()) {
      o.patient_name = PersonNameOf((*patient)["name"][0]);
    }
    auto birth = Str(*patient, "birthDate", cpath + ".");
    if (!birth.ok()) return birth.status();
    if (!birth->empty()) {
      if (birth->size() != 10 || (*birth)[4] != '-' || (*birth)[7] != '-') {
        return Invalid(cpath + ".birthDate", "'" + *birth + "' is not YYYY-MM-DD");
      }
      o.birth_date = birth->substr(0, 4) + birth->substr(5, 2) + birth->substr(8, 2);
    }
    auto gender = Str(*patient, "gender", cpath + ".");
    if (!gender.ok()) return gender.status();
    if (*gender == "male") o.sex = "M";
    else if (*gender == "female") o.sex = "F";
    else if (*gender == "other") o.sex = "O";
    else if (gender->empty() || *gender == "unknown") o.sex = "";
    else return Invalid(cpath + ".gender", "'" + *gender + "' is not male, female, other or unknown");
  } else if (!ref->empty()) {
    if (ref->rfind("Patient/", 0) != 0 || ref->size() == 8) {
      return Invalid("subject.reference", "'" + *ref + "' is not Patient/<id> or #<contained id>");
    }
    o.patient_id = ref->substr(8);
  }
  if (subject.contains("identifier") && !subject["identifier"].is_null()) {
    if (Status st = read_identifier(json::array({subject["identifier"]}), "subject.identifier"); !st.ok()) return st;
  }
  if (o.patient_name.empty()) {
    auto display = Str(subject, "display", "subject.");
    if (!display.ok()) return display.status();
    o.patient_name = *display;
  }
  if (o.patient_id.empty()) return Invalid("subject", "no patient identifier (contained Patient.identifier, Patient/<id> or subject.identifier)");
  return Status::Ok();
}

// The text of a CodeableConcept: text, else the first coding's display.
std::string ConceptText(const json& cc) {
  if (!cc.is_object()) return "";
  if (cc.contains("text") && cc["text"].is_string()) return cc["text"].get<std::string>();
  if (cc.contains("coding") && cc["coding"].is_array()) {
    for (const auto& c : cc["coding"]) {
      if (c.is_object() && c.contains("display") && c["display"].is_string()) return c["display"].get<std::string>();
    }
  }
  return "";
}

// A DICOM modality code (system DCM) among a CodeableConcept's codings.
std::string ModalityOf(const json& cc) {
  if (!cc.is_object() || !cc.contains("coding") || !cc["coding"].is_array()) return "";
  for (const auto& c : cc["coding"]) {
    if (c.is_object() && c.value("system", "") == kDicomSystem && c.contains("code") && c["code"].is_string()) {
      return c["code"].get<std::string>();
    }
  }
  return "";
}

}  // namespace

namespace {

Result<ServiceRequestIn> ReadServiceRequest(const std::string& text) {
  json sr = json::parse(text, nullptr, false);
  if (sr.is_discarded()) return Status(ErrorCode::kInvalidArgument, "ServiceRequest: the body is not valid JSON");
  if (!sr.is_object()) return Status(ErrorCode::kInvalidArgument, "ServiceRequest: expected a JSON object");
  if (sr.value("resourceType", json()) != "ServiceRequest") {
    return Invalid("resourceType", "expected \"ServiceRequest\"");
  }
  ServiceRequestIn in;
  storage::OrderRow& o = in.order;
  o.source = "fhir";
  auto status = Str(sr, "status", "");
  if (!status.ok()) return status.status();
  static const char* kStatuses[] = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"};
  if (status->empty()) return Invalid("status", "missing");
  bool known = false;
  for (const char* s : kStatuses) known = known || *status == s;
  if (!known) return Invalid("status", "'" + *status + "' is not a ServiceRequest status");
  in.fhir_status = *status;
  auto intent = Str(sr, "intent", "");
  if (!intent.ok()) return intent.status();
  if (intent->empty()) return Invalid("intent", "missing");
  if (*intent != "order" && *intent != "original-order" && *intent != "filler-order" && *intent != "instance-order") {
    return Invalid("intent", "'" + *intent + "': radflow takes orders (intent order, original-order, filler-order, instance-order)");
  }
  // identifier: placer (PLAC), filler (FILL), accession (ACSN) by their v2-0203 type.
  auto ids = Arr(sr, "identifier", "");
  if (!ids.ok()) return ids.status();
  for (size_t i = 0; i < ids->size(); ++i) {
    const json& id = (*ids)[i];
    const std::string path = "identifier[" + std::to_string(i) + "]";
    if (!id.is_object()) return Invalid(path, "expected an Identifier");
    auto value = Str(id, "value", path + ".");
    if (!value.ok()) return value.status();
    std::string type;
    if (id.contains("type") && id["type"].is_object() && id["type"].contains("coding") && id["type"]["coding"].is_array()) {
      for (const auto& c : id["type"]["coding"]) {
        if (c.is_object() && c.contains("code") && c["code"].is_string()) type = c["code"].get<std::string>();
      }
    }
    if (type == "PLAC") o.placer_order_number = *value;
    else if (type == "FILL") o.filler_order_number = *value;
    else if (type == "ACSN") o.accession_number = *value;
  }
  // code: the requested procedure.
  auto code = sr.find("code");
  if (code == sr.end() || code->is_null()) return Invalid("code", "missing (the requested procedure)");
  if (!code->is_object()) return Invalid("code", "expected a CodeableConcept");
  auto codings = Arr(*code, "coding", "code.");
  if (!codings.ok()) return codings.status();
  for (const auto& c : *codings) {
    if (!c.is_object()) return Invalid("code.coding", "expected Coding objects");
    const std::string system = c.value("system", "");
    if (system == kDicomSystem) continue;  // the modality, below
    if (c.contains("code") && c["code"].is_string() && o.procedure_code.empty()) {
      o.procedure_code = c["code"].get<std::string>();
      o.procedure_scheme = SchemeOfUri(system);
    }
  }
  o.procedure_text = ConceptText(*code);
  if (o.procedure_text.empty() && o.procedure_code.empty()) return Invalid("code", "neither a coding nor text");
  o.modality = ModalityOf(*code);
  for (const char* key : {"category", "orderDetail"}) {
    auto list = Arr(sr, key, "");
    if (!list.ok()) return list.status();
    for (const auto& cc : *list) {
      if (o.modality.empty()) o.modality = ModalityOf(cc);
    }
  }
  auto priority = Str(sr, "priority", "");
  if (!priority.ok()) return priority.status();
  auto dicom_priority = PriorityOfFhir(*priority);
  if (!dicom_priority.ok()) return dicom_priority.status();
  o.priority = *dicom_priority;
  if (Status st = ReadSubject(sr, o); !st.ok()) return st;
  // requester: the referring physician (a contained Practitioner's name, or the display).
  if (sr.contains("requester") && !sr["requester"].is_null()) {
    const json& req = sr["requester"];
    if (!req.is_object()) return Invalid("requester", "expected a Reference object");
    auto ref = Str(req, "reference", "requester.");
    if (!ref.ok()) return ref.status();
    if (!ref->empty() && (*ref)[0] == '#' && sr.contains("contained") && sr["contained"].is_array()) {
      for (const auto& c : sr["contained"]) {
        if (c.is_object() && c.value("id", "") == ref->substr(1) && c.contains("name") && c["name"].is_array() &&
            !c["name"].empty()) {
          o.referring_physician = PersonNameOf(c["name"][0]);
        }
      }
    }
    if (o.referring_physician.empty()) {
      auto display = Str(req, "display", "requester.");
      if (!display.ok()) return display.status();
      o.referring_physician = *display;
    }
  }
  // reasonCode / reasonReference: the reason for exam, "; "-joined.
  std::string reason;
  auto add_reason = [&reason](const std::string& r) {
    if (!r.empty()) reason += (reason.empty() ? "" : "; ") + r;
  };
  auto codes = Arr(sr, "reasonCode", "");
  if (!codes.ok()) return codes.status();
  for (const auto& cc : *codes) add_reason(ConceptText(cc));
  auto refs = Arr(sr, "reasonReference", "");
  if (!refs.ok()) return refs.status();
  for (const auto& r : *refs) {
    if (r.is_object() && r.contains("display") && r["display"].is_string()) add_reason(r["display"].get<std::string>());
  }
  o.reason = reason;
  // occurrence[x]: the appointment.
  if (sr.contains("occurrenceDateTime") && !sr["occurrenceDateTime"].is_null()) {
    if (!sr["occurrenceDateTime"].is_string()) return Invalid("occurrenceDateTime", "expected a dateTime string");
    auto at = ParseFhirDateTime(sr["occurrenceDateTime"].get<std::string>());
    if (!at.ok()) return Invalid("occurrenceDateTime", at.status().message());
    o.scheduled_at = *at;
  } else if (sr.contains("occurrencePeriod") && !sr["occurrencePeriod"].is_null()) {
    const json& p = sr["occurrencePeriod"];
    if (!p.is_object()) return Invalid("occurrencePeriod", "expected a Period");
    auto start = Str(p, "start", "occurrencePeriod.");
    if (!start.ok()) return start.status();
    if (start->empty()) return Invalid("occurrencePeriod.start", "missing");
    auto at = ParseFhirDateTime(*start);
    if (!at.ok()) return Invalid("occurrencePeriod.start", at.status().message());
    o.scheduled_at = *at;
    auto end = Str(p, "end", "occurrencePeriod.");
    if (!end.ok()) return end.status();
    if (!end->empty()) {
      auto until = ParseFhirDateTime(*end);
      if (!until.ok()) return Invalid("occurrencePeriod.end", until.status().message());
      if (*until < *at) return Invalid("occurrencePeriod.end", "before the start");
      o.duration_minutes = static_cast<int>((*until - *at) / 60000);
    }
  }
  if (sr.contains("authoredOn") && sr["authoredOn"].is_string()) {
    auto at = ParseFhirDateTime(sr["authoredOn"].get<std::string>());
    if (!at.ok()) return Invalid("authoredOn", at.status().message());
    o.booked_at = *at;
  }
  // locationCode: the station (code: its AE title, display/text: its name).
  auto locations = Arr(sr, "locationCode", "");
  if (!locations.ok()) return locations.status();
  if (!locations->empty()) {
    const json& cc = (*locations)[0];
    if (cc.is_object() && cc.contains("coding") && cc["coding"].is_array() && !cc["coding"].empty() &&
        cc["coding"][0].is_object()) {
      o.station_ae = cc["coding"][0].value("code", "");
    }
    o.station_name = ConceptText(cc);
  }
  return in;
}

}  // namespace

Result<ServiceRequestIn> ParseServiceRequest(const std::string& text) {
  try {
    return ReadServiceRequest(text);
  } catch (const json::exception& e) {
    // A member of an unexpected JSON type deep inside (e.g. a number where FHIR has a string).
    return Status(ErrorCode::kInvalidArgument, std::string("ServiceRequest: a member has the wrong JSON type (") +
                                                   e.what() + ")");
  }
}

std::string FhirStatusOf(const std::string& order_status) {
  if (order_status == "completed") return "completed";
  if (order_status == "cancelled" || order_status == "discontinued" || order_status == "no_show") return "revoked";
  return "active";
}

std::string ServiceRequestJson(const storage::OrderRow& o) {
  ordered_json patient{{"resourceType", "Patient"}, {"id", "patient"}};
  ordered_json pid{{"value", o.patient_id}};
  if (!o.issuer_of_patient_id.empty()) pid["assigner"] = {{"display", o.issuer_of_patient_id}};
  patient["identifier"] = ordered_json::array({pid});
  if (!o.patient_name.empty()) patient["name"] = ordered_json::array({HumanNameOf(o.patient_name)});
  if (o.sex == "M") patient["gender"] = "male";
  else if (o.sex == "F") patient["gender"] = "female";
  else if (o.sex == "O") patient["gender"] = "other";
  if (o.birth_date.size() == 8) {
    patient["birthDate"] = o.birth_date.substr(0, 4) + "-" + o.birth_date.substr(4, 2) + "-" + o.birth_date.substr(6, 2);
  }
  ordered_json sr{{"resourceType", "ServiceRequest"}, {"id", "order-" + std::to_string(o.id)}};
  if (o.updated_at) sr["meta"] = {{"lastUpdated", FormatIsoUtc(o.updated_at, true)}};
  sr["contained"] = ordered_json::array({patient});
  sr["extension"] = ordered_json::array({{{"url", kStatusExtension}, {"valueCode", o.status}}});
  ordered_json ids = ordered_json::array();
  auto add_id = [&ids](const char* type, const std::string& value) {
    if (value.empty()) return;
    ids.push_back({{"type", {{"coding", ordered_json::array({{{"system", kV2_0203}, {"code", type}}})}}},
                   {"value", value}});
  };
  add_id("PLAC", o.placer_order_number);
  add_id("FILL", o.filler_order_number);
  add_id("ACSN", o.accession_number);
  if (!ids.empty()) sr["identifier"] = ids;
  sr["status"] = FhirStatusOf(o.status);
  sr["intent"] = "order";
  sr["priority"] = FhirOfPriority(o.priority);
  ordered_json code = ordered_json::object();
  ordered_json codings = ordered_json::array();
  if (!o.procedure_code.empty()) {
    ordered_json c = ordered_json::object();
    if (!o.procedure_scheme.empty()) c["system"] = UriOfScheme(o.procedure_scheme);
    c["code"] = o.procedure_code;
    if (!o.procedure_text.empty()) c["display"] = o.procedure_text;
    codings.push_back(c);
  }
  if (!o.modality.empty()) codings.push_back({{"system", kDicomSystem}, {"code", o.modality}});
  if (!codings.empty()) code["coding"] = codings;
  if (!o.procedure_text.empty()) code["text"] = o.procedure_text;
  sr["code"] = code;
  ordered_json subject{{"reference", "#patient"}};
  if (!o.patient_name.empty()) subject["display"] = o.patient_name;
  sr["subject"] = subject;
  if (o.scheduled_at) {
    if (o.duration_minutes > 0) {
      sr["occurrencePeriod"] = {{"start", FormatIsoUtc(o.scheduled_at)},
                                {"end", FormatIsoUtc(o.scheduled_at + int64_t{o.duration_minutes} * 60000)}};
    } else {
      sr["occurrenceDateTime"] = FormatIsoUtc(o.scheduled_at);
    }
  }
  if (o.booked_at) sr["authoredOn"] = FormatIsoUtc(o.booked_at);
  if (!o.referring_physician.empty()) sr["requester"] = {{"display", o.referring_physician}};
  if (!o.station_ae.empty() || !o.station_name.empty()) {
    ordered_json loc = ordered_json::object();
    if (!o.station_ae.empty()) loc["coding"] = ordered_json::array({{{"code", o.station_ae}}});
    if (!o.station_name.empty()) loc["text"] = o.station_name;
    sr["locationCode"] = ordered_json::array({loc});
  }
  if (!o.reason.empty()) sr["reasonCode"] = ordered_json::array({{{"text", o.reason}}});
  if (!o.study_uid.empty()) {
    // The StudyInstanceUID the modality is to use (DICOM's urn:oid form).
    sr["supportingInfo"] = ordered_json::array(
        {{{"type", "ImagingStudy"},
          {"identifier", {{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + o.study_uid}}},
          {"display", "StudyInstanceUID"}}});
  }
  if (!o.protocol_name.empty()) {
    sr["note"] = ordered_json::array({{{"text", "protocol (" + o.protocol_state + "): " + o.protocol_name}}});
  }
  return sr.dump();
}

std::string ServiceRequestBundleJson(const std::vector<storage::OrderRow>& orders, const std::string& base_url,
                                     int64_t total) {
  ordered_json entries = ordered_json::array();
  for (const auto& o : orders) {
    entries.push_back({{"fullUrl", base_url + "/ServiceRequest/order-" + std::to_string(o.id)},
                       {"resource", ordered_json::parse(ServiceRequestJson(o))},
                       {"search", {{"mode", "match"}}}});
  }
  ordered_json b{{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", total}, {"entry", entries}};
  return b.dump();
}

Result<int64_t> ParseServiceRequestId(const std::string& id) {
  std::string digits = id.rfind("order-", 0) == 0 ? id.substr(6) : id;
  if (digits.empty() || digits.size() > 18) {
    return Status(ErrorCode::kNotFound, "no ServiceRequest '" + id + "' (ids are order-<n>)");
  }
  int64_t n = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status(ErrorCode::kNotFound, "no ServiceRequest '" + id + "' (ids are order-<n>)");
    }
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return Status(ErrorCode::kNotFound, "no ServiceRequest '" + id + "'");
  return n;
}

}  // namespace radflow::orders
