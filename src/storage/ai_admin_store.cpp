// Placeholder (issue 13): owner fills it in.
#include "storage/ai_admin_store.h"
