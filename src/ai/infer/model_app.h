// The manifest-driven model app (runner "torchscript" or "onnx"): pre-processing (window /
// normalise, resample to spacing, tiling, 2D slice-wise or 3D), the network through an
// InferenceBackend, post-processing (argmax or threshold to labels, back onto the input grid,
// connected components to findings) → AppOutput (segments + findings).
#pragma once

#include "ai/app.h"
#include "ai/infer/inference.h"
#include "ai/manifest.h"
#include "base/status.h"

namespace radflow::ai {

// Runs `input.manifest`'s model on input.image (the backend is loaded from the manifest's
// runner). Segments: one per label (labels from postprocess.labels, else "label N"), empty
// labels omitted. Findings (postprocess.findings): one per connected component (26-connected)
// of at least min_volume_ml: centre of mass (LPS), volume, longest axial diameter, mean HU,
// score = mean foreground probability.
Result<AppOutput> RunModelApp(const AppInput& input);

// The same with an already loaded backend (tests; a worker running many jobs of one app).
Result<AppOutput> RunModelApp(const AppInput& input, InferenceBackend& backend);

}  // namespace radflow::ai
