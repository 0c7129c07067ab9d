#include "cli/register_command.h"

#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/series_arg.h"
#include "imaging/series_volume.h"
#include "registration/registration.h"

namespace radflow::cli {
namespace {

Result<imaging::ImageVolume> LoadVolume(const std::string& series, const RegisterCommandOptions& o) {
  std::shared_ptr<void> store;  // keeps the files readable (S3: its read cache) while they load
  auto files = SeriesFiles(series, o.data, "registering", o.index, o.storage, o.s3_endpoint, &store);
  if (!files.ok()) return files.status();
  auto loaded = imaging::LoadSeries(files.value());
  if (!loaded.ok()) return Status(loaded.status().code(), series + ": " + loaded.status().message());
  return std::move(loaded->volume);
}

}  // namespace

int RunRegister(const RegisterCommandOptions& o) {
  auto fixed = LoadVolume(o.fixed, o);
  if (!fixed.ok()) return Fail(fixed.status());
  auto moving = LoadVolume(o.moving, o);
  if (!moving.ok()) return Fail(moving.status());
  registration::Options options;
  options.affine = !o.rigid_only;
  options.threads = o.threads;
  auto r = registration::Register(fixed.value(), moving.value(), options);
  if (!r.ok()) return Fail(r.status());
  if (!o.out.empty()) {
    Status written = registration::WriteTransformFile(r.value(), o.out);
    if (!written.ok()) return Fail(written);
  }
  nlohmann::json matrix = nlohmann::json::array();
  for (int row = 0; row < 4; ++row) {
    matrix.push_back({r->matrix[4 * row], r->matrix[4 * row + 1], r->matrix[4 * row + 2], r->matrix[4 * row + 3]});
  }
  nlohmann::ordered_json out = {{"matrix", matrix},
                        {"metric", r->metric},
                        {"overlap", r->overlap},
                        {"iterations", r->iterations},
                        {"stages", r->stages},
                        {"transform_file", o.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.out)}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace radflow::cli
