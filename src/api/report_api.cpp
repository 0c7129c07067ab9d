// Placeholder (issue 13): owner fills it in.
#include "api/report_api.h"
