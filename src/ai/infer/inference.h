// InferenceBackend: runs one model on float tensors. Implementations live in plugins loaded
// on first use (dlopen), so that the radflow binary does not load libtorch (~290 shared
// libraries, ~0.5 s, ~160 MB) or OpenCV unless a model app runs:
//   libradflow_torch.so — TorchScript through libtorch (2D and 3D networks)
//   libradflow_onnx.so  — ONNX through OpenCV dnn (2D networks; OpenCV 4.6 cannot run 3D
//                         transposed convolutions or 5-D resize: such a model fails to load
//                         with an error naming the layer)
// The interface is what a GPU backend or a remote KServe v2 / Triton client would implement.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::ai {

struct Tensor {
  std::vector<int64_t> shape;  // e.g. {1, 1, D, H, W} (NCDHW) or {1, 1, H, W}
  std::vector<float> data;     // row-major, last dimension fastest
  size_t elements() const {
    size_t n = 1;
    for (auto d : shape) n *= static_cast<size_t>(d);
    return n;
  }
};

struct BackendOptions {
  // Intra-op threads, >= 1 (libtorch defaults to half the CPUs: set it). The runtimes keep
  // one process-wide count, so each backend applies its own before every forward.
  int threads = 1;
};

class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  // "torchscript (libtorch 1.13, CPU, 2 threads, optimised)"; the thread count is the one
  // the runtime reported at the last Run.
  virtual std::string name() const = 0;
  // One forward pass: one float32 input, one output (the first, if the model has several).
  // kInvalidArgument when the network cannot take the input (shape, channels). Thread-safe:
  // concurrent calls on one backend run one after the other.
  virtual Result<Tensor> Run(const Tensor& input) = 0;
};

enum class BackendKind { kTorchScript, kOnnx };

// Loads the plugin for `kind` (once per process and path; from RADFLOW_PLUGIN_DIR, else the
// directory of the running executable) and the model. kUnsupported when the plugin is not
// installed (the message names the plugin file) or the model uses an operator the backend
// cannot run (the message names the layer or node); kInvalidArgument for a missing or
// unreadable model file or threads < 1. Thread-safe. Loading the torch plugin sets
// OMP_WAIT_POLICY=PASSIVE unless already set (spinning OpenMP threads starve other jobs).
Result<std::unique_ptr<InferenceBackend>> LoadModel(BackendKind kind, const std::string& model_path,
                                                    const BackendOptions& options);

}  // namespace radflow::ai

// The C entry point each plugin exports (extern "C", no C++ types across dlopen except the
// returned object, built by the same compiler from the same header):
//   radflow::ai::InferenceBackend* radflow_backend_create(const char* model_path, int threads,
//                                                         char* error, size_t error_size,
//                                                         int* unsupported);
// Returns null on failure with a message in `error`; *unsupported = 1 when the failure is
// an operator the backend cannot run.
