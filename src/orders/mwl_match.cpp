// Modality Worklist matching (PS3.4 C.2.2.2, K.6.1.2). Pure functions of strings and rows.
#include "orders/mwl_match.h"

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>

namespace radflow::orders {

namespace {

bool IsDigits(const std::string& s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "*" alone (or nothing) constrains nothing (C.2.2.2.4: universal).
bool Universal(const std::string& key) { return key.empty() || key == "*"; }

// Wildcard or single value match of one key against a possibly multi-valued attribute.
bool AnyValueMatches(const std::string& key, const std::string& attribute, bool pn = false) {
  if (Universal(key)) return true;
  if (attribute.empty()) return false;
  for (const auto& v : SplitValues(attribute)) {
    if (WildcardMatch(key, v, pn)) return true;
  }
  return false;
}

// UID list matching (C.2.2.2.2): one of the '\'-separated UIDs equals the value.
bool UidListMatches(const std::string& key, const std::string& value) {
  if (key.empty()) return true;
  for (const auto& uid : SplitValues(key)) {
    if (uid == value && !value.empty()) return true;
  }
  return false;
}

// A TM value without its fraction, as HHMMSS digits (partial values stay partial).
std::string TimeDigits(const std::string& tm) {
  std::string t = tm.substr(0, tm.find('.'));
  std::string out;
  for (char c : t) {
    if (c != ':') out += c;  // ACR-NEMA "HH:MM:SS" as some old peers send it
  }
  return out;
}

// A range bound padded to full length: lower bounds with the smallest, upper bounds with
// the largest value of the missing parts (string order is time order for fixed width).
bool Bound(const std::string& raw, size_t width, bool upper, std::string* out) {
  if (raw.empty()) {
    *out = upper ? std::string(width, '9') : std::string(width, '0');
    return true;
  }
  if (!IsDigits(raw) || raw.size() > width) return false;
  *out = raw + std::string(width - raw.size(), upper ? '9' : '0');
  return true;
}

// Whether a key (separators of old forms removed) is a single value or a range of at most
// `width` digits per bound.
bool RangeShape(const std::string& key, size_t width) {
  const auto dash = key.find('-');
  std::string lo, hi;
  if (dash == std::string::npos) return !key.empty() && Bound(key, width, false, &lo);
  const std::string a = key.substr(0, dash), b = key.substr(dash + 1);
  return !(a.empty() && b.empty()) && Bound(a, width, false, &lo) && Bound(b, width, true, &hi);
}

// C.2.2.2.5: "A" (single value: equal at the key's precision), "A-B", "-B", "A-".
bool RangeMatch(const std::string& key, const std::string& value, size_t width) {
  if (value.empty() || !IsDigits(value)) return false;
  std::string v = value.substr(0, width);
  v += std::string(width - v.size(), '0');
  const auto dash = key.find('-');
  std::string lo, hi;
  if (dash == std::string::npos) {
    if (!Bound(key, width, false, &lo) || !Bound(key, width, true, &hi)) return false;
  } else {
    const std::string a = key.substr(0, dash), b = key.substr(dash + 1);
    if (a.empty() && b.empty()) return false;
    if (!Bound(a, width, false, &lo) || !Bound(b, width, true, &hi)) return false;
  }
  return lo <= v && v <= hi;
}

// ScheduledPerformingPhysicianName (0040,0006) of an imported item (worklist_json holds
// the SPS attributes the order does not model in the first item of (0040,0100)).
std::string PerformingPhysician(const storage::OrderRow& o) {
  if (o.worklist_json.empty()) return "";
  try {
    const auto j = nlohmann::json::parse(o.worklist_json);
    const auto& v = j.at("00400100").at("Value").at(0).at("00400006").at("Value").at(0);
    return v.is_object() ? v.value("Alphabetic", "") : v.get<std::string>();
  } catch (...) {
    return "";
  }
}

bool ValidRange(const std::string& key, bool date) {
  if (key.empty()) return true;
  std::string k;
  if (date) {
    for (char c : key) {
      if (c != '.') k += c;
    }
    return RangeShape(k, 8);
  }
  const auto dash = key.find('-');
  k = dash == std::string::npos ? TimeDigits(key)
                                : TimeDigits(key.substr(0, dash)) + "-" + TimeDigits(key.substr(dash + 1));
  return RangeShape(k, 6);
}

}  // namespace

Status ValidateQuery(const WorklistQuery& q) {
  struct Key {
    const std::string& value;
    bool date;
    const char* name;
  };
  const Key keys[] = {{q.start_date, true, "ScheduledProcedureStepStartDate (0040,0002)"},
                      {q.start_time, false, "ScheduledProcedureStepStartTime (0040,0003)"},
                      {q.birth_date, true, "PatientBirthDate (0010,0030)"}};
  for (const auto& k : keys) {
    if (!ValidRange(k.value, k.date)) {
      return {ErrorCode::kInvalidArgument, std::string(k.name) + " '" + k.value + "' is not a " +
                                               (k.date ? "date or date range" : "time or time range")};
    }
  }
  return Status::Ok();
}

std::vector<std::string> SplitValues(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const auto bs = value.find('\\', start);
    out.push_back(value.substr(start, bs == std::string::npos ? std::string::npos : bs - start));
    if (bs == std::string::npos) break;
    start = bs + 1;
  }
  return out;
}

bool WildcardMatch(const std::string& pattern, const std::string& value, bool pn) {
  auto eq = [pn](char a, char b) {
    if (!pn) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0, v = 0, star = std::string::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], value[v])))) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool DateMatch(const std::string& key, const std::string& value) {
  // DA in the old "YYYY.MM.DD" form compares as its digits.
  std::string k, v;
  for (char c : key) {
    if (c != '.') k += c;
  }
  for (char c : value) {
    if (c != '.') v += c;
  }
  return RangeMatch(k, v, 8);
}

