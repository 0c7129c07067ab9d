// The manifest-driven model app (runner "torchscript" or "onnx"): pre-processing (window /
// normalise, resample to spacing, tiling, 2D slice-wise or 3D), the network through an
// InferenceBackend, post-processing (argmax or threshold to labels, back onto the input grid,
// connected components to findings) → AppOutput (segments + findings).
// The steps are pure functions in model_steps.h, which also documents the tensor layout:
// "3d" feeds [1, 1, D=k, H=j, W=i] (numpy volume[z][y][x]), "2d" each axial slice [1, 1, H, W].
#pragma once

#include "ai/app.h"
#include "ai/infer/inference.h"
#include "ai/manifest.h"
#include "base/status.h"

namespace radflow::ai {

// Runs `input.manifest`'s model on input.image (the backend is loaded from the manifest's
// runner with input.threads intra-op threads; a builtin runner is kInvalidArgument).
//  1. preprocess.spacing: the image is resampled (linear) onto a grid of that spacing over
//     the same box and orientation (centres aligned); then window, then normalise.
//  2. The network over tiles (uniform-weight average of overlaps) or the whole volume /
//     slice padded to multiples of 16; padding replicates the edge voxel.
//  3. argmax (softmax kept) or threshold (sigmoid optional) → labels; back onto the input
//     grid (nearest) when resampled.
//  4. Segments: one per label (labels from postprocess.labels, else "label N"), empty
//     labels omitted; category Anatomical Structure, or Morphologically Altered Structure
//     with type = postprocess.finding_type when one is given.
//  5. Findings (postprocess.findings): one per connected component (26-connected) of at
//     least min_volume_ml: centre of mass (LPS), volume, longest axial diameter (largest over
//     the component's slices, voxel centre to centre), mean HU, score = mean probability of
//     its label; measurements Volume / Long Axis / Mean; sorted by volume, largest first.
// Errors: kInvalidArgument for no manifest, an empty image, a bad pre/post-processing setting
// (unknown mode / tiling / op / normalise, no patch with tiling "tile"), an output whose shape
// is not [1, C, <input spatial size>] with C >= 1 (or the wrong C for the op); the backend's
// errors pass through unchanged.
Result<AppOutput> RunModelApp(const AppInput& input);

// The same with an already loaded backend (tests; a worker running many jobs of one app).
// Not thread-safe on one backend: Run is called sequentially.
Result<AppOutput> RunModelApp(const AppInput& input, InferenceBackend& backend);

}  // namespace radflow::ai
