// LoadModel: finds the backend plugin, dlopens it once and asks it for a model. The heavy
// runtimes (libtorch, OpenCV dnn) therefore load only when a model app first runs.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

#include "ai/infer/inference.h"

namespace radflow::ai {
namespace {

using CreateFn = InferenceBackend* (*)(const char* model_path, int threads, char* error,
                                       size_t error_size, int* unsupported);

const char* PluginFile(BackendKind kind) {
  return kind == BackendKind::kTorchScript ? "libradflow_torch.so" : "libradflow_onnx.so";
}

// RADFLOW_PLUGIN_DIR, else the folder of the running executable (the install puts the
// plugins next to the radflow binary).
std::filesystem::path PluginDir() {
  if (const char* dir = std::getenv("RADFLOW_PLUGIN_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(".") : exe.parent_path();
}

// Opens each plugin path once per process; only successes are cached, so a plugin installed
// later (or another RADFLOW_PLUGIN_DIR) is found on the next call. The handle is never
// closed: backend objects and their vtables live in the plugin.
Result<CreateFn> OpenPlugin(BackendKind kind) {
  static std::mutex mutex;
  static std::map<std::string, CreateFn> opened;
  const std::string path = (PluginDir() / PluginFile(kind)).string();
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = opened.find(path); it != opened.end()) return it->second;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status(ErrorCode::kUnsupported,
                  std::string("inference backend plugin not installed: ") + path +
                      " not found (set RADFLOW_PLUGIN_DIR to the folder holding " +
                      PluginFile(kind) + ")");
  }
  // libtorch's OpenMP threads spin while waiting by default; on a CPU shared with other jobs
  // that made 2 threads 10-60x slower than 1 (measured here on 2 busy cores). libgomp reads
  // the policy when it loads, i.e. during this dlopen; an operator's own setting wins.
  if (kind == BackendKind::kTorchScript) setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(ErrorCode::kUnsupported, "cannot load inference backend plugin " + path +
                                               ": " + (why ? why : "unknown dlopen error"));
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, "radflow_backend_create"));
  if (create == nullptr) {
    dlclose(handle);
    return Status(ErrorCode::kUnsupported,
                  "inference backend plugin " + path + " lacks radflow_backend_create");
  }
  opened.emplace(path, create);
  return create;
}

}  // namespace

Result<std::unique_ptr<InferenceBackend>> LoadModel(BackendKind kind, const std::string& model_path,
                                                    const BackendOptions& options) {
  // Checked here so that a wrong path does not cost loading a runtime.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return Status(ErrorCode::kInvalidArgument, "model file not found: " + model_path);
  }
  if (options.threads < 1) {
    return Status(ErrorCode::kInvalidArgument,
                  "threads must be at least 1, got " + std::to_string(options.threads));
  }
  auto create = OpenPlugin(kind);
  if (!create.ok()) return create.status();
  char error[2048] = {0};
  int unsupported = 0;
  InferenceBackend* backend =
      (*create)(model_path.c_str(), options.threads, error, sizeof(error), &unsupported);
  if (backend == nullptr) {
    std::string message = error[0] != '\0' ? error : "model failed to load";
    return Status(unsupported ? ErrorCode::kUnsupported : ErrorCode::kInvalidArgument,
                  std::move(message));
  }
  return std::unique_ptr<InferenceBackend>(backend);
}

}  // namespace radflow::ai
