#!/usr/bin/python3
"""Reference crops for src/slide/tests (slide::ReadRegion), made with pydicom/numpy (their
own decoders: Pillow's libjpeg-turbo, pydicom's JPEG-LS via pylibjpeg/gdcm where present) so
that the C++ reader is checked against an independent implementation.

Each crop is raw 8-bit row-major samples: <name>.<x>_<y>_<w>_<h>.s<samples>.raw
Run: /usr/bin/python3 tests/data/wsi/make_reference.py (from the repository root).
"""
import os
import numpy as np
import pydicom

DATA = os.environ.get("RADFLOW_DATA", os.path.join(os.path.dirname(__file__), "../../../../shared/data"))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")


def total_matrix(ds):
    """TILED_FULL frames (PS3.3 C.7.6.17.3) assembled row by row."""
    frames = ds.pixel_array
    if frames.ndim == (3 if ds.SamplesPerPixel == 1 else 4) - 1:
        frames = frames[None]
    rows, cols = ds.Rows, ds.Columns
    tc, tr = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
    across = (tc + cols - 1) // cols
    down = (tr + rows - 1) // rows
    shape = (down * rows, across * cols) + frames.shape[3:]
    m = np.zeros(shape, frames.dtype)
    for i in range(across * down):
        ty, tx = divmod(i, across)
        m[ty * rows:(ty + 1) * rows, tx * cols:(tx + 1) * cols] = frames[i]
    return m[:tr, :tc]


def save(name, m, x, y, w, h):
    crop = m[y:y + h, x:x + w]
    s = 1 if crop.ndim == 2 else crop.shape[2]
    path = os.path.join(OUT, f"{name}.{x}_{y}_{w}_{h}.s{s}.raw")
    crop.astype(np.uint8).tofile(path)
    print(path, crop.shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    wsi = os.path.join(DATA, "wsi")
    m = total_matrix(pydicom.dcmread(os.path.join(wsi, "highdicom/sm_image.dcm")))
    save("sm_image", m, 0, 0, 50, 50)
    m = total_matrix(pydicom.dcmread(os.path.join(wsi, "highdicom/sm_image_grayscale.dcm")))
    # 16-bit grey -> 8 bit as ReadRegion maps it: the BitsStored range onto 0..255.
    save("sm_image_grayscale", np.rint(m.astype(np.float64) * 255.0 / 65535.0), 0, 0, 50, 50)
    m = total_matrix(pydicom.dcmread(os.path.join(wsi, "pathml_negative/small_dicom.dcm")))
    save("small_dicom", m, 468, 468, 64, 64)  # across the corner of frames 1, 2, 8, 9


if __name__ == "__main__":
    main()
