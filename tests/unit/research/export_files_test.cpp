// findings.csv, manifest.json, SHA-256 and the tar stream of an export (docs/research.md).
#include "research/export_files.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "../test_data.h"
#include "research/ibsi_features.h"
#include "research/tar_stream.h"

namespace radflow::research {
namespace {

std::vector<std::string> Lines(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t p; (p = csv.find("\r\n", start)) != std::string::npos; start = p + 2) out.push_back(csv.substr(start, p - start));
  EXPECT_EQ(start, csv.size()) << "every line ends with CRLF";
  return out;
}

TEST(FindingsCsv, HeaderKeysAndIbsiColumns) {
  FindingCsvRow r;
  r.patient = "RF0123456789ABCDEF";
  r.study = "2.25.1";
  r.series = "2.25.2";
  r.finding = 1;
  r.app = "ct-lung-lesions";
  r.app_version = "1.1.0";
  r.type_code = "27925004^SCT";
  r.type_meaning = "Nodule";
  r.label = "solid nodule, \"6\" mm";  // quoted, quotes doubled (RFC 4180)
  r.size_mm = 6.5;
  r.volume_ml = 0.25;
  r.severity = "low";
  r.features_source = "ibsi";
  r.ibsi.assign(IbsiFeatureNames().size(), std::numeric_limits<double>::quiet_NaN());
  r.ibsi[0] = 250;
  r.measurements = {{"Long Axis [mm]", 6.5}, {"Mean [[hnsf'U]]", -20}};
  FindingCsvRow no_features = r;
  no_features.measurements = {{"Volume [ml]", 0.25}};
  no_features.finding = 2;
  no_features.ibsi.clear();
  no_features.features_source.clear();
  no_features.label = "plain";
  const auto lines = Lines(FindingsCsv({r, no_features}));
  const auto columns = FindingsCsvColumns({r, no_features});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("patient,study,series,finding,app,app_version,type_code,type,label,site,", 0), 0u);
  EXPECT_NE(lines[0].find(",morph_volume,morph_pca_maj_axis,morph_sphericity,"), std::string::npos);
  // The measurement columns after the IBSI ones, in order of first appearance.
  EXPECT_EQ(lines[0].substr(lines[0].size() - 52), ",stat_p90,Long Axis [mm],Mean [[hnsf'U]],Volume [ml]");
  ASSERT_EQ(columns.size(), FindingsCsvColumns().size() + 3);
  EXPECT_EQ(lines[1].rfind("RF0123456789ABCDEF,2.25.1,2.25.2,1,ct-lung-lesions,1.1.0,27925004^SCT,Nodule,"
                           "\"solid nodule, \"\"6\"\" mm\",,0,0,0,6.5,0.25,0,low,,ibsi,250,", 0), 0u)
      << lines[1];
  // Every row has the header's number of cells (NaN and absent features are blank).
  EXPECT_EQ(static_cast<size_t>(std::count(lines[0].begin(), lines[0].end(), ',')) + 1, columns.size());
  EXPECT_EQ(static_cast<size_t>(std::count(lines[2].begin(), lines[2].end(), ',')) + 1, columns.size());
  EXPECT_EQ(lines[1].substr(lines[1].size() - 9), ",6.5,-20,");  // no volume measurement in row 1
  // Row 2: features_source and the 11 features blank, no long axis nor mean, its volume.
  EXPECT_EQ(lines[2].substr(lines[2].size() - 19), ",,,,,,,,,,,,,,,0.25");
}

