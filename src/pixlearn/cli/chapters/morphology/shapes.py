"""Steps of the "Morphology and segmentation" demo after labelling: watershed, granulometry and
the description of each coin by its region properties."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import Tensor

import pixlearn.cli.chapters.morphology.coins  # noqa: F401  (its steps come first)
from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.morphology.coins import MORPHOLOGY
from pixlearn.data import sample
from pixlearn.filters import gaussian_blur2d, sobel
from pixlearn.measure import regionprops_table
from pixlearn.morphology import disk, granulometry, h_maxima, watershed, white_tophat
from pixlearn.segmentation import label, threshold_otsu
from pixlearn.viz.report import Section

__all__ = ["segment_coins"]


def segment_coins(image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The syllabus' extrema example: one watershed region per coin of ``coins``.

    Background correction by a white top-hat (a disk larger than any coin), Gaussian smoothing
    so that each coin is one dome, h-maxima of the smoothed image as markers, Otsu's threshold as
    the foreground, and the watershed of the Sobel gradient from the markers inside it.

    Returns:
        ``(labels, markers, relief)``: int64 coin labels, labelled markers, the flooded relief.
    """
    corrected = white_tophat(image, disk(30))  # (H, W), background ~ 0
    smooth = gaussian_blur2d(corrected, 3.0)
    foreground = smooth > threshold_otsu(smooth)
    markers = label(h_maxima(smooth, 0.08) & foreground, connectivity=2)
    relief = sobel(smooth)  # the rims of the coins are the crests
    return watershed(relief, markers, foreground), markers, relief


@MORPHOLOGY.step("watershed: one region per coin")
def _watershed(sec: Section, cfg: DemoSettings) -> None:
    coins = sample("coins", dtype=torch.float64)[0]  # (303, 384)
    labels, markers, relief = segment_coins(coins)
    n = int(labels.unique().gt(0).sum())
    sec.metric("watershed regions (top-hat, h-maxima markers)", n, expected="24", ok=n == 24)
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = image_axes(fig, 3)
    axes[0].imshow(relief.numpy(), cmap="magma")
    axes[0].set_title("relief: Sobel magnitude of the smoothed top-hat", fontsize=9)
    rows, cols = markers.nonzero(as_tuple=True)
    axes[1].imshow(coins.numpy(), cmap="gray")
    axes[1].plot(cols.numpy(), rows.numpy(), ".", color="red", markersize=2)
    axes[1].set_title(f"{int(markers.max())} markers (h-maxima, h = 0.08)", fontsize=9)
    axes[2].imshow(labels.numpy(), cmap="nipy_spectral", interpolation="nearest")
    axes[2].set_title(f"{n} watershed regions", fontsize=9)
    sec.figure(fig, "Flooding the gradient from one marker per coin: the basins meet on the "
               "rims, so touching coins are split where a threshold would merge them.",
               name="watershed")  # fmt: skip


@MORPHOLOGY.step("granulometry: the size distribution by openings")
def _granulometry(sec: Section, cfg: DemoSettings) -> None:
    coins = sample("coins", dtype=torch.float64)[0]
    mask = (segment_coins(coins)[0] > 0).double()  # the 24 solid coins
    radii = list(range(0, 30, 3 if cfg.quick else 1))
    g = granulometry(mask, radii, footprint="square")
    peak = radii[int(g.spectrum.argmax())]
    sec.metric("pattern-spectrum peak (square half-width)", peak, unit="px")
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(radii, (g.volumes / g.volumes[0]).numpy(), "o-", markersize=3)
    ax1.set(xlabel="opening size r (square of side 2r+1)", ylabel="remaining area fraction")
    ax2.bar(radii[:-1], g.spectrum.numpy(), width=0.8 * (radii[1] - radii[0]), align="edge")
    ax2.set(xlabel="r", ylabel="area removed between r and the next size")
    sec.figure(fig, "Openings of growing size remove the objects they do not fit in; the "
               "pattern spectrum (the loss between consecutive sizes) is the size histogram "
               "of the coins: a coin of radius R goes once the square's half-width passes "
               "about R / sqrt(2).", name="granulometry")  # fmt: skip


@MORPHOLOGY.step("region properties of the coins")
def _regionprops(sec: Section, cfg: DemoSettings) -> None:
    coins = sample("coins", dtype=torch.float64)[0]
    labels, _, _ = segment_coins(coins)
    props = ("label", "area", "centroid", "eccentricity", "orientation", "perimeter",
             "solidity", "circularity", "euler_number", "intensity_mean")  # fmt: skip
    t = regionprops_table(labels, coins, properties=props)
    shown = range(len(t["label"]) if not cfg.quick else min(8, len(t["label"])))
    rows = [
        [int(t["label"][i]), int(t["area"][i]),
         f"({float(t['centroid'][i, 0]):.0f}, {float(t['centroid'][i, 1]):.0f})",
         float(t["eccentricity"][i]), float(t["orientation"][i]), float(t["perimeter"][i]),
         float(t["solidity"][i]), float(t["circularity"][i]), int(t["euler_number"][i]),
         float(t["intensity_mean"][i])]
        for i in shown
    ]  # fmt: skip
    header = ["label", "area", "centroid (r, c)", "eccentricity", "orientation", "perimeter",
              "solidity", "circularity", "Euler", "mean grey"]  # fmt: skip
    sec.table(header, rows, caption="Region properties of the watershed regions "
              "(perimeter: 4-neighbourhood estimate; circularity 4 pi A / P^2).")  # fmt: skip
    median_circ = float(t["circularity"].median())
    sec.metric("median circularity of the coins", median_circ, expected="close to 1 (round)",
               ok=0.8 < median_circ < 1.2)  # fmt: skip
