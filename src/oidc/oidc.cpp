#include "oidc/oidc.h"
