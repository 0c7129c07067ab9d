// The manifest-driven model app: pre-process → network → post-process (model_steps.h holds
// the steps; model_app.h the contract).
#include "ai/infer/model_app.h"

#include <algorithm>

#include "ai/infer/model_steps.h"
#include "imaging/resample.h"

namespace radflow::ai {

Result<AppOutput> RunModelApp(const AppInput& input, InferenceBackend& backend) {
  if (input.manifest == nullptr) return Result<AppOutput>(ErrorCode::kInvalidArgument, "no manifest");
  if (input.image.empty()) return Result<AppOutput>(ErrorCode::kInvalidArgument, "empty image");
  const Preprocess& pre = input.manifest->preprocess;
  const Postprocess& post = input.manifest->postprocess;
  const imaging::Geometry& grid = input.image.geometry();

  // 1. Pre-process: onto the model's spacing (linear), then window / normalise.
  imaging::ImageVolume image;
  bool resampled = false;
  if (pre.spacing) {
    for (double s : *pre.spacing) {
      if (!(s > 0)) return Result<AppOutput>(ErrorCode::kInvalidArgument, "preprocess.spacing: must be positive");
    }
    const imaging::Geometry target = model_app::GridWithSpacing(grid, *pre.spacing);
    resampled = !target.SameGrid(grid);
    if (resampled) {
      image = imaging::Resample(input.image, target, imaging::Interpolation::kLinear, 0, true);
    }
  }
  if (!resampled) image = input.image;
  if (Status s = model_app::ApplyIntensity(image, pre); !s.ok()) return s;

  // 2. The network.
  auto output = model_app::Predict(image, pre, backend);
  if (!output.ok()) return output.status();
  image = imaging::ImageVolume();  // free it: the outputs can be large

  // 3. Labels, back on the input grid.
  auto labels = model_app::ToLabels(*output, post);
  if (!labels.ok()) return labels.status();
  output->clear();
  model_app::LabelMap map = resampled ? model_app::ResampleLabels(*labels, grid) : std::move(*labels);

  // 4. Segments; 5. findings.
  AppOutput out;
  std::vector<int> segment_of_label;
  out.segments = model_app::MakeSegments(map.labels, map.label_count, post, &segment_of_label);
  if (post.findings) {
    auto findings = model_app::MakeFindings(map, input.image, post, segment_of_label);
    if (!findings.ok()) return findings.status();
    out.findings = std::move(*findings);
  }
  out.summary = model_app::Summary(out.segments, out.findings, post);
  return out;
}

Result<AppOutput> RunModelApp(const AppInput& input) {
  if (input.manifest == nullptr) return Result<AppOutput>(ErrorCode::kInvalidArgument, "no manifest");
  const Runner& runner = input.manifest->runner;
  BackendKind kind;
  switch (runner.kind) {
    case Runner::Kind::kTorchScript: kind = BackendKind::kTorchScript; break;
    case Runner::Kind::kOnnx: kind = BackendKind::kOnnx; break;
    default:
      return Result<AppOutput>(ErrorCode::kInvalidArgument,
                               "runner: a model app needs a torchscript or onnx runner");
  }
  auto backend = LoadModel(kind, runner.model, BackendOptions{std::max(1, input.threads)});
  if (!backend.ok()) return backend.status();
  return RunModelApp(input, **backend);
}

}  // namespace radflow::ai
