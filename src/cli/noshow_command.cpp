// `radflow noshow train|evaluate` (docs/noshow.md): builds the no-show model file from an
// appointment table, and measures it on the temporal split.
#include "cli/noshow_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "noshow/noshow.h"

namespace radflow::cli {

namespace {

struct NoshowCliOptions {
  std::string table, out, format = "text", features_out;
  noshow::TrainParams params;
};

int Fail(const std::string& message) {
  std::cerr << "radflow noshow: " << message << "\n";
  return 1;
}

Status CheckParams(const noshow::TrainParams& p) {
  if (p.rounds < 1 || p.rounds > 100000) return Status(ErrorCode::kInvalidArgument, "--rounds must be 1..100000");
  if (p.threads < 1 || p.threads > 256) return Status(ErrorCode::kInvalidArgument, "--threads must be 1..256");
  if (!(p.eta > 0 && p.eta <= 1)) return Status(ErrorCode::kInvalidArgument, "--eta must be in (0, 1]");
  if (p.max_depth < 1 || p.max_depth > 20) return Status(ErrorCode::kInvalidArgument, "--max-depth must be 1..20");
  if (!(p.min_child_weight >= 0)) return Status(ErrorCode::kInvalidArgument, "--min-child-weight must be >= 0");
  return Status::Ok();
}

int RunTrain(const NoshowCliOptions& o) {
  if (Status st = CheckParams(o.params); !st.ok()) return Fail(st.message());
  auto rows = noshow::ReadAppointmentTable(o.table);
  if (!rows.ok()) return Fail(rows.status().message());
  auto model = noshow::Train(rows.value(), o.params);
  if (!model.ok()) return Fail(model.status().message());
  if (Status st = model.value()->Save(o.out); !st.ok()) return Fail(st.message());
  std::cout << "trained on " << rows.value().size() << " appointments; model written to " << o.out << "\n";
  return 0;
}

// Every row's features, split and label (and the model's risk on the test part), so that a
// peer (bench/noshow_bench.py) fits on exactly the same matrix and split.
Status WriteFeatures(const std::string& path, const std::vector<noshow::Appointment>& rows,
                     const noshow::Evaluation& ev) {
  const noshow::Encoding& enc = ev.encoding;  // the evaluated model's own
  std::vector<double> risk(rows.size(), -1);
  for (size_t k = 0; k < ev.test_index.size(); ++k) risk[ev.test_index[k]] = ev.test_scores[k];
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(ErrorCode::kIoError, path + ": cannot be written");
  out << "split,no_show";
  for (const auto& n : noshow::FeatureNames()) out << "," << n;
  out << ",radflow_risk\n";
  char buf[32];
  for (size_t i = 0; i < rows.size(); ++i) {
    out << (rows[i].day < ev.cut_day ? "train" : "test") << "," << (rows[i].no_show ? 1 : 0);
    for (float v : noshow::FeatureVector(rows[i].features, enc)) {
      if (v != v) {
        out << ",";  // missing
      } else {
        std::snprintf(buf, sizeof buf, ",%.9g", static_cast<double>(v));
        out << buf;
      }
    }
    if (risk[i] >= 0) {
      std::snprintf(buf, sizeof buf, ",%.9g\n", risk[i]);
      out << buf;
    } else {
      out << ",\n";
    }
  }
  out.close();
  if (!out) return Status(ErrorCode::kIoError, path + ": write failed");
  return Status::Ok();
}

int RunEvaluate(const NoshowCliOptions& o) {
  if (o.format != "json" && o.format != "text") return Fail("--format must be json or text, not '" + o.format + "'");
  if (Status st = CheckParams(o.params); !st.ok()) return Fail(st.message());
  const auto t0 = std::chrono::steady_clock::now();
  auto rows = noshow::ReadAppointmentTable(o.table);
  if (!rows.ok()) return Fail(rows.status().message());
  auto ev = noshow::EvaluateTemporal(rows.value(), o.params);
  if (!ev.ok()) return Fail(ev.status().message());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const noshow::Evaluation& e = ev.value();
  if (!o.features_out.empty()) {
    if (Status st = WriteFeatures(o.features_out, rows.value(), e); !st.ok()) {
      return Fail(st.message());
    }
  }
  if (o.format == "json") {
    nlohmann::ordered_json j;
    j["roc_auc"] = e.roc_auc;
    j["pr_auc"] = e.pr_auc;
    j["brier"] = e.brier;
    j["train_rows"] = e.train_rows;
    j["test_rows"] = e.test_rows;
    j["cut_date"] = e.cut_date;
    j["test_no_show_rate"] = e.test_no_show_rate;
    j["mean_predicted"] = e.mean_predicted;
    j["features"] = noshow::FeatureNames();
    j["rounds"] = o.params.rounds;
    j["threads"] = o.params.threads;
    j["train_seconds"] = e.train_seconds;
    j["seconds"] = seconds;
    nlohmann::ordered_json bins = nlohmann::ordered_json::array();
    for (const auto& b : e.calibration) {
      bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"mean_predicted", b.mean_predicted},
                      {"observed_rate", b.observed_rate}});
    }
    j["calibration"] = std::move(bins);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("temporal split at %s: %d training, %d test appointments\n", e.cut_date.c_str(), e.train_rows,
              e.test_rows);
  std::printf("ROC AUC %.4f  PR AUC %.4f  Brier %.4f  (test no-show rate %.3f, mean risk %.3f)\n", e.roc_auc,
              e.pr_auc, e.brier, e.test_no_show_rate, e.mean_predicted);
  std::printf("calibration (predicted risk bin: appointments, mean predicted, observed):\n");
  for (const auto& b : e.calibration) {
    if (b.count == 0) continue;
    std::printf("  %.1f-%.1f  %6d  %.3f  %.3f\n", b.lo, b.hi, b.count, b.mean_predicted, b.observed_rate);
  }
  std::printf("%.1f s (training %.1f s, %d rounds, %d threads)\n", seconds, e.train_seconds, o.params.rounds,
              o.params.threads);
  return 0;
}

