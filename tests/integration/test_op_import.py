"""`radflow op import` (issue 17, docs/ophthalmic.md): fundus photographs as DICOM
Ophthalmic Photography.

  - the shared JPEG (skimage retina.jpg, 1411x1411, YCbCr 4:2:0): OP 8 Bit, JPEG Baseline,
    YBR_FULL_422, the single fragment byte-identical to the file (padded to even length);
    compared with DCMTK's `img2dcm -oph` of the same file and codes: same SOP class,
    transfer syntax, photometric interpretation, matrix, the same JPEG bytes and coded
    laterality / device / anatomy; both dciodvfy with 0 errors;
  - PNG 8-bit RGB -> OP 8 Bit, 16-bit grey and 16-bit RGB -> OP 16 Bit, Explicit VR Little
    Endian: every sample equal to the PNG's (no tolerance: lossless); dciodvfy 0 errors;
  - stored: `radflow op import --data` before the server starts, and the --out files (8-bit
    and 16-bit) by C-STORE (storescu) into the running server; QIDO lists the three OP
    instances of the patient with their SOP classes, WADO-RS metadata carries the coded
    attributes, and the retrieved JPEG instance's frame is the file's stream;
  - EXIF APP1, COM and bytes after EOI are not stored (the stream stored is the file's
    without them; an EXIF Orientation other than 1 is warned about);
  - bad input (not an image, progressive, 4:4:4 or truncated JPEG, a PNG declaring 1e6 x 1e6
    pixels, a missing file, a bad laterality or device, option values that do not fit their
    VR): exit status 2, a message naming the reason, nothing stored.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from dicomweb_client import Client  # noqa: E402

RETINA = os.path.join(harness.DATA_ROOT, "ophthalmic", "skimage_retina", "retina.jpg")
OP8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1"
OP16 = "1.2.840.10008.5.1.4.1.1.77.1.5.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
FUNDUS_CAMERA = ("409898007", "SCT", "Fundus Camera")
RETINA_CODE = ("5665001", "SCT", "Retina")


def dciodvfy_errors(path):
    r = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True, timeout=60)
    return [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("Error")]


def write_png_rgb16(path, width, height, pixel):
    """A 16-bit RGB PNG (Pillow cannot write one): PNG 1.2, colour type 2, no filter."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw += struct.pack(">HHH", *pixel(x, y))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw))))
        f.write(chunk(b"IEND", b""))


def code_of(ds, keyword):
    item = getattr(ds, keyword)[0]
    return (item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning)


def first_fragment(path):
    pydicom = harness._pydicom()
    from pydicom.encaps import generate_pixel_data_frame
    ds = pydicom.dcmread(path)
    return next(generate_pixel_data_frame(ds.PixelData, 1))


