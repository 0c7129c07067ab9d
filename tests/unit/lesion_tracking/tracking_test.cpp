// TrackLesions on hand-made lesion lists: matching through a known rigid transform, the
// gate, new / resolved lesions, global (not greedy) assignment, ties, and the growth
// measures against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "workflow/lesion_tracking.h"

namespace radflow::workflow {
namespace {

using Point = std::array<double, 3>;
using Matrix = std::array<double, 16>;

const Matrix kIdentity{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};

// Rotation by `deg_z` about z, then `deg_x` about x, then a translation (row-major 4×4).
Matrix Rigid(double deg_z, double deg_x, const Point& t) {
  const double a = deg_z * M_PI / 180, b = deg_x * M_PI / 180;
  const double rz[3][3] = {{std::cos(a), -std::sin(a), 0}, {std::sin(a), std::cos(a), 0}, {0, 0, 1}};
  const double rx[3][3] = {{1, 0, 0}, {0, std::cos(b), -std::sin(b)}, {0, std::sin(b), std::cos(b)}};
  Matrix m{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 3; ++k) m[4 * r + c] += rx[r][k] * rz[k][c];
    }
    m[4 * r + 3] = t[r];
  }
  m[15] = 1;
  return m;
}

// The inverse of a rigid matrix: Rᵀ, −Rᵀt.
Matrix Inverse(const Matrix& m) {
  Matrix inv{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) inv[4 * r + c] = m[4 * c + r];
  }
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) inv[4 * r + 3] -= inv[4 * r + c] * m[4 * c + 3];
  }
  inv[15] = 1;
  return inv;
}

Lesion Make(const std::string& key, const Point& c, double volume_ml, double diameter_mm,
            const std::string& uid = "") {
  Lesion l;
  l.key = key;
  l.center = c;
  l.volume_ml = volume_ml;
  l.diameter_mm = diameter_mm;
  l.tracking_uid = uid;
  l.tracking_id = uid.empty() ? "" : "Lesion " + key;
  l.label = "nodule " + key;
  return l;
}

// Deterministic UIDs for the tests.
std::function<std::string()> Counter() {
  auto n = std::make_shared<int>(0);
  return [n] { return "1.2.3." + std::to_string(++*n); };
}

const TrackedLesion* ByCurrent(const std::vector<TrackedLesion>& out, const std::string& key) {
  for (const auto& t : out)
    if (t.current && t.current->key == key) return &t;
  return nullptr;
}

TEST(LesionTracking, MatchesThroughAKnownRotationAndTranslation) {
  // current → prior: 12° about z, 7° about x, (25, −18, 12) mm.
  const Matrix to_prior = Rigid(12, 7, {25, -18, 12});
  const Matrix to_current = Inverse(to_prior);
  // Prior lesions 20–40 mm apart; without the transform every current lesion lies nearer
  // to another prior one (or to none within the gate).
  const std::vector<Point> prior_centres = {{-80, 20, -150}, {-60, 30, -150}, {70, 10, -200}, {40, -30, -120}};
  std::vector<Lesion> prior, current;
  for (size_t j = 0; j < prior_centres.size(); ++j) {
    prior.push_back(Make("p" + std::to_string(j), prior_centres[j], 1.0, 12, "2.25." + std::to_string(100 + j)));
  }
  // Current lesions listed in another order, each within 1.5 mm of its true position.
  const size_t order[] = {2, 0, 3, 1};
  for (size_t j : order) {
    Point p = Apply(to_current, prior_centres[j]);
    p[0] += 0.8, p[1] -= 0.6, p[2] += 1.0;
    current.push_back(Make("c" + std::to_string(j), p, 2.0, 15));
  }
  const auto out = TrackLesions(current, prior, to_prior, 90, {}, Counter());
  ASSERT_EQ(out.size(), 4u);
  for (size_t j = 0; j < prior.size(); ++j) {
    const TrackedLesion* t = ByCurrent(out, "c" + std::to_string(j));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->status, TrackingStatus::kTracked);
    ASSERT_TRUE(t->prior);
    EXPECT_EQ(t->prior->key, "p" + std::to_string(j));
    EXPECT_EQ(t->tracking_uid, prior[j].tracking_uid);  // one UID across examinations
    EXPECT_EQ(t->tracking_id, prior[j].tracking_id);
    // The offset (0.8, −0.6, 1.0) mm, carried rigidly into the prior's space: √2 mm exactly.
    EXPECT_NEAR(t->distance_mm, std::sqrt(2.0), 1e-9);
  }
  // The same lesions without the transform: the matching falls apart.
  const auto wrong = TrackLesions(current, prior, kIdentity, 90, {}, Counter());
  size_t right = 0;
  for (const auto& t : wrong) {
    right += t.status == TrackingStatus::kTracked && t.prior->key.substr(1) == t.current->key.substr(1);
  }
  EXPECT_EQ(right, 0u);  // as built above: no current lesion finds its own prior one
}

