#include "api/oidc_api.h"
