// The steps of the manifest-driven model app (model_app.h) as pure functions, so that each
// can be tested on its own. Internal to radflow_ai_infer (and its tests).
//
// Axis mapping (the contract with the network). A Volume stores voxel (i, j, k) — i along a
// row (columns, x), j down the rows (y), k across slices (z) — with i fastest. A PyTorch
// user holding a numpy array volume[z][y][x] (what pydicom / SimpleITK GetArrayFromImage
// give) feeds it as [N, C, D, H, W] = [1, 1, z, y, x]. So the tensors here are:
//   "3d": [1, 1, D, H, W] with D = k (slices), H = j (rows), W = i (columns)
//   "2d": one axial slice k at a time, [1, 1, H, W] with H = j, W = i
// Because Volume's memory order (i fastest, then j, then k) is row-major [k][j][i], a
// tensor of the whole volume is a plain copy of Volume::data().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ai/app.h"
#include "ai/infer/inference.h"
#include "ai/manifest.h"
#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::ai::model_app {

// --- 1. pre-processing ---------------------------------------------------------------------

// The grid of `g` resampled to `spacing` over the same physical extent: same orientation,
// size[a] = max(1, round(size[a]·spacing[a] / new[a])), and the grid's centre kept (the
// IBSI "aligned grid centres" convention), so that both grids cover the same box.
imaging::Geometry GridWithSpacing(const imaging::Geometry& g, const imaging::Vec3& spacing);

// Window then normalise, in place: window [lo, hi] clips and maps to [0, 1]; normalise
// "zscore" subtracts the volume's mean and divides by its standard deviation (1 when the
// volume is constant), "scale" maps v → v·scale + offset. kInvalidArgument for an unknown
// normalise or a window with hi <= lo.
Status ApplyIntensity(imaging::ImageVolume& image, const Preprocess& preprocess);

// --- 2. the network ------------------------------------------------------------------------

// Start positions of windows of `patch` voxels over an axis of `n` >= patch voxels: a stride
// of max(1, floor(patch·(1 − overlap))), the last window flush with the end (MONAI's
// sliding_window_inference scan), so that every voxel is covered at least once.
std::vector<int64_t> TileStarts(int64_t n, int64_t patch, double overlap);

// Runs the network over `image` (already pre-processed) and returns its raw output, one
// volume per channel on `image`'s grid.
// Tiling "tile": windows of preprocess.patch (x, y, z; "2d" uses x, y) at TileStarts; an
//   axis shorter than its patch is padded up to it. Overlapping outputs are averaged with
//   uniform weights (each voxel = mean of the windows covering it).
// Tiling "none": one pass over the whole volume ("3d") or slice ("2d"), each spatial axis
//   padded up to a multiple of 16 (networks with four 2× poolings need it), then cropped.
// Padding replicates the edge voxel (independent of the window / normalisation chosen).
// Errors: kInvalidArgument for an empty image, an unknown mode or tiling, a missing or
//   non-positive patch with "tile", an output that is not [1, C, <input spatial size>]
//   with C >= 1 or whose C changes between windows; the backend's errors pass through.
Result<std::vector<imaging::ImageVolume>> Predict(const imaging::ImageVolume& image,
                                                  const Preprocess& preprocess,
                                                  InferenceBackend& backend);

// --- 3. post-processing --------------------------------------------------------------------

struct LabelMap {
  imaging::Mask labels;               // 0 background, 1..N
  imaging::ImageVolume probability;   // probability of the voxel's own label (softmax / sigmoid)
  int label_count = 0;                // N: C − 1 for argmax, 1 for threshold
};

// "argmax": label = the channel with the largest output (ties → the lower channel), its
//   softmax probability kept; needs 2..256 channels. "threshold": one channel, a sigmoid
//   first when postprocess.sigmoid, label 1 where >= threshold; probability = the
//   (sigmoid) value. kInvalidArgument otherwise.
Result<LabelMap> ToLabels(const std::vector<imaging::ImageVolume>& output,
                          const Postprocess& postprocess);

// The label map (nearest) and the probabilities (linear) resampled onto `target`.
LabelMap ResampleLabels(const LabelMap& map, const imaging::Geometry& target);

// --- 4. segments ---------------------------------------------------------------------------

// Label text for label l (1-based): postprocess.labels[l − 1], else "label l".
std::string LabelText(const Postprocess& postprocess, int label);

// One segment per label 1..N that has a voxel, in label order (so segment number = index
// + 1). Without postprocess.finding_type a segment is an anatomical structure: category
// (91723000, SCT, "Anatomical Structure"), type (123037004, SCT, "Body structure") —
// the manifest names no finer code. With it, a lesion: category (49755003, SCT,
// "Morphologically Altered Structure"), type = finding_type. `segment_of_label[l]` gets
// the 1-based segment number of label l (0 when empty); sized N + 1.
std::vector<SegmentOutput> MakeSegments(const imaging::Mask& labels, int label_count,
                                        const Postprocess& postprocess,
                                        std::vector<int>* segment_of_label);

// --- 5. findings ---------------------------------------------------------------------------

// Longest in-plane (i, j) diameter in mm of a set of voxels on one slice: the largest
// centre-to-centre distance between two of them (over their convex hull).
double LongestInPlaneDiameter(const std::vector<std::array<int64_t, 2>>& voxels,
                              const imaging::Vec3& spacing);

// One finding per 26-connected component of each label of at least min_volume_ml; see
// model_app.h. Sorted by volume descending; label "<label text> <n>" with n the rank within
// its label. `image` (HU) gives the mean; all volumes on one grid.
Result<std::vector<Finding>> MakeFindings(const LabelMap& map, const imaging::ImageVolume& image,
                                          const Postprocess& postprocess,
                                          const std::vector<int>& segment_of_label);

// "bone: 3 findings, 1234.5 ml; liver: 1 finding, 1500.0 ml" (findings matched to segments
// by segment_number; "no findings" when none), or, with postprocess.findings off, the
// segments' volumes ("bone 1234.5 ml"; "nothing found" when none).
std::string Summary(const std::vector<SegmentOutput>& segments,
                    const std::vector<Finding>& findings, const Postprocess& postprocess);

}  // namespace radflow::ai::model_app
