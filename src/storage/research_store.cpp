#include "storage/research_store.h"
