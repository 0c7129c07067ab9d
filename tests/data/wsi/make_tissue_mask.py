#!/usr/bin/python3
"""The hand-drawn tissue mask of CMU-1-Small-Region (README.md in this folder).

  render  -> /tmp/cmu1_ds4.png and grid crops: the 4x box-downsampled slide (OpenSlide,
             level 0) with a coordinate grid every 25 px, the pictures the polygons were
             traced on by eye
  overlay -> /tmp/cmu1_overlay.png: the polygons drawn over the picture, for checking
  mask    -> cmu1_small_region_tissue_mask.png (555x742, 255 = tissue): tissue polygons
             filled, then hole polygons cleared (PIL ImageDraw.polygon)

Polygons: cmu1_small_region_tissue.json. Run with /usr/bin/python3 (Debian's
python3-openslide, PIL). The tissue detector's code is not used here.
"""
import json
import os
import sys

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("RADFLOW_DATA", os.path.join(HERE, "../../../../shared/data"))
SVS = os.path.join(DATA, "wsi/cmu1_small_region_svs/CMU-1-Small-Region.svs")
POLYGONS = json.load(open(os.path.join(HERE, "cmu1_small_region_tissue.json")))
SIZE = (555, 742)


def render():
    import openslide
    s = openslide.OpenSlide(SVS)
    im = s.read_region((0, 0), 0, s.dimensions).convert("RGB").resize(SIZE, Image.BOX)
    im.save("/tmp/cmu1_ds4.png")
    return im


def grid(im, box, zoom, path, polygons=()):
    x0, y0, x1, y1 = box
    c = im.crop(box).resize(((x1 - x0) * zoom, (y1 - y0) * zoom), Image.LANCZOS)
    d = ImageDraw.Draw(c)
    for g in range(0, max(SIZE), 25):
        color = (0, 160, 255) if g % 50 == 0 else (150, 210, 255)
        if x0 <= g < x1:
            d.line([((g - x0) * zoom, 0), ((g - x0) * zoom, c.size[1])], fill=color)
            if g % 50 == 0:
                d.text(((g - x0) * zoom + 2, 2), str(g), fill=(0, 0, 0))
        if y0 <= g < y1:
            d.line([(0, (g - y0) * zoom), (c.size[0], (g - y0) * zoom)], fill=color)
            if g % 50 == 0:
                d.text((2, (g - y0) * zoom + 2), str(g), fill=(0, 0, 0))
    for p in polygons:
        pts = [((x - x0) * zoom, (y - y0) * zoom) for x, y in p]
        d.line(pts + [pts[0]], fill=(0, 200, 0), width=2)
    c.save(path)


def all_polygons():
    return list(POLYGONS["tissue"].values()) + list(POLYGONS["holes"].values())


def mask():
    m = Image.new("L", SIZE, 0)
    d = ImageDraw.Draw(m)
    for p in POLYGONS["tissue"].values():
        d.polygon([tuple(v) for v in p], fill=255)
    for p in POLYGONS["holes"].values():
        d.polygon([tuple(v) for v in p], fill=0)
    m.save(os.path.join(HERE, "cmu1_small_region_tissue_mask.png"), optimize=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "mask"
    if what == "render":
        im = render()
        grid(im, (0, 0) + SIZE, 1, "/tmp/cmu1_grid.png")
        for i, box in enumerate([(175, 0, 425, 225), (275, 175, 500, 475), (0, 225, 250, 325),
                                 (100, 275, 300, 525), (100, 500, 300, 742), (350, 425, 555, 742)]):
            grid(im, box, 3, f"/tmp/cmu1_crop{i}.png")
    elif what == "overlay":
        grid(render(), (0, 0) + SIZE, 1, "/tmp/cmu1_overlay.png", all_polygons())
    else:
        mask()
