// The only file of the radiomics module that includes ITK: an adapter from imaging::Mask to
// itk::BinaryMask3DMeshSource and back to plain triangles.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "itkBinaryMask3DMeshSource.h"
#include "itkImage.h"
#include "itkMesh.h"

#include "imaging/morphology.h"
#include "radiomics/mesh.h"

namespace radflow::radiomics {

TriangleMesh MarchingCubesMesh(const imaging::Mask& mask) {
  TriangleMesh out;
  const auto& g = mask.geometry();
  // The bounding box of the ROI, so that the mesh source scans only that much.
  const auto box = imaging::NonZeroBox(mask);
  if (!box) return out;
  const auto& lo = box->lo;
  const auto& hi = box->hi;

  // One empty voxel of padding on every side (IBSI 3.1.1): the surface closes at the border.
  using Image = itk::Image<uint8_t, 3>;
  auto image = Image::New();
  Image::SizeType size;
  Image::SpacingType spacing;
  Image::PointType origin;
  for (int a = 0; a < 3; ++a) {
    size[a] = hi[a] - lo[a] + 3;
    spacing[a] = g.spacing[a];
    origin[a] = (static_cast<double>(lo[a]) - 1) * g.spacing[a];  // padded voxel 1 is voxel lo
  }
  image->SetRegions(Image::RegionType(size));
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->Allocate();
  image->FillBuffer(0);
  for (size_t k = lo[2]; k <= hi[2]; ++k)
    for (size_t j = lo[1]; j <= hi[1]; ++j)
      for (size_t i = lo[0]; i <= hi[0]; ++i) {
        if (mask.at(i, j, k) == 0) continue;
        const Image::IndexType index = {{static_cast<Image::IndexValueType>(i - lo[0] + 1),
                                         static_cast<Image::IndexValueType>(j - lo[1] + 1),
                                         static_cast<Image::IndexValueType>(k - lo[2] + 1)}};
        image->SetPixel(index, 1);
      }

  using ItkMesh = itk::Mesh<double, 3>;
  auto source = itk::BinaryMask3DMeshSource<Image, ItkMesh>::New();
  source->SetInput(image);
  source->SetObjectValue(1);
  source->Update();
  const ItkMesh* mesh = source->GetOutput();
  out.triangles.reserve(mesh->GetNumberOfCells());
  for (auto it = mesh->GetCells()->Begin(); it != mesh->GetCells()->End(); ++it) {
    const auto* cell = it.Value();
    if (cell->GetNumberOfPoints() != 3) continue;
    const auto* ids = cell->GetPointIds();
    std::array<MeshPoint, 3> t;
    for (int v = 0; v < 3; ++v) {
      // Every vertex is an edge midpoint or a cube centre; ITK's index-to-physical transform
      // leaves rounding of up to ~1e-7 relative on it (seen on a box's convex hull), so it is
      // put back on that half-voxel lattice exactly.
      const auto p = mesh->GetPoint(ids[v]);
      for (int a = 0; a < 3; ++a) t[v][a] = std::round(2 * p[a] / g.spacing[a]) * g.spacing[a] / 2;
    }
    out.triangles.push_back(t);
  }
  return out;
}

}  // namespace radflow::radiomics
