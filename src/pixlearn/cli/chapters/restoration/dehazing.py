"""Step of the "Restoration" demo: dark-channel dehazing of a synthetic hazy photograph."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.restoration.chapter import RESTORATION
from pixlearn.data import sample
from pixlearn.metrics import psnr
from pixlearn.restoration import dark_channel, dehaze_dark_channel
from pixlearn.viz.report import Section

__all__: list[str] = []

AIRLIGHT = (0.85, 0.9, 0.95)
BETA = 1.0


@RESTORATION.step("dehazing with the dark channel prior")
def _dehazing(sec: Section, cfg: DemoSettings) -> None:
    step = 3 if cfg.quick else 2
    clear = sample("coffee", dtype=torch.float64)[:, ::step, ::step]  # J, (3, H, W)
    _, h, w = clear.shape
    # a depth growing towards the top of the frame; t = exp(-beta d)
    y = torch.linspace(0, 1, h, dtype=torch.float64)[:, None].expand(h, w)
    depth = 0.3 + 2.7 * (1 - y)
    t_true = torch.exp(-BETA * depth)  # (H, W)
    a_true = torch.tensor(AIRLIGHT, dtype=torch.float64)
    # I = J t + A (1 - t)
    hazy = clear * t_true + a_true[:, None, None] * (1 - t_true)
    patch, radius = (7, 20) if cfg.quick else (15, 40)
    out, t_hat, a_hat = dehaze_dark_channel(hazy, patch_size=patch, radius=radius)
    err_a = float((a_hat - a_true).abs().max())
    corr = float(torch.corrcoef(torch.stack([t_hat.flatten(), t_true.flatten()]))[0, 1])
    p_hazy, p_out = float(psnr(hazy, clear)), float(psnr(out, clear))
    sec.metric("max |A estimated - A true|", err_a, expected="< 0.05", ok=err_a < 0.05)
    sec.metric("correlation of estimated and true transmission", corr, expected="> 0.9",
               ok=corr > 0.9)  # fmt: skip
    sec.metric("PSNR hazy / dehazed against the clear photo", f"{p_hazy:.2f} / {p_out:.2f}",
               unit="dB", expected="dehazed higher", ok=p_out > p_hazy)  # fmt: skip
    fig = Figure(figsize=(14, 5.4), layout="constrained")
    axes = image_axes(fig, 3, rows=2)
    panels = [
        ("clear photo J", clear.permute(1, 2, 0), None),
        (f"hazy I = J t + A (1 - t): {p_hazy:.1f} dB", hazy.permute(1, 2, 0), None),
        (f"dehazed: {p_out:.1f} dB", out.permute(1, 2, 0), None),
        ("dark channel of I", dark_channel(hazy, patch), "gray"),
        ("estimated transmission (colour-guided filter)", t_hat, "viridis"),
        ("true transmission exp(-beta d)", t_true, "viridis"),
    ]
    for ax, (title, img, cmap) in zip(axes, panels, strict=True):
        ax.imshow(img.clamp(0, 1).numpy(), cmap=cmap, vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    sec.figure(
        fig,
        "Haze made with the atmospheric scattering model from a clear photo and a known depth. "
        "The dark channel of the hazy image estimates 1 - t, its brightest pixels locate the "
        f"airlight A (true {AIRLIGHT}, estimated "
        f"({', '.join(f'{v:.3f}' for v in a_hat.tolist())})); the guided filter, with the "
        "colour image as guide, snaps the blocky estimate to the image's edges.",
        name="dehazing",
    )
