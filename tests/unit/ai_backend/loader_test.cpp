// LoadModel: plugin discovery and loading, errors for bad input, the threads option.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "ai/infer/inference.h"
#include "reference.h"

namespace radflow::ai {
namespace {

using testing::LoadReference;
using testing::MedianForwardMs;
using testing::ModelPath;

// The shared objects this process has mapped (from /proc/self/maps).
std::set<std::string> MappedLibraries() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  for (std::string line; std::getline(maps, line);) {
    auto slash = line.find('/');
    if (slash != std::string::npos && line.find(".so") != std::string::npos) {
      libs.insert(line.substr(slash));
    }
  }
  return libs;
}

int CountContaining(const std::set<std::string>& libs, const std::string& part) {
  int n = 0;
  for (const auto& lib : libs) n += lib.find(part) != std::string::npos;
  return n;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("radflow_backend_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(BackendLoader, MissingModelFileIsInvalidArgument) {
  for (auto kind : {BackendKind::kTorchScript, BackendKind::kOnnx}) {
    auto backend = LoadModel(kind, "/nonexistent/bone.model", {});
    ASSERT_FALSE(backend.ok());
    EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(backend.status().message().find("/nonexistent/bone.model"), std::string::npos);
  }
}

TEST(BackendLoader, GarbageModelFileIsAnErrorNotACrash) {
  TempDir dir;
  for (auto [kind, file] : {std::pair{BackendKind::kTorchScript, "garbage.pt"},
                            std::pair{BackendKind::kOnnx, "garbage.onnx"}}) {
    const auto path = (dir.path() / file).string();
    std::ofstream(path) << "this is not a model\n" << std::string(300, '\x07');
    auto backend = LoadModel(kind, path, {});
    ASSERT_FALSE(backend.ok()) << file;
    EXPECT_EQ(backend.status().code(), ErrorCode::kInvalidArgument) << file;
    EXPECT_NE(backend.status().message().find(path), std::string::npos)
        << backend.status().message();
    std::printf("%s: %s\n", file, backend.status().ToString().c_str());
  }
  // A truncated real model (half of the ONNX protobuf / TorchScript zip) also fails cleanly.
  for (auto [kind, file] : {std::pair{BackendKind::kTorchScript, "bone2d.pt"},
                            std::pair{BackendKind::kOnnx, "bone2d.onnx"}}) {
    std::ifstream in(ModelPath(file), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto path = (dir.path() / (std::string("truncated_") + file)).string();
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    auto backend = LoadModel(kind, path, {});
    EXPECT_FALSE(backend.ok()) << file;
    std::printf("truncated %s: %s\n", file, backend.status().ToString().c_str());
  }
}

TEST(BackendLoader, MissingPluginIsUnsupportedNamingTheFile) {
  TempDir dir;
  const char* saved = std::getenv("RADFLOW_PLUGIN_DIR");
  const std::string restore = saved ? saved : "";
  setenv("RADFLOW_PLUGIN_DIR", dir.path().c_str(), 1);
  auto torch = LoadModel(BackendKind::kTorchScript, ModelPath("bone2d.pt"), {});
  auto onnx = LoadModel(BackendKind::kOnnx, ModelPath("bone2d.onnx"), {});
  if (saved) {
    setenv("RADFLOW_PLUGIN_DIR", restore.c_str(), 1);
  } else {
    unsetenv("RADFLOW_PLUGIN_DIR");
  }
  ASSERT_FALSE(torch.ok());
  ASSERT_FALSE(onnx.ok());
  EXPECT_EQ(torch.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(onnx.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(torch.status().message().find("libradflow_torch.so"), std::string::npos);
  EXPECT_NE(onnx.status().message().find("libradflow_onnx.so"), std::string::npos);
  std::printf("%s\n", torch.status().ToString().c_str());
}

TEST(BackendLoader, ThreadsOptionIsHonoured) {
  auto ref = LoadReference("bone3d");
  for (auto [kind, model] : {std::pair{BackendKind::kTorchScript, "bone3d.pt"},
                             std::pair{BackendKind::kOnnx, "bone2d.onnx"}}) {
    const Tensor input = kind == BackendKind::kOnnx ? LoadReference("bone2d").input : ref.input;
    double ms[3] = {0, 0, 0};
    for (int threads : {1, 2}) {
      auto backend = LoadModel(kind, ModelPath(model), BackendOptions{.threads = threads});
      ASSERT_TRUE(backend.ok()) << backend.status().ToString();
      ms[threads] = MedianForwardMs(**backend, input);
      // name() reports the runtime's own thread count, read back after setting it.
      const std::string expected = threads == 1 ? ", 1 thread" : ", 2 threads";
      EXPECT_NE((*backend)->name().find(expected), std::string::npos) << (*backend)->name();
    }
    std::printf("%s: forward %.1f ms with 1 thread, %.1f ms with 2 threads\n", model, ms[1],
                ms[2]);
  }
  EXPECT_FALSE(LoadModel(BackendKind::kOnnx, ModelPath("bone2d.onnx"), {.threads = 0}).ok());
}

// Runs in a fresh process (threadsafe death tests re-execute the binary), so that nothing
// is loaded yet: the runtime loads on the first model only, and once.
TEST(BackendLoader, PluginLoadsLazilyAndOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto before = MappedLibraries();
        if (CountContaining(before, "libtorch_cpu") != 0) std::exit(2);
        if (CountContaining(before, "libradflow_torch.so") != 0) std::exit(3);
        auto first = LoadModel(BackendKind::kTorchScript, ModelPath("bone2d.pt"), {});
        if (!first.ok()) std::exit(4);
        auto after_first = MappedLibraries();
        if (CountContaining(after_first, "libradflow_torch.so") != 1) std::exit(5);
        if (CountContaining(after_first, "libtorch_cpu") != 1) std::exit(6);
        for (int i = 0; i < 3; ++i) {
          auto again = LoadModel(BackendKind::kTorchScript, ModelPath("bone3d.pt"), {});
          if (!again.ok() || !(*again)->Run(LoadReference("bone3d").input).ok()) std::exit(7);
        }
        if (MappedLibraries() != after_first) std::exit(8);
        // (libtorch itself links OpenCV, so only the ONNX plugin is known to stay out.)
        if (CountContaining(after_first, "libradflow_onnx.so") != 0) std::exit(9);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace radflow::ai
