// Google Benchmark: the full IBSI feature set (all families, all aggregations) for the lung
// CT PAT1 under IBSI configuration E (issue 4). Loading is outside the timed loop.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
#include "radiomics/pipeline.h"

namespace {

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

void ConfigE(benchmark::State& state) {
  auto image = radflow::imaging::ReadNifti(Data("dicom/ct_lung_ibsi_pat1/nifti/image/phantom.nii.gz"));
  auto mask = radflow::imaging::RasterizeRoi(Data("dicom/ct_lung_ibsi_pat1/dicom/mask/DCM_RS_00060.dcm"),
                                             "GTV-1", image->geometry());
  auto settings = radflow::radiomics::IbsiConfiguration(state.range(0) ? 'E' : 'C');
  size_t features = 0;
  for (auto _ : state) {
    auto r = radflow::radiomics::ExtractFeatures(image.value(), mask.value(), settings.value());
    features = r->features.size();
    benchmark::DoNotOptimize(r);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["features"] = double(features);
  state.counters["peak_rss_MiB"] = double(ru.ru_maxrss) / 1024.0;
}
BENCHMARK(ConfigE)->Arg(1)->ArgName("configE")->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
