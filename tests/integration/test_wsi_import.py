"""`radflow wsi import` (docs/wsi-import.md): vendor slides into DICOM VL Whole Slide
Microscopy pyramids. Every object passes dciodvfy with no errors; copied tiles are the TIFF's
raw tile + JPEGTables byte for byte and decode to exactly OpenSlide's pixels; computed levels
stay within the tolerances stated in docs/wsi-import.md; the import stores through ingest."""
import glob
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

import numpy as np
import openslide
import pydicom
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

WSI = os.path.join(h.DATA_ROOT, "wsi")
CMU = os.path.join(WSI, "cmu1_small_region_svs", "CMU-1-Small-Region.svs")
BOXES = os.path.join(WSI, "openslide_python", "boxes.tiff")
SMALL = os.path.join(WSI, "openslide_python", "small.svs")
ADOBE_RGB = bytes([0xFF, 0xEE, 0x00, 0x0E]) + b"Adobe" + bytes([0, 0x64, 0, 0, 0, 0, 0])

# Tolerances (docs/wsi-import.md, "Pixel checks"), on 8-bit samples against OpenSlide.
# Computed levels: quality-90 JPEG 4:2:2 of a 2x2 box-filter pyramid, compared with the same
# box filter applied to OpenSlide's level 0 in numpy.
COMPUTED_MEAN_ABS = 3.5   # measured 2.91-3.04 on levels 1-4 of CMU-1-Small-Region
COMPUTED_P999_ABS = 40    # measured 28-31
# Re-encoded source levels (boxes.tiff's deflate tiles): quality-90 JPEG 4:2:2 of flat
# coloured boxes with sharp edges, against the TIFF's own decoded tiles. Per level: the error
# sits on the edges (4:2:2 chroma and ringing), whose share of the pixels doubles with each
# halving, so each bound is the measured value plus about a quarter, rounded up to a half.
REENCODED_MEAN_ABS = (1.5, 2.5, 5.0, 7.0)  # measured 0.89, 1.43, 3.65, 5.66 on levels 0-3
# boxes.tiff records 28.35 pixels/cm (72 dpi, an editor's default), taken as unknown: the
# import needs --mpp (docs/wsi-import.md). 0.25 um/pixel is an arbitrary, usual 40x value.
BOXES_MPP = "0.25"