void AddParams(CLI::App* cmd, NoshowCliOptions& o) {
  cmd->add_option("--table", o.table, "appointment CSV (Kaggle no-show columns)")->required();
  cmd->add_option("--rounds", o.params.rounds, "boosting rounds")->capture_default_str();
  cmd->add_option("--threads", o.params.threads, "XGBoost threads")->capture_default_str();
  cmd->add_option("--eta", o.params.eta, "learning rate")->capture_default_str();
  cmd->add_option("--max-depth", o.params.max_depth, "tree depth")->capture_default_str();
  cmd->add_option("--min-child-weight", o.params.min_child_weight, "XGBoost min_child_weight")->capture_default_str();
}

}  // namespace

void AddNoshowCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<NoshowCliOptions>();
  auto* noshow = app.add_subcommand("noshow", "the no-show risk model (docs/noshow.md)");
  noshow->require_subcommand(1);

  auto* train = noshow->add_subcommand("train", "train the model on a whole table and write the model file");
  AddParams(train, *o);
  train->add_option("--out", o->out, "model file to write")->required();
  train->callback([o, &run] { run = [o] { return RunTrain(*o); }; });

  auto* evaluate = noshow->add_subcommand(
      "evaluate", "train on the days before the 75th percentile of AppointmentDay, test on the rest");
  AddParams(evaluate, *o);
  evaluate->add_option("--format", o->format, "text | json")->capture_default_str();
  evaluate->add_option("--features-out", o->features_out,
                       "also write every row's split, label, features and test risk as CSV");
  evaluate->callback([o, &run] { run = [o] { return RunEvaluate(*o); }; });
}

}  // namespace radflow::cli
