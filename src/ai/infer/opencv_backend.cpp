// The ONNX backend plugin (libradflow_onnx.so): OpenCV 4.6 dnn, OPENCV backend on the CPU.
// OpenCV 4.6 runs 2D networks; some 3-D operators import but fail at the first forward, or
// fail at import. Those models are refused at load time with an error naming the layer,
// so that a job fails at once with a clear message instead of at its first tile.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

#include "ai/infer/inference.h"

namespace radflow::ai {
namespace {

constexpr const char* kUseTorch = "; use the torchscript runner";

void CopyError(const std::string& message, char* error, size_t error_size) {
  if (error == nullptr || error_size == 0) return;
  std::snprintf(error, error_size, "%s", message.c_str());
}

// cv::Exception::what() holds "OpenCV(4.6.0) file:line: error: (-2:...) message in function
// ..."; `err` is the message alone (for the ONNX importer it names the node).
std::string Describe(const cv::Exception& e) { return e.err.empty() ? e.what() : e.err; }

// The importer names layers "onnx_node!<ONNX node name>"; the node name is what the
// exporter (and Netron) shows.
std::string NodeName(const std::string& layer) {
  constexpr std::string_view kPrefix = "onnx_node!";
  return layer.rfind(kPrefix, 0) == 0 ? layer.substr(kPrefix.size()) : layer;
}

// An importer failure names the node: "> Node [Resize@ai.onnx]:(onnx_node!/Resize) parse
// error: ... > > HCHW layout is expected ..., where" → "node '/Resize' (Resize) cannot be
// imported by OpenCV dnn 4.6.0 (HCHW layout is expected ...)".
std::optional<std::string> FailedNode(const std::string& text) {
  const auto node = text.find("Node [");
  const auto bang = text.find("onnx_node!", node == std::string::npos ? 0 : node);
  if (node == std::string::npos || bang == std::string::npos) return std::nullopt;
  const auto op_begin = node + 6;
  const std::string op = text.substr(op_begin, text.find_first_of("@]", op_begin) - op_begin);
  const auto name_begin = bang + 10;
  const std::string name = text.substr(name_begin, text.find(')', name_begin) - name_begin);
  std::string reason;
  if (auto r = text.find("> > ", name_begin); r != std::string::npos) {
    reason = text.substr(r + 4, text.find('\n', r) - r - 4);
    if (reason.size() > 7 && reason.ends_with(", where")) reason.resize(reason.size() - 7);
  }
  return "node '" + name + "' (" + op + ") cannot be imported by OpenCV dnn " CV_VERSION +
         (reason.empty() ? "" : " (" + reason + ")");
}

// A layer OpenCV 4.6 imports but cannot run on the CPU backend, or nullopt.
std::optional<std::string> UnsupportedLayer(cv::dnn::Net& net) {
  for (const std::string& layer_name : net.getLayerNames()) {
    const std::string name = NodeName(layer_name);
    cv::Ptr<cv::dnn::Layer> layer = net.getLayer(net.getLayerId(layer_name));
    if (!layer) continue;
    const bool weights_5d = !layer->blobs.empty() && layer->blobs[0].dims == 5;
    if (layer->type == "Deconvolution" && weights_5d) {
      return "layer '" + name + "' (3-D transposed convolution)";
    }
    // Average pooling over 3 spatial axes (PoolingLayer::type 1 is AVE in 4.6).
    if (auto pool = layer.dynamicCast<cv::dnn::PoolingLayer>();
        pool && pool->type == 1 && pool->kernel_size.size() == 3) {
      return "layer '" + name + "' (3-D average pooling)";
    }
  }
  return std::nullopt;
}

class OpenCvBackend final : public InferenceBackend {
 public:
  OpenCvBackend(cv::dnn::Net net, int threads) : net_(std::move(net)), threads_(threads) {}

  std::string name() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return "onnx (OpenCV " CV_VERSION " dnn, CPU, " + std::to_string(applied_threads_) +
           (applied_threads_ == 1 ? " thread)" : " threads)");
  }

  Result<Tensor> Run(const Tensor& input) override {
    if (input.shape.empty() || input.elements() != input.data.size()) {
      return Status(ErrorCode::kInvalidArgument, "input tensor shape does not match its data");
    }
    std::vector<int> sizes(input.shape.begin(), input.shape.end());
    // cv::dnn::Net is not thread-safe, and cv::setNumThreads is process-wide.
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      if (cv::getNumThreads() != threads_) cv::setNumThreads(threads_);
      applied_threads_ = cv::getNumThreads();
      // A header over the caller's data: setInput copies it into the network's blob.
      cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F,
                   const_cast<float*>(input.data.data()));
      net_.setInput(blob);
      cv::Mat out = net_.forward();
      if (!out.isContinuous()) out = out.clone();
      Tensor result;
      for (int i = 0; i < out.dims; ++i) result.shape.push_back(out.size[i]);
      const float* p = out.ptr<float>();
      result.data.assign(p, p + out.total());
      return result;
    } catch (const cv::Exception& e) {
      return Status(ErrorCode::kInvalidArgument, "ONNX forward failed: " + Describe(e));
    } catch (const std::exception& e) {
      return Status(ErrorCode::kInternal, std::string("ONNX forward failed: ") + e.what());
    }
  }

 private:
  mutable std::mutex mutex_;
  cv::dnn::Net net_;
  int threads_;
  int applied_threads_ = 0;
};

}  // namespace
}  // namespace radflow::ai

extern "C" __attribute__((visibility("default"))) radflow::ai::InferenceBackend*
radflow_backend_create(const char* model_path, int threads, char* error, size_t error_size,
                       int* unsupported) {
  using radflow::ai::CopyError;
  if (unsupported != nullptr) *unsupported = 0;
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(model_path);
  } catch (const cv::Exception& e) {
    std::string why = radflow::ai::Describe(e);
    // Import of an operator the 4.6 importer lacks (5-D Resize, Expand, ...): the node is
    // named in the exception text. A file that is not ONNX fails in protobuf parsing.
    const bool parse_error = why.find("Failed to parse") != std::string::npos ||
                             why.find("ReadProtoFromBinaryFile") != std::string::npos;
    if (parse_error) {
      CopyError(std::string("not a readable ONNX model: ") + model_path + ": " + why, error,
                error_size);
      return nullptr;
    }
    if (unsupported != nullptr) *unsupported = 1;
    auto failure = radflow::ai::FailedNode(why);
    if (!failure) {
      failure = "cannot be imported by OpenCV dnn " CV_VERSION " (" +
                why.substr(0, why.find('\n')) + ")";
    }
    CopyError("ONNX model: " + *failure + radflow::ai::kUseTorch, error, error_size);
    return nullptr;
  }
  if (net.empty()) {
    CopyError(std::string("not a readable ONNX model: ") + model_path, error, error_size);
    return nullptr;
  }
  try {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    if (auto layer = radflow::ai::UnsupportedLayer(net)) {
      if (unsupported != nullptr) *unsupported = 1;
      CopyError("ONNX model: " + *layer + " is not supported by OpenCV dnn " CV_VERSION +
                    std::string(radflow::ai::kUseTorch),
                error, error_size);
      return nullptr;
    }
    cv::setNumThreads(threads < 1 ? 1 : threads);
    return new radflow::ai::OpenCvBackend(std::move(net), threads < 1 ? 1 : threads);
  } catch (const cv::Exception& e) {
    CopyError(std::string("cannot prepare ONNX model ") + model_path + ": " +
                  radflow::ai::Describe(e),
              error, error_size);
  }
  return nullptr;
}
