// A small ICC v2 display profile for sRGB (D50-adapted sRGB primaries, gamma 2.2 curves),
// for OpticalPathSequence > ICCProfile (PS3.3 C.8.12.5, C.11.15) when the source slide
// carries none: OpenSlide's Aperio and generic TIFF readers output sRGB-like values.
#pragma once

#include "wsi/jpeg_stream.h"

namespace radflow::wsi {

Bytes SrgbIccProfile();

}  // namespace radflow::wsi
