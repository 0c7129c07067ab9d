#!/usr/bin/python3
"""Trains radflow's two small test models and writes them with reference tensors.

bone3d: a tiny 3D U-Net, bone2d: a tiny 2D U-Net. Both segment "high-density structures"
(smoothed HU > 300) in synthetic CT-like volumes, so on real CT they give a bone mask.
Input: HU clipped to [-1000, 1000] and scaled to [0, 1]; output: 2-channel logits
(background, bone). CPU only, deterministic seeds; see models/README.md.

Usage: /usr/bin/python3 models/train_models.py [--out tests/fixtures/models]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HU_LOW, HU_HIGH, BONE_HU = -1000.0, 1000.0, 300.0


def synthetic_ct(shape, rng):
    """One CT-like volume (or slice) in HU with its bone target, shape (D, H, W) or (H, W)."""
    nd = len(shape)
    # Smooth background tissue 0..80 HU: a coarse random field, linearly up-sampled.
    coarse = torch.from_numpy(rng.uniform(0, 80, size=[max(2, s // 8) for s in shape]))
    mode = "trilinear" if nd == 3 else "bilinear"
    hu = F.interpolate(coarse[None, None].float(), size=shape, mode=mode,
                       align_corners=True)[0, 0]
    hu += torch.from_numpy(rng.normal(0, 15, size=shape)).float()
    axes = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in shape],
                          indexing="ij")

    def ellipsoid(centre, radii):
        r = sum(((a - c) / rr) ** 2 for a, c, rr in zip(axes, centre, radii))
        return r

    # Air outside a body ellipsoid (sometimes) and a few internal air pockets (-1000 HU).
    if rng.uniform() < 0.6:
        c = [s / 2 + rng.uniform(-0.1, 0.1) * s for s in shape]
        rad = [s * rng.uniform(0.45, 0.7) for s in shape]
        hu[ellipsoid(c, rad) > 1] = -1000
    for _ in range(rng.integers(0, 3)):
        c = [rng.uniform(0, s) for s in shape]
        rad = [rng.uniform(2, s / 4) for s in shape]
        hu[ellipsoid(c, rad) <= 1] = -1000 + rng.normal(0, 15)
    # Bone-like ellipsoids: solid, or a cortical shell around marrow. Radii are drawn per
    # axis down to ~1 voxel, giving rods and plates (ribs, cortex on thick slices) too.
    for _ in range(rng.integers(1, 5)):
        c = [rng.uniform(0, s) for s in shape]
        rad = [rng.uniform(0.8, s / 3) for s in shape]
        r = ellipsoid(c, rad)
        bone = float(rng.uniform(300, 1500))
        if rng.uniform() < 0.5:
            hu[r <= 1] = bone
        else:
            hu[(r <= 1) & (r > 0.55)] = bone
            hu[r <= 0.55] = float(rng.uniform(20, 250))
    # Scanner blur (point spread, partial volume) gives real CT its gradual edges, and puts
    # many voxels near 300 HU: the network must learn the threshold itself, not edges.
    pool = F.avg_pool3d if nd == 3 else F.avg_pool2d
    if rng.uniform() < 0.7:
        hu = pool(F.pad(hu[None, None], [1] * (2 * nd), mode="replicate"), 3, stride=1)[0, 0]
    # Noise ~15 HU, up to ~50 HU as in thin-slice or sharp-kernel CT.
    noise_sd = 15 if rng.uniform() < 0.5 else rng.uniform(15, 50)
    hu += torch.from_numpy(rng.normal(0, noise_sd, size=shape)).float() * (hu > -900)
    # Target: voxels above 300 HU after a small smoothing (3-voxel box, replicate edges).
    padded = F.pad(hu[None, None], [1] * (2 * nd), mode="replicate")
    smooth = pool(padded, 3, stride=1)[0, 0]
    target = (smooth > BONE_HU).long()
    x = (hu.clamp(HU_LOW, HU_HIGH) - HU_LOW) / (HU_HIGH - HU_LOW)
    return x, target


def batch(shape, n, rng):
    xs, ys = zip(*[synthetic_ct(shape, rng) for _ in range(n)])
    return torch.stack(xs)[:, None], torch.stack(ys)


def block(nd, cin, cout):
    conv, norm = (nn.Conv3d, nn.BatchNorm3d) if nd == 3 else (nn.Conv2d, nn.BatchNorm2d)
    return nn.Sequential(conv(cin, cout, 3, padding=1), norm(cout), nn.ReLU(inplace=True))


class TinyUNet(nn.Module):
    """Two poolings (sizes must be multiples of 4), 8/8/16 channels, skip concatenation."""

    def __init__(self, nd):
        super().__init__()
        pool = nn.MaxPool3d if nd == 3 else nn.MaxPool2d
        up = nn.ConvTranspose3d if nd == 3 else nn.ConvTranspose2d
        conv = nn.Conv3d if nd == 3 else nn.Conv2d
        self.enc1, self.enc2, self.mid = block(nd, 1, 8), block(nd, 8, 8), block(nd, 8, 16)
        self.pool = pool(2)
        self.up2, self.dec2 = up(16, 8, 2, stride=2), block(nd, 16, 8)
        self.up1, self.dec1 = up(8, 8, 2, stride=2), block(nd, 16, 8)
        self.head = conv(8, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


def dice(logits, target):
    pred = logits.argmax(1)
    inter = ((pred == 1) & (target == 1)).sum().item()
    return 2 * inter / max(1, (pred == 1).sum().item() + (target == 1).sum().item())


def train(name, nd, patch, steps, batch_size, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyUNet(nd)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    # No class weighting: a weight would move the decision boundary off 300 HU.
    t0 = time.time()
    model.train()
    for step in range(steps):
        x, y = batch(patch, batch_size, rng)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"{name} step {step} loss {loss.item():.4f}", flush=True)
    train_s = time.time() - t0
    model.eval()
    held_out = np.random.default_rng(seed + 1000)
    with torch.no_grad():
        x, y = batch(patch, 16, held_out)
        d = dice(model(x), y)
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params} parameters, {train_s:.1f} s training, held-out Dice {d:.4f}")
    return model, {"parameters": params, "train_s": round(train_s, 1), "dice": round(d, 4)}


def export(name, model, ref_shape, seed, out, info):
    rng = np.random.default_rng(seed + 2000)
    x = synthetic_ct(ref_shape[2:], rng)[0][None, None].contiguous()
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        y = model(x)
    traced.save(os.path.join(out, f"{name}.pt"))
    nd = len(ref_shape) - 2
    dyn = {"input": {2 + i: f"d{i}" for i in range(nd)},
           "logits": {2 + i: f"d{i}" for i in range(nd)}}
    torch.onnx.export(model, x, os.path.join(out, f"{name}.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"], dynamic_axes=dyn,
                      do_constant_folding=True)
    x.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.input.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.output.f32"))
    meta = {"model": name, "input_shape": list(x.shape), "output_shape": list(y.shape),
            "dtype": "float32 little-endian, row-major", "torch": torch.__version__,
            "input": "HU clipped to [-1000, 1000] scaled to [0, 1]",
            "output": "logits (background, bone)", **info}
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


class Resize3d(nn.Module):
    """Probe: 5-D trilinear resize, which OpenCV 4.6 cannot import."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(1, 2, 3, padding=1)

    def forward(self, x):
        return F.interpolate(self.conv(x), scale_factor=2, mode="trilinear")


class AvgPool3d(nn.Module):
    """Probe: 3-D average pooling, which OpenCV 4.6 imports but cannot run."""

    def forward(self, x):
        return F.avg_pool3d(x, 2)


def export_probes(out):
    """Untrained one-operator models for the ONNX backend's refusal tests."""
    torch.manual_seed(0)
    x = torch.zeros(1, 1, 8, 8, 8)
    for name, model in (("probe_resize3d", Resize3d()), ("probe_avgpool3d", AvgPool3d())):
        torch.onnx.export(model.eval(), x, os.path.join(out, f"{name}.onnx"), opset_version=13,
                          input_names=["input"], output_names=["output"])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "models"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    m3, i3 = train("bone3d", 3, (32, 32, 32), steps=500, batch_size=4, seed=3)
    export("bone3d", m3, (1, 1, 32, 48, 40), 3, args.out, i3)
    m2, i2 = train("bone2d", 2, (64, 64), steps=400, batch_size=16, seed=2)
    export("bone2d", m2, (1, 1, 96, 80), 2, args.out, i2)
    export_probes(args.out)
    print(f"total {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
