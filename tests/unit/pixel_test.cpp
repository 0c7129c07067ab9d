#include <gtest/gtest.h>

#include "pixel/pixel_data.h"
