// Coded concepts the apps and result writers share (PS3.16: SNOMED CT via SCT, UCUM units).
// One definition each, so that every app reports a measurement under the same code.
#pragma once

#include "ai/app.h"

namespace radflow::ai::codes {

// Segmented property categories (CID 7150) and types.
inline const Code kAnatomicalStructure{"91723000", "SCT", "Anatomical Structure"};
inline const Code kBodyStructure{"123037004", "SCT", "Body structure"};
inline const Code kMorphologicallyAltered{"49755003", "SCT", "Morphologically Altered Structure"};
inline const Code kLeftLung{"44029006", "SCT", "Left lung"};
inline const Code kRightLung{"3341006", "SCT", "Right lung"};

// Measurements (CID 7469 and friends).
inline const Code kVolume{"118565006", "SCT", "Volume"};
inline const Code kMean{"373098007", "SCT", "Mean"};
inline const Code kLongAxis{"103339001", "SCT", "Long Axis"};
inline const Code kShortAxis{"103340004", "SCT", "Short Axis"};

// Units (UCUM).
inline const Code kMl{"ml", "UCUM", "milliliter"};
inline const Code kMm{"mm", "UCUM", "millimeter"};
inline const Code kHu{"[hnsf'U]", "UCUM", "Hounsfield unit"};
inline const Code kPercent{"%", "UCUM", "percent"};
inline const Code kDegree{"deg", "UCUM", "degree"};
inline const Code kNoUnit{"1", "UCUM", "no units"};

}  // namespace radflow::ai::codes
