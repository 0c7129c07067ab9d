// Longitudinal lesion tracking: the lesions of a current examination matched to those of a
// prior one through a registration, with the growth measures of a follow-up reading
// (volume change, diameter change, volume doubling time). A pure function of plain values:
// no DICOM, no images, no index; the caller (workflow service, tests) brings the findings
// of both examinations and the current→prior transform (registration::Register), and
// persists, shows or writes (TID 1500, ai::Finding::prior) what comes back.
// Method and tolerances: docs/ai-results.md, "Longitudinal tracking".
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace radflow::workflow {

// One lesion of one examination (e.g. a ct-lung-lesions finding).
struct Lesion {
  std::string key;            // the caller's own reference (finding row id, ...), carried through
  std::string tracking_uid;   // TID 1500 Tracking Unique Identifier (112040, DCM); may be empty
  std::string tracking_id;    // Tracking Identifier (112039, DCM), human-readable; may be empty
  std::array<double, 3> center{};  // LPS mm, in its own examination's patient space
  double volume_ml = 0;       // 0: unknown
  double diameter_mm = 0;     // longest diameter; 0: unknown (then the volume's sphere is used)
  std::string label;
};

enum class TrackingStatus {
  kTracked,   // in both examinations
  kNew,       // in the current examination only
  kResolved,  // in the prior examination only
};

// How a tracked lesion's volume evolved (volume-based; diameter-based when a volume is
// missing). kUnknown for new and resolved lesions or when neither size is known.
enum class Trend { kUnknown, kGrowing, kStable, kShrinking };

struct TrackedLesion {
  TrackingStatus status = TrackingStatus::kNew;
  std::optional<Lesion> current;  // set unless kResolved
  std::optional<Lesion> prior;    // set unless kNew
  // The identity the lesion carries in both examinations' reports: the prior's when it has
  // one (kTracked, kResolved), else the current lesion's own, else a fresh UID (new_uid).
  std::string tracking_uid;
  std::string tracking_id;  // the prior's, else the current's, else its label
  // kTracked only (0 / none otherwise):
  double distance_mm = 0;        // |T(current centre) − prior centre|, in the prior's space
  double volume_change_ml = 0;   // V2 − V1
  double volume_change_pct = 0;  // 100·(V2 − V1)/V1 (0 when V1 unknown)
  double diameter_change_mm = 0; // D2 − D1 (0 when either unknown)
  // Volume doubling time Δt·ln 2 / ln(V2/V1) (Schwartz 1961), days; only when the lesion
  // grew (V2 > V1 > 0) and Δt > 0. Shrinking or unchanged lesions have none (the trend says
  // which).
  std::optional<double> doubling_time_days;
  Trend trend = Trend::kUnknown;
};

struct TrackingOptions {
  // Gate: a current and a prior lesion may be matched only when their distance (after the
  // transform) is at most max(max_distance_mm, radius_factor · the larger of their radii).
  double max_distance_mm = 15;
  double radius_factor = 1.5;
  // Trend: a volume change within ±stable_volume_pct is stable (the ~25 % repeatability of
  // CT nodule volumetry, BTS 2015 nodule guideline); without volumes, a diameter change
  // within ±stable_diameter_mm (Lung-RADS v2022 growth: > 1.5 mm).
  double stable_volume_pct = 25;
  double stable_diameter_mm = 1.5;
};

// A fresh UUID-derived UID, "2.25.<decimal of a random 128-bit UUID v4>" (PS3.5 B.2): no
// organisation root needed. Thread-safe.
std::string NewUuidUid();

// Maps a point through a row-major 4×4 affine matrix (bottom row assumed 0 0 0 1).
std::array<double, 3> Apply(const std::array<double, 16>& m, const std::array<double, 3>& p);

// Matches `current` to `prior`: each current centre is mapped into the prior's space by
// `current_to_prior` (row-major 4×4, current LPS mm → prior LPS mm: registration::Register
// with fixed = current, moving = prior), then the globally optimal one-to-one assignment
// within the gate (TrackingOptions) is taken: first as many matches as possible, then the
// smallest summed distance (Hungarian algorithm); exact ties keep the input order (current
// i with prior i, else the earlier prior). `interval_days` = current − prior study date.
// Returns the current lesions in their order (kTracked or kNew), then the unmatched prior
// lesions in theirs (kResolved). `new_uid` names new lesions without a tracking UID of
// their own; pass {} to leave them empty for the caller to assign.
std::vector<TrackedLesion> TrackLesions(const std::vector<Lesion>& current, const std::vector<Lesion>& prior,
                                        const std::array<double, 16>& current_to_prior, double interval_days,
                                        const TrackingOptions& options = {},
                                        const std::function<std::string()>& new_uid = NewUuidUid);

// Volume doubling time in days, Δt·ln 2 / ln(v2/v1); none unless v2 > v1 > 0 and
// interval_days > 0.
std::optional<double> VolumeDoublingTime(double v1_ml, double v2_ml, double interval_days);

// "tracked" | "new" | "resolved"; "growing" | "stable" | "shrinking" | "unknown".
const char* ToString(TrackingStatus status);
const char* ToString(Trend trend);

}  // namespace radflow::workflow
