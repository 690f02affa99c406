"""Step "What the networks look at": filters, activation maps, saliency and Grad-CAM."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.classification.chapter import CLASSIFICATION
from pixlearn.cli.chapters.classification.models import digits_split, trained
from pixlearn.interpret import activation_maps, class_saliency, filter_grid, grad_cam
from pixlearn.viz.report import Section

__all__: list[str] = []

#: the layer Grad-CAM explains: the last convolution block that still has a spatial map
_CAM_LAYER = {"lenet5": "net.features.4", "resnet18": "net.layer3"}


@CLASSIFICATION.step("first-layer filters and activation maps")
def _filters(sec: Section, cfg: DemoSettings) -> None:
    x, _ = digits_split("test")
    lenet = trained("lenet5", cfg.quick, cfg.seed).model
    resnet = trained("resnet18", cfg.quick, cfg.seed).model
    conv1 = lenet.net.features[0]
    maps = activation_maps(lenet, x[0], "net.features.1")  # (6, 28, 28) after the ReLU
    panels = [
        (filter_grid(conv1), f"LeNet-5 conv1: {conv1.out_channels} filters 5x5"),
        (filter_grid(maps[:, None], pad_value=1.0), "its activation maps (ReLU) for a test digit"),
        (
            filter_grid(resnet.net.conv1),
            f"ResNet-18 conv1: {resnet.net.conv1.out_channels} filters",
        ),
    ]
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    for ax, (img, title) in zip(image_axes(fig, 3), panels, strict=True):
        ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    sec.figure(fig, "First-layer filters, each stretched to [0, 1] (Zeiler and Fergus' check "
               "for dead or noisy filters), and what LeNet-5's first layer computes on a digit: "
               "one activation map per filter.", name="filters")  # fmt: skip
    dead = int((maps.flatten(1).amax(1) == 0).sum())
    sec.metric("LeNet-5 conv1 maps silent on the digit", dead, expected="few of 6")


@CLASSIFICATION.step("saliency and Grad-CAM")
def _gradcam(sec: Section, cfg: DemoSettings) -> None:
    x, y = digits_split("test")
    idx = torch.tensor([0, 1, 2, 3, 4, 5])
    images, labels = x[idx], y[idx]  # (6, 1, 32, 32), (6,)
    lenet = trained("lenet5", cfg.quick, cfg.seed).model
    resnet = trained("resnet18", cfg.quick, cfg.seed).model
    rows = [
        ("saliency, LeNet-5", class_saliency(lenet, images, labels)),
        ("Grad-CAM, LeNet-5", grad_cam(lenet, images, labels, _CAM_LAYER["lenet5"])),
        ("Grad-CAM, ResNet-18", grad_cam(resnet, images, labels, _CAM_LAYER["resnet18"])),
    ]
    n = len(idx)
    fig = Figure(figsize=(1.8 * n, 1.9 * (len(rows) + 1)), layout="constrained")
    axes = image_axes(fig, n, rows=len(rows) + 1)
    for j in range(n):
        axes[j].imshow(images[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[j].set_title(f"digit {int(labels[j])}", fontsize=9)
        for r, (title, maps) in enumerate(rows, start=1):
            ax = axes[r * n + j]
            ax.imshow(images[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            m = maps[j] / maps[j].max().clamp_min(1e-12)
            ax.imshow(m.numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            if j == 0:
                ax.set_title(title, fontsize=9, loc="left")
    sec.figure(fig, "Where the true class' evidence lies. Saliency: |d score / d pixel| "
               "(Simonyan et al. 2014); Grad-CAM: the layer's maps weighted by the averaged "
               f"gradient of the score (Selvaraju et al. 2017), LeNet-5 at "
               f"{_CAM_LAYER['lenet5']} (10x10), ResNet-18 at {_CAM_LAYER['resnet18']}. Evidence "
               "may lie off the strokes: where ink is absent is informative too (a 0 has an "
               "empty centre).",
               name="gradcam")  # fmt: skip
    # how much of each map falls on the ink, relative to the ink's share of the image
    ink = (images[:, 0] > 0.25).float()  # (n, 32, 32)
    for title, maps in rows[1:]:
        share = (maps * ink).sum((1, 2)) / maps.sum((1, 2)).clamp_min(1e-12)
        ratio = float((share / ink.mean((1, 2))).mean())
        sec.metric(f"{title}: map share on the strokes / their area share", ratio,
                   expected="1 = spread evenly")  # fmt: skip
