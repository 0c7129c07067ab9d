#include "apps/builtin_apps.h"

#include <cstdlib>
#include <mutex>

#include "ai/app.h"
#include "apps/head/head_bleed.h"
#include "apps/lung/lung_apps.h"
#include "apps/ophthalmic/fundus_quality.h"
#include "apps/pathology/wsi_tissue.h"
#include "apps/qc/qc_apps.h"
#include "apps/test_apps.h"

namespace radflow::apps {

void RegisterBuiltinApps() {
  static std::once_flag once;
  std::call_once(once, [] {
    ai::RegisterBuiltin("ct-lung-lesions", [](const ai::AppInput& in) { return lung::RunLungLesions(in); });
    ai::RegisterBuiltin("ct-emphysema", [](const ai::AppInput& in) { return lung::RunEmphysema(in); });
    ai::RegisterBuiltin("ct-head-bleed", [](const ai::AppInput& in) { return head::RunHeadBleed(in); });
    ai::RegisterBuiltin("ct-quality", [](const ai::AppInput& in) { return qc::RunCtQuality(in); });
    ai::RegisterBuiltin("ct-denoise", [](const ai::AppInput& in) { return qc::RunCtDenoise(in); });
    ai::RegisterBuiltin("wsi-tissue", [](const ai::AppInput& in) { return pathology::RunWsiTissue(in); });
    ai::RegisterBuiltin("fundus-quality", [](const ai::AppInput& in) { return ophthalmic::RunFundusQuality(in); });
    const char* test = std::getenv("RADFLOW_ENABLE_TEST_APPS");
    if (test != nullptr && std::string(test) == "1") RegisterTestApps();
  });
}

}  // namespace radflow::apps
