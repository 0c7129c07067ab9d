// What `radflow wsi import` writes, read back through radflow_slide (the reader the slide
// apps and WADO-RS /rendered use): the pyramid is found, and a region of the copied level 0
// equals OpenSlide's pixels exactly.
#include <gtest/gtest.h>

#include <filesystem>

#include "slide/slide_reader.h"
#include "wsi/openslide_source.h"
#include "wsi/wsi_import.h"

namespace fs = std::filesystem;

namespace radflow::wsi {
namespace {

const std::string kCmu = std::string(RADFLOW_SHARED_DATA) + "/wsi/cmu1_small_region_svs/CMU-1-Small-Region.svs";

TEST(SlideReaderInterop, ImportedCmuReadsBackAsAPyramid) {
  const fs::path dir = fs::temp_directory_path() / ("wsi_interop_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int n = 0;
  ImportOptions o;
  o.container_identifier = "CMU-1-SR";
  auto r = ConvertSlide(kCmu, o, [&] { return (dir / ("f" + std::to_string(n++) + ".dcm")).string(); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> files;
  for (const auto& w : r->instances) files.push_back(w.path);
  auto slide = slide::ReadSlideSeries(files);
  ASSERT_TRUE(slide.ok()) << slide.status().message();
  ASSERT_EQ(slide->levels.size(), 5u);
  EXPECT_EQ(slide->levels[0].total_columns, 2220);
  EXPECT_EQ(slide->levels[4].total_columns, 139);
  EXPECT_TRUE(slide->levels[0].tiled_full);
  EXPECT_FALSE(slide->thumbnail_path.empty());
  EXPECT_FALSE(slide->label_path.empty());
  EXPECT_FALSE(slide->overview_path.empty());
  EXPECT_EQ(slide->container_identifier, "CMU-1-SR");
  EXPECT_EQ(slide->frame_of_reference_uid, r->frame_of_reference_uid);
  EXPECT_NEAR(slide->levels[0].pixel_spacing_mm[0], 0.000499, 1e-12);
  // A region across four tiles of the copied level 0: exactly OpenSlide's pixels.
  auto region = slide::ReadRegion(slide->levels[0], 1000, 1300, 300, 200);
  ASSERT_TRUE(region.ok()) << region.status().message();
  auto os = OpenSlideSource::Open(kCmu);
  ASSERT_TRUE(os.ok());
  auto ref = os.value()->ReadRegion(0, 1000, 1300, 300, 200);
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(region->pixels.size(), ref->pixels.size());
  EXPECT_EQ(region->pixels, ref->pixels);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::wsi
