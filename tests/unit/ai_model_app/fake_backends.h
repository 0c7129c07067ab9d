// Fake InferenceBackends for the model app tests: each is a few lines whose output is
// known exactly, so that what the pipeline does around the network can be checked.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ai/infer/inference.h"

namespace radflow::ai::testing {

// Calls `f(input)`; records every input tensor.
class FunctionBackend : public InferenceBackend {
 public:
  explicit FunctionBackend(std::function<Result<Tensor>(const Tensor&)> f) : f_(std::move(f)) {}
  std::string name() const override { return "fake"; }
  Result<Tensor> Run(const Tensor& input) override {
    inputs.push_back(input);
    return f_(input);
  }
  std::vector<Tensor> inputs;

 private:
  std::function<Result<Tensor>(const Tensor&)> f_;
};

// Output [1, C, spatial...] with channel c = per_channel(c, x) applied to each input value.
inline Tensor MapChannels(const Tensor& in, int channels, const std::function<float(int, float)>& per_channel) {
  Tensor out;
  out.shape = in.shape;
  out.shape[1] = channels;
  const size_t n = in.data.size();
  out.data.resize(n * size_t(channels));
  for (int c = 0; c < channels; ++c) {
    for (size_t i = 0; i < n; ++i) out.data[size_t(c) * n + i] = per_channel(c, in.data[i]);
  }
  return out;
}

// Two-channel logits [−(x − t), x − t]: argmax = label 1 exactly where x > t.
inline std::function<Result<Tensor>(const Tensor&)> ThresholdLogits(float t) {
  return [t](const Tensor& in) -> Result<Tensor> {
    return MapChannels(in, 2, [t](int c, float x) { return c == 0 ? -(x - t) : x - t; });
  };
}

// The input as one channel.
inline Result<Tensor> Echo(const Tensor& in) { return in; }

}  // namespace radflow::ai::testing
