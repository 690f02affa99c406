"""Step of the "Enhancement" demo: an augmentation grid with boxes drawn."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.augment import (
    Brightness,
    Compose,
    Contrast,
    FilterBoxes,
    HorizontalFlip,
    HueSaturation,
    Perspective,
    RandomResizedCrop,
    Rotate,
)
from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.enhancement import filtering  # noqa: F401  (its steps come first)
from pixlearn.cli.chapters.enhancement.chapter import ENHANCEMENT
from pixlearn.data.synthetic import shapes
from pixlearn.viz import draw_boxes
from pixlearn.viz.report import Section

__all__: list[str] = []


def _outside(mask: torch.Tensor, box: torch.Tensor) -> float:
    """How far (pixels) the mask reaches beyond its box; 0 when the box holds the mask."""
    rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
    x1, y1, x2, y2 = box.tolist()
    reach = (x1 - float(cols.min()), y1 - float(rows.min()),
             float(cols.max()) + 1 - x2, float(rows.max()) + 1 - y2)  # fmt: skip
    return max(0.0, *reach)


@ENHANCEMENT.step("augmentation with boxes and masks")
def _augmentation(sec: Section, cfg: DemoSettings) -> None:
    image, target = shapes(1, size=160, shapes_per_image=(3, 4), seed=cfg.seed)[0]
    pipeline = Compose(
        [
            HorizontalFlip(p=0.5),
            Rotate((-25, 25)),
            RandomResizedCrop(160, scale=(0.6, 1.0)),
            Perspective(0.3, p=0.5),
            Brightness(0.15),
            Contrast(0.2),
            HueSaturation(0.05, 0.2),
            FilterBoxes(min_visibility=0.3),
        ]
    )
    sample = {
        "image": image,
        "boxes": target["boxes"],
        "labels": target["labels"],
        "masks": target["masks"],
    }
    g = cfg.generator()
    fig = Figure(figsize=(13, 6.6), layout="constrained")
    axes = fig.subplots(2, 4)
    names = ["circle", "square", "triangle"]
    worst = 0.0
    draw_boxes(
        image, target["boxes"], target["labels"], class_names=names, ax=axes[0, 0], title="original"
    )
    for ax in axes.ravel()[1:]:
        out = pipeline(sample, generator=g)
        draw_boxes(out["image"], out["boxes"], out["labels"], class_names=names, ax=ax)
        for box, mask in zip(out["boxes"], out["masks"], strict=True):
            if mask.any():
                worst = max(worst, _outside(mask, box))
    # a rotated box holds its rotated object, but is looser than the object's own tight box
    sec.metric("how far a mask reaches outside its box after augmentation", worst, unit="px",
               expected="<= 1 px", ok=worst <= 1.0)  # fmt: skip
    sec.figure(
        fig,
        "One seeded pipeline (flip, rotation, crop, perspective, brightness, "
        "contrast, hue/saturation) applied seven times: boxes and masks move with the "
        "image.",
        name="augmentation",
    )
