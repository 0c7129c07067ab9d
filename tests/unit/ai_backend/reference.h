// Helpers for the backend tests: the reference tensors written by models/train_models.py
// (raw little-endian float32 plus a JSON file with the shapes) and simple timing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/infer/inference.h"

namespace radflow::ai::testing {

inline std::string ModelDir() { return std::string(RADFLOW_SOURCE_DIR) + "/tests/fixtures/models"; }
inline std::string ModelPath(const std::string& file) { return ModelDir() + "/" + file; }

inline std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + values.size() * sizeof(float),
            reinterpret_cast<char*>(values.data()));
  return values;  // x86-64 and aarch64 are little-endian, like the files
}

struct Reference {
  Tensor input, output;
};

// `name` is "bone3d" or "bone2d": <name>.json, <name>.input.f32, <name>.output.f32.
inline Reference LoadReference(const std::string& name) {
  std::ifstream in(ModelPath(name + ".json"));
  auto meta = nlohmann::json::parse(in);
  Reference ref;
  ref.input.shape = meta.at("input_shape").get<std::vector<int64_t>>();
  ref.output.shape = meta.at("output_shape").get<std::vector<int64_t>>();
  ref.input.data = ReadF32(ModelPath(name + ".input.f32"));
  ref.output.data = ReadF32(ModelPath(name + ".output.f32"));
  return ref;
}

inline double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
  return worst;
}

// Median wall time of `runs` forward passes after one warm-up, in milliseconds.
inline double MedianForwardMs(InferenceBackend& backend, const Tensor& input, int runs = 3) {
  (void)backend.Run(input);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    (void)backend.Run(input);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace radflow::ai::testing