TEST(Manifest, OptionsCodesCountsAndFiles) {
  ManifestInput in;
  in.radflow_version = "0.1.0";
  in.cohort_name = "lung";
  in.cohort_version = 2;
  in.criteria_json = R"({"modality":["CT"]})";
  in.studies = 3;
  in.options.retain_dates = true;
  in.options.clean_pixels = true;
  in.options.secret = "must not appear";
  in.formats = {"csv", "dicom"};
  in.files = {{"findings.csv", 12, "ab"}, {"dicom/x.dcm", 100, "cd"}};
  const std::string text = ManifestJson(in);
  EXPECT_EQ(text.find("must not appear"), std::string::npos);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["radflow_version"], "0.1.0");
  EXPECT_EQ(j["cohort"]["name"], "lung");
  EXPECT_EQ(j["cohort"]["version"], 2);
  EXPECT_EQ(j["cohort"]["criteria"]["modality"][0], "CT");
  EXPECT_EQ(j["cohort"]["counts"]["studies"], 3);
  EXPECT_EQ(j["deidentification"]["options"]["retain_dates"], true);
  EXPECT_EQ(j["deidentification"]["options"]["retain_device"], false);
  std::vector<std::string> codes;
  for (const auto& c : j["deidentification"]["method_codes"]) codes.push_back(c["value"]);
  // PS3.16 CID 7050: the Basic Profile, Clean Pixel Data, Retain ... Modified Dates, Retain Safe Private.
  EXPECT_EQ(codes, (std::vector<std::string>{"113100", "113101", "113107", "113111"}));
  EXPECT_EQ(j["deidentification"]["method_codes"][0]["scheme"], "DCM");
  ASSERT_EQ(j["files"].size(), 2u);
  EXPECT_EQ(j["files"][1]["path"], "dicom/x.dcm");
  EXPECT_EQ(j["files"][1]["size"], 100);
  EXPECT_EQ(j["files"][1]["sha256"], "cd");
}

TEST(DeidMethodCodes, EveryOption) {
  deid::DeidOptions o;
  o.retain_dates = o.retain_patient_chars = o.retain_device = o.clean_descriptors = o.clean_structured =
      o.clean_graphics = o.clean_pixels = true;
  std::vector<std::string> values;
  for (const auto& c : DeidMethodCodes(o)) values.push_back(c.value);
  EXPECT_EQ(values, (std::vector<std::string>{"113100", "113101", "113103", "113104", "113105", "113107", "113108",
                                              "113109", "113111"}));
}

void Write(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Sha256File, KnownVectors) {
  radflow::testing::ScratchDir dir;
  Write(dir.str() + "/abc", "abc");
  Write(dir.str() + "/empty", "");
  // FIPS 180-4 examples.
  EXPECT_EQ(Sha256File(dir.str() + "/abc").value(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256File(dir.str() + "/empty").value(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256File(dir.str() + "/none").status().code(), ErrorCode::kIoError);
}

// The ustar header fields (POSIX pax / ustar): name at 0 (100 bytes), size at 124 (octal).
TEST(TarStream, AFolderInPieces) {
  radflow::testing::ScratchDir dir;
  const std::string big(700 * 1024 + 13, 'x');  // more than one piece
  Write(dir.str() + "/manifest.json", "{}\n");
  Write(dir.str() + "/nifti/a/b.nii.gz", big);
  auto tar = TarStream::Open(dir.str(), "export-1");
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  std::string all;
  int pieces = 0;
  for (bool more = true; more;) {
    std::string chunk;
    more = (*tar)->Next(chunk);
    // docs/research.md#Download: pieces of about 256 KiB, never the whole archive: at most
    // 256 KiB + the last 64 KiB read + a tar header and record (16 KiB; src/research/tar_stream.cpp).
    EXPECT_LE(chunk.size(), (256u + 64 + 16) * 1024);
    all += chunk;
    ++pieces;
  }
  ASSERT_TRUE((*tar)->error().ok()) << (*tar)->error().ToString();
  EXPECT_GT(pieces, 2);
  EXPECT_EQ(all.size() % 512, 0u);
  // Entries in sorted order: manifest.json, then nifti/a/b.nii.gz.
  EXPECT_EQ(std::string(all.c_str()), "export-1/manifest.json");
  EXPECT_EQ(all.substr(257, 5), "ustar");
  EXPECT_EQ(std::stoul(all.substr(124, 12), nullptr, 8), 3u);
  EXPECT_EQ(all.substr(512, 3), "{}\n");
  const size_t second = 1024;
  EXPECT_EQ(std::string(all.c_str() + second), "export-1/nifti/a/b.nii.gz");
  EXPECT_EQ(std::stoul(all.substr(second + 124, 12), nullptr, 8), big.size());
  EXPECT_EQ(all.substr(second + 512, big.size()), big);
}

}  // namespace
}  // namespace radflow::research
