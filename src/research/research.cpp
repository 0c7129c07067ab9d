#include "research/research.h"
