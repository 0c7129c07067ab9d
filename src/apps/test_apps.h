// The engine's self-test apps (only with RADFLOW_ENABLE_TEST_APPS=1): they exercise failure,
// timeouts, crashes and the result path without a clinical algorithm's run time.
#pragma once

namespace radflow::apps {
void RegisterTestApps();
}
