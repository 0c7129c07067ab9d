// A synthetic population of lung lesion feature vectors (FeatureNames order), for the
// similar-case benchmark (bench/similar_bench.cpp) and the tests' background population:
// solid, part-solid and ground-glass nodules and masses with sizes, shapes and densities
// drawn from the distributions docs/similar-cases.md ("Synthetic population") states. Not
// used by the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace radflow::similar {

std::vector<std::vector<double>> SyntheticLesions(size_t n, uint32_t seed);

}  // namespace radflow::similar