TEST(LesionTracking, NewAndResolvedLesions) {
  const std::vector<Lesion> prior = {Make("a", {0, 0, 0}, 1, 12, "2.25.1"), Make("gone", {100, 0, 0}, 0.5, 10, "2.25.2")};
  const std::vector<Lesion> current = {Make("a", {2, 1, 0}, 1.2, 13), Make("fresh", {-100, 50, 0}, 0.3, 8)};
  const auto out = TrackLesions(current, prior, kIdentity, 30, {}, Counter());
  ASSERT_EQ(out.size(), 3u);
  // Current lesions first, in their order; then the resolved prior ones.
  EXPECT_EQ(out[0].status, TrackingStatus::kTracked);
  EXPECT_EQ(out[0].tracking_uid, "2.25.1");
  EXPECT_EQ(out[1].status, TrackingStatus::kNew);
  EXPECT_FALSE(out[1].prior);
  EXPECT_EQ(out[1].tracking_uid, "1.2.3.1");        // fresh, from the generator
  EXPECT_EQ(out[1].tracking_id, "nodule fresh");    // its label
  EXPECT_FALSE(out[1].doubling_time_days);
  EXPECT_EQ(out[1].trend, Trend::kUnknown);
  EXPECT_EQ(out[2].status, TrackingStatus::kResolved);
  EXPECT_FALSE(out[2].current);
  EXPECT_EQ(out[2].prior->key, "gone");
  EXPECT_EQ(out[2].tracking_uid, "2.25.2");          // keeps the prior's identity
  EXPECT_STREQ(ToString(out[2].status), "resolved");

  // No generator: a new lesion without a UID of its own keeps an empty one.
  const auto bare = TrackLesions(current, prior, kIdentity, 30, {}, {});
  EXPECT_TRUE(bare[1].tracking_uid.empty());
  // A new lesion that has a UID (its own examination's SR) keeps it.
  auto named = current;
  named[1].tracking_uid = "2.25.77";
  EXPECT_EQ(TrackLesions(named, prior, kIdentity, 30, {}, Counter())[1].tracking_uid, "2.25.77");

  // Nothing on either side.
  EXPECT_TRUE(TrackLesions({}, {}, kIdentity, 30).empty());
  const auto all_new = TrackLesions(current, {}, kIdentity, 30, {}, Counter());
  ASSERT_EQ(all_new.size(), 2u);
  EXPECT_EQ(all_new[0].status, TrackingStatus::kNew);
  const auto all_resolved = TrackLesions({}, prior, kIdentity, 30, {}, Counter());
  ASSERT_EQ(all_resolved.size(), 2u);
  EXPECT_EQ(all_resolved[1].status, TrackingStatus::kResolved);
}

TEST(LesionTracking, GateScalesWithTheLesionRadius) {
  // Default gate: max(15 mm, 1.5 × larger radius).
  const std::vector<Lesion> prior = {Make("mass", {0, 0, 0}, 60, 60, "2.25.1"), Make("small", {200, 0, 0}, 0.5, 10, "2.25.2")};
  // The 60 mm mass's centre moved 40 mm (< 1.5 × 30 = 45): still the same lesion. The
  // 10 mm nodule moved 16 mm (> max(15, 1.5 × 5)): not the same lesion.
  const std::vector<Lesion> current = {Make("mass", {40, 0, 0}, 65, 62), Make("small", {216, 0, 0}, 0.5, 10)};
  const auto out = TrackLesions(current, prior, kIdentity, 60, {}, Counter());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].status, TrackingStatus::kTracked);
  EXPECT_NEAR(out[0].distance_mm, 40, 1e-9);
  EXPECT_EQ(out[1].status, TrackingStatus::kNew);
  EXPECT_EQ(out[2].status, TrackingStatus::kResolved);
  EXPECT_EQ(out[2].prior->key, "small");

  // A wider fixed gate takes it; a lesion without a diameter is gated by its volume's
  // sphere (60 ml → radius 24.3 mm, × 1.5 = 36.4 mm < 40 mm: not matched).
  TrackingOptions wide;
  wide.max_distance_mm = 20;
  EXPECT_EQ(TrackLesions(current, prior, kIdentity, 60, wide, Counter())[1].status, TrackingStatus::kTracked);
  auto no_diameter_prior = prior;
  auto no_diameter_current = current;
  no_diameter_prior[0].diameter_mm = 0;
  no_diameter_current[0].diameter_mm = 0;
  no_diameter_current[0].volume_ml = 60;
  EXPECT_EQ(TrackLesions(no_diameter_current, no_diameter_prior, kIdentity, 60, {}, Counter())[0].status,
            TrackingStatus::kNew);
}

