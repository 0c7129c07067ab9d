#include "access/route_rules.h"
