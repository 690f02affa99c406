"""Step of the "Classical recognition" demo: histograms of oriented gradients, drawn."""

from __future__ import annotations

from matplotlib.figure import Figure

import pixlearn.cli.chapters.recognition.sift_matches  # noqa: F401  (its step comes first)
from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION
from pixlearn.data import load_dataset, sample
from pixlearn.features import hog
from pixlearn.viz.report import Section

__all__: list[str] = []


@RECOGNITION.step("HOG visualisation")
def _hog(sec: Section, cfg: DemoSettings) -> None:
    step = 2 if cfg.quick else 1
    astronaut = sample("astronaut").mean(0)[::step, ::step].contiguous()  # (256 or 512)^2
    digits = load_dataset("digits", "test")
    faces = load_dataset("faces", "test")
    digit = digits.images[0, 0]  # (32, 32)
    face = faces.images[faces.targets == 1][0, 0]  # (25, 25)
    # (image, pixels per cell, title): the cell is about an eighth of a small patch
    shown = [
        (astronaut, 16 // step, "astronaut"),
        (digit, 4, f"digit '{digits.classes[int(digits.targets[0])]}'"),
        (face, 5, "LFW face patch"),
    ]
    fig = Figure(figsize=(13, 4.6), layout="constrained")
    axes = image_axes(fig, 6)
    for i, (img, cell, title) in enumerate(shown):
        desc, drawing = hog(img, 9, cell, 2, "L2-Hys", visualize=True)
        axes[2 * i].imshow(img.numpy(), cmap="gray")
        axes[2 * i].set_title(title, fontsize=9)
        axes[2 * i + 1].imshow(drawing.numpy(), cmap="gray")
        axes[2 * i + 1].set_title(f"HOG, {cell}x{cell} cells: {desc.numel()} values", fontsize=9)
        # one 2x2-cell block per position of a block on the cell grid, 2 x 2 x 9 values each
        n_r, n_c = img.shape[0] // cell - 1, img.shape[1] // cell - 1
        expected = n_r * n_c * 2 * 2 * 9
        sec.metric(f"HOG length, {title} ({img.shape[0]}x{img.shape[1]}, {cell} px cells)",
                   desc.numel(), expected=f"{n_r} x {n_c} blocks x 36 = {expected}",
                   ok=desc.numel() == expected)  # fmt: skip
    sec.figure(fig, "Histograms of oriented gradients (Dalal and Triggs): in every cell a "
               "histogram of 9 unsigned gradient orientations weighted by magnitude, "
               "normalised over blocks of 2x2 cells (L2-Hys). Each star draws the edges of "
               "its cell, one segment per orientation bin, brighter for more gradient "
               "energy.", name="hog")  # fmt: skip
