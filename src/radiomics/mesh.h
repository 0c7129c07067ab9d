// The ROI surface for IBSI 3.1 (morphology): a marching-cubes mesh of the mask. Internal to
// the radiomics module (morphology.cpp); no ITK type shows here.
#pragma once

#include <array>
#include <vector>

#include "imaging/volume.h"

namespace radflow::radiomics {

using MeshPoint = std::array<double, 3>;  // mm, in the mask's index frame scaled by spacing

struct TriangleMesh {
  std::vector<std::array<MeshPoint, 3>> triangles;  // wound counter-clockwise seen from outside
};

// IBSI 3.1.1: the mask padded with one empty voxel on every side, iso-level 0.5 between
// inside and outside voxel centres, so a vertex lies halfway along a voxel edge, or, where
// ITK triangulates a cube about its centre, at that centre: always on the half-voxel
// lattice. Point (0, 0, 0) is the centre of voxel (0, 0, 0); axis a is scaled by
// spacing[a]. The triangulation is the marching-cubes case table of
// itk::BinaryMask3DMeshSource (Lorensen and Cline's cases). The mesh is closed and wound
// consistently (tests/mesh_test.cpp). An empty mask gives an empty mesh.
TriangleMesh MarchingCubesMesh(const imaging::Mask& mask);

}  // namespace radflow::radiomics
