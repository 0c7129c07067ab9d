// Optic disc and macula on the analysis' working grid (field of view ~560 pixels across;
// docs/apps/fundus-quality.md, "Method"). Internal to radflow_apps_ophthalmic.
#pragma once

#include "apps/ophthalmic/fundus_image.h"

namespace radflow::apps::ophthalmic {

struct DiscLandmark {
  bool found = false;
  double contrast = 0;          // (disc square - surrounding ring) / ring, green
  double x = 0, y = 0;          // centroid of the outline (working pixels)
  double diameter = 0;          // equivalent-circle diameter (working pixels)
  Mask mask;                    // the outline, working grid (all zero when not found)
};

// The brightest disc-sized square of `green` (filled outside the field) against a ring twice
// as wide; found when its relative contrast >= min_contrast. `dw`: field diameter, `k`:
// dw / 560.
DiscLandmark FindOpticDisc(const Plane& green, const Mask& fov, double dw, double k, double min_contrast);

struct MaculaLandmark {
  bool found = false;
  bool with_room = false;       // half a disc diameter of field around it
  double contrast = 0;          // (ring - macula square) / ring, vessel-free background
  double x = 0, y = 0;          // working pixels
};

// The darkest spot of the vessel-free `background`, relative to its surround, 1.8..3.4 disc
// diameters from the disc, among points with half a disc diameter of field around them.
MaculaLandmark FindMacula(const Plane& background, const Mask& fov, const DiscLandmark& disc, double dw,
                          double min_contrast);

}  // namespace radflow::apps::ophthalmic