def tiff_tiles(path, ifd_index=0):
    """(tile offsets, byte counts, JPEGTables, width, tile width) of a little-endian TIFF
    directory, read without libtiff: the test's own view of the file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"II*\x00"
    off = struct.unpack("<I", data[4:8])[0]
    for _ in range(ifd_index):
        n = struct.unpack("<H", data[off:off + 2])[0]
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    n = struct.unpack("<H", data[off:off + 2])[0]
    tags = {}
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 16: 8}
    fmt = {3: "H", 4: "I", 16: "Q"}
    for i in range(n):
        e = data[off + 2 + 12 * i:off + 14 + 12 * i]
        tag, typ, cnt = struct.unpack("<HHI", e[:8])
        total = sizes.get(typ, 1) * cnt
        raw = e[8:8 + total] if total <= 4 else data[struct.unpack("<I", e[8:12])[0]:][:total]
        tags[tag] = struct.unpack("<%d%s" % (cnt, fmt[typ]), raw) if typ in fmt else raw
    return data, tags


def deflate_level(path, ifd):
    """A deflate-compressed (with horizontal predictor) TIFF directory decoded in numpy: the
    source pixels of boxes.tiff. OpenSlide 3.4 is not the reference here: it misreads the
    partial edge tiles of this file's levels 2 and 3 (non-integer downsample)."""
    data, tags = tiff_tiles(path, ifd)
    assert tags[259][0] == 8, "deflate expected"
    w, hgt, tw, th = tags[256][0], tags[257][0], tags[322][0], tags[323][0]
    across = (w + tw - 1) // tw
    out = np.zeros((((hgt + th - 1) // th) * th, across * tw, 3), np.uint8)
    for i, (o, c) in enumerate(zip(tags[324], tags[325])):
        a = np.frombuffer(zlib.decompress(data[o:o + c]), np.uint8).reshape(th, tw, 3)
        if tags.get(317, (1,))[0] == 2:
            a = np.cumsum(a.astype(np.uint32), axis=1).astype(np.uint8)
        r, col = divmod(i, across)
        out[r * th:(r + 1) * th, col * tw:(col + 1) * tw] = a
    return out[:hgt, :w]


def fragments(path):
    ds = pydicom.dcmread(path)
    frames = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
    return ds, frames


def stitch(ds, frames):
    """The total pixel matrix of a TILED_FULL level, frames decoded as a viewer does (Pillow:
    the colour space follows the JPEG stream's markers)."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    tw, th = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
    across = (tw + cols - 1) // cols
    out = np.zeros(((th + rows - 1) // rows * rows, across * cols, 3), np.uint8)
    for i, f in enumerate(frames):
        img = np.asarray(Image.open(io.BytesIO(f)).convert("RGB"))
        r, c = divmod(i, across)
        out[r * rows:(r + 1) * rows, c * cols:(c + 1) * cols] = img
    return out[:th, :tw]


def halve(a):
    """2x2 box filter, rounding half up, odd edges averaged over the pixels present (as
    src/wsi/pyramid.cpp)."""
    h_, w_ = a.shape[:2]
    p = a.astype(np.int32)
    if w_ % 2:
        p = np.concatenate([p, p[:, -1:]], axis=1)
    if h_ % 2:
        p = np.concatenate([p, p[-1:]], axis=0)
    s = p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]
    # duplicated edge pixels make the mean the mean of the pixels present
    return ((s + 2) // 4).astype(np.uint8)


def openslide_rgb(slide, level, size, loc=(0, 0)):
    img = slide.read_region(loc, level, size)  # RGBA, not premultiplied
    a = np.asarray(img).astype(np.int32)
    alpha = a[..., 3:4]
    rgb = (a[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    return rgb.astype(np.uint8)


def convert(slide, out, *extra):
    proc = h.radflow_cli("wsi", "import", slide, "--out", out, "--format", "json", *extra, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("wsi import %s failed (%d): %s" % (slide, proc.returncode, proc.stderr))
    return json.loads(proc.stdout)


class WsiImportTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binary()
        cls.tmp = tempfile.TemporaryDirectory(prefix="radflow-wsi-import-")
        cls.out = {}
        cls.report = {}
        for name, slide, extra in (("cmu", CMU, ()), ("boxes", BOXES, ("--mpp", BOXES_MPP)), ("small", SMALL, ())):
            out = os.path.join(cls.tmp.name, name)
            cls.out[name] = out
            cls.report[name] = convert(slide, out, "--patient-id", "WSI-TEST", "--patient-name", "SLIDE^TEST",
                                       "--accession", "A17", "--container-id", "S-" + name, *extra)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def level(self, name, k):
        return [i for i in self.report[name]["instances"] if i["kind"] == "VOLUME"][k]

    def test_every_object_passes_dciodvfy(self):
        files = sorted(glob.glob(os.path.join(self.tmp.name, "*", "*.dcm")))
        self.assertEqual(len(files), 8 + 4 + 2)
        for f in files:
            # -new as the other tests (test_op_import.py, test_deid.py): also flags retired attributes
            proc = subprocess.run(["dciodvfy", "-new", f], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  errors="replace", timeout=60)
            errors = [l for l in proc.stdout.splitlines() if l.startswith("Error")]
            self.assertEqual(errors, [], f)

    def test_instances_made_for_each_slide(self):
        cmu = [(i["kind"], i["total_columns"], i["total_rows"], i["frames"], i["copied"], i["photometric"])
               for i in self.report["cmu"]["instances"]]
        self.assertEqual(cmu, [
            ("VOLUME", 2220, 2967, 130, True, "RGB"),
            ("VOLUME", 1110, 1484, 35, False, "YBR_FULL_422"),
            ("VOLUME", 555, 742, 12, False, "YBR_FULL_422"),
            ("VOLUME", 278, 371, 4, False, "YBR_FULL_422"),
            ("VOLUME", 139, 186, 1, False, "YBR_FULL_422"),
            ("THUMBNAIL", 444, 594, 1, False, "YBR_FULL_422"),  # shrunk to zoom factor 5
            ("LABEL", 387, 463, 1, False, "YBR_FULL_422"),
            ("OVERVIEW", 1280, 431, 1, False, "YBR_FULL_422")])
        boxes = [(i["total_columns"], i["total_rows"], i["copied"]) for i in self.report["boxes"]["instances"]]
        self.assertEqual(boxes, [(300, 250, False), (150, 125, False), (75, 62, False), (37, 31, False)])
        small = [(i["kind"], i["copied"]) for i in self.report["small"]["instances"]]
        self.assertEqual(small, [("VOLUME", True), ("THUMBNAIL", False)])

    def test_slide_attributes(self):
        files = sorted(glob.glob(os.path.join(self.out["cmu"], "*.dcm")))
        sets = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
        for attr in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "ContainerIdentifier",
                     "PatientID", "AccessionNumber"):
            self.assertEqual(len({str(getattr(d, attr)) for d in sets}), 1, attr)
        self.assertEqual(sets[0].ContainerIdentifier, "S-cmu")
        self.assertEqual(sets[0].PatientName, "SLIDE^TEST")
        self.assertEqual({d.SpecimenDescriptionSequence[0].SpecimenUID for d in sets}.__len__(), 1)
        types = [list(d.ImageType) for d in sets]
        self.assertEqual(types[0], ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"])
        self.assertEqual(types[1], ["DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"])
        self.assertEqual([t[2] for t in types[5:]], ["THUMBNAIL", "LABEL", "OVERVIEW"])
        l0, l1 = sets[0], sets[1]
        self.assertEqual(l0.SOPClassUID, "1.2.840.10008.5.1.4.1.1.77.1.6")
        self.assertEqual(l0.file_meta.TransferSyntaxUID, "1.2.840.10008.1.2.4.50")
        self.assertEqual(l0.DimensionOrganizationType, "TILED_FULL")
        self.assertEqual([int(x.DimensionIndexPointer) for x in l0.DimensionIndexSequence],
                         [0x0048021E, 0x0048021F])
        # Aperio MPP 0.499 um; level 1 halves 2967 rows into 1484 (spacing x 2967/1484).
        sp0 = [float(v) for v in l0.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]
        sp1 = [float(v) for v in l1.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing]
        self.assertEqual(sp0, [0.000499, 0.000499])
        self.assertAlmostEqual(sp1[0], 0.000499 * 2967 / 1484, places=9)
        self.assertAlmostEqual(sp1[1], 0.000499 * 2, places=9)
        origin = l0.TotalPixelMatrixOriginSequence[0]
        self.assertEqual((float(origin.XOffsetInSlideCoordinateSystem), float(origin.YOffsetInSlideCoordinateSystem)),
                         (23.449873, 25.691574))  # aperio.Top, aperio.Left
        self.assertAlmostEqual(float(l0.ImagedVolumeWidth), 2220 * 0.000499, places=5)
        path = l0.OpticalPathSequence[0]
        self.assertEqual(path.IlluminationTypeCodeSequence[0].CodeValue, "111744")
        self.assertGreater(len(path.ICCProfile), 128)
        self.assertEqual(l0.SharedFunctionalGroupsSequence[0].OpticalPathIdentificationSequence[0]
                         .OpticalPathIdentifier, path.OpticalPathIdentifier)
        self.assertEqual(sets[6].SpecimenLabelInImage, "YES")
        # Equipment: the company, the ScanScope ID as serial only (no model property in the file).
        self.assertEqual((l0.Manufacturer, l0.ManufacturerModelName, l0.DeviceSerialNumber),
                         ("Aperio", "unknown", "CPAPERIOCS"))
        # Label and overview photograph the glass: no level-0 extent (Type 1C, C.8.12.4); the
        # origin is Type 1 for every image (dciodvfy: Microscope Slide Layer Tile Organization).
        for d in sets[6:]:
            self.assertNotIn("ImagedVolumeWidth", d)
            self.assertNotIn("ImagedVolumeHeight", d)
        # boxes.tiff carries an ICC profile (tag 34675): it is copied as it is.
        _, tags = tiff_tiles(BOXES)
        boxes0 = pydicom.dcmread(os.path.join(self.out["boxes"], "wsi-000.dcm"), stop_before_pixels=True)
        self.assertEqual(bytes(boxes0.OpticalPathSequence[0].ICCProfile), bytes(tags[34675]))
        self.assertEqual([float(v) for v in boxes0.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
                          .PixelSpacing], [0.00025, 0.00025])  # --mpp 0.25, in mm
        self.assertAlmostEqual(float(boxes0.ImagedVolumeWidth), 300 * 0.00025, places=6)

    def test_copied_tiles_are_raw_tile_plus_tables_and_match_openslide_exactly(self):
        data, tags = tiff_tiles(CMU)
        offsets, counts, tables = tags[324], tags[325], bytes(tags[347])
        ds, frames = fragments(os.path.join(self.out["cmu"], "wsi-000.dcm"))
        self.assertEqual(len(frames), len(offsets))
        for i, f in enumerate(frames):
            raw = data[offsets[i]:offsets[i] + counts[i]]
            expected = raw[:2] + ADOBE_RGB + tables[2:-2] + raw[2:]
            self.assertEqual(f.rstrip(b"\x00") if len(expected) % 2 else f, expected, "frame %d" % i)
        slide = openslide.OpenSlide(CMU)
        reference = openslide_rgb(slide, 0, slide.level_dimensions[0])
        self.assertTrue(np.array_equal(stitch(ds, frames), reference))  # exact, every pixel

    def test_computed_levels_within_tolerance(self):
        slide = openslide.OpenSlide(CMU)
        ref = openslide_rgb(slide, 0, slide.level_dimensions[0])
        for k in range(1, 5):
            ref = halve(ref)
            ds, frames = fragments(os.path.join(self.out["cmu"], "wsi-%03d.dcm" % k))
            got = stitch(ds, frames)
            self.assertEqual(got.shape, ref.shape)
            diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
            self.assertLessEqual(diff.mean(), COMPUTED_MEAN_ABS, "level %d" % k)
            self.assertLessEqual(np.percentile(diff, 99.9), COMPUTED_P999_ABS, "level %d" % k)

    def test_reencoded_source_levels_within_tolerance(self):
        for k in range(4):
            ds, frames = fragments(os.path.join(self.out["boxes"], "wsi-%03d.dcm" % k))
            got = stitch(ds, frames)
            ref = deflate_level(BOXES, k)
            self.assertEqual(got.shape, ref.shape)
            diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
            self.assertLessEqual(diff.mean(), REENCODED_MEAN_ABS[k], "level %d" % k)

    def test_store_through_ingest_and_bad_input(self):
        data = os.path.join(self.tmp.name, "data")
        proc = h.radflow_cli("wsi", "import", CMU, "--data", data, "--patient-id", "WSI-STORE")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("stored 8, already present 0", proc.stdout)
        st = h.cli_stats(data)
        self.assertEqual((st["studies"], st["series"], st["instances"]), (1, 1, 8), st)
        ls = h.radflow_cli("ls", "--data", data)
        self.assertIn("SM", ls.stdout)
        junk = os.path.join(self.tmp.name, "junk.svs")
        with open(junk, "w") as f:
            f.write("not a slide")
        for bad, reason in ((junk, "not a slide"), (os.path.join(self.tmp.name, "missing.svs"), "no such file"),
                            (os.path.join(WSI, "highdicom", "sm_image.dcm"), "not a slide")):
            proc = h.radflow_cli("wsi", "import", bad, "--data", data)
            self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
            self.assertIn(bad, proc.stderr)
            self.assertIn(reason, proc.stderr)
        proc = h.radflow_cli("wsi", "import", CMU, "--data", data, "--study-uid", "1.2.x")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--study-uid", proc.stderr)
        # No resolution in the file (72 dpi is an editor's default): refused, naming --mpp.
        proc = h.radflow_cli("wsi", "import", BOXES, "--data", data)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn(BOXES, proc.stderr)
        self.assertIn("--mpp", proc.stderr)
        proc = h.radflow_cli("wsi", "import", BOXES, "--data", data, "--mpp", "-1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--mpp", proc.stderr)
        # --threads out of range is clamped (1..4 x CPUs), not an error and not 10^6 threads.
        for threads in ("0", "1000000"):
            with tempfile.TemporaryDirectory(prefix="radflow-wsi-threads-") as out:
                report = convert(SMALL, out, "--threads", threads)
                self.assertEqual(len(report["instances"]), 2)
        self.assertEqual(h.cli_stats(data)["instances"], 8)  # nothing stored from bad input


if __name__ == "__main__":
    unittest.main()
