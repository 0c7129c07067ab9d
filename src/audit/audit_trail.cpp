#include "audit/audit_trail.h"
