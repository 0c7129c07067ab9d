"""Studies for the worklist tests and the reading-day benchmark, built from real series.

Each study is a copy of a real series (../shared/data/dicom) re-identified with fresh UIDs
and the patient, dates, order priority and site the caller gives; a head CT can carry a
synthetic acute haemorrhage (a 60 HU sphere of the requested volume in the parenchyma,
with the image's noise), which ct-head-bleed reports as critical.
"""
import os

import numpy as np

from harness import dicom_files, new_uid, series_dir, _pydicom

HEAD_CT = os.path.join("ct_head_ge_tilt", "dicom")
CHEST_CT = os.path.join("ct_chest_lung_dx", "Lung_Dx-A0001", "CT_5mm_lung_kernel")


def _positions(ds):
    """LPS position of every pixel of a slice (rows × columns × 3)."""
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = [float(v) for v in ds.ImageOrientationPatient]
    row_dir, col_dir = np.array(iop[:3]), np.array(iop[3:])
    dy, dx = (float(v) for v in ds.PixelSpacing)  # row spacing, column spacing
    r = np.arange(ds.Rows)[:, None, None]
    c = np.arange(ds.Columns)[None, :, None]
    return ipp + c * dx * row_dir + r * dy * col_dir


def _hu(ds):
    return ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + \
        float(ds.get("RescaleIntercept", 0))


def brain_centre(datasets):
    """Centroid (LPS) of the voxels between 20 and 45 HU: the brain parenchyma."""
    total, weight = np.zeros(3), 0
    for ds in datasets:
        hu = _hu(ds)
        m = (hu > 20) & (hu < 45)
        if m.sum() == 0:
            continue
        pos = _positions(ds)
        total += pos[m].sum(axis=0)
        weight += m.sum()
    return total / weight


def insert_bleed(datasets, volume_ml, offset_mm=(30.0, 0.0, 0.0), hu=60.0, noise_hu=5.0, seed=7):
    """A sphere of `volume_ml` at 60 HU (acute blood) with a 2 mm soft edge, centred
    offset_mm from the brain's centre (as tests/unit/app_head does)."""
    rng = np.random.default_rng(seed)
    centre = brain_centre(datasets) + np.array(offset_mm)
    radius = (3 * volume_ml * 1000 / (4 * np.pi)) ** (1 / 3)
    for ds in datasets:
        pos = _positions(ds)
        d = np.linalg.norm(pos - centre, axis=2)
        w = np.clip(0.5 - (d - radius) / 2.0, 0, 1)
        if not w.any():
            continue
        value = _hu(ds)
        value = (1 - w) * value + w * (hu + rng.normal(0, noise_hu, value.shape))
        slope = float(ds.get("RescaleSlope", 1))
        intercept = float(ds.get("RescaleIntercept", 0))
        stored = np.round((value - intercept) / slope)
        dtype = ds.pixel_array.dtype
        info = np.iinfo(dtype)
        ds.PixelData = np.clip(stored, info.min, info.max).astype(dtype).tobytes()
    return centre


def write_study(out_dir, source, patient_id, patient_name, study_date, description=None,
                priority="", site="", issuer="", bleed_ml=0.0, accession=None, max_slices=None):
    """Copies the series `source` (relative to shared/data/dicom) as a new study in out_dir;
    returns (study_uid, files)."""
    pydicom = _pydicom()
    files = dicom_files(series_dir(source))
    datasets = [pydicom.dcmread(f) for f in files]
    datasets.sort(key=lambda d: int(d.get("InstanceNumber", 0)))
    if max_slices:
        datasets = datasets[:max_slices]
    if bleed_ml > 0:
        insert_bleed(datasets, bleed_ml)
    study_uid, series_uid = new_uid(), new_uid()
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for i, ds in enumerate(datasets):
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = new_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientID = patient_id
        ds.PatientName = patient_name
        ds.StudyDate = study_date
        ds.SeriesDate = study_date
        ds.StudyTime = "080000"
        ds.AccessionNumber = accession or ("A" + study_uid[-10:])
        if description:
            ds.StudyDescription = description
        if issuer:
            ds.IssuerOfPatientID = issuer
        if site:
            ds.InstitutionName = site
        if priority:
            ds.RequestedProcedurePriority = priority
        path = os.path.join(out_dir, "%04d.dcm" % i)
        ds.save_as(path, write_like_original=False)
        out.append(path)
    return study_uid, out
