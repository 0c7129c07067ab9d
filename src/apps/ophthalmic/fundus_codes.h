// Coded concepts of fundus-quality. The optic disc and the retinal vessels are SNOMED CT
// body structures (codes checked in published SNOMED value sets, docs/apps/fundus-quality.md
// "Codes"); the macula and the quality measures use the local scheme 99RADFLOW (PS3.3 8.2:
// private coding schemes begin with "99"), no SNOMED CT concept having been verified.
#pragma once

#include "ai/app.h"

namespace radflow::apps::ophthalmic::codes {

inline ai::Code Local(const char* value, const char* meaning) { return {value, "99RADFLOW", meaning}; }

// Finding types and segment property types.
inline const ai::Code kGradability = Local("RFFQ001", "Fundus image gradability");
inline const ai::Code kOpticDisc{"81016008", "SCT", "Optic disc"};
inline const ai::Code kRetinalVessels{"28758002", "SCT", "Blood vessel of retina"};
inline const ai::Code kMacula = Local("RFFQ004", "Macula");
// Measurements.
inline const ai::Code kScore = Local("RFFQ101", "Gradability score");
inline const ai::Code kLuminance = Local("RFFQ102", "Mean luminance of the field of view");
inline const ai::Code kUniformity = Local("RFFQ103", "Illumination uniformity");
inline const ai::Code kNoise = Local("RFFQ104", "Relative noise");
inline const ai::Code kFocus = Local("RFFQ105", "Focus band energy ratio");
inline const ai::Code kFieldOfView = Local("RFFQ106", "Field of view area fraction");
inline const ai::Code kCentreColumn = Local("RFFQ111", "Centre column");
inline const ai::Code kCentreRow = Local("RFFQ112", "Centre row");
inline const ai::Code kDiameterPixels = Local("RFFQ113", "Diameter in pixels");
inline const ai::Code kDiscContrast = Local("RFFQ114", "Optic disc contrast");
inline const ai::Code kVesselDensity = Local("RFFQ121", "Vessel area fraction of the field of view");
// SNOMED CT "Diameter" (PS3.16 CID 7470), in millimetres when PixelSpacing is known.
inline const ai::Code kDiameter{"81827009", "SCT", "Diameter"};
inline const ai::Code kPixels{"{pixels}", "UCUM", "pixels"};

}  // namespace radflow::apps::ophthalmic::codes
