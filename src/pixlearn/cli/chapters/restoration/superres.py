"""Step of the "Restoration" demo: the interpolation baseline of super-resolution."""

from __future__ import annotations

from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.restoration.chapter import RESTORATION
from pixlearn.data import sample
from pixlearn.metrics import psnr, ssim
from pixlearn.restoration import upscale
from pixlearn.transform import resize
from pixlearn.viz.report import Section

__all__: list[str] = []

FACTOR = 4


@RESTORATION.step("super-resolution baseline: nearest, bilinear, bicubic")
def _superres(sec: Section, cfg: DemoSettings) -> None:
    cam = sample("camera")[0]  # (512, 512)
    if cfg.quick:
        cam = cam[128:384, 128:384].contiguous()
    h, w = cam.shape
    low = resize(cam, (h // FACTOR, w // FACTOR))  # anti-aliased reduction
    results = {m: upscale(low, FACTOR, method=m) for m in ("nearest", "bilinear", "bicubic")}
    scores = {m: (float(psnr(x, cam)), float(ssim(x.clamp(0, 1), cam))) for m, x in results.items()}
    rows = [[m, round(p, 2), round(s, 3)] for m, (p, s) in scores.items()]
    sec.table(["method", "PSNR (dB)", "SSIM"], rows, f"Upscaling a {FACTOR}x reduction back.")
    order = scores["nearest"][0] < scores["bilinear"][0] <= scores["bicubic"][0]
    sec.metric("PSNR nearest < bilinear <= bicubic",
               " < ".join(f"{scores[m][0]:.2f}" for m in scores), unit="dB",
               expected="increasing", ok=order)  # fmt: skip
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = image_axes(fig, 4)
    crop = slice(h // 4, h // 4 + h // 4), slice(w // 4, w // 4 + w // 4)
    axes[0].imshow(cam[crop].numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("original (detail)", fontsize=9)
    for ax, (m, img) in zip(axes[1:], results.items(), strict=True):
        ax.imshow(img[crop].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{m} x{FACTOR}: {scores[m][0]:.1f} dB", fontsize=9)
    sec.figure(
        fig,
        "Interpolation only spreads the samples it has: nearest is blocky, bilinear blurry, "
        "bicubic (Keys, a = -0.5) a little sharper. Learned super-resolution must beat these.",
        name="superres",
    )
