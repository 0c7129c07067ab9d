// NIfTI-1 volumes in and out (nifti1_io from nifticlib stays inside nifti_io.cpp).
// NIfTI world space is RAS; Volume geometry is DICOM LPS, so x and y are negated.
#pragma once

#include <string>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging {

// Reads the first 3D volume of a .nii / .nii.gz file, any datatype, as float with the
// header's scl_slope/scl_inter applied. Geometry from the sform (else the qform, else
// pixdim only). Returns kNotFound if the file is absent, kIoError if unreadable,
// kUnsupported for complex/RGB datatypes.
Result<ImageVolume> ReadNifti(const std::string& path);

// As ReadNifti, then nonzero → 1.
Result<Mask> ReadNiftiMask(const std::string& path);

// Writes float32 with sform and qform (code 1, scanner) from the geometry; ".nii.gz"
// compresses. Reading the file back gives identical voxels and geometry (to float precision).
Status WriteNifti(const ImageVolume& volume, const std::string& path);

}  // namespace radflow::imaging
