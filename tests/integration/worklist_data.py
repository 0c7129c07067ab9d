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
        _set_hu(ds, (1 - w) * value + w * (hu + rng.normal(0, noise_hu, value.shape)))
    return centre


def _set_hu(ds, value):
    slope = float(ds.get("RescaleSlope", 1))
    intercept = float(ds.get("RescaleIntercept", 0))
    stored = np.round((value - intercept) / slope)
    dtype = ds.pixel_array.dtype
    info = np.iinfo(dtype)
    ds.PixelData = np.clip(stored, info.min, info.max).astype(dtype).tobytes()


def resliced(source, spacing_mm):
    """The series `source` interpolated (linearly, between neighbouring slices) onto slices
    `spacing_mm` apart: the slice spacing at which ct-lung-lesions' volume tolerance holds
    (its phantom: 2 mm; on 5 mm slices the caps of a sphere add 15-35 % to its volume).
    Returns the new slices (datasets), inferior to superior."""
    pydicom = _pydicom()
    import copy
    datasets = [pydicom.dcmread(f) for f in dicom_files(series_dir(source))]
    datasets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    z = np.array([float(d.ImagePositionPatient[2]) for d in datasets])
    hu = [_hu(d) for d in datasets]
    out = []
    n = int(np.floor((z[-1] - z[0]) / spacing_mm + 1e-6)) + 1
    for k in range(n):
        zk = z[0] + k * spacing_mm
        i = min(int(np.searchsorted(z, zk, side="right")) - 1, len(z) - 2)
        w = (zk - z[i]) / (z[i + 1] - z[i])
        ds = copy.deepcopy(datasets[i if w < 0.5 else i + 1])
        ipp = [float(v) for v in datasets[i].ImagePositionPatient]
        ds.ImagePositionPatient = [ipp[0], ipp[1], round(zk, 4)]
        ds.SliceLocation = round(zk, 4)
        ds.SliceThickness = spacing_mm
        ds.SpacingBetweenSlices = spacing_mm
        ds.InstanceNumber = k + 1
        _set_hu(ds, (1 - w) * hu[i] + w * hu[i + 1])
        out.append(ds)
    return out


def insert_nodules(datasets, nodules, hu=40.0):
    """Solid nodules (`hu`, soft tissue) blended into the slices with partial volume, as
    tests/unit/lesion_tracking does: each voxel takes the fraction of it inside the sphere
    (4 x 4 x 4 sub-samples). `nodules`: [(centre LPS mm, volume ml)]. Call before
    move_rigid (the centres are in the series' original patient space)."""
    for centre, volume_ml in nodules:
        c = np.array(centre, dtype=float)
        r = (3 * volume_ml * 1000 / (4 * np.pi)) ** (1 / 3)
        for ds in datasets:
            iop = [float(v) for v in ds.ImageOrientationPatient]
            row_dir, col_dir = np.array(iop[:3]), np.array(iop[3:])
            normal = np.cross(row_dir, col_dir)
            thick = float(ds.get("SpacingBetweenSlices", ds.SliceThickness))
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            if abs(np.dot(ipp - c, normal)) > r + thick:
                continue
            dy, dx = (float(v) for v in ds.PixelSpacing)
            rel = c - ipp
            ci, cj = np.dot(rel, row_dir) / dx, np.dot(rel, col_dir) / dy  # column, row
            i0, i1 = max(int(ci - r / dx) - 2, 0), min(int(ci + r / dx) + 3, ds.Columns)
            j0, j1 = max(int(cj - r / dy) - 2, 0), min(int(cj + r / dy) + 3, ds.Rows)
            jj, ii = np.mgrid[j0:j1, i0:i1]
            inside = np.zeros(ii.shape)
            for s in range(64):
                di, dj, dk = (s % 4 + 0.5) / 4 - 0.5, (s // 4 % 4 + 0.5) / 4 - 0.5, (s // 16 + 0.5) / 4 - 0.5
                p = (ipp + (ii[..., None] + di) * dx * row_dir + (jj[..., None] + dj) * dy * col_dir
                     + dk * thick * normal)
                inside += (np.linalg.norm(p - c, axis=2) <= r)
            if not inside.any():
                continue
            value = _hu(ds)
            box = value[j0:j1, i0:i1]
            value[j0:j1, i0:i1] = np.maximum(box, box + (hu - box) * inside / 64.0)
            _set_hu(ds, value)


def rigid_matrix(deg_z, deg_x, centre, t):
    """Row-major 4x4 (LPS mm): rotation by deg_z about z then deg_x about x, about `centre`,
    then the translation t (tests/unit/lesion_tracking's Rigid)."""
    a, b = np.radians(deg_z), np.radians(deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    m = np.eye(4)
    m[:3, :3] = rx @ rz
    m[:3, 3] = np.array(centre) + np.array(t) - m[:3, :3] @ np.array(centre)
    return m


def apply(m, p):
    return (np.asarray(m) @ np.append(np.asarray(p, dtype=float), 1.0))[:3]


def series_centre(datasets):
    """The centre of the stack's voxel grid (LPS)."""
    first, last = datasets[0], datasets[-1]
    iop = [float(v) for v in first.ImageOrientationPatient]
    dy, dx = (float(v) for v in first.PixelSpacing)
    a = np.array([float(v) for v in first.ImagePositionPatient])
    b = np.array([float(v) for v in last.ImagePositionPatient])
    return (a + b) / 2 + np.array(iop[:3]) * dx * (first.Columns - 1) / 2 + \
        np.array(iop[3:]) * dy * (first.Rows - 1) / 2


def move_rigid(datasets, m):
    """The patient repositioned by the rigid transform `m` (4x4, LPS mm): the same pixels
    with another geometry, each pixel's position x becoming m x (ImagePositionPatient and
    ImageOrientationPatient of every slice changed)."""
    m = np.asarray(m)
    for ds in datasets:
        ipp = apply(m, [float(v) for v in ds.ImagePositionPatient])
        iop = [float(v) for v in ds.ImageOrientationPatient]
        row, col = m[:3, :3] @ np.array(iop[:3]), m[:3, :3] @ np.array(iop[3:])
        ds.ImagePositionPatient = [round(float(v), 4) for v in ipp]
        ds.ImageOrientationPatient = [round(float(v), 8) for v in list(row) + list(col)]
        if "SliceLocation" in ds:
            del ds.SliceLocation


def write_study(out_dir, source, patient_id, patient_name, study_date, description=None,
                priority="", site="", issuer="", bleed_ml=0.0, accession=None, max_slices=None,
                datasets=None):
    """Copies the series `source` (relative to shared/data/dicom), or the given `datasets`,
    as a new study in out_dir; returns (study_uid, files)."""
    pydicom = _pydicom()
    if datasets is None:
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
