// IBSI chapter 1 compliance on the lung CT PAT1, configurations A-E: every feature row of the
// reference table (z-rad export) must be within the one rule of radiomics/ibsi_reference.h
// (tolerance + half a unit of the last printed digit; docs/ibsi-compliance.md). There are no
// exceptions: any miss fails with its numbers. Prints one summary line per configuration.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
#include "radiomics/ibsi_reference.h"
#include "radiomics/pipeline.h"

namespace radflow::radiomics {

namespace {

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

}  // namespace

class IbsiCompliance : public ::testing::TestWithParam<char> {};

TEST_P(IbsiCompliance, EveryFeatureWithinTolerance) {
  const char config = GetParam();
  auto image = imaging::ReadNifti(Data("dicom/ct_lung_ibsi_pat1/nifti/image/phantom.nii.gz"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto mask = imaging::RasterizeRoi(Data("dicom/ct_lung_ibsi_pat1/dicom/mask/DCM_RS_00060.dcm"),
                                    "GTV-1", image->geometry());
  ASSERT_TRUE(mask.ok()) << mask.status().ToString();
  auto settings = IbsiConfiguration(config);
  ASSERT_TRUE(settings.ok());
  auto extraction = ExtractFeatures(image.value(), mask.value(), settings.value());
  ASSERT_TRUE(extraction.ok()) << extraction.status().ToString();
  std::map<std::string, double> ours;
  for (const auto& f : extraction->features) ours[f.tag] = f.value;

  auto table = ReadIbsiReferenceTable(IbsiReferencePath(RADFLOW_SHARED_DATA, std::string(1, config)));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  std::vector<IbsiReferenceRow> features;  // the diagnostic rows are IbsiChain's
  for (auto& r : table.value()) {
    if (!r.diagnostic()) features.push_back(r);
  }
  ASSERT_GT(features.size(), 200u);
  int within = 0, failed = 0, missing = 0;
  for (const auto& c : CompareWithIbsi(ours, features)) {
    const auto& r = c.reference;
    if (!c.ours) {
      ++missing;
      ADD_FAILURE() << "config " << config << ": no value for " << r.tag << " (reference " << r.printed << ")";
    } else if (c.within) {
      ++within;
    } else {
      ++failed;
      ADD_FAILURE() << "config " << config << " " << r.tag << ": ours " << *c.ours << ", reference "
                    << r.printed << " +- " << r.tolerance << ", |deviation| " << c.deviation
                    << " > allowed " << c.allowed;
    }
  }
  std::printf("IBSI configuration %c: %d of %zu features within tolerance, %d failed, %d missing\n", config,
              within, features.size(), failed, missing);
}

INSTANTIATE_TEST_SUITE_P(Pat1, IbsiCompliance, ::testing::Values('A', 'B', 'C', 'D', 'E'));

}  // namespace radflow::radiomics
