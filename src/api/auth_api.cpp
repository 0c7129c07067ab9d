#include "api/auth_api.h"
