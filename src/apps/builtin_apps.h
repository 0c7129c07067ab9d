// The apps compiled into radflow, registered under the names their manifests use
// (`"runner": "builtin:<name>"`, manifests in apps/).
#pragma once

namespace radflow::apps {

// ct-lung-lesions, ct-emphysema, ct-head-bleed, ct-quality, ct-denoise. With the environment
// variable RADFLOW_ENABLE_TEST_APPS=1 also the engine's self-test apps: test-fail (always
// fails), test-hang (never returns), test-crash (aborts), test-threshold (HU > 300 → SEG +
// findings, quickly). Idempotent.
void RegisterBuiltinApps();

}  // namespace radflow::apps
