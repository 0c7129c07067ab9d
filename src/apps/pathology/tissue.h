// The image analysis of wsi-tissue (docs/apps/wsi-tissue.md), pure functions of 8-bit
// images so that tests can feed them known pictures.
#pragma once

#include <cstdint>
#include <vector>

#include "slide/slide_reader.h"

namespace radflow::apps::pathology {

struct TissueSettings {
  // Saturation threshold: Otsu's on the image's HSV saturation, kept within these bounds
  // (a blank slide has no bimodal histogram; a slide filled with tissue neither).
  double min_saturation = 0.05;
  double max_saturation = 0.35;
  int closing_radius = 3;         // pixels of the analysis level (bridges nuclei gaps)
  int opening_radius = 1;         // removes isolated specks
  int min_component_pixels = 25;  // smaller connected pieces are dust
};

struct TissueMask {
  int width = 0, height = 0;
  std::vector<uint8_t> mask;  // 1 = tissue, row-major
  double saturation_threshold = 0;
  long long tissue_pixels = 0;
};

// Tissue on a brightfield (H&E-like) image: HSV saturation (max-min)/max above Otsu's
// threshold, then closing, opening and removal of small components (8-connected).
// Grey images (samples 1) use optical density 1 - I/255 in place of saturation.
TissueMask DetectTissue(const slide::RgbImage& image, const TissueSettings& settings = {});

// Variance of the 4-neighbour Laplacian of the luma (BT.601) over the tile's interior
// pixels (Pech-Pacheco et al. 2000): low for a blurred tile.
double LaplacianVariance(const slide::RgbImage& tile);

// Dice coefficient 2|A∩B| / (|A|+|B|) of two masks of one size (non-zero = inside); 1 when
// both are empty.
double Dice(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// An image box-averaged by an integer factor (>= 1), edges averaged over what exists.
slide::RgbImage Downsample(const slide::RgbImage& image, int factor);

}  // namespace radflow::apps::pathology
