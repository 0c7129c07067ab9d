"""Storing and serving whole-slide images (issue 17, docs/wsi.md).

- A generated slide level of ~200 MB (TILED_FULL, JPEG tiles) stored by storescu and another
  by STOW-RS (streamed): the server's peak RSS grows by less than RSS_GROWTH_LIMIT_MB.
- Every slide object (levels, thumbnail, label, overview, TILED_SPARSE, a concatenation, the
  highdicom / openslide_python / pathml files, OrthancWSIDicomizer's output) stored and
  retrievable: the instance as stored, every frame as its stored bitstream.
- WADO-RS frames by media type (image/jpeg, image/jls, application/octet-stream,
  transfer-syntax=*), decoded frames, 406 naming the reason.
- /metadata has what dicom-microscopy-viewer reads; its bulk data URIs resolve (ICC profile).
- GET /api/v1/studies/{study}/conformance names what dciodvfy calls missing in
  pathml_negative/small_dicom.dcm; the object is stored; the problems are logged once.
- /rendered?region= of a level equals the tiles' pixels.
"""
import base64
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import dicomweb_client as dw  # noqa: E402

WSI = os.path.join(h.DATA_ROOT, "wsi")
PATHML = os.path.join(WSI, "pathml_negative", "small_dicom.dcm")
SM_IMAGE = os.path.join(WSI, "highdicom", "sm_image.dcm")
SVS = os.path.join(WSI, "cmu1_small_region_svs", "CMU-1-Small-Region.svs")
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
# The claim (docs/wsi.md): storing a slide level of ~200 MB, by C-STORE or by STOW-RS, grows
# the server's peak resident set by less than this (the object is streamed to disk).
RSS_GROWTH_LIMIT_MB = 64
LARGE_FRAMES = 3000  # x ~67 KB JPEG tiles = ~200 MB per level


def pydicom():
    import pydicom as p
    return p


def jpeg_tiles(count, size=256):
    """`count` distinct noisy JPEG tiles (baseline, YCbCr 4:2:2), ~67 KB each at 256 px."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(17)
    out = []
    for _ in range(count):
        a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(a, "RGB").save(buf, "JPEG", quality=85, subsampling=1)  # 4:2:2
        out.append(buf.getvalue())
    return out


def with_comment(jpeg, text):
    """The JPEG with a COM segment after SOI (ISO 10918-1 B.2.4.5): a distinct, valid frame."""
    body = text.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def even(b):
    return b if len(b) % 2 == 0 else b + b"\x00"


def slide_dataset(study, series, sop, frames, tile=256, columns=None, image_type="VOLUME"):
    """A VL WSM header from highdicom's conformant sm_image.dcm, for JPEG baseline tiles."""
    p = pydicom()
    ds = p.dcmread(SM_IMAGE, stop_before_pixels=True)
    cols = columns or max(1, int(frames ** 0.5))
    rows = (frames + cols - 1) // cols
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = JPEG_BASELINE
    ds.Rows = ds.Columns = tile
    ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = cols * tile, rows * tile
    ds.NumberOfFrames = frames
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.LossyImageCompressionRatio = "10"
    ds.ImageType = ["ORIGINAL" if image_type == "VOLUME" else "DERIVED", "PRIMARY", image_type, "NONE"]
    ds.DimensionOrganizationType = "TILED_FULL"
    for k in ("PerFrameFunctionalGroupsSequence",):
        if k in ds:
            del ds[k]
    return ds


