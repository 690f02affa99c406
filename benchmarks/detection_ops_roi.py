"""Benchmark of RoI Align: pixlearn's vectorised op against a per-box loop of the same math.

Run as ``python benchmarks/detection_ops_roi.py``. 1,000 boxes on a ``(2, 256, 64, 64)`` float32
feature map (stride 8, a 512 x 512 image), output 7 x 7, sampling_ratio 2, ``aligned=True``;
forward and forward + backward (w.r.t. the features). No CPU peer is installed (torchvision does
not load here), so the reference is a plain loop over boxes that gathers the four bilinear
neighbours of every sample point. Each time is the median of ``REPEATS`` runs after ``WARMUP``
warm-up runs, in this one process; ratio = loop time / pixlearn time (> 1: pixlearn is faster).
Outputs and gradients are compared before timing.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import torch

from common import median_time
from pixlearn.ops import roi_align

__all__ = ["main"]

WARMUP, REPEATS = 1, 5
SCALE, OUT, RATIO = 1 / 8, 7, 2


def _loop_roi_align(features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
    """One box at a time: sample points, clamp, gather the 4 neighbours, average (aligned)."""
    _, _, h, w = features.shape
    outs = []
    g = torch.arange(OUT * RATIO, dtype=features.dtype)
    for b, x1, y1, x2, y2 in rois.tolist():
        x1, y1, x2, y2 = (v * SCALE - 0.5 for v in (x1, y1, x2, y2))
        ys = y1 + (g + 0.5) * (y2 - y1) / (OUT * RATIO)  # (OUT*RATIO,) sample rows
        xs = x1 + (g + 0.5) * (x2 - x1) / (OUT * RATIO)
        vy = ((ys >= -1) & (ys <= h)).to(features.dtype)
        vx = ((xs >= -1) & (xs <= w)).to(features.dtype)
        ys, xs = ys.clamp(0, h - 1), xs.clamp(0, w - 1)
        y0, x0 = ys.floor().long(), xs.floor().long()
        y1i, x1i = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
        ly, lx = (ys - y0) * vy, (xs - x0) * vx
        hy, hx = (1 - (ys - y0)) * vy, (1 - (xs - x0)) * vx
        f = features[int(b)]  # (C, H, W)
        v = (
            f[:, y0][:, :, x0] * (hy[:, None] * hx)
            + f[:, y0][:, :, x1i] * (hy[:, None] * lx)
            + f[:, y1i][:, :, x0] * (ly[:, None] * hx)
            + f[:, y1i][:, :, x1i] * (ly[:, None] * lx)
        )  # (C, OUT*RATIO, OUT*RATIO)
        outs.append(v.reshape(-1, OUT, RATIO, OUT, RATIO).mean((2, 4)))
    return torch.stack(outs)


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    feats = torch.rand(2, 256, 64, 64, generator=gen)
    xy = torch.rand(1000, 2, generator=gen) * 400
    wh = 16 + torch.rand(1000, 2, generator=gen) * 240
    rois = torch.cat([torch.randint(0, 2, (1000, 1), generator=gen).float(), xy, xy + wh], 1)
    ops = {
        "pixlearn": lambda f: roi_align(f, rois, OUT, SCALE, RATIO, True),
        "loop": lambda f: _loop_roi_align(f, rois),
    }
    weights = torch.rand(1000, 256, OUT, OUT, generator=gen)
    results = {}
    for name, op in ops.items():
        f = feats.clone().requires_grad_(True)
        out = op(f)
        (out * weights).sum().backward()
        results[name] = (out.detach(), f.grad)
    err_out = float((results["pixlearn"][0] - results["loop"][0]).abs().max())
    err_grad = float((results["pixlearn"][1] - results["loop"][1]).abs().max())
    assert err_out < 1e-4 and err_grad < 1e-3, (err_out, err_grad)

    def fwd_bwd(op: Callable[[torch.Tensor], torch.Tensor]) -> None:
        f = feats.clone().requires_grad_(True)
        (op(f) * weights).sum().backward()

    t_fwd = {
        k: median_time(lambda op=op: op(feats), warmup=WARMUP, repeats=REPEATS)
        for k, op in ops.items()
    }
    # the loop's backward takes seconds: fewer repeats for it
    t_all = {
        k: median_time(
            lambda op=op: fwd_bwd(op), warmup=WARMUP, repeats=REPEATS if k == "pixlearn" else 3
        )
        for k, op in ops.items()
    }
    print("# RoI Align, 1,000 boxes, (2, 256, 64, 64) float32, 7x7, sampling_ratio 2")
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; max |diff| out {err_out:.1e}, grad {err_grad:.1e}"
    )
    print("| pass | pixlearn (ms) | per-box loop (ms) | loop / pixlearn |")
    print("|---|---|---|---|")
    for label, t in (("forward", t_fwd), ("forward + backward", t_all)):
        print(
            f"| {label} | {t['pixlearn'] * 1e3:.1f} | {t['loop'] * 1e3:.1f} | "
            f"{t['loop'] / t['pixlearn']:.2f} |"
        )


if __name__ == "__main__":
    main()
