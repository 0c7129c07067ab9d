#!/usr/bin/env python3
"""`radflow wsi import` vs Debian's OrthancWSIDicomizer (orthanc-wsi 1.1) on the same slide,
in the same run, rounds interleaved (numbers go to docs/benchmarks.md, docs/wsi-import.md).

  python3 bench/wsi_import_bench.py [--rounds 5] [--slide PATH] [--threads 1,2]

For each round and thread count (the tools' order alternates from round to round):
OrthancWSIDicomizer --pyramid 1 (level 0 tiles copied, lower
levels computed down to one tile, written to a folder) and `radflow wsi import --out` (the
same pyramid, plus THUMBNAIL, LABEL and OVERVIEW instances), then `radflow wsi import --data`
(the same, stored through IngestService::Store into a fresh data directory). Reported: medians
of wall time, CPU time (user + sys) and peak RSS (os.wait4's ru_maxrss) of each process, bytes written (all instances, and the VOLUME pyramid
alone), instance counts, and the level-1 pixels' distance from a 2x2 box filter of OpenSlide's
level 0 (mean absolute difference of 8-bit samples; frames decoded by Pillow as a viewer
would). That filter is radflow's own downsampling, so the figure measures closeness to it,
not quality: a tool with another (e.g. smoother) filter is farther by construction.
Run from the repository root after the radflow binary is built.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _launcher(requests, replies):
    """Runs each command it is sent and replies with (wall s, CPU s, peak RSS KiB, exit code).
    Forked before numpy and the slides are loaded: on Linux a child's ru_maxrss includes the
    memory it had before exec (the forking process's), so children of the bench process itself
    would report the bench's own hundreds of MB."""
    for line in os.fdopen(requests, "r"):
        cmd, err_path = json.loads(line)
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(null, 1)
                os.dup2(err, 2)
                os.execv(cmd[0], cmd)
            except BaseException as e:  # noqa: BLE001  (reported through the error file)
                os.write(2, ("cannot run %s: %s\n" % (cmd[0], e)).encode())
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)  # this process's own rusage
        dt = time.perf_counter() - t0
        os.write(replies, (json.dumps([dt, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                                       os.waitstatus_to_exitcode(status)]) + "\n").encode())
    os._exit(0)


_req_r, _req_w = os.pipe()
_rep_r, _rep_w = os.pipe()
if os.fork() == 0:
    os.close(_req_w)
    os.close(_rep_r)
    _launcher(_req_r, _rep_w)
os.close(_req_r)
os.close(_rep_w)
_requests = os.fdopen(_req_w, "w")
_replies = os.fdopen(_rep_r, "r")

sys.path.append("/usr/lib/python3/dist-packages")  # Debian's pydicom, numpy, openslide
import numpy as np  # noqa: E402
import openslide  # noqa: E402
import pydicom  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import test_wsi_import as t  # noqa: E402  (stitch, halve, openslide_rgb, fragments)

