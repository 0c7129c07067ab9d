// Moran's I and Geary's C (IBSI 3.1.17, 3.1.18): spatial autocorrelation of the ROI's
// intensities with inverse-distance weights over all voxel pairs. Computed exactly as
// FFT convolutions with the 1/d kernel (FFTW), O(N log N) instead of the O(N^2) pair sum.
#pragma once

#include <optional>
#include <utility>

#include "imaging/volume.h"

namespace radflow::radiomics {

// {Moran's I, Geary's C}; nullopt when the ROI has fewer than 2 voxels or no variance.
std::optional<std::pair<double, double>> MoranGeary(const imaging::ImageVolume& image,
                                                    const imaging::Mask& mask);

}  // namespace radflow::radiomics
