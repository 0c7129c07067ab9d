#include "api/audit_api.h"