class OpImportTests(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_binary()
        if not os.path.isfile(RETINA):
            raise unittest.SkipTest("shared data missing: " + RETINA)
        cls.tmp = tempfile.TemporaryDirectory(prefix="radflow-op-")
        cls.dir = cls.tmp.name
        from PIL import Image
        import numpy as np
        cls.np = np
        im = Image.open(RETINA)
        cls.rgb8 = np.asarray(im.convert("RGB"))[::4, ::4].copy()  # 353x353
        Image.fromarray(cls.rgb8).save(cls.path("rgb8.png"))
        cls.grey16 = (np.asarray(im.convert("L"))[::4, ::4].astype(np.uint16) * 257
                      + np.arange(353, dtype=np.uint16)[None, :])
        Image.fromarray(cls.grey16).save(cls.path("grey16.png"))
        write_png_rgb16(cls.path("rgb16.png"), 40, 30,
                        lambda x, y: (x * 1600, y * 2100, 65535 - x * y * 50))
        im.save(cls.path("progressive.jpg"), progressive=True, quality=90)
        im.save(cls.path("ycc444.jpg"), subsampling=0, quality=90)
        with open(cls.path("notes.jpg"), "w") as f:
            f.write("not a photograph\n")
        with open(RETINA, "rb") as f:
            jpeg = f.read()
        with open(cls.path("half.jpg"), "wb") as f:
            f.write(jpeg[:len(jpeg) // 2])  # cut inside the scan data
        # A PNG declaring 1e6 x 1e6 16-bit RGB (6 TB decoded) in a few bytes.
        with open(cls.path("bomb.png"), "wb") as f:
            ihdr = struct.pack(">IIBBBBB", 1000000, 1000000, 16, 2, 0, 0, 0)
            f.write(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
                    + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    def op_import(self, image, *args, laterality="R", patient="OP-IT-1", name="FUNDUS^TEST"):
        return harness.radflow_cli("op", "import", image, "--laterality", laterality,
                                   "--patient-id", patient, "--patient-name", name,
                                   "--format", "json", *args)

    def write(self, image, name, *args, **kw):
        out = self.path(name)
        proc = self.op_import(image, "--out", out, *args, **kw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(dciodvfy_errors(out), [], "dciodvfy errors in radflow's OP from %s" % image)
        return out, json.loads(proc.stdout)

    def test_jpeg_copied_and_compared_with_img2dcm(self):
        out, report = self.write(RETINA, "retina-radflow.dcm")
        self.assertTrue(report["copied"])
        ds = harness.read_dataset(out)
        self.assertEqual(ds.file_meta.TransferSyntaxUID, JPEG_BASELINE)
        self.assertEqual(ds.SOPClassUID, OP8)
        self.assertEqual(ds.Modality, "OP")
        self.assertEqual(ds.PhotometricInterpretation, "YBR_FULL_422")
        self.assertEqual((ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated), (1411, 1411, 3, 8))
        self.assertEqual(ds.ImageLaterality, "R")
        self.assertEqual(code_of(ds, "AcquisitionDeviceTypeCodeSequence"), FUNDUS_CAMERA)
        self.assertEqual(code_of(ds, "AnatomicRegionSequence"), RETINA_CODE)
        self.assertEqual(ds.LossyImageCompression, "01")
        with open(RETINA, "rb") as f:
            jpeg = f.read()
        frame = first_fragment(out)
        self.assertEqual(frame.rstrip(b"\0")[:len(jpeg)], jpeg, "the JPEG stream is stored unchanged")
        self.assertLessEqual(len(frame) - len(jpeg), 1, "at most the even-length pad")

        # DCMTK's img2dcm -oph with the same codes.
        ref = self.path("retina-img2dcm.dcm")
        keys = ["ImageLaterality=R", "PatientID=OP-IT-1",
                "AcquisitionDeviceTypeCodeSequence[0].CodeValue=%s" % FUNDUS_CAMERA[0],
                "AcquisitionDeviceTypeCodeSequence[0].CodingSchemeDesignator=SCT",
                "AcquisitionDeviceTypeCodeSequence[0].CodeMeaning=%s" % FUNDUS_CAMERA[2],
                "AnatomicRegionSequence[0].CodeValue=%s" % RETINA_CODE[0],
                "AnatomicRegionSequence[0].CodingSchemeDesignator=SCT",
                "AnatomicRegionSequence[0].CodeMeaning=%s" % RETINA_CODE[2]]
        args = ["img2dcm", "-oph", RETINA, ref]
        for k in keys:
            args += ["-k", k]
        harness.run_dcmtk(args, check=True)
        self.assertEqual(dciodvfy_errors(ref), [], "dciodvfy errors in img2dcm's OP")
        theirs = harness.read_dataset(ref)
        for kw in ("SOPClassUID", "Modality", "PhotometricInterpretation", "Rows", "Columns",
                   "SamplesPerPixel", "BitsAllocated", "BitsStored", "ImageLaterality",
                   "LossyImageCompression", "LossyImageCompressionMethod", "BurnedInAnnotation"):
            self.assertEqual(getattr(ds, kw), getattr(theirs, kw), kw)
        self.assertEqual(theirs.file_meta.TransferSyntaxUID, ds.file_meta.TransferSyntaxUID)
        for kw in ("AcquisitionDeviceTypeCodeSequence", "AnatomicRegionSequence"):
            self.assertEqual(code_of(ds, kw), code_of(theirs, kw), kw)
        # img2dcm drops the JFIF APP0 segment (its -ka keeps other APPn only); radflow keeps
        # the file as it is. Past that segment the streams are the same bytes.
        self.assertEqual(jpeg[2:4], b"\xff\xe0", "retina.jpg starts with a JFIF APP0 segment")
        app0 = 4 + struct.unpack(">H", jpeg[4:6])[0]
        theirs_frame = first_fragment(ref)
        self.assertEqual(theirs_frame[:2] + theirs_frame[2:].rstrip(b"\0"), jpeg[:2] + jpeg[app0:],
                         "img2dcm and radflow store the same JPEG stream (less img2dcm's dropped APP0)")
        # What radflow fills that img2dcm leaves empty (reported, for docs/ophthalmic.md).
        filled = [kw for kw in ("StudyDate", "StudyTime", "SeriesNumber", "PatientName",
                                "SeriesDescription", "PresentationLUTShape")
                  if getattr(ds, kw, None) not in (None, "") and getattr(theirs, kw, None) in (None, "")]
        print("\nradflow fills, img2dcm leaves empty: %s" % ", ".join(filled))

    def test_exif_and_trailer_are_not_stored(self):
        """An APP1 'Exif' (Orientation 6, text naming the patient), a COM segment and bytes
        after EOI: none of them reaches Pixel Data; the stream stored is retina.jpg's."""
        with open(RETINA, "rb") as f:
            jpeg = f.read()
        app0 = 4 + struct.unpack(">H", jpeg[4:6])[0]
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) \
            + struct.pack(">I", 0)
        exif = b"Exif\x00\x00" + tiff + b"Owner: DOE^JANE"
        com = b"patient DOE^JANE"
        tagged = (jpeg[:app0] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
                  + b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com + jpeg[app0:] + b"MPF second image")
        src = self.path("exif.jpg")
        with open(src, "wb") as f:
            f.write(tagged)
        out = self.path("exif.dcm")
        proc = self.op_import(src, "--out", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        report = json.loads(proc.stdout)
        self.assertEqual(dciodvfy_errors(out), [])
        self.assertEqual(report["exif_orientation"], 6)
        self.assertEqual(len(report["removed_segments"]), 3, report["removed_segments"])
        self.assertIn("EXIF Orientation is 6", proc.stderr, "the rotation is warned about")
        frame = first_fragment(out)
        self.assertEqual(frame.rstrip(b"\0"), jpeg.rstrip(b"\0"), "the stored stream is the photograph without them")
        self.assertNotIn(b"\xff\xe1", frame, "no APP1 marker in the stored JPEG")
        self.assertNotIn(b"DOE^JANE", frame)

    def test_icc_profile_moves_to_icc_profile_attribute(self):
        """A JPEG with an embedded sRGB profile (APP2, written by Pillow): the profile is stored
        as ICCProfile (0028,2000), not inside Pixel Data; dciodvfy 0 errors."""
        from PIL import Image, ImageCms
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        src = self.path("icc.jpg")
        Image.fromarray(self.rgb8).save(src, quality=90, icc_profile=profile)
        out, report = self.write(src, "icc.dcm")
        self.assertEqual(report["icc_profile_bytes"], len(profile))
        ds = harness.read_dataset(out)
        self.assertEqual(bytes(ds.ICCProfile)[:len(profile)], profile)
        self.assertNotIn(b"ICC_PROFILE", first_fragment(out))

    def test_png_8_and_16_bit_lossless(self):
        np = self.np
        out, report = self.write(self.path("rgb8.png"), "rgb8.dcm", laterality="L")
        ds = harness.read_dataset(out)
        self.assertEqual((ds.SOPClassUID, ds.file_meta.TransferSyntaxUID), (OP8, EXPLICIT_LE))
        self.assertEqual((ds.PhotometricInterpretation, ds.BitsAllocated, ds.ImageLaterality), ("RGB", 8, "L"))
        self.assertEqual(ds.LossyImageCompression, "00")
        self.assertTrue(np.array_equal(ds.pixel_array, self.rgb8), "8-bit RGB samples differ")

        out, report = self.write(self.path("grey16.png"), "grey16.dcm")
        ds = harness.read_dataset(out)
        self.assertEqual((ds.SOPClassUID, ds.PhotometricInterpretation), (OP16, "MONOCHROME2"))
        self.assertEqual((ds.BitsAllocated, ds.BitsStored, ds.HighBit), (16, 16, 15))
        self.assertTrue(np.array_equal(ds.pixel_array, self.grey16), "16-bit grey samples differ")

        out, report = self.write(self.path("rgb16.png"), "rgb16.dcm")
        ds = harness.read_dataset(out)
        self.assertEqual((ds.SOPClassUID, ds.PhotometricInterpretation, ds.BitsAllocated), (OP16, "RGB", 16))
        px = ds.pixel_array
        self.assertEqual(px.shape, (30, 40, 3))
        expected = np.array([[(x * 1600, y * 2100, 65535 - x * y * 50) for x in range(40)] for y in range(30)],
                            dtype=np.uint16)
        self.assertTrue(np.array_equal(px, expected), "16-bit RGB samples differ")

    def test_stored_by_import_and_by_c_store(self):
        data = self.tmpdir()
        study = harness.new_uid()
        proc = harness.radflow_cli("op", "import", RETINA, "--laterality", "L", "--patient-id", "OP-STORE",
                                   "--study-uid", study, "--accession", "ACC-OP-1", "--data", data,
                                   "--format", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        stored = json.loads(proc.stdout)
        self.assertEqual(stored["outcome"], "stored")
        files = []
        for image, name in (("rgb8.png", "store8.dcm"), ("grey16.png", "store16.dcm")):
            out = self.path(name)
            p = harness.radflow_cli("op", "import", self.path(image), "--laterality", "R", "--patient-id",
                                    "OP-STORE", "--study-uid", study, "--out", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            files.append(out)
        server = self.start(harness.RadflowServer(data_dir=data))
        scu, statuses = harness.storescu(server.dicom_port, files)
        self.assertEqual(scu.returncode, 0, scu.stdout[-2000:])
        self.assertEqual(sorted(statuses.values()), ["Success", "Success"], scu.stdout[-2000:])

        dw = Client(server.http_port)
        self.addCleanup(dw.close)
        studies = dw.qido("studies", {"PatientID": "OP-STORE"}).json()
        self.assertEqual(len(studies), 1)
        self.assertIn("OP", studies[0]["00080061"]["Value"])
        instances = dw.qido("studies/%s/instances" % study).json()
        classes = sorted(i["00080016"]["Value"][0] for i in instances)
        self.assertEqual(classes, sorted([OP8, OP8, OP16]))

        series = stored["series_instance_uid"]
        sop = stored["sop_instance_uid"]
        meta = dw.get("studies/%s/series/%s/metadata" % (study, series), accept="application/dicom+json").json()
        self.assertEqual(len(meta), 1)
        m = meta[0]
        self.assertEqual(m["00200062"]["Value"], ["L"])  # ImageLaterality
        device = m["00220015"]["Value"][0]  # AcquisitionDeviceTypeCodeSequence
        self.assertEqual((device["00080100"]["Value"][0], device["00080102"]["Value"][0]), FUNDUS_CAMERA[:2])
        anatomy = m["00082218"]["Value"][0]  # AnatomicRegionSequence
        self.assertEqual(anatomy["00080100"]["Value"][0], RETINA_CODE[0])
        frame = dw.get("studies/%s/series/%s/instances/%s/frames/1" % (study, series, sop),
                       accept='multipart/related; type="image/jpeg"')
        self.assertEqual(frame.status, 200, frame.body[:300])
        with open(RETINA, "rb") as f:
            jpeg = f.read()
        body = frame.parts()[0][1]
        self.assertEqual(body.rstrip(b"\0")[:len(jpeg)], jpeg, "the retrieved frame is the file's JPEG stream")

    def test_bad_input_is_refused_with_its_reason(self):
        data = self.tmpdir()
        cases = [
            (self.path("notes.jpg"), [], "not a JPEG or PNG file"),
            (self.path("progressive.jpg"), [], "progressive (SOF2)"),
            (self.path("ycc444.jpg"), [], "4:4:4"),
            (self.path("missing.png"), [], "cannot be opened"),
            (RETINA, ["--device", "toaster"], "unknown --device 'toaster'"),
            (self.path("half.jpg"), [], "truncated JPEG: the scan data ends without an EOI marker"),
            (self.path("bomb.png"), [], "1000000x1000000 pixels is larger than 65535"),
            (RETINA, ["--study-uid", "1.2.x"], "--study-uid '1.2.x' is not a UID"),
            (RETINA, ["--accession", "A" * 17], "--accession '%s' is 17 characters, more than the 16 of SH" % ("A" * 17)),
        ]
        for image, extra, reason in cases:
            proc = self.op_import(image, "--data", data, *extra)
            self.assertEqual(proc.returncode, 2, "%s: %s" % (image, proc.stderr))
            self.assertIn(reason, proc.stderr, image)
            self.assertNotIn("Traceback", proc.stderr)
        proc = self.op_import(RETINA, "--data", data, name="DOE\\JANE")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--patient-name 'DOE\\JANE' contains a backslash", proc.stderr)
        proc = self.op_import(RETINA, "--data", data, laterality="X")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--laterality must be R, L or B", proc.stderr)
        self.assertEqual(harness.cli_stats(data).get("instances", 0), 0, "nothing stored")


if __name__ == "__main__":
    unittest.main()
