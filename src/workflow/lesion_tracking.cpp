// Longitudinal lesion tracking (lesion_tracking.h): gated optimal assignment of current to
// prior lesions, then growth measures of the matched pairs.
#include "workflow/lesion_tracking.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "base/affine.h"

namespace radflow::workflow {

namespace {

double Radius(const Lesion& l) {
  if (l.diameter_mm > 0) return l.diameter_mm / 2;
  if (l.volume_ml > 0) return std::cbrt(3 * l.volume_ml * 1000 / (4 * M_PI));  // sphere of that volume
  return 0;
}

double Distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

// Minimum-cost perfect assignment on a square cost matrix (row-major, n × n): the
// Hungarian algorithm with potentials (Kuhn–Munkres, O(n³)). Returns row → column.
std::vector<size_t> Assign(const std::vector<double>& cost, size_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<size_t> p(n + 1, 0), way(n + 1, 0);  // p[column] = row (1-based; 0 none)
  for (size_t i = 1; i <= n; ++i) {
    p[0] = i;
    size_t j0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    do {
      used[j0] = true;
      const size_t i0 = p[j0];
      double delta = inf;
      size_t j1 = 0;
      for (size_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (size_t j = 0; j <= n; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<size_t> row_to_col(n, 0);
  for (size_t j = 1; j <= n; ++j) row_to_col[p[j] - 1] = j - 1;
  return row_to_col;
}

void Measure(TrackedLesion& t, double interval_days, const TrackingOptions& options) {
  const Lesion& now = *t.current;
  const Lesion& then = *t.prior;
  if (now.volume_ml > 0 && then.volume_ml > 0) {
    t.volume_change_ml = now.volume_ml - then.volume_ml;
    t.volume_change_pct = 100 * t.volume_change_ml / then.volume_ml;
    t.doubling_time_days = VolumeDoublingTime(then.volume_ml, now.volume_ml, interval_days);
  }
  if (now.diameter_mm > 0 && then.diameter_mm > 0) t.diameter_change_mm = now.diameter_mm - then.diameter_mm;
  if (now.volume_ml > 0 && then.volume_ml > 0) {
    t.trend = t.volume_change_pct >= options.stable_volume_pct    ? Trend::kGrowing
              : t.volume_change_pct <= -options.stable_volume_pct ? Trend::kShrinking
                                                                  : Trend::kStable;
  } else if (now.diameter_mm > 0 && then.diameter_mm > 0) {
    t.trend = t.diameter_change_mm > options.stable_diameter_mm    ? Trend::kGrowing
              : t.diameter_change_mm < -options.stable_diameter_mm ? Trend::kShrinking
                                                                   : Trend::kStable;
  }
}

std::string FirstOf(const std::string& a, const std::string& b) { return a.empty() ? b : a; }

}  // namespace

std::string NewUuidUid() {
  std::random_device rd;
  auto word = [&] { return (uint64_t(rd()) << 32) | uint64_t(rd()); };
  uint64_t hi = word(), lo = word();
  hi = (hi & ~uint64_t(0xF000)) | uint64_t(0x4000);                    // version 4 (RFC 4122 4.4)
  lo = (lo & ~(uint64_t(0x3) << 62)) | (uint64_t(0x2) << 62);           // variant 10
  unsigned __int128 x = (static_cast<unsigned __int128>(hi) << 64) | lo;
  std::string digits;
  do {
    digits.push_back(char('0' + int(x % 10)));
    x /= 10;
  } while (x != 0);
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

std::array<double, 3> Apply(const std::array<double, 16>& m, const std::array<double, 3>& p) {
  return ApplyAffine(m, p);
}

std::optional<double> VolumeDoublingTime(double v1_ml, double v2_ml, double interval_days) {
  if (!(v1_ml > 0) || !(v2_ml > v1_ml) || !(interval_days > 0)) return std::nullopt;
  return interval_days * std::log(2.0) / std::log(v2_ml / v1_ml);
}

std::vector<TrackedLesion> TrackLesions(const std::vector<Lesion>& current, const std::vector<Lesion>& prior,
                                        const std::array<double, 16>& current_to_prior, double interval_days,
                                        const TrackingOptions& options,
                                        const std::function<std::string()>& new_uid) {
  const size_t n = current.size(), m = prior.size(), size = n + m;
  std::vector<std::array<double, 3>> mapped(n);
  for (size_t i = 0; i < n; ++i) mapped[i] = Apply(current_to_prior, current[i].center);

  // Square matrix over (current + one "unmatched" slot per prior) × (prior + one per
  // current): a pair costs its distance, leaving a lesion unmatched costs kUnmatched (so
  // every possible match is taken, then the summed distance minimised), a pair outside the
  // gate kForbidden. A tie-break below 0.1 µm keeps the input order on exact ties.
  const double kUnmatched = 1e6;
  const double kForbidden = kUnmatched * 4 * double(size + 1);
  const double kTie = 1e-7;
  std::vector<double> cost(size * size, kForbidden);
  std::vector<double> distance(n * m, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < m; ++j) {
      const double d = Distance(mapped[i], prior[j].center);
      distance[i * m + j] = d;
      const double gate =
          std::max(options.max_distance_mm, options.radius_factor * std::max(Radius(current[i]), Radius(prior[j])));
      const double order = double((long(i) - long(j)) * (long(i) - long(j))) + double(j) / double(m + 1);
      if (d <= gate) cost[i * size + j] = std::min(d, kUnmatched / 2) + kTie * order;
    }
    cost[i * size + m + i] = kUnmatched;
  }
  for (size_t j = 0; j < m; ++j) {
    cost[(n + j) * size + j] = kUnmatched;
    for (size_t i = 0; i < n; ++i) cost[(n + j) * size + m + i] = 0;
  }
  const std::vector<size_t> match = size ? Assign(cost, size) : std::vector<size_t>{};

  std::vector<TrackedLesion> out;
  out.reserve(size);
  std::vector<bool> prior_matched(m, false);
  for (size_t i = 0; i < n; ++i) {
    TrackedLesion t;
    t.current = current[i];
    const size_t j = match[i];
    if (j < m && cost[i * size + j] < kForbidden) {
      prior_matched[j] = true;
      t.status = TrackingStatus::kTracked;
      t.prior = prior[j];
      t.distance_mm = distance[i * m + j];
      t.tracking_uid = FirstOf(prior[j].tracking_uid, current[i].tracking_uid);
      t.tracking_id = FirstOf(FirstOf(prior[j].tracking_id, current[i].tracking_id), current[i].label);
      Measure(t, interval_days, options);
    } else {
      t.status = TrackingStatus::kNew;
      t.tracking_uid = current[i].tracking_uid;
      t.tracking_id = FirstOf(current[i].tracking_id, current[i].label);
    }
    if (t.tracking_uid.empty() && new_uid) t.tracking_uid = new_uid();
    out.push_back(std::move(t));
  }
  for (size_t j = 0; j < m; ++j) {
    if (prior_matched[j]) continue;
    TrackedLesion t;
    t.status = TrackingStatus::kResolved;
    t.prior = prior[j];
    t.tracking_uid = prior[j].tracking_uid;
    t.tracking_id = FirstOf(prior[j].tracking_id, prior[j].label);
    if (t.tracking_uid.empty() && new_uid) t.tracking_uid = new_uid();
    out.push_back(std::move(t));
  }
  return out;
}

const char* ToString(TrackingStatus status) {
  switch (status) {
    case TrackingStatus::kTracked: return "tracked";
    case TrackingStatus::kNew: return "new";
    case TrackingStatus::kResolved: return "resolved";
  }
  return "unknown";
}

const char* ToString(Trend trend) {
  switch (trend) {
    case Trend::kGrowing: return "growing";
    case Trend::kStable: return "stable";
    case Trend::kShrinking: return "shrinking";
    case Trend::kUnknown: break;
  }
  return "unknown";
}

}  // namespace radflow::workflow
