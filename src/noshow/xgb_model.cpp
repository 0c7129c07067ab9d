// Training and prediction with XGBoost's C API (xgboost/c_api.h, libxgboost 1.7). The model
// file is XGBoost's JSON model; the feature names and the neighbourhood encoding ride in it
// as the learner attribute "radflow_noshow", so one file is the whole model.
#include <xgboost/c_api.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>

#include "noshow/noshow.h"

namespace radflow::noshow {

namespace {

constexpr char kAttr[] = "radflow_noshow";

Status XgbError(const std::string& what) {
  return Status(ErrorCode::kInternal, what + ": " + XGBGetLastError());
}

// Owns a handle and frees it with XGBoost's matching function.
struct MatrixHandle {
  DMatrixHandle h = nullptr;
  ~MatrixHandle() {
    if (h) XGDMatrixFree(h);
  }
};

Result<std::unique_ptr<MatrixHandle>> MakeMatrix(const std::vector<float>& data, size_t rows) {
  auto m = std::make_unique<MatrixHandle>();
  const size_t cols = FeatureNames().size();
  if (XGDMatrixCreateFromMat(data.data(), rows, cols, std::nanf(""), &m->h) != 0) return XgbError("XGDMatrixCreateFromMat");
  return m;
}

class XgbModel final : public Model {
 public:
  XgbModel(BoosterHandle booster, Encoding enc) : booster_(booster), enc_(std::move(enc)) {}
  ~XgbModel() override { XGBoosterFree(booster_); }
  const Encoding& encoding() const override { return enc_; }

  double Risk(const AppointmentFeatures& a) const override {
    const std::vector<double> r = RiskMany({a});
    return r.empty() ? -1 : r[0];
  }

  std::vector<double> RiskMany(const std::vector<AppointmentFeatures>& rows) const override {
    if (rows.empty()) return {};
    std::vector<float> data;
    data.reserve(rows.size() * FeatureNames().size());
    for (const auto& a : rows) {
      const std::vector<float> v = FeatureVector(a, enc_);
      data.insert(data.end(), v.begin(), v.end());
    }
    auto m = MakeMatrix(data, rows.size());
    if (!m.ok()) return std::vector<double>(rows.size(), -1);
    std::lock_guard<std::mutex> lock(mu_);  // one prediction at a time on this booster
    bst_ulong len = 0;
    const float* out = nullptr;
    if (XGBoosterPredict(booster_, m.value()->h, 0, 0, 0, &len, &out) != 0 || len != rows.size()) {
      return std::vector<double>(rows.size(), -1);
    }
    return std::vector<double>(out, out + len);
  }

