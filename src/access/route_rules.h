// The one table of access rules: every HTTP route, the roles it admits, its scope and its
// audit event (docs/access-control.md). Owner: H3. SCAFFOLD.
#pragma once

namespace radflow::access {}
