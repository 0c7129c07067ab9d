#include "imaging/nifti_io.h"

#include <nifti1_io.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

namespace radflow::imaging {
namespace {

struct NiftiFree {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};
using NiftiPtr = std::unique_ptr<nifti_image, NiftiFree>;

template <typename S>
void Convert(const void* src, size_t n, std::vector<double>& out) {
  const S* s = static_cast<const S*>(src);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(s[i]);
}

// Voxel values as double, before scaling.
Status ToDouble(const nifti_image& nim, size_t n, std::vector<double>& out) {
  out.resize(n);
  switch (nim.datatype) {
    case NIFTI_TYPE_UINT8:
      Convert<uint8_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_INT8:
      Convert<int8_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_UINT16:
      Convert<uint16_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_INT16:
      Convert<int16_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_UINT32:
      Convert<uint32_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_INT32:
      Convert<int32_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_UINT64:
      Convert<uint64_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_INT64:
      Convert<int64_t>(nim.data, n, out);
      break;
    case NIFTI_TYPE_FLOAT32:
      Convert<float>(nim.data, n, out);
      break;
    case NIFTI_TYPE_FLOAT64:
      Convert<double>(nim.data, n, out);
      break;
    default:
      return Status(ErrorCode::kUnsupported,
                    std::string("NIfTI datatype ") + nifti_datatype_string(nim.datatype));
  }
  return Status::Ok();
}

// Columns of the 4x4 (RAS) → spacing, LPS direction cosines and origin.
Geometry GeometryFrom(const nifti_image& nim) {
  mat44 m;
  if (nim.sform_code > 0) {
    m = nim.sto_xyz;
  } else if (nim.qform_code > 0) {
    m = nim.qto_xyz;
  } else {  // "method 1" of nifti1.h: pixdim only
    m = nifti_quatern_to_mat44(0, 0, 0, 0, 0, 0, nim.dx, nim.dy, nim.dz, 1);
  }
  Geometry g;
  g.size = {size_t(nim.nx), size_t(nim.ny), size_t(nim.nz)};
  const double sign[3] = {-1, -1, 1};  // RAS → LPS
  for (int a = 0; a < 3; ++a) {
    double norm = 0;
    for (int r = 0; r < 3; ++r) norm += double(m.m[r][a]) * m.m[r][a];
    norm = std::sqrt(norm);
    g.spacing[a] = norm;
    for (int r = 0; r < 3; ++r)
      g.direction[a][r] = norm > 0 ? sign[r] * m.m[r][a] / norm : (r == a);
    g.origin[a] = sign[a] * m.m[a][3];
  }
  return g;
}

Result<NiftiPtr> Open(const std::string& path) {
  if (!std::filesystem::exists(path)) return Status(ErrorCode::kNotFound, "no such file: " + path);
  NiftiPtr nim(nifti_image_read(path.c_str(), 1));
  if (!nim || !nim->data) return Status(ErrorCode::kIoError, "not a readable NIfTI file: " + path);
  if (nim->nx < 1 || nim->ny < 1 || nim->nz < 1) {
    return Status(ErrorCode::kInvalidArgument, "NIfTI dimensions out of range: " + path);
  }
  return nim;
}

// First 3D volume, scaled (nifti1.h: scl_slope 0 means no scaling).
template <typename T, typename F>
Result<Volume<T>> Read(const std::string& path, F convert) {
  auto nim = Open(path);
  if (!nim.ok()) return nim.status();
  const nifti_image& n = **nim;
  Volume<T> vol(GeometryFrom(n));
  std::vector<double> values;
  RADFLOW_RETURN_IF_ERROR(ToDouble(n, vol.geometry().voxels(), values));
  const bool scaled = n.scl_slope != 0 && !(n.scl_slope == 1 && n.scl_inter == 0);
  for (size_t i = 0; i < values.size(); ++i) {
    double v = scaled ? values[i] * n.scl_slope + n.scl_inter : values[i];
    vol.data()[i] = convert(v);
  }
  return vol;
}

}  // namespace

Result<ImageVolume> ReadNifti(const std::string& path) {
  return Read<float>(path, [](double v) { return static_cast<float>(v); });
}

Result<Mask> ReadNiftiMask(const std::string& path) {
  return Read<uint8_t>(path, [](double v) { return uint8_t(v != 0 ? 1 : 0); });
}

Status WriteNifti(const ImageVolume& volume, const std::string& path) {
  const Geometry& g = volume.geometry();
  if (volume.empty() || volume.data().size() != g.voxels()) {
    return Status(ErrorCode::kInvalidArgument, "empty or inconsistent volume");
  }
  const int dims[8] = {3, int(g.size[0]), int(g.size[1]), int(g.size[2]), 1, 1, 1, 1};
  NiftiPtr nim(nifti_make_new_nim(dims, NIFTI_TYPE_FLOAT32, 1));
  if (!nim) return Status(ErrorCode::kIoError, "cannot allocate NIfTI image");
  std::memcpy(nim->data, volume.data().data(), volume.data().size() * sizeof(float));

  mat44 m{};
  const double sign[3] = {-1, -1, 1};  // LPS → RAS
  for (int r = 0; r < 3; ++r) {
    for (int a = 0; a < 3; ++a) m.m[r][a] = float(sign[r] * g.direction[a][r] * g.spacing[a]);
    m.m[r][3] = float(sign[r] * g.origin[r]);
  }
  m.m[3][3] = 1;
  nim->sform_code = nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->sto_ijk = nifti_mat44_inverse(m);
  nifti_mat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                         &nim->qoffset_y, &nim->qoffset_z, nullptr, nullptr, nullptr, &nim->qfac);
  nim->qto_xyz = m;
  nim->dx = nim->pixdim[1] = float(g.spacing[0]);
  nim->dy = nim->pixdim[2] = float(g.spacing[1]);
  nim->dz = nim->pixdim[3] = float(g.spacing[2]);
  nim->xyz_units = NIFTI_UNITS_MM;

  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (nifti_set_filenames(nim.get(), path.c_str(), 0, 1) != 0) {
    return Status(ErrorCode::kInvalidArgument, "bad NIfTI file name: " + path);
  }
  nifti_image_write(nim.get());  // reports failure only on stderr; check the file instead
  if (!std::filesystem::exists(path) || std::filesystem::file_size(path, ec) == 0) {
    return Status(ErrorCode::kIoError, "cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace radflow::imaging
