// No-show risk of appointments (docs/noshow.md "In radflow"): the features of an order from
// its row and its patient's attendance in the order store, scored by the loaded model.
#include <cmath>
#include <cstdio>

#include "base/civil_date.h"
#include "base/clock.h"
#include "noshow/noshow.h"
#include "orders/order_service.h"

namespace radflow::orders {

namespace {

using storage::OrderAuditRow;
using storage::OrderRow;

constexpr int64_t kDayMs = 86'400'000;

int64_t DayStart(int64_t ms) { return (ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs) * kDayMs; }

// Completed years between a DICOM DA birth date (YYYYMMDD) and a time; -1 when unknown.
int AgeAt(const std::string& birth_date, int64_t at_ms) {
  if (birth_date.size() != 8) return -1;
  for (char c : birth_date) {
    if (c < '0' || c > '9') return -1;
  }
  const int y = std::stoi(birth_date.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(birth_date.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(birth_date.substr(6, 2)));
  if (!IsCivilDate(y, m, d)) return -1;
  const CivilDate at = CivilFromDays(DayStart(at_ms) / kDayMs);
  int age = static_cast<int>(at.year) - y;
  if (at.month < m || (at.month == m && at.day < d)) --age;
  return age < 0 || age > 130 ? -1 : age;
}

// What the model sees of an order: booking-time facts, the patient's other bookings known
// when this one was made, and the attendance of appointments on days before its day.
Result<noshow::AppointmentFeatures> FeaturesOf(storage::OrderStore& store, const OrderRow& o) {
  noshow::AppointmentFeatures a;
  a.scheduled_at_ms = o.scheduled_at;
  a.booked_at_ms = o.booked_at > 0 ? o.booked_at : o.created_at;
  a.age_years = AgeAt(o.birth_date, o.scheduled_at);
  a.sex = o.sex == "M" || o.sex == "F" ? o.sex : "";
  a.reminder_sent = o.reminder_sent;
  if (o.patient_id.empty()) return a;
  const int64_t day = DayStart(o.scheduled_at);
  auto h = store.History(o.patient_id, day);  // outcomes of earlier days only
  if (!h.ok()) return h.status();
  a.prior_attended = h->attended;
  a.prior_no_shows = h->no_shows;
  a.last_appointment_ms = h->last_at;
  storage::OrderFilter f;
  f.patient_id = o.patient_id;
  f.limit = 0;
  auto others = store.ListOrders(f);
  if (!others.ok()) return others.status();
  for (const auto& x : *others) {
    if (x.id == o.id || x.status == "cancelled" || x.scheduled_at <= 0) continue;
    const int64_t booked = x.booked_at > 0 ? x.booked_at : x.created_at;
    if (booked > a.booked_at_ms) continue;  // not yet known when this one was booked
    ++a.booked_so_far;
    const int64_t xday = DayStart(x.scheduled_at);
    if (xday == day) ++a.same_day_booked;
    if (xday > day) ++a.future_booked;
  }
  return a;
}

}  // namespace

Result<double> OrderService::Risk(const OrderRow& order) {
  if (!options_.noshow_model) return -1.0;
  if (order.scheduled_at <= 0) return Status(ErrorCode::kInvalidArgument, "the order has no scheduled time to score");
  auto a = FeaturesOf(store_, order);
  if (!a.ok()) return a.status();
  const double r = options_.noshow_model->Risk(*a);
  if (r < 0 || r > 1 || std::isnan(r)) return Status(ErrorCode::kInternal, "the no-show model gave no probability");
  return r;
}

Result<int> OrderService::ScoreScheduled(int64_t now_ms) {
  if (!options_.noshow_model) return 0;
  storage::OrderFilter f;
  f.statuses = {"scheduled"};
  f.from_ms = now_ms > 0 ? now_ms : 1;
  f.limit = 0;
  auto due = store_.ListOrders(f);
  if (!due.ok()) return due.status();
  return ScoreOrders(*due, now_ms);
}

Result<int> OrderService::ScoreOrders(std::vector<OrderRow>& rows, int64_t now_ms) {
  if (!options_.noshow_model) return 0;
  std::erase_if(rows, [](const OrderRow& o) { return o.status != "scheduled" || o.scheduled_at <= 0; });
  std::vector<OrderRow>* due = &rows;
  std::vector<noshow::AppointmentFeatures> features;
  features.reserve(due->size());
  for (const auto& o : *due) {
    auto a = FeaturesOf(store_, o);
    if (!a.ok()) return a.status();
    features.push_back(std::move(*a));
  }
  const std::vector<double> risks = options_.noshow_model->RiskMany(features);
  int scored = 0;
  for (size_t i = 0; i < due->size() && i < risks.size(); ++i) {
    const double risk = risks[i];
    if (risk < 0 || risk > 1 || std::isnan(risk)) continue;
    (*due)[i].noshow_risk = risk;
    bool changed = false;
    auto r = store_.MutateOrder((*due)[i].id, [&](OrderRow& row) -> Result<std::optional<OrderAuditRow>> {
      if (row.status != "scheduled" || std::fabs(row.noshow_risk - risk) < 5e-4) {
        return std::optional<OrderAuditRow>();  // moved on meanwhile, or unchanged
      }
      const bool first = row.noshow_risk < 0;
      const bool large = std::fabs(row.noshow_risk - risk) >= 0.05;
      row.noshow_risk = risk;
      row.updated_at = now_ms > 0 ? now_ms : UnixMillis();
      changed = true;
      if (!first && !large) return std::optional<OrderAuditRow>();  // small drifts are not audited
      OrderAuditRow audit;
      audit.order_id = row.id;
      audit.at = row.updated_at;
      audit.user = "system";
      audit.action = "risk";
      char buf[32];
      std::snprintf(buf, sizeof buf, "no-show risk %.3f", risk);
      audit.note = buf;
      return std::optional<OrderAuditRow>(audit);
    });
    if (!r.ok()) return r.status();
    if (changed) {
      ++scored;
      Changed(*r);
    }
  }
  return scored;
}

}  // namespace radflow::orders
