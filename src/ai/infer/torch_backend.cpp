// The TorchScript backend plugin (libradflow_torch.so): libtorch 1.13, CPU. The only file
// that includes libtorch headers (~12 s and ~0.8 GB of compiler memory per TU).
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "ai/infer/inference.h"

namespace radflow::ai {
namespace {

void CopyError(const std::string& message, char* error, size_t error_size) {
  if (error == nullptr || error_size == 0) return;
  std::snprintf(error, error_size, "%s", message.c_str());
}

// libtorch messages carry a TorchScript traceback (and c10::Error a C++ backtrace): keep the
// Python-style "RuntimeError: ..." line when there is one, else the first line.
std::string Summary(const std::string& text) {
  std::string line = text;
  if (auto pos = text.rfind("Error: "); pos != std::string::npos && text.find('\n') < pos) {
    line = text.substr(text.rfind('\n', pos) + 1);
  }
  return line.substr(0, line.find('\n'));
}

class TorchBackend final : public InferenceBackend {
 public:
  TorchBackend(torch::jit::Module module, int threads, bool optimised)
      : module_(std::move(module)), threads_(threads), optimised_(optimised) {}

  std::string name() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return "torchscript (libtorch 1.13, CPU, " + std::to_string(applied_threads_) +
           (applied_threads_ == 1 ? " thread" : " threads") +
           (optimised_ ? ", optimised)" : ")");
  }

  Result<Tensor> Run(const Tensor& input) override {
    if (input.shape.empty() || input.elements() != input.data.size()) {
      return Status(ErrorCode::kInvalidArgument, "input tensor shape does not match its data");
    }
    // One forward at a time per model; the intra-op thread count is process-wide in
    // libtorch, so each model sets its own before running.
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
      applied_threads_ = at::get_num_threads();
      c10::InferenceMode inference;
      auto x = torch::from_blob(const_cast<float*>(input.data.data()), input.shape,
                                torch::kFloat32);
      torch::jit::IValue out = module_.forward({x});
      if (out.isTuple()) out = out.toTuple()->elements().at(0);
      if (!out.isTensor()) {
        return Status(ErrorCode::kUnsupported, "model output is not a tensor");
      }
      auto y = out.toTensor().to(torch::kFloat32).contiguous();
      Tensor result;
      result.shape.assign(y.sizes().begin(), y.sizes().end());
      const float* p = y.data_ptr<float>();
      result.data.assign(p, p + y.numel());
      return result;
    } catch (const c10::Error& e) {
      // Mostly an input the network cannot take (channels, rank, sizes).
      return Status(ErrorCode::kInvalidArgument,
                    "torchscript forward failed: " + Summary(e.what_without_backtrace()));
    } catch (const std::exception& e) {  // torch::jit::JITException from the interpreter
      return Status(ErrorCode::kInvalidArgument,
                    "torchscript forward failed: " + Summary(e.what()));
    }
  }

 private:
  mutable std::mutex mutex_;
  torch::jit::Module module_;
  int threads_;
  int applied_threads_ = 0;
  bool optimised_;
};

}  // namespace
}  // namespace radflow::ai

extern "C" __attribute__((visibility("default"))) radflow::ai::InferenceBackend*
radflow_backend_create(const char* model_path, int threads, char* error, size_t error_size,
                       int* unsupported) {
  using radflow::ai::CopyError;
  if (unsupported != nullptr) *unsupported = 0;
  // Inter-op threads can be set only once, before any inter-op work: one is enough here,
  // the parallelism is intra-op.
  static std::once_flag interop_once;
  std::call_once(interop_once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (...) {
    }
  });
  try {
    at::set_num_threads(threads < 1 ? 1 : threads);
    torch::jit::Module module = torch::jit::load(model_path, torch::kCPU);
    module.eval();
    bool optimised = false;
    // Freezing and fusing (conv + batch norm, MKL-DNN layouts) is several times faster on
    // CPU; some scripted models cannot be frozen, and they still run as they are.
    try {
      module = torch::jit::optimize_for_inference(module);
      optimised = true;
    } catch (const std::exception&) {
    }
    return new radflow::ai::TorchBackend(std::move(module), threads < 1 ? 1 : threads,
                                         optimised);
  } catch (const c10::Error& e) {
    CopyError(std::string("cannot load TorchScript model ") + model_path + ": " +
                  radflow::ai::Summary(e.what_without_backtrace()),
              error, error_size);
  } catch (const std::exception& e) {
    CopyError(std::string("cannot load TorchScript model ") + model_path + ": " +
                  radflow::ai::Summary(e.what()),
              error, error_size);
  }
  return nullptr;
}
