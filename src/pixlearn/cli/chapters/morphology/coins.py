"""Steps of the "Morphology and segmentation" demo on scikit-image's `coins` photograph."""

from __future__ import annotations

from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import Chapter, DemoSettings, image_axes
from pixlearn.data import sample
from pixlearn.filters import gaussian_blur2d
from pixlearn.morphology import (
    closing,
    dilation,
    disk,
    erosion,
    fill_holes,
    h_maxima,
    opening,
    white_tophat,
)
from pixlearn.segmentation import label, remove_small_objects, threshold_otsu
from pixlearn.viz.report import Section

__all__ = ["MORPHOLOGY"]

MORPHOLOGY = Chapter(
    "Morphology and segmentation",
    "The lattice operators of mathematical morphology and the classical segmentation they feed: "
    "background correction by a top-hat, Otsu's threshold, hole filling, connected components, "
    "and h-maxima as object markers, on a photograph of 24 coins.",
)


@MORPHOLOGY.step("erosion, dilation, opening, closing")
def _operators(sec: Section, cfg: DemoSettings) -> None:
    coins = sample("coins")[0]  # (303, 384)
    fp = disk(4)
    results = {
        "coins": coins,
        "erosion disk(4)": erosion(coins, fp),
        "dilation disk(4)": dilation(coins, fp),
        "opening disk(4)": opening(coins, fp),
        "closing disk(4)": closing(coins, fp),
    }
    fig = Figure(figsize=(14, 3.2), layout="constrained")
    for ax, (name, img) in zip(image_axes(fig, 5), results.items(), strict=True):
        ax.imshow(img.numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
    sec.figure(fig, "Erosion takes the minimum over the footprint, dilation the maximum; "
               "opening removes bright details smaller than it, closing dark ones.",
               name="operators")  # fmt: skip
    op, cl = results["opening disk(4)"], results["closing disk(4)"]
    ordered = bool((op <= coins).all() and (coins <= cl).all())
    sec.metric("opening <= image <= closing", str(ordered), expected="True", ok=ordered)
    idem = bool((opening(op, fp) == op).all())
    sec.metric("opening is idempotent", str(idem), expected="True", ok=idem)


@MORPHOLOGY.step("top-hat, Otsu, holes, labelling, markers")
def _pipeline(sec: Section, cfg: DemoSettings) -> None:
    coins = sample("coins")[0]
    # uneven illumination: a large opening estimates the background; the top-hat removes it
    corrected = white_tophat(coins, disk(40))  # larger than the largest coin
    t = threshold_otsu(corrected)
    mask = remove_small_objects(fill_holes(corrected > t), 100)
    labels, n = label(mask, return_num=True)
    markers = h_maxima(gaussian_blur2d(coins, 4.0), 0.05)
    n_markers = label(markers, connectivity=2, return_num=True)[1]
    sec.metric("Otsu threshold of the top-hat", float(t))
    sec.metric("connected components after hole filling", n, expected="24 coins", ok=n == 24)
    sec.metric("h-maxima markers (h = 0.05, smoothed)", n_markers, expected="about one per coin")
    fig = Figure(figsize=(14, 3.4), layout="constrained")
    axes = image_axes(fig, 5)
    panels = [
        (coins, "coins", "gray"),
        (corrected, "white top-hat, disk(40)", "gray"),
        (mask.float(), f"> Otsu {float(t):.3f}, holes filled", "gray"),
        (labels.float(), f"{n} labelled components", "nipy_spectral"),
        (coins, f"{n_markers} h-maxima markers", "gray"),
    ]
    for ax, (img, title, cmap) in zip(axes, panels, strict=True):
        ax.imshow(img.numpy(), cmap=cmap)
        ax.set_title(title, fontsize=9)
    rows, cols = markers.nonzero(as_tuple=True)
    axes[4].plot(cols.numpy(), rows.numpy(), ".", color="red", markersize=2)
    sec.figure(fig, "The classical pipeline: background correction, global threshold, hole "
               "filling, connected components; regional (h-) maxima of the smoothed image mark "
               "one point per coin for a watershed.", name="coins")  # fmt: skip
