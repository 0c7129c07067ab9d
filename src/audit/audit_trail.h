// AuditTrail: DICOM audit messages (PS3.15 A.5) in a hash-chained, append-only local log,
// indexed for search, and sent to syslog over TLS (RFC 5425) (docs/audit.md). Owner: H5. SCAFFOLD.
#pragma once

#include "audit/audit_event.h"

namespace radflow::audit {}
