#include "storage/audit_store.h"
