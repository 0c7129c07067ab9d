// Post-processing of the model app: network output → label map → segments (model_steps.h).
#include <algorithm>
#include <cmath>

#include "ai/codes.h"
#include "ai/infer/model_steps.h"
#include "imaging/resample.h"

namespace radflow::ai::model_app {

Result<LabelMap> ToLabels(const std::vector<imaging::ImageVolume>& output, const Postprocess& post) {
  if (output.empty()) return Result<LabelMap>(ErrorCode::kInvalidArgument, "model output has no channels");
  const imaging::Geometry& g = output[0].geometry();
  const size_t channels = output.size();
  LabelMap map;
  map.labels = imaging::Mask(g, 0);
  map.probability = imaging::ImageVolume(g, 0.0f);
  auto& labels = map.labels.data();
  auto& prob = map.probability.data();
  const size_t n = labels.size();
  if (post.op == "argmax") {
    if (channels < 2 || channels > 256) {
      return Result<LabelMap>(ErrorCode::kInvalidArgument,
                              "postprocess.op argmax needs 2..256 channels, the model gave " +
                                  std::to_string(channels));
    }
    map.label_count = int(channels) - 1;
    for (size_t i = 0; i < n; ++i) {
      size_t best = 0;
      float top = output[0].data()[i];
      for (size_t c = 1; c < channels; ++c) {
        if (output[c].data()[i] > top) top = output[c].data()[i], best = c;
      }
      double denom = 0;  // softmax, shifted by the maximum for stability
      for (size_t c = 0; c < channels; ++c) denom += std::exp(double(output[c].data()[i]) - top);
      labels[i] = uint8_t(best);
      prob[i] = float(1.0 / denom);
    }
  } else if (post.op == "threshold") {
    if (channels != 1) {
      return Result<LabelMap>(ErrorCode::kInvalidArgument,
                              "postprocess.op threshold needs 1 channel, the model gave " +
                                  std::to_string(channels));
    }
    map.label_count = 1;
    const auto& v = output[0].data();
    for (size_t i = 0; i < n; ++i) {
      const double p = post.sigmoid ? 1.0 / (1.0 + std::exp(-double(v[i]))) : double(v[i]);
      labels[i] = p >= post.threshold ? 1 : 0;
      prob[i] = float(p);
    }
  } else {
    return Result<LabelMap>(ErrorCode::kInvalidArgument, "postprocess.op: unknown '" + post.op + "'");
  }
  return map;
}

LabelMap ResampleLabels(const LabelMap& map, const imaging::Geometry& target) {
  imaging::ImageVolume as_float(map.labels.geometry());
  std::copy(map.labels.data().begin(), map.labels.data().end(), as_float.data().begin());
  // Edges extended: the aligned-centre grids cover the same box, but their outermost voxel
  // centres differ by up to half a voxel.
  const auto labels = imaging::Resample(as_float, target, imaging::Interpolation::kNearest, 0, true);
  LabelMap out;
  out.label_count = map.label_count;
  out.labels = imaging::Mask(target, 0);
  for (size_t i = 0; i < labels.data().size(); ++i) {
    out.labels.data()[i] = uint8_t(std::lround(labels.data()[i]));
  }
  out.probability = imaging::Resample(map.probability, target, imaging::Interpolation::kLinear, 0, true);
  return out;
}

std::string LabelText(const Postprocess& post, int label) {
  if (label >= 1 && size_t(label) <= post.labels.size() && !post.labels[size_t(label) - 1].empty()) {
    return post.labels[size_t(label) - 1];
  }
  return "label " + std::to_string(label);
}

std::vector<SegmentOutput> MakeSegments(const imaging::Mask& labels, int label_count,
                                        const Postprocess& post, std::vector<int>* segment_of_label) {
  std::vector<size_t> counts(size_t(label_count) + 1, 0);
  for (uint8_t l : labels.data()) {
    if (l <= label_count) ++counts[l];
  }
  if (segment_of_label) segment_of_label->assign(size_t(label_count) + 1, 0);
  std::vector<SegmentOutput> segments;
  for (int l = 1; l <= label_count; ++l) {
    if (counts[size_t(l)] == 0) continue;
    SegmentOutput s;
    s.label = LabelText(post, l);
    // PS3.3 C.8.20.2: SegmentedPropertyCategory / Type (CID 7150 / 7151).
    if (post.finding_type.empty()) {
      s.category = codes::kAnatomicalStructure;
      s.type = codes::kBodyStructure;
    } else {
      s.category = codes::kMorphologicallyAltered;
      s.type = post.finding_type;
    }
    s.mask = imaging::Mask(labels.geometry(), 0);
    auto& m = s.mask.data();
    for (size_t i = 0; i < m.size(); ++i) m[i] = labels.data()[i] == l ? 1 : 0;
    segments.push_back(std::move(s));
    if (segment_of_label) (*segment_of_label)[size_t(l)] = int(segments.size());
  }
  return segments;
}

}  // namespace radflow::ai::model_app
