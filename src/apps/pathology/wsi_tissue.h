// wsi-tissue: tissue detection and focus on a whole-slide image (docs/apps/wsi-tissue.md).
#pragma once

#include <string>
#include <vector>

#include "ai/app.h"
#include "apps/pathology/tissue.h"
#include "base/status.h"
#include "slide/slide_reader.h"

namespace radflow::apps::pathology {

struct WsiTissueSettings {
  TissueSettings tissue;
  int min_analysis_side = 512;       // the coarsest level whose longer side reaches this
  int max_analysis_side = 2048;      // ... further box-downsampled by 2^k down to this
  double min_tissue_fraction = 0.5;  // a level-0 tile is assessed for focus above this
  // Variance of the Laplacian (8-bit luma) below which a tile is out of focus; calibrated on
  // CMU-1-Small-Region at 0.5 µm/px (sharp tiles >= 517, Gaussian sigma 1.5 px <= 99).
  double focus_threshold = 150;
  int max_focus_tiles = 4000;  // more tissue tiles than this are sampled evenly
  int threads = 1;  // tile readers (RunWsiTissue: AppInput::threads)
};

// Settings from a manifest's settings_json (keys as the fields above and TissueSettings',
// flat); defaults for what it omits; kInvalidArgument naming the key of a malformed or
// out-of-range value (ranges: docs/apps/wsi-tissue.md), or min_saturation > max_saturation.
Result<WsiTissueSettings> ParseWsiTissueSettings(const std::string& json);

// How the analysis level is read: blocks of at most 16 megapixels (ReadRegion's bound is
// 64) covering the matrix, left to right and top to bottom; sides are multiples of the
// downsampling factor (the last ones clipped to the matrix) and, where a common multiple
// stays within 4096, of the tile size, so that every tile is decoded once.
struct RegionBlock {
  int x = 0, y = 0, width = 0, height = 0;
};
std::vector<RegionBlock> RegionBlocks(const slide::SlideLevel& level, int factor);

struct TileFocus {
  int x = 0, y = 0, width = 0, height = 0;  // level-0 pixels
  double laplacian_variance = 0;
  bool blurred = false;
};

struct WsiTissueAnalysis {
  const slide::SlideLevel* level = nullptr;  // the analysis level (into Slide::levels)
  int factor = 1;                            // further downsampling of it
  TissueMask tissue;                         // on the analysis grid
  double level_spacing_mm[2] = {0, 0};       // row, column spacing of the level; 0: unknown
  double pixel_area_mm2 = 0;                 // of one analysis pixel; 0: spacing unknown
  double tissue_area_mm2 = 0;
  std::vector<TileFocus> tiles;  // level-0 tissue tiles assessed
  int blurred_tiles = 0;
};

// The analysis without any writing: tissue on a low level, focus per level-0 tile.
Result<WsiTissueAnalysis> AnalyseSlide(const slide::Slide& slide,
                                       const WsiTissueSettings& settings);

// The built-in app `builtin:wsi-tissue` (manifest input "files": the slide's series): the
// analysis, a SEG of the slide in input.out_dir (AppOutput::objects) and findings.
Result<ai::AppOutput> RunWsiTissue(const ai::AppInput& input);

}  // namespace radflow::apps::pathology