def write_slide(path, ds, frames):
    """Part-10 header by pydicom, then the encapsulated Pixel Data (PS3.5 A.4) streamed frame
    by frame: the test never holds the whole object."""
    p = pydicom()
    head = io.BytesIO()
    p.dcmwrite(head, ds, write_like_original=False)
    total = 0
    with open(path, "wb") as f:
        f.write(head.getvalue())
        f.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF))
        f.write(struct.pack("<HHI", 0xFFFE, 0xE000, 0))  # empty Basic Offset Table
        for fr in frames:
            fr = even(fr)
            f.write(struct.pack("<HHI", 0xFFFE, 0xE000, len(fr)))
            f.write(fr)
            total += len(fr)
        f.write(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    return total


def file_frames(path):
    """Each frame's stored bytes, as pydicom reads them (fragments joined; one per frame)."""
    p = pydicom()
    from pydicom.encaps import generate_pixel_data_frame
    ds = p.dcmread(path)
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return [bytes(f) for f in generate_pixel_data_frame(ds.PixelData, n)]
    data = ds.PixelData
    if ds.BitsAllocated == 1:  # frames follow each other bit by bit (PS3.5 8.1.1), LSB first
        import numpy as np
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        per = ds.Rows * ds.Columns * ds.SamplesPerPixel
        return [np.packbits(bits[i * per:(i + 1) * per], bitorder="little").tobytes() for i in range(n)]
    size = len(data) // n
    return [data[i * size:(i + 1) * size] for i in range(n)]


def dataset_bytes(part10):
    """The dataset of a Part-10 file: what follows the File Meta group (its length at 140)."""
    assert part10[128:132] == b"DICM"
    (group_length,) = struct.unpack("<I", part10[140:144])
    return part10[144 + group_length:]


def sha1_file(path):
    d = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            d.update(chunk)
    return d.hexdigest()


def frames_accept(media, ts=None):
    return 'multipart/related; type="%s"' % media + ("; transfer-syntax=%s" % ts if ts else "")


class WsiServeTests(h.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        h.require_binary()
        cls.scp_dir = tempfile.mkdtemp(prefix="wsi-move-dest-")
        cls.addClassCleanup(__import__("shutil").rmtree, cls.scp_dir, True)
        cls.scp = cls.start_class(h.StoreSCP(cls.scp_dir, aet="STORESCP"))
        cls.srv = cls.start_class(h.RadflowServer(modalities={"STORESCP": ("127.0.0.1", cls.scp.port)}))
        cls.client = dw.Client(cls.srv.http_port, timeout=600)
        cls.addClassCleanup(cls.client.close)
        cls.work = tempfile.mkdtemp(prefix="radflow-wsi-")
        cls.addClassCleanup(__import__("shutil").rmtree, cls.work, True)

    def store(self, files):
        out = h.storescu(self.srv.dicom_port, files, timeout=600)
        return out

    def instance_path(self, study, series, sop):
        return "studies/%s/series/%s/instances/%s" % (study, series, sop)

    def assert_stored_as_is(self, path):
        """WADO-RS returns the stored object and every frame's stored bitstream."""
        p = pydicom()
        ds = p.dcmread(path, stop_before_pixels=True)
        inst = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        r = self.client.get(inst, accept='multipart/related; type="application/dicom"; transfer-syntax=*')
        self.assertEqual(r.status, 200, r)
        parts = r.parts()
        self.assertEqual(len(parts), 1)
        # C-STORE carries no File Meta Information (the receiver writes its own, PS3.10 7.1)
        # and storescu may re-encode sequence lengths: the dataset must equal the one sent,
        # element by element (pydicom's Dataset equality, Pixel Data included).
        stored = p.dcmread(io.BytesIO(parts[0][1]))
        sent = p.dcmread(path)
        self.assertEqual(stored, sent, path)
        self.assertEqual(str(stored.file_meta.TransferSyntaxUID), str(sent.file_meta.TransferSyntaxUID))
        if "PixelData" not in p.dcmread(path, specific_tags=["PixelData"]):
            return
        frames = file_frames(path)
        ts = str(ds.file_meta.TransferSyntaxUID)
        numbers = list(range(1, len(frames) + 1))[:40]
        r = self.client.get(inst + "/frames/" + ",".join(map(str, numbers)),
                            accept=frames_accept("application/octet-stream", "*"))
        self.assertEqual(r.status, 200, "%s: %r" % (path, r))
        got = r.parts()
        self.assertEqual(len(got), len(numbers))
        for n, (hdrs, data) in zip(numbers, got):
            self.assertIn("transfer-syntax=" + ts, hdrs.get("content-type", ""))
            self.assertEqual(data.rstrip(b"\x00"), frames[n - 1].rstrip(b"\x00"), "%s frame %d" % (path, n))

    # ------------------------------------------------------------------ large slides
    def test_large_slide_by_storescu_and_stow_with_bounded_rss(self):
        tiles = jpeg_tiles(8)
        study, series = h.new_uid(), h.new_uid()
        sops = [h.new_uid(), h.new_uid()]
        paths, sizes = [], []
        for k, sop in enumerate(sops):
            frames = (with_comment(tiles[i % len(tiles)], "frame %d of level %d" % (i + 1, k))
                      for i in range(LARGE_FRAMES))
            path = os.path.join(self.work, "large%d.dcm" % k)
            sizes.append(write_slide(path, slide_dataset(study, series, sop, LARGE_FRAMES), frames))
            paths.append(path)
        self.assertGreater(min(sizes), 180e6)
        before = self.srv.proc_status("VmRSS")
        t0 = time.time()
        self.store([paths[0]])
        t1 = time.time()
        with open(paths[1], "rb") as f:
            data = f.read()
        r = dw.stow_streamed(self.srv.http_port, iter([data]), study=study)
        del data
        t2 = time.time()
        self.assertEqual(r.status, 200, r)
        peak = self.srv.peak_rss_kb()
        sys.stderr.write("\n[large slide] 2 x %.0f MB: storescu %.1fs, STOW-RS %.1fs; server RSS %d MB "
                         "before, peak %d MB\n" % (sizes[0] / 1e6, t1 - t0, t2 - t1, before // 1024, peak // 1024))
        self.assertLess((peak - before) / 1024, RSS_GROWTH_LIMIT_MB, "slide held in memory while stored?")
        # Frames by their stored bitstream, first, middle, last.
        for k, sop in enumerate(sops):
            inst = self.instance_path(study, series, sop)
            r = self.client.get(inst + "/frames/1,1000,%d" % LARGE_FRAMES, accept=frames_accept("image/jpeg"))
            self.assertEqual(r.status, 200, r)
            got = [d for _, d in r.parts()]
            for n, d in zip((1, 1000, LARGE_FRAMES), got):
                self.assertEqual(d, even(with_comment(tiles[(n - 1) % len(tiles)], "frame %d of level %d" % (n, k))))
            meta = self.client.get(inst + "/metadata").json()[0]
            self.assertEqual(meta["00280008"]["Value"], [LARGE_FRAMES])
            # The whole level decoded in one bulk part (~590 MB) is refused, naming /frames:
            # 400, no Accept would change it (docs/wsi.md).
            r = self.client.get(inst + "/bulk/7FE00010", accept='multipart/related; type="application/octet-stream"')
            self.assertEqual(r.status, 400, r)
            self.assertIn("/frames", r.json()["error"])
        self.assertLess((self.srv.peak_rss_kb() - before) / 1024, RSS_GROWTH_LIMIT_MB)
        for p in paths:
            os.remove(p)

    # ------------------------------------------------------------------ every kind of slide object
    def test_slide_objects_stored_and_retrievable(self):
        p = pydicom()
        tiles = jpeg_tiles(4, size=64)
        study, series = h.new_uid(), h.new_uid()
        made = []
        # A level, its thumbnail, label and overview (PS3.3 C.8.12.4.1.1 ImageType value 3).
        for kind, n in (("VOLUME", 12), ("THUMBNAIL", 1), ("LABEL", 1), ("OVERVIEW", 1)):
            path = os.path.join(self.work, "%s.dcm" % kind.lower())
            write_slide(path, slide_dataset(study, series, h.new_uid(), n, tile=64, image_type=kind),
                        (with_comment(tiles[i % 4], "%s %d" % (kind, i)) for i in range(n)))
            made.append(path)
        # A concatenation (PS3.3 C.7.6.16.2.2.4 / C.7.6.21): one level split in two instances.
        concat_uid, source_uid = h.new_uid(), h.new_uid()
        concat_sops = []
        for part, (first, count) in enumerate(((0, 7), (7, 5))):
            concat_sops.append(h.new_uid())
            ds = slide_dataset(study, series, concat_sops[-1], count, tile=64, columns=4)
            ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = 4 * 64, 3 * 64
            ds.ConcatenationUID, ds.SOPInstanceUIDOfConcatenationSource = concat_uid, source_uid
            ds.InConcatenationNumber, ds.InConcatenationTotalNumber = part + 1, 2
            ds.ConcatenationFrameOffsetNumber = first
            path = os.path.join(self.work, "concat%d.dcm" % part)
            write_slide(path, ds, (with_comment(tiles[i % 4], "concat %d" % i) for i in range(first, first + count)))
            made.append(path)
        # OrthancWSIDicomizer's CMU-1-Small-Region: a real converted slide, TILED_SPARSE.
        orthanc = os.path.join(self.work, "orthanc")
        os.makedirs(orthanc)
        proc = subprocess.run(["OrthancWSIDicomizer", "--folder", orthanc, "--pyramid", "1",
                               "--openslide", "/usr/lib/x86_64-linux-gnu/libopenslide.so.0", SVS],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
        made += sorted(os.path.join(orthanc, f) for f in os.listdir(orthanc))
        shared = [os.path.join(WSI, d, f) for d in ("highdicom", "openslide_python", "pathml_negative")
                  for f in sorted(os.listdir(os.path.join(WSI, d))) if f.endswith(".dcm")]
        files = made + shared
        def known(f):
            ds = p.dcmread(f, stop_before_pixels=True)
            path = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
            return self.client.get(path + "/metadata").status == 200
        new = [f for f in files if not known(f)]  # other tests of this class stored some
        before = self.srv.stats()["instances"]
        self.store(files)
        self.assertEqual(self.srv.stats()["instances"] - before, len(new))
        sparse = 0
        for f in files:
            with self.subTest(file=os.path.basename(f)):
                self.assert_stored_as_is(f)
                ds = p.dcmread(f, stop_before_pixels=True)
                # TILED_SPARSE, or no DimensionOrganizationType and a position per frame.
                sparse += getattr(ds, "DimensionOrganizationType", "") != "TILED_FULL" and \
                    "PerFrameFunctionalGroupsSequence" in ds
        self.assertGreaterEqual(sparse, 6)  # OrthancWSIDicomizer's 5 levels, highdicom's dots SEG, pathml
        # A region of the concatenated level, asked of either part: the parts are joined
        # (PS3.3 C.7.6.16.2.2), the same pixels both ways, across the parts' boundary (frame 8
        # of 12 is part 2's first).
        regions = []
        for sop in concat_sops:
            r = self.client.get(self.instance_path(study, series, sop) + "/rendered", accept="image/png",
                                query={"region": "0,64,256,128"})
            self.assertEqual(r.status, 200, r)
            regions.append(r.body)
        self.assertEqual(regions[0], regions[1])

    # ------------------------------------------------------------------ media types
    def test_frame_media_types_and_406(self):
        p = pydicom()
        jls = os.path.join(WSI, "highdicom", "sm_image_jpegls.dcm")
        jpeg = os.path.join(WSI, "openslide_python", "boxes_0.dcm")
        native = SM_IMAGE
        self.store([jls, jpeg, native])
        def inst(f):
            ds = p.dcmread(f, stop_before_pixels=True)
            return self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID), ds
        # JPEG baseline: image/jpeg with its default transfer syntax, or *.
        path, ds = inst(jpeg)
        want = file_frames(jpeg)[0]
        for accept in (frames_accept("image/jpeg"), frames_accept("image/jpeg", JPEG_BASELINE),
                       frames_accept("image/jpeg", "*"), frames_accept("application/octet-stream", "*")):
            r = self.client.get(path + "/frames/1", accept=accept)
            self.assertEqual(r.status, 200, (accept, r))
            self.assertEqual(r.parts()[0][1].rstrip(b"\0"), want.rstrip(b"\0"), accept)
            self.assertIn("transfer-syntax=" + JPEG_BASELINE, r.parts()[0][0]["content-type"])
        # image/* and multipart/* with no syntax: the stored image type, as stored.
        for accept in (frames_accept("image/*"), "multipart/*", frames_accept("image/*", "*")):
            r = self.client.get(path + "/frames/1", accept=accept)
            self.assertEqual(r.status, 200, (accept, r))
            self.assertTrue(r.parts()[0][0]["content-type"].startswith("image/jpeg"), (accept, r.parts()[0][0]))
            self.assertEqual(r.parts()[0][1].rstrip(b"\0"), want.rstrip(b"\0"), accept)
        # Decoded when asked: octet-stream, Explicit VR LE, rows x columns x 3 bytes.
        r = self.client.get(path + "/frames/1", accept=frames_accept("application/octet-stream"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.parts()[0][1]), ds.Rows * ds.Columns * 3)
        self.assertIn("transfer-syntax=" + EXPLICIT_LE, r.parts()[0][0]["content-type"])
        # Not what is stored: 406 naming the stored syntax.
        for accept in (frames_accept("image/jp2"), frames_accept("image/jls"),
                       frames_accept("image/jpeg", "1.2.840.10008.1.2.4.70")):
            r = self.client.get(path + "/frames/1", accept=accept)
            self.assertEqual(r.status, 406, (accept, r))
            self.assertIn(JPEG_BASELINE, r.json()["error"])
        # JPEG-LS: image/jls (default .80 is its syntax) and the stored bitstream.
        path, ds = inst(jls)
        r = self.client.get(path + "/frames/1,25", accept=frames_accept("image/jls"))
        self.assertEqual(r.status, 200, r)
        frames = file_frames(jls)
        self.assertEqual([d.rstrip(b"\0") for _, d in r.parts()], [frames[0].rstrip(b"\0"), frames[24].rstrip(b"\0")])
        # JPEG 2000: image/jp2 means .90 by default; .91 must be named (or *).
        codecs = os.path.join(h.DICOM_ROOT, "codecs", "files")
        j2kr, j2ki = os.path.join(codecs, "US1_J2KR.dcm"), os.path.join(codecs, "RG1_J2KI.dcm")
        self.store([j2kr, j2ki])
        path, ds = inst(j2kr)
        self.assertEqual(str(ds.file_meta.TransferSyntaxUID), "1.2.840.10008.1.2.4.90")
        r = self.client.get(path + "/frames/1", accept=frames_accept("image/jp2"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.parts()[0][1].rstrip(b"\0"), file_frames(j2kr)[0].rstrip(b"\0"))
        path, ds = inst(j2ki)
        self.assertEqual(self.client.get(path + "/frames/1", accept=frames_accept("image/jp2")).status, 406)
        r = self.client.get(path + "/frames/1", accept=frames_accept("image/jp2", "1.2.840.10008.1.2.4.91"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.parts()[0][1].rstrip(b"\0"), file_frames(j2ki)[0].rstrip(b"\0"))
        # Native: octet-stream frames equal the stored bytes; image/jpeg is 406.
        path, ds = inst(native)
        r = self.client.get(path + "/frames/3", accept=frames_accept("application/octet-stream"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.parts()[0][1], file_frames(native)[2])
        self.assertEqual(self.client.get(path + "/frames/3", accept=frames_accept("image/jpeg")).status, 406)
        # image/* has no match on native frames: 406; multipart/* takes them as stored.
        self.assertEqual(self.client.get(path + "/frames/3", accept=frames_accept("image/*", "*")).status, 406)
        self.assertEqual(self.client.get(path + "/frames/3", accept=frames_accept("image/*")).status, 406)
        r = self.client.get(path + "/frames/3", accept="multipart/*")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.parts()[0][0]["content-type"].startswith("application/octet-stream"), r.parts()[0][0])
        self.assertEqual(r.parts()[0][1], file_frames(native)[2])
        self.assertEqual(self.client.get(path + "/frames/26", accept=frames_accept("application/octet-stream")).status, 404)

    def test_decoded_rgb_stream_follows_the_stream(self):
        """Tiles copied from an Aperio SVS are RGB JPEG streams (Adobe APP14, transform 0) that
        OrthancWSIDicomizer labels YBR_FULL_422: decoded frames follow the stream, as OpenSlide
        and Pillow do (a YCbCr->RGB conversion on top is ~47 grey levels off)."""
        import numpy as np
        from PIL import Image
        p = pydicom()
        out = os.path.join(self.work, "orthanc-rgb")
        os.makedirs(out)
        subprocess.run(["OrthancWSIDicomizer", "--folder", out, "--pyramid", "1", "--openslide",
                        "/usr/lib/x86_64-linux-gnu/libopenslide.so.0", SVS],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        level0 = max((os.path.join(out, f) for f in os.listdir(out)),
                     key=lambda f: p.dcmread(f, stop_before_pixels=True).TotalPixelMatrixColumns)
        self.store([level0])
        ds = p.dcmread(level0, stop_before_pixels=True)
        self.assertEqual(ds.PhotometricInterpretation, "YBR_FULL_422")
        inst = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        frames = file_frames(level0)
        self.assertIn(b"Adobe", frames[0][:1024])
        for n in (1, 17, 60):
            r = self.client.get(inst + "/frames/%d" % n, accept=frames_accept("application/octet-stream"))
            self.assertEqual(r.status, 200, r)
            got = np.frombuffer(r.parts()[0][1], np.uint8).reshape(ds.Rows, ds.Columns, 3).astype(int)
            want = np.asarray(Image.open(io.BytesIO(frames[n - 1])).convert("RGB")).astype(int)
            # Tolerance (docs/wsi.md): DCMTK's IJG decoder and Pillow's libjpeg-turbo differ
            # in IDCT/upsampling rounding: mean |difference| < 2 grey levels per sample.
            self.assertLess(np.abs(got - want).mean(), 2.0, "frame %d" % n)
        # The other way round: pathml's JFIF (YCbCr) frames labelled RGB are converted.
        self.store([PATHML])
        ds = p.dcmread(PATHML, stop_before_pixels=True)
        self.assertEqual(ds.PhotometricInterpretation, "RGB")
        inst = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        frames = file_frames(PATHML)
        self.assertIn(b"JFIF", frames[0][:64])
        r = self.client.get(inst + "/frames/5", accept=frames_accept("application/octet-stream"))
        self.assertEqual(r.status, 200, r)
        got = np.frombuffer(r.parts()[0][1], np.uint8).reshape(ds.Rows, ds.Columns, 3).astype(int)
        want = np.asarray(Image.open(io.BytesIO(frames[4])).convert("RGB")).astype(int)
        self.assertLess(np.abs(got - want).mean(), 2.0)

    # ------------------------------------------------------------------ metadata for the viewer
    def test_metadata_for_microscopy_viewer(self):
        p = pydicom()
        files = [SM_IMAGE, os.path.join(WSI, "openslide_python", "boxes_0.dcm"),
                 os.path.join(WSI, "openslide_python", "boxes_1.dcm")]
        # A level whose ICC profile is too long to inline (pydicom's crayons.icc, 8.7 KB): its
        # BulkDataURI must resolve to the profile inside OpticalPathSequence.
        big = p.dcmread(SM_IMAGE)
        big.SOPInstanceUID = big.file_meta.MediaStorageSOPInstanceUID = h.new_uid()
        with open(os.path.join(h.DICOM_ROOT, "edgecases_pydicom", "test_files", "crayons.icc"), "rb") as f:
            big.OpticalPathSequence[0].ICCProfile = f.read()
        files.append(os.path.join(self.work, "big_icc.dcm"))
        big.save_as(files[-1], write_like_original=False)
        self.store(files)
        for f in files:
            ds = p.dcmread(f)
            inst = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
            meta = self.client.get(inst + "/metadata").json()[0]
            for tag in ("00480006", "00480007", "00280010", "00280011", "00280008", "00480105",
                        "52009229", "00080008", "00400512", "00209311"):
                self.assertIn(tag, meta, "%s lacks %s" % (f, tag))
            self.assertEqual(meta["00480006"]["Value"], [ds.TotalPixelMatrixColumns])
            self.assertIn(meta["00080008"]["Value"][2], ("VOLUME", "THUMBNAIL"))
            path_item = meta["00480105"]["Value"][0]
            self.assertIn("00480106", path_item)  # OpticalPathIdentifier
            # The ICC profile: inline when short (<= 1024 bytes), else a bulk data URI that resolves.
            icc = path_item.get("00282000")
            self.assertIsNotNone(icc, f)
            want = bytes(ds.OpticalPathSequence[0].ICCProfile)
            if len(want) > 1024:
                self.assertIn("BulkDataURI", icc, f)
            if "InlineBinary" in icc:
                self.assertEqual(base64.b64decode(icc["InlineBinary"]), want, f)
            else:
                self.assertEqual(self.bulk(icc["BulkDataURI"]), want, f)
            # Pixel Data: a bulk data URI; native data comes back as stored, compressed decoded.
            got = self.bulk(meta["7FE00010"]["BulkDataURI"])
            if ds.file_meta.TransferSyntaxUID.is_compressed:
                self.assertEqual(len(got), ds.Rows * ds.Columns * ds.SamplesPerPixel * int(ds.NumberOfFrames), f)
            else:
                self.assertEqual(got, bytes(ds.PixelData), f)

    def bulk(self, uri):
        r = self.client.get(uri[uri.index("/dicom-web/"):], accept='multipart/related; type="application/octet-stream"')
        self.assertEqual(r.status, 200, r)
        return r.parts()[0][1]

    # ------------------------------------------------------------------ conformance report
    def dciodvfy_missing(self, path):
        out = subprocess.run(["dciodvfy", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60).stdout
        names = set(re.findall(r"Missing attribute Type \S+ (?:Required|Conditional) Element=<(\w+)>", out))
        names |= set(re.findall(r"Required unless .* - attribute <(\w+)>", out))
        return names, out

    def test_conformance_report_names_what_dciodvfy_calls_missing(self):
        p = pydicom()
        ds = p.dcmread(PATHML, stop_before_pixels=True)
        self.store([PATHML, SM_IMAGE])
        r = self.client.get("/api/v1/studies/%s/conformance" % ds.StudyInstanceUID)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        item = [i for i in body["instances"] if i["sop_instance_uid"] == ds.SOPInstanceUID]
        self.assertEqual(len(item), 1, body)
        item = item[0]
        self.assertEqual((item["series_instance_uid"], item["sop_class_uid"]),
                         (ds.SeriesInstanceUID, ds.SOPClassUID))
        problems = item["problems"]
        named = set(re.findall(r"^(?:missing|empty) Type \S+ (\w+) \(", "\n".join(problems), re.M))
        expected, out = self.dciodvfy_missing(PATHML)
        self.assertGreaterEqual(len(expected), 20, out)
        self.assertEqual(expected - named, set(), "dciodvfy calls these missing, radflow does not:\n%s\n%s"
                         % ("\n".join(problems), out))
        # Nothing refused: the object is stored and retrievable as sent.
        self.assert_stored_as_is(PATHML)
        # A conformant object: no problem (and dciodvfy agrees that nothing is missing).
        sm = p.dcmread(SM_IMAGE, stop_before_pixels=True)
        r = self.client.get("/api/v1/studies/%s/conformance" % sm.StudyInstanceUID)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.dciodvfy_missing(SM_IMAGE)[0], set())
        sm_items = [i for i in r.json()["instances"] if i["sop_instance_uid"] == sm.SOPInstanceUID]
        self.assertEqual(sm_items[0]["problems"], [])
        # Logged once per instance at warn, naming the count.
        with open(self.srv.log_path, errors="replace") as f:
            lines = [l for l in f if ds.SOPInstanceUID in l and "conformance problems" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("with %d conformance problems" % len(problems), lines[0])
        self.assertIn("W", lines[0].upper())
        # Errors: unknown study 404, not a UID 400.
        self.assertEqual(self.client.get("/api/v1/studies/2.25.1234/conformance").status, 404)
        self.assertEqual(self.client.get("/api/v1/studies/x.y/conformance").status, 400)

    # ------------------------------------------------------------------ long UIDs
    def test_move_refuses_a_uid_longer_than_dimse_carries(self):
        """pathml's SOP Instance UID has 66 characters: stored (the hub keys on up to 128),
        but a C-STORE request carries 64 (DCMTK's DIC_UI): the C-MOVE sub-operation fails
        (PS3.4 C.4.2.3) rather than sending a truncated UID naming another instance."""
        p = pydicom()
        ds = p.dcmread(PATHML, stop_before_pixels=True)
        self.assertGreater(len(ds.SOPInstanceUID), 64)
        self.store([PATHML])
        for f in os.listdir(self.scp_dir):
            os.remove(os.path.join(self.scp_dir, f))
        proc = h.movescu(self.srv.dicom_port, "STORESCP", "IMAGE",
                         [("StudyInstanceUID", ds.StudyInstanceUID), ("SeriesInstanceUID", ds.SeriesInstanceUID),
                          ("SOPInstanceUID", ds.SOPInstanceUID)])
        self.assertIn("Final Move Response", proc.stdout, proc.stdout[-3000:])
        self.assertNotIn("Final Move Response (Success)", proc.stdout, proc.stdout[-3000:])
        self.assertEqual(h.received_files(self.scp_dir), [])
        with open(self.srv.log_path, errors="replace") as f:
            lines = [l for l in f if ds.SOPInstanceUID in l and "longer than the 64" in l]
        self.assertEqual(len(lines), 1, lines)

    # ------------------------------------------------------------------ regions
    def test_rendered_region_equals_tiles(self):
        import numpy as np
        from PIL import Image
        p = pydicom()
        self.store([SM_IMAGE])
        ds = p.dcmread(SM_IMAGE)
        inst = self.instance_path(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        # The native RGB tiles (10x10, TILED_FULL row by row) assembled into the matrix.
        cols, rows = ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows
        tw, th = ds.Columns, ds.Rows
        per_row = (cols + tw - 1) // tw
        arr = ds.pixel_array
        matrix = np.full((rows, cols, 3), 255, np.uint8)
        for i in range(int(ds.NumberOfFrames)):
            y, x = (i // per_row) * th, (i % per_row) * tw
            tile = arr[i][: rows - y, : cols - x]
            matrix[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        r = self.client.get(inst + "/rendered", accept="image/png", query={"region": "5,7,30,20"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "image/png")
        got = np.asarray(Image.open(io.BytesIO(r.body)).convert("RGB"))
        self.assertEqual(got.shape, (20, 30, 3))
        self.assertTrue(np.array_equal(got, matrix[7:27, 5:35]), "region pixels differ from the tiles'")
        # Outside the matrix: white. Viewport: scaled to fit, aspect kept.
        r = self.client.get(inst + "/rendered", accept="image/png", query={"region": "%d,0,10,10" % (cols - 5)})
        got = np.asarray(Image.open(io.BytesIO(r.body)).convert("RGB"))
        self.assertTrue((got[:, 5:] == 255).all())
        self.assertTrue(np.array_equal(got[:, :5], matrix[0:10, cols - 5:cols]))
        r = self.client.get(inst + "/rendered", accept="image/jpeg", query={"region": "0,0,50,50", "viewport": "25,40"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(Image.open(io.BytesIO(r.body)).size, (25, 25))
        # Bad requests: 400 naming the parameter.
        for q in ({"region": "1,2,3"}, {"region": "0,0,0,5"}, {"region": "a,b,c,d"}):
            r = self.client.get(inst + "/rendered", query=q)
            self.assertEqual(r.status, 400, (q, r))
            self.assertIn("region", r.json()["error"])


if __name__ == "__main__":
    unittest.main()