bool TimeMatch(const std::string& key, const std::string& value) {
  const auto dash = key.find('-');
  std::string k = dash == std::string::npos
                      ? TimeDigits(key)
                      : TimeDigits(key.substr(0, dash)) + "-" + TimeDigits(key.substr(dash + 1));
  return RangeMatch(k, TimeDigits(value), 6);
}

std::string StepStatusOf(const std::string& order_status) {
  if (order_status == "scheduled") return "SCHEDULED";
  if (order_status == "arrived") return "ARRIVED";
  if (order_status == "in_progress") return "STARTED";
  if (order_status == "completed") return "COMPLETED";
  if (order_status == "discontinued") return "DISCONTINUED";
  if (order_status == "cancelled") return "CANCELED";
  return "";
}

bool Matches(const WorklistQuery& q, const storage::OrderRow& o) {
  // The local date and time, and the physician read from worklist_json, only when asked for.
  return AnyValueMatches(q.station_ae, o.station_ae) && AnyValueMatches(q.modality, o.modality) &&
         (q.start_date.empty() || DateMatch(q.start_date, o.scheduled_at ? LocalDicomDate(o.scheduled_at) : "")) &&
         (q.start_time.empty() || TimeMatch(q.start_time, o.scheduled_at ? LocalDicomTime(o.scheduled_at) : "")) &&
         (Universal(q.performing_physician) ||
          AnyValueMatches(q.performing_physician, PerformingPhysician(o), /*pn=*/true)) &&
         AnyValueMatches(q.step_id, o.procedure_step_id) &&
         AnyValueMatches(q.step_status, StepStatusOf(o.status)) &&
         AnyValueMatches(q.patient_id, o.patient_id) &&
         AnyValueMatches(q.issuer_of_patient_id, o.issuer_of_patient_id) &&
         AnyValueMatches(q.patient_name, o.patient_name, /*pn=*/true) &&
         AnyValueMatches(q.accession_number, o.accession_number) &&
         AnyValueMatches(q.requested_procedure_id, o.requested_procedure_id) &&
         UidListMatches(q.study_uid, o.study_uid) &&
         AnyValueMatches(q.referring_physician, o.referring_physician, /*pn=*/true) &&
         AnyValueMatches(q.priority, o.priority) && AnyValueMatches(q.patient_sex, o.sex) &&
         (q.birth_date.empty() || DateMatch(q.birth_date, o.birth_date));
}

std::string LocalDicomDate(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000));
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

std::string LocalDicomTime(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000));
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H%M%S", &tm);
  return buf;
}

int64_t FromLocalDicom(const std::string& da_in, const std::string& tm_in) {
  std::string da;
  for (char c : da_in) {
    if (c != '.') da += c;
  }
  if (da.size() != 8 || !IsDigits(da)) return -1;
  std::string tm = TimeDigits(tm_in);
  // Trailing spaces are padding (PS3.5 6.2).
  while (!tm.empty() && tm.back() == ' ') tm.pop_back();
  if (!IsDigits(tm) || tm.size() > 6 || tm.size() % 2 != 0) return -1;
  tm += std::string(6 - tm.size(), '0');
  std::tm t{};
  t.tm_year = std::stoi(da.substr(0, 4)) - 1900;
  t.tm_mon = std::stoi(da.substr(4, 2)) - 1;
  t.tm_mday = std::stoi(da.substr(6, 2));
  t.tm_hour = std::stoi(tm.substr(0, 2));
  t.tm_min = std::stoi(tm.substr(2, 2));
  t.tm_sec = std::stoi(tm.substr(4, 2));
  t.tm_isdst = -1;
  if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 ||
      t.tm_min > 59 || t.tm_sec > 60) {
    return -1;
  }
  const std::time_t s = std::mktime(&t);
  return static_cast<int64_t>(s) * 1000;
}

}  // namespace radflow::orders
