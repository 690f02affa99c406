"""Step of the "Restoration" demo: biharmonic inpainting of scratches."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.restoration.chapter import RESTORATION
from pixlearn.data import sample
from pixlearn.metrics import psnr
from pixlearn.restoration import inpaint_biharmonic
from pixlearn.viz.report import Section

__all__: list[str] = []


def scratches(h: int, w: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """A ``(h, w)`` bool mask of ``n`` random straight scratches, 1-2 pixels wide."""
    mask = torch.zeros(h, w, dtype=torch.bool)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    for _ in range(n):
        p = torch.rand(4, generator=generator)
        y0, x0 = float(p[0]) * h, float(p[1]) * w
        angle = float(p[2]) * torch.pi
        length = (0.2 + 0.5 * float(p[3])) * min(h, w)
        # distance to the line through (y0, x0) with direction (sin, cos), within the length
        dy, dx = yy - y0, xx - x0
        along = dy * torch.sin(torch.tensor(angle)) + dx * torch.cos(torch.tensor(angle))
        across = -dy * torch.cos(torch.tensor(angle)) + dx * torch.sin(torch.tensor(angle))
        mask |= (across.abs() <= 0.8) & (along.abs() <= length / 2)
    return mask


@RESTORATION.step("inpainting of scratches")
def _inpainting(sec: Section, cfg: DemoSettings) -> None:
    step = 4 if cfg.quick else 2
    cam = sample("camera")[0, ::step, ::step].contiguous()  # (128 or 256)^2
    h, w = cam.shape
    mask = scratches(h, w, 12, cfg.generator())
    damaged = cam.masked_fill(mask, 1.0)  # white scratches
    filled = inpaint_biharmonic(damaged, mask)
    p_dam = float(psnr(damaged, cam))
    p_fill = float(psnr(filled, cam))
    err = (filled - cam).abs()
    sec.metric("scratched pixels", f"{int(mask.sum())} ({float(mask.float().mean()):.1%})")
    sec.metric("PSNR scratched / inpainted", f"{p_dam:.2f} / {p_fill:.2f}", unit="dB",
               expected="inpainted higher", ok=p_fill > p_dam)  # fmt: skip
    mean_err = float(err[mask].mean())
    sec.metric("mean |error| on the scratches", mean_err, expected="< 0.05", ok=mean_err < 0.05)
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = image_axes(fig, 4)
    panels = [
        ("original", cam, "gray", 1.0),
        (f"scratched: {p_dam:.1f} dB", damaged, "gray", 1.0),
        (f"biharmonic inpainting: {p_fill:.1f} dB", filled, "gray", 1.0),
        ("|error| (x4)", (4 * err).clamp(max=1), "magma", 1.0),
    ]
    for ax, (title, img, cmap, vmax) in zip(axes, panels, strict=True):
        ax.imshow(img.numpy(), cmap=cmap, vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
    sec.figure(
        fig,
        "Scratched pixels are filled by the smoothest surface (bilaplacian = 0) through the "
        "known pixels around them: one sparse linear system. Thin scratches vanish; errors "
        "remain where a scratch crosses fine texture, which no smooth fill can invent.",
        name="inpainting",
    )
