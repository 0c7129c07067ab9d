#include "deid/deidentify.h"
