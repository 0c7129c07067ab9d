// Research hub: cohorts and de-identified exports (docs/research.md). Owner: H7. SCAFFOLD.
#pragma once

namespace radflow::research {}
