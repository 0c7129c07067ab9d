// The Kaggle "Medical Appointment No Shows" table (docs/noshow.md "Data"): one CSV row per
// appointment; PatientId is kept as text (up to 15 digits, beyond a double's precision).
#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "base/civil_date.h"
#include "noshow/noshow.h"

namespace radflow::noshow {

namespace {

constexpr int64_t kDayMs = 86'400'000;

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool ParseInt(const std::string& s, int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

// "2016-04-29T18:38:08Z" (or a bare date) → unix ms UTC.
bool ParseIsoUtc(const std::string& s, int64_t& ms) {
  int64_t y, mo, d, h = 0, mi = 0, se = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  if (!ParseInt(s.substr(0, 4), y) || !ParseInt(s.substr(5, 2), mo) || !ParseInt(s.substr(8, 2), d)) return false;
  if (!IsCivilDate(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) return false;
  if (s.size() > 10) {
    if (s.size() != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z') return false;
    if (!ParseInt(s.substr(11, 2), h) || !ParseInt(s.substr(14, 2), mi) || !ParseInt(s.substr(17, 2), se)) return false;
    if (h > 23 || mi > 59 || se > 60) return false;
  }
  ms = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDayMs + ((h * 60 + mi) * 60 + se) * 1000;
  return true;
}

}  // namespace

Result<std::vector<Appointment>> ReadAppointmentTable(const std::string& csv_path) {
  std::ifstream in(csv_path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, csv_path + ": cannot be read");
  std::string line;
  if (!std::getline(in, line)) return Status(ErrorCode::kInvalidArgument, csv_path + ": empty file");
  const std::vector<std::string> header = SplitCsv(line);
  const std::vector<std::string> wanted = {"PatientId", "AppointmentID", "Gender",       "ScheduledDay",
                                           "AppointmentDay", "Age",     "Neighbourhood", "Scholarship",
                                           "Hipertension", "Diabetes",  "Alcoholism",   "Handcap",
                                           "SMS_received", "No-show"};
  std::vector<size_t> col(wanted.size());
  for (size_t k = 0; k < wanted.size(); ++k) {
    const auto it = std::find(header.begin(), header.end(), wanted[k]);
    if (it == header.end()) {
      return Status(ErrorCode::kInvalidArgument, csv_path + ": header has no column '" + wanted[k] + "'");
    }
    col[k] = static_cast<size_t>(it - header.begin());
  }
  std::vector<Appointment> rows;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> f = SplitCsv(line);
    auto bad = [&](const std::string& what) {
      return Status(ErrorCode::kInvalidArgument, csv_path + ":" + std::to_string(line_no) + ": " + what);
    };
    if (f.size() != header.size()) {
      return bad(std::to_string(f.size()) + " fields, header has " + std::to_string(header.size()));
    }
    auto get = [&](size_t k) -> const std::string& { return f[col[k]]; };
    Appointment a;
    a.patient_id = get(0);
    a.appointment_id = get(1);
    if (a.patient_id.empty()) return bad("empty PatientId");
    const std::string& sex = get(2);
    if (sex != "F" && sex != "M") return bad("Gender '" + sex + "' is not F or M");
    a.features.sex = sex;
    if (!ParseIsoUtc(get(3), a.features.booked_at_ms)) return bad("ScheduledDay '" + get(3) + "' is not ISO 8601 UTC");
    int64_t appt_ms = 0;
    if (!ParseIsoUtc(get(4), appt_ms)) return bad("AppointmentDay '" + get(4) + "' is not ISO 8601 UTC");
    a.day = appt_ms / kDayMs;
    a.features.scheduled_at_ms = a.day * kDayMs;
    int64_t age = 0;
    if (!ParseInt(get(5), age)) return bad("Age '" + get(5) + "' is not an integer");
    a.features.age_years = age < 0 || age > 130 ? -1 : static_cast<int>(age);  // the table has one -1
    a.features.neighbourhood = get(6);
    float* flags[] = {&a.features.scholarship, &a.features.hypertension, &a.features.diabetes,
                      &a.features.alcoholism, &a.features.handicap};
    for (size_t k = 0; k < 5; ++k) {
      int64_t v = 0;
      if (!ParseInt(get(7 + k), v) || v < 0) return bad(wanted[7 + k] + " '" + get(7 + k) + "' is not a count");
      *flags[k] = static_cast<float>(v);
    }
    int64_t sms = 0;
    if (!ParseInt(get(12), sms) || (sms != 0 && sms != 1)) return bad("SMS_received '" + get(12) + "' is not 0 or 1");
    a.features.reminder_sent = sms == 1;
    const std::string& ns = get(13);
    if (ns != "Yes" && ns != "No") return bad("No-show '" + ns + "' is not Yes or No");
    a.no_show = ns == "Yes";
    rows.push_back(std::move(a));
  }
  if (in.bad()) return Status(ErrorCode::kIoError, csv_path + ": read error");
  if (rows.empty()) return Status(ErrorCode::kInvalidArgument, csv_path + ": no data rows");
  FillHistory(rows);
  return rows;
}

void FillHistory(std::vector<Appointment>& rows) {
  std::unordered_map<std::string, std::vector<size_t>> by_patient;
  for (size_t i = 0; i < rows.size(); ++i) by_patient[rows[i].patient_id].push_back(i);
  for (const auto& [pid, idx] : by_patient) {
    for (size_t i : idx) {
      AppointmentFeatures& f = rows[i].features;
      f.prior_attended = f.prior_no_shows = 0;
      f.last_appointment_ms = 0;
      f.booked_so_far = f.same_day_booked = f.future_booked = 0;
      for (size_t j : idx) {
        if (j == i) continue;
        const Appointment& o = rows[j];
        // Outcomes are known only for days before this one (a same-day outcome is not).
        if (o.day < rows[i].day) {
          (o.no_show ? f.prior_no_shows : f.prior_attended)++;
          f.last_appointment_ms = std::max(f.last_appointment_ms, o.features.scheduled_at_ms);
        }
        // Bookings are known from the moment they are made.
        if (o.features.booked_at_ms <= f.booked_at_ms) {
          ++f.booked_so_far;
          if (o.day == rows[i].day) ++f.same_day_booked;
          if (o.day > rows[i].day) ++f.future_booked;
        }
      }
    }
  }
}

}  // namespace radflow::noshow