TEST(LesionTracking, AssignmentIsGlobalNotGreedy) {
  // Greedy by distance would pair c0–p0 (5 mm) and leave c1 (only p0 within its gate) new
  // and p1 resolved; the optimal assignment pairs both: c0–p1 (6 mm) and c1–p0 (6 mm).
  const std::vector<Lesion> prior = {Make("0", {0, 0, 0}, 1, 10, "2.25.10"), Make("1", {11, 0, 0}, 1, 10, "2.25.11")};
  const std::vector<Lesion> current = {Make("0", {5, 0, 0}, 1, 10), Make("1", {-6, 0, 0}, 1, 10)};
  TrackingOptions o;
  o.max_distance_mm = 7;
  o.radius_factor = 0;
  const auto out = TrackLesions(current, prior, kIdentity, 30, o, Counter());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, TrackingStatus::kTracked);
  EXPECT_EQ(out[0].prior->key, "1");
  EXPECT_EQ(out[1].status, TrackingStatus::kTracked);
  EXPECT_EQ(out[1].prior->key, "0");

  // With as many matches either way, the smaller summed distance wins: the lesion at 1 mm
  // from p0 (3 mm from p1) and the one at 2 mm from p1 (6 mm from p0) → 3 mm in all, not 9.
  const std::vector<Lesion> prior2 = {Make("0", {0, 0, 0}, 1, 10), Make("1", {4, 0, 0}, 1, 10)};
  const std::vector<Lesion> current2 = {Make("1", {6, 0, 0}, 1, 10), Make("0", {1, 0, 0}, 1, 10)};
  const auto out2 = TrackLesions(current2, prior2, kIdentity, 30, {}, Counter());
  EXPECT_EQ(out2[0].prior->key, "1");
  EXPECT_EQ(out2[1].prior->key, "0");
}

TEST(LesionTracking, ExactTiesKeepTheInputOrder) {
  // One current lesion exactly between two prior ones: the earlier prior lesion.
  const std::vector<Lesion> prior = {Make("left", {-5, 0, 0}, 1, 10, "2.25.1"), Make("right", {5, 0, 0}, 1, 10, "2.25.2")};
  const auto one = TrackLesions({Make("mid", {0, 0, 0}, 1, 10)}, prior, kIdentity, 30, {}, Counter());
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].prior->key, "left");
  EXPECT_EQ(one[1].status, TrackingStatus::kResolved);
  EXPECT_EQ(one[1].prior->key, "right");
  // Reversed prior order: again the earlier one.
  const auto rev = TrackLesions({Make("mid", {0, 0, 0}, 1, 10)}, {prior[1], prior[0]}, kIdentity, 30, {}, Counter());
  EXPECT_EQ(rev[0].prior->key, "right");

  // Two current lesions, two prior ones, both pairings with the same summed distance
  // (a square): current i keeps prior i.
  const std::vector<Lesion> prior_sq = {Make("0", {0, 0, 0}, 1, 10), Make("1", {0, 8, 0}, 1, 10)};
  const std::vector<Lesion> current_sq = {Make("0", {4, 4, 0}, 1, 10), Make("1", {-4, 4, 0}, 1, 10)};
  const auto sq = TrackLesions(current_sq, prior_sq, kIdentity, 30, {}, Counter());
  EXPECT_EQ(sq[0].prior->key, "0");
  EXPECT_EQ(sq[1].prior->key, "1");
  const auto sq_rev = TrackLesions({current_sq[1], current_sq[0]}, prior_sq, kIdentity, 30, {}, Counter());
  EXPECT_EQ(sq_rev[0].current->key, "1");
  EXPECT_EQ(sq_rev[0].prior->key, "0");
}

