// Placeholder (issue 13): owner fills it in.
#include "storage/report_store.h"
