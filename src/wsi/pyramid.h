// Raster helpers for computed pyramid levels: tiles cut from a level (padded white beyond
// its edge) and the 2x2 box-filter reduction (each output pixel the mean of the source
// pixels it covers, PS3.3 C.8.12.4.1.1 "RESAMPLED").
#pragma once

#include "wsi/openslide_source.h"

namespace radflow::wsi {

// Tile (col,row) of tile_w x tile_h from `level` (3 samples), white outside.
Bytes CutTile(const RgbRaster& level, int col, int row, int tile_w, int tile_h);
// ceil(w/2) x ceil(h/2); at an odd edge the mean of the pixels that exist.
RgbRaster Halve(const RgbRaster& in);
// A reduction to width x height (each at most the input's): every output pixel the
// area-weighted mean of the source pixels its footprint covers.
RgbRaster Shrink(const RgbRaster& in, int width, int height);

}  // namespace radflow::wsi
