#include "storage/security_store.h"