BIN = os.environ.get("RADFLOW_BIN", str(ROOT / "build" / "radflow"))
DATA = Path(os.environ.get("RADFLOW_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_SLIDE = DATA / "wsi" / "cmu1_small_region_svs" / "CMU-1-Small-Region.svs"
DICOMIZER = shutil.which("OrthancWSIDicomizer") or "/usr/bin/OrthancWSIDicomizer"
LIBOPENSLIDE = "/usr/lib/x86_64-linux-gnu/libopenslide.so.0"


def mosaic_tiff(src, dst, repeat):
    """A larger generic tiled TIFF made of CMU-1-Small-Region's full JPEG tiles repeated
    repeat x repeat times (raw tiles and JPEGTables copied, Photometric RGB, 0.499 um/pixel):
    a single-level slide of realistic size for the same codecs, written with struct only."""
    data, tags = t.tiff_tiles(str(src))
    offsets, counts, tables = tags[324], tags[325], bytes(tags[347])
    tw, th = tags[322][0], tags[323][0]
    across = (tags[256][0] + tw - 1) // tw
    full_x, full_y = tags[256][0] // tw, tags[257][0] // th
    tiles = [data[offsets[r * across + c]:offsets[r * across + c] + counts[r * across + c]]
             for r in range(full_y) for c in range(full_x)]
    nx, ny = full_x * repeat, full_y * repeat
    order = [tiles[(r % full_y) * full_x + (c % full_x)] for r in range(ny) for c in range(nx)]
    entries = []  # (tag, type, count, value bytes)

    def short(tag, *v):
        entries.append((tag, 3, len(v), struct.pack("<%dH" % len(v), *v)))

    def long_(tag, *v):
        entries.append((tag, 4, len(v), struct.pack("<%dI" % len(v), *v)))

    body = bytearray(b"II*\x00\x00\x00\x00\x00")
    tile_offsets = []
    for tile in order:
        tile_offsets.append(len(body))
        body += tile
        if len(body) % 2:
            body += b"\x00"
    long_(256, nx * tw)
    long_(257, ny * th)
    short(258, 8, 8, 8)
    short(259, 7)
    short(262, 2)
    short(277, 3)
    entries.append((282, 5, 1, struct.pack("<II", 20040, 1)))  # pixels per cm: 0.499 um
    entries.append((283, 5, 1, struct.pack("<II", 20040, 1)))
    short(284, 1)
    short(296, 3)
    short(322, tw)
    short(323, th)
    long_(324, *tile_offsets)
    long_(325, *[len(x) for x in order])
    entries.append((347, 7, len(tables), tables))
    entries.sort()
    ifd_at = len(body)
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    ifd = bytearray(struct.pack("<H", len(entries)))
    extra = bytearray()
    for tag, typ, cnt, val in entries:
        if len(val) <= 4:
            ifd += struct.pack("<HHI", tag, typ, cnt) + val.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, typ, cnt, extra_at + len(extra))
            extra += val
            if len(extra) % 2:
                extra += b"\x00"
    ifd += b"\x00\x00\x00\x00"
    body[4:8] = struct.pack("<I", ifd_at)
    with open(dst, "wb") as f:
        f.write(body + ifd + extra)
    return nx * tw, ny * th


def timed(cmd):
    """(wall seconds, CPU seconds user+sys, peak RSS in KiB) of this one process, from
    os.wait4 in the small launcher process (RUSAGE_CHILDREN would be the maximum over every
    child so far, i.e. of the largest run before it)."""
    with tempfile.NamedTemporaryFile(prefix="wsi-bench-err-") as err:
        _requests.write(json.dumps([[str(c) for c in cmd], err.name]) + "\n")
        _requests.flush()
        dt, cpu, rss, code = json.loads(_replies.readline())
        if code != 0:
            raise SystemExit("%s failed (%d): %s" % (cmd[0], code, err.read()[-2000:].decode("utf-8", "replace")))
    return dt, cpu, rss  # ru_maxrss: KiB on Linux


def summarize(folder):
    files = sorted(glob.glob(os.path.join(folder, "**", "*.dcm"), recursive=True))
    total = sum(os.path.getsize(f) for f in files)
    volume = []
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        kind = ds.ImageType[2] if "ImageType" in ds and len(ds.ImageType) > 2 else "VOLUME"
        if kind == "VOLUME":
            volume.append((int(ds.TotalPixelMatrixColumns), f))
    volume.sort(reverse=True)
    vol_bytes = sum(os.path.getsize(f) for _, f in volume)
    return {"files": len(files), "bytes": total, "volume_bytes": vol_bytes, "levels": len(volume),
            "level1": volume[1][1] if len(volume) > 1 else None}


def stitch_any(ds, frames):
    """TILED_FULL in row-major frame order, or TILED_SPARSE placed by each frame's
    PlanePositionSlide (OrthancWSIDicomizer's output)."""
    if getattr(ds, "DimensionOrganizationType", "") == "TILED_FULL" or "PerFrameFunctionalGroupsSequence" not in ds:
        return t.stitch(ds, frames)
    rows, cols = int(ds.Rows), int(ds.Columns)
    tw, th = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
    out = np.zeros((th + rows, tw + cols, 3), np.uint8)
    for item, f in zip(ds.PerFrameFunctionalGroupsSequence, frames):
        pos = item.PlanePositionSlideSequence[0]
        c0, r0 = int(pos.ColumnPositionInTotalImagePixelMatrix) - 1, int(pos.RowPositionInTotalImagePixelMatrix) - 1
        img = np.asarray(t.Image.open(t.io.BytesIO(f)).convert("RGB"))
        out[r0:r0 + rows, c0:c0 + cols] = img
    return out[:th, :tw]


def level1_error(path, slide_path):
    if not path:
        return None
    slide = openslide.OpenSlide(str(slide_path))
    ref = t.halve(t.openslide_rgb(slide, 0, slide.level_dimensions[0]))
    ds, frames = t.fragments(path)
    got = stitch_any(ds, frames)
    if got.shape != ref.shape:
        return None
    return float(np.abs(got.astype(np.int32) - ref.astype(np.int32)).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slide", default=str(DEFAULT_SLIDE))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--mosaic", type=int, default=0,
                    help="instead of --slide, a generic TIFF of CMU-1-Small-Region's tiles repeated NxN")
    a = ap.parse_args()
    threads = [int(x) for x in a.threads.split(",")]
    results = {}
    work = tempfile.mkdtemp(prefix="wsi-import-bench-")
    if a.mosaic:
        a.slide = os.path.join(work, "mosaic.tiff")
        w, hgt = mosaic_tiff(DEFAULT_SLIDE, a.slide, a.mosaic)
        print("mosaic %dx%d, %d bytes" % (w, hgt, os.path.getsize(a.slide)))
    try:
        for r in range(a.rounds):
            for th in threads:
                runs = {
                    "orthanc": lambda out: [DICOMIZER, "--folder", out, "--pyramid", "1", "--threads", str(th),
                                            "--openslide", LIBOPENSLIDE, a.slide],
                    "radflow --out": lambda out: [BIN, "wsi", "import", a.slide, "--out", out, "--threads", str(th)],
                    "radflow --data": lambda out: [BIN, "wsi", "import", a.slide, "--data", out,
                                                   "--threads", str(th)],
                }
                # Alternate the order round by round: neither tool always runs first (cold
                # page cache, CPU frequency) or right after the other.
                order = list(runs.items())
                if r % 2:
                    order.reverse()
                for name, cmd in order:
                    out = os.path.join(work, "%s-%d-%d" % (name.replace(" ", "").replace("-", ""), th, r))
                    os.makedirs(out)
                    dt, cpu, rss = timed(cmd(out))
                    key = "%s, %d thread%s" % (name, th, "" if th == 1 else "s")
                    entry = results.setdefault(key, {"seconds": [], "cpu_seconds": [], "peak_rss_kib": []})
                    entry["seconds"].append(dt)
                    entry["cpu_seconds"].append(cpu)
                    entry["peak_rss_kib"].append(rss)
                    if r == 0 and name != "radflow --data":
                        entry.update(summarize(out))
                        entry["level1_mean_abs_error"] = level1_error(entry.pop("level1"), a.slide)
                    if r == 0 and name == "radflow --data":
                        blobs = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
                        entry["data_dir_bytes"] = blobs
                    shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("slide: %s (%d rounds, interleaved, order alternating)" % (a.slide, a.rounds))
    for key, e in results.items():
        e["median_seconds"] = statistics.median(e["seconds"])
        e["median_cpu_seconds"] = statistics.median(e["cpu_seconds"])
        e["median_peak_rss_mib"] = round(statistics.median(e["peak_rss_kib"]) / 1024, 1)
        e["seconds"] = [round(s, 4) for s in e["seconds"]]
        e["cpu_seconds"] = [round(s, 4) for s in e["cpu_seconds"]]
    print(json.dumps(results, indent=2))
    for th in threads:
        suffix = "%d thread%s" % (th, "" if th == 1 else "s")
        o, rf = results["orthanc, " + suffix], results["radflow --out, " + suffix]
        print("%s: radflow %.3f s (CPU %.3f s) vs Orthanc %.3f s (CPU %.3f s): wall ratio %.2f; "
              "VOLUME bytes %d vs %d (ratio %.2f); peak RSS %.1f vs %.1f MiB; level-1 distance from "
              "a 2x2 box filter of level 0 %s vs %s" % (
                  suffix, rf["median_seconds"], rf["median_cpu_seconds"], o["median_seconds"],
                  o["median_cpu_seconds"], rf["median_seconds"] / o["median_seconds"],
                  rf["volume_bytes"], o["volume_bytes"], rf["volume_bytes"] / o["volume_bytes"],
                  rf["median_peak_rss_mib"], o["median_peak_rss_mib"],
                  rf.get("level1_mean_abs_error"), o.get("level1_mean_abs_error")))


if __name__ == "__main__":
    main()
