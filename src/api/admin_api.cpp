// Placeholder (issue 13): owner fills it in.
#include "api/admin_api.h"
