// The objects a files app wrote itself (AppOutput::objects): checked and described as the
// engine's own written results, so that they are stored through the same path.
#pragma once

#include <string>
#include <vector>

#include "ai/app.h"
#include "ai/engine/job_runner.h"
#include "ai/manifest.h"
#include "ai/routing.h"
#include "base/status.h"

namespace radflow::ai {

// Each object must be a readable Part-10 file inside `out_dir` (a relative path is taken
// against it), of kind "seg" (Segmentation Storage, PS3.4 B.5) or "sr" (a Structured
// Report Storage class, 1.2.840.10008.5.1.4.1.1.88.*, not Key Object Selection 88.59),
// of the source's study, in a series of its own (never the source series: the engine
// would otherwise stop routing the source), no SOP instance twice and none of
// `source_files`' SOP Instance UIDs. Kinds the manifest's `outputs` do not list are
// dropped (not stored). SOP class, instance and series are read from the file, never taken
// from the app. Errors (kInvalidArgument) name the object and the reason.
Result<std::vector<WrittenResult>> CollectAppObjects(const std::vector<AppObject>& objects,
                                                     const std::string& out_dir,
                                                     const SeriesFacts& source,
                                                     const AppManifest& app,
                                                     const std::vector<std::string>& source_files = {});

}  // namespace radflow::ai
