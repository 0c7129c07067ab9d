#include "api/research_api.h"
