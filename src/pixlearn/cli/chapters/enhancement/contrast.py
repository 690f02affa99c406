"""Step of the "Enhancement" demo: global histogram equalisation against CLAHE."""

from __future__ import annotations

from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.enhancement.chapter import ENHANCEMENT
from pixlearn.data import sample
from pixlearn.exposure import equalize_adapthist, equalize_hist, histogram, rescale_intensity
from pixlearn.viz.report import Section

__all__: list[str] = []


@ENHANCEMENT.step("histogram equalisation and CLAHE")
def _contrast(sec: Section, cfg: DemoSettings) -> None:
    moon = sample("moon")[0]  # (512, 512), a low-contrast photograph
    results = {
        "original": moon,
        "contrast stretch (2-98 %)": rescale_intensity(moon, percentiles=(2, 98)),
        "histogram equalisation": equalize_hist(moon),
        "CLAHE (clip 0.03)": equalize_adapthist(moon, clip_limit=0.03),
    }
    fig = Figure(figsize=(13, 6), layout="constrained")
    axes = fig.subplots(2, 4)
    for col, (name, img) in enumerate(results.items()):
        axes[0, col].imshow(img.numpy(), cmap="gray", vmin=0, vmax=1)
        axes[0, col].set_title(name, fontsize=9)
        axes[0, col].set_axis_off()
        counts, centres = histogram(img, 64)
        cdf = counts.cumsum(0) / counts.sum()
        axes[1, col].bar(centres.numpy(), counts.numpy(), width=1 / 64, color="0.6")
        axes[1, col].twinx().plot(centres.numpy(), cdf.numpy(), color="C3")
        axes[1, col].set_xlabel("intensity")
    sec.figure(
        fig,
        "A low-contrast photograph, its histogram (grey) and cumulative histogram "
        "(red): equalisation makes the cumulative histogram a straight line; CLAHE does "
        "it per tile with a clip limit, bringing out local detail.",
        name="contrast",
    )
    # the syllabus' property: after equalisation the CDF is close to the identity
    eq = results["histogram equalisation"]
    counts, centres = histogram(eq, 256)
    cdf = counts.cumsum(0) / counts.sum()
    gap = float((cdf - centres).abs().max())
    # (the moon has few grey levels, so the equalised CDF is a staircase around the identity)
    sec.metric("max |CDF - identity| after equalisation", gap, expected="< 0.1", ok=gap < 0.1)
    clahe = results["CLAHE (clip 0.03)"]
    sec.metric("std of the image before / after CLAHE", f"{moon.std():.3f} / {clahe.std():.3f}")