TEST(LesionTracking, GrowthMeasuresMatchHandComputedValues) {
  // Doubling in 90 days: VDT = 90 d. Tripling in 100 days: 100·ln 2 / ln 3 = 63.0930 d.
  EXPECT_NEAR(*VolumeDoublingTime(0.5, 1.0, 90), 90.0, 1e-12);
  EXPECT_NEAR(*VolumeDoublingTime(1.0, 3.0, 100), 63.092975357145744, 1e-9);
  EXPECT_NEAR(*VolumeDoublingTime(1.0, 1.1, 90), 654.5286807608, 1e-6);  // 90·ln 2/ln 1.1
  EXPECT_FALSE(VolumeDoublingTime(1.0, 1.0, 90));  // unchanged: no doubling time
  EXPECT_FALSE(VolumeDoublingTime(1.0, 0.5, 90));  // shrinking
  EXPECT_FALSE(VolumeDoublingTime(0.0, 0.5, 90));  // no prior volume
  EXPECT_FALSE(VolumeDoublingTime(0.5, 1.0, 0));   // same day

  const std::vector<Lesion> prior = {Make("grow", {0, 0, 0}, 0.5, 9.8, "2.25.1"), Make("shrink", {60, 0, 0}, 2.0, 15.6, "2.25.2"),
                                     Make("stable", {120, 0, 0}, 1.0, 12.4, "2.25.3")};
  const std::vector<Lesion> current = {Make("grow", {1, 0, 0}, 1.0, 12.4), Make("shrink", {61, 0, 0}, 1.0, 12.4),
                                       Make("stable", {121, 0, 0}, 1.1, 12.8)};
  const auto out = TrackLesions(current, prior, kIdentity, 90, {}, Counter());
  ASSERT_EQ(out.size(), 3u);
  const TrackedLesion& grow = out[0];
  EXPECT_NEAR(grow.volume_change_ml, 0.5, 1e-12);
  EXPECT_NEAR(grow.volume_change_pct, 100.0, 1e-12);
  EXPECT_NEAR(grow.diameter_change_mm, 2.6, 1e-12);
  ASSERT_TRUE(grow.doubling_time_days);
  EXPECT_NEAR(*grow.doubling_time_days, 90.0, 1e-9);
  EXPECT_EQ(grow.trend, Trend::kGrowing);
  const TrackedLesion& shrink = out[1];
  EXPECT_NEAR(shrink.volume_change_pct, -50.0, 1e-12);
  EXPECT_NEAR(shrink.diameter_change_mm, -3.2, 1e-12);
  EXPECT_FALSE(shrink.doubling_time_days);
  EXPECT_EQ(shrink.trend, Trend::kShrinking);
  const TrackedLesion& stable = out[2];
  EXPECT_NEAR(stable.volume_change_pct, 10.0, 1e-9);
  ASSERT_TRUE(stable.doubling_time_days);  // it grew, slowly: VDT 655 d (> 400 d: slow)
  EXPECT_NEAR(*stable.doubling_time_days, 654.5286807608, 1e-6);
  EXPECT_EQ(stable.trend, Trend::kStable);  // within ±25 %
  EXPECT_STREQ(ToString(stable.trend), "stable");

  // Without volumes the trend follows the diameter (Lung-RADS: growth > 1.5 mm).
  auto p = prior;
  auto c = current;
  for (auto* v : {&p, &c})
    for (auto& l : *v) l.volume_ml = 0;
  const auto by_diameter = TrackLesions(c, p, kIdentity, 90, {}, Counter());
  EXPECT_EQ(by_diameter[0].trend, Trend::kGrowing);    // +2.6 mm
  EXPECT_EQ(by_diameter[1].trend, Trend::kShrinking);  // −3.2 mm
  EXPECT_EQ(by_diameter[2].trend, Trend::kStable);     // +0.4 mm
  EXPECT_FALSE(by_diameter[0].doubling_time_days);
}

TEST(LesionTracking, UuidDerivedUids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string uid = NewUuidUid();
    ASSERT_EQ(uid.rfind("2.25.", 0), 0u) << uid;
    EXPECT_LE(uid.size(), 64u);
    EXPECT_GT(uid.size(), 30u);
    EXPECT_EQ(uid.find_first_not_of("0123456789", 5), std::string::npos) << uid;
    EXPECT_NE(uid[5], '0') << uid;  // no leading zero (PS3.5 9.1)
    seen.insert(uid);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(LesionTracking, ApplyIsRowMajor) {
  const Matrix m = Rigid(90, 0, {10, 20, 30});
  const Point p = Apply(m, {1, 0, 0});
  EXPECT_NEAR(p[0], 10, 1e-12);
  EXPECT_NEAR(p[1], 21, 1e-12);
  EXPECT_NEAR(p[2], 30, 1e-12);
  const Point back = Apply(Inverse(m), p);
  EXPECT_NEAR(back[0], 1, 1e-12);
  EXPECT_NEAR(back[1], 0, 1e-12);
}

}  // namespace
}  // namespace radflow::workflow
