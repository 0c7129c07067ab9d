// fundus-quality: gradability, optic disc and vessels of a fundus photograph
// (docs/apps/fundus-quality.md).
#pragma once

#include "ai/app.h"
#include "base/status.h"

namespace radflow::apps::ophthalmic {

// The built-in app `builtin:fundus-quality` (manifest input "files": the OP series).
Result<ai::AppOutput> RunFundusQuality(const ai::AppInput& input);

}  // namespace radflow::apps::ophthalmic