  Status Save(const std::string& path) const override {
    std::lock_guard<std::mutex> lock(mu_);
    bst_ulong len = 0;
    const char* buf = nullptr;
    if (XGBoosterSaveModelToBuffer(booster_, R"({"format":"json"})", &len, &buf) != 0) {
      return XgbError("XGBoosterSaveModelToBuffer");
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Status(ErrorCode::kIoError, path + ": cannot be written");
    out.write(buf, static_cast<std::streamsize>(len));
    out.close();
    if (!out) return Status(ErrorCode::kIoError, path + ": write failed");
    return Status::Ok();
  }

  Status AttachEncoding() {
    nlohmann::json j;
    j["features"] = FeatureNames();
    j["prior"] = enc_.prior;
    j["neighbourhood"] = enc_.neighbourhood;
    if (XGBoosterSetAttr(booster_, kAttr, j.dump().c_str()) != 0) return XgbError("XGBoosterSetAttr");
    return Status::Ok();
  }

 private:
  BoosterHandle booster_;
  Encoding enc_;
  mutable std::mutex mu_;
};

Status SetParams(BoosterHandle b, const TrainParams& p) {
  const std::vector<std::pair<std::string, std::string>> params = {
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"eta", std::to_string(p.eta)},
      {"max_depth", std::to_string(p.max_depth)},
      {"min_child_weight", std::to_string(p.min_child_weight)},
      {"subsample", std::to_string(p.subsample)},
      {"colsample_bytree", std::to_string(p.colsample_bytree)},
      {"lambda", std::to_string(p.lambda)},
      {"nthread", std::to_string(p.threads)},
      {"seed", std::to_string(p.seed)},
      {"verbosity", "0"},
  };
  for (const auto& [k, v] : params) {
    if (XGBoosterSetParam(b, k.c_str(), v.c_str()) != 0) return XgbError("XGBoosterSetParam " + k);
  }
  return Status::Ok();
}

}  // namespace

Encoding FitEncoding(const std::vector<Appointment>& train, double smoothing) {
  Encoding enc;
  if (train.empty()) return enc;
  double positives = 0;
  std::map<std::string, std::pair<double, double>> counts;  // name → (no-shows, rows)
  for (const auto& r : train) {
    positives += r.no_show ? 1 : 0;
    auto& c = counts[r.features.neighbourhood];
    c.first += r.no_show ? 1 : 0;
    c.second += 1;
  }
  enc.prior = positives / static_cast<double>(train.size());
  for (const auto& [name, c] : counts) enc.neighbourhood[name] = (c.first + smoothing * enc.prior) / (c.second + smoothing);
  return enc;
}

Result<std::unique_ptr<Model>> Train(const std::vector<Appointment>& rows, const TrainParams& params) {
  if (rows.empty()) return Status(ErrorCode::kInvalidArgument, "no training rows");
  if (params.rounds < 1) return Status(ErrorCode::kInvalidArgument, "rounds must be at least 1");
  // The neighbourhood target encoding from these (training) rows only.
  Encoding enc = FitEncoding(rows, params.encoding_smoothing);
  std::vector<float> data, label;
  data.reserve(rows.size() * FeatureNames().size());
  for (const auto& r : rows) {
    const std::vector<float> v = FeatureVector(r.features, enc);
    data.insert(data.end(), v.begin(), v.end());
    label.push_back(r.no_show ? 1.f : 0.f);
  }
  auto m_train = MakeMatrix(data, rows.size());
  if (!m_train.ok()) return m_train.status();
  DMatrixHandle dtrain = m_train.value()->h;
  if (XGDMatrixSetFloatInfo(dtrain, "label", label.data(), label.size()) != 0) return XgbError("XGDMatrixSetFloatInfo");
  BoosterHandle booster = nullptr;
  if (XGBoosterCreate(&dtrain, 1, &booster) != 0) return XgbError("XGBoosterCreate");
  auto model = std::make_unique<XgbModel>(booster, std::move(enc));  // frees the booster on error
  RADFLOW_RETURN_IF_ERROR(SetParams(booster, params));
  for (int it = 0; it < params.rounds; ++it) {
    if (XGBoosterUpdateOneIter(booster, it, dtrain) != 0) return XgbError("XGBoosterUpdateOneIter");
  }
  RADFLOW_RETURN_IF_ERROR(model->AttachEncoding());
  return std::unique_ptr<Model>(std::move(model));
}

Result<std::unique_ptr<Model>> Model::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string bytes = text.str();
  if (bytes.empty()) return Status(ErrorCode::kInvalidArgument, path + ": empty model file");
  BoosterHandle booster = nullptr;
  if (XGBoosterCreate(nullptr, 0, &booster) != 0) return XgbError("XGBoosterCreate");
  if (XGBoosterLoadModelFromBuffer(booster, bytes.data(), bytes.size()) != 0) {
    Status st = Status(ErrorCode::kInvalidArgument, path + ": not an XGBoost model: " + XGBGetLastError());
    XGBoosterFree(booster);
    return st;
  }
  const char* attr = nullptr;
  int found = 0;
  if (XGBoosterGetAttr(booster, kAttr, &attr, &found) != 0 || !found || !attr) {
    XGBoosterFree(booster);
    return Status(ErrorCode::kInvalidArgument, path + ": an XGBoost model without radflow's no-show encoding "
                                                      "(made by `radflow noshow train`?)");
  }
  Encoding enc;
  const nlohmann::json j = nlohmann::json::parse(attr, nullptr, false);
  if (j.is_discarded() || !j.contains("features") || j["features"] != nlohmann::json(FeatureNames()) ||
      !j.contains("prior") || !j["prior"].is_number() || !j.contains("neighbourhood") || !j["neighbourhood"].is_object()) {
    XGBoosterFree(booster);
    return Status(ErrorCode::kInvalidArgument, path + ": the model's feature list differs from this radflow's "
                                                      "(retrain with `radflow noshow train`)");
  }
  enc.prior = j["prior"].get<double>();
  for (const auto& [k, v] : j["neighbourhood"].items()) {
    if (v.is_number()) enc.neighbourhood[k] = v.get<double>();
  }
  // Prediction settings only; a failure leaves XGBoost's defaults, which also work.
  (void)XGBoosterSetParam(booster, "nthread", "1");
  (void)XGBoosterSetParam(booster, "verbosity", "0");
  return std::unique_ptr<Model>(std::make_unique<XgbModel>(booster, std::move(enc)));
}

}  // namespace radflow::noshow
