"""Step "LeNet-5 and ResNet-18 on digits": training by the engine, test accuracy, confusion."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import Tensor

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.classification.chapter import CLASSIFICATION
from pixlearn.cli.chapters.classification.models import digits_split, predict, trained
from pixlearn.viz.report import Section

__all__ = ["confusion_matrix"]

#: the accuracy each model must reach in (quick, full) mode
_TARGETS = {"lenet5": (0.97, 0.97), "resnet18": (0.90, 0.95)}


def confusion_matrix(labels: Tensor, pred: Tensor, k: int) -> Tensor:
    """``C[i, j]`` = number of images of class ``i`` predicted as ``j``: ``(k, k)`` int64."""
    # one bin per (true, predicted) pair: index = true * k + predicted
    return torch.bincount(labels * k + pred, minlength=k * k).view(k, k)


@CLASSIFICATION.step("LeNet-5 and ResNet-18 on digits")
def _train(sec: Section, cfg: DemoSettings) -> None:
    x, y = digits_split("test")
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, name in zip(axes, ("lenet5", "resnet18"), strict=True):
        run = trained(name, cfg.quick, cfg.seed)
        pred = predict(run.model, x)
        acc = float((pred == y).float().mean())
        target = _TARGETS[name][0 if cfg.quick else 1]
        keys = ", ".join(f"{k}={v}" for k, v in run.settings.items())
        sec.metric(f"{name} test accuracy ({keys})", acc, expected=f">= {target}",
                   ok=acc >= target)  # fmt: skip
        engine_acc = run.metrics.get("test/acc", float("nan"))
        agree = abs(engine_acc - acc) < 1e-6
        sec.metric(f"{name}: engine's test accuracy equals a recount", engine_acc,
                   expected=f"{acc:.4f}", ok=agree)  # fmt: skip
        cm = confusion_matrix(y, pred, 10)
        ax.imshow(cm.numpy(), cmap="Blues")
        for (i, j), v in zip(torch.cartesian_prod(torch.arange(10), torch.arange(10)).tolist(),
                             cm.flatten().tolist(), strict=True):  # fmt: skip
            if v:
                color = "white" if v > cm.max() / 2 else "black"
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=color)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: {acc:.1%} of {len(y)} test digits", fontsize=10)
    resnet = trained("resnet18", cfg.quick, cfg.seed).model.net
    conv1 = getattr(resnet, "conv1", None)
    small = conv1 is not None and tuple(conv1.kernel_size) == (3, 3) and conv1.stride == (1, 1)
    sec.metric("resnet18 has the small-input stem (3x3, stride 1)", str(small),
               expected="True", ok=small)  # fmt: skip
    sec.figure(fig, "Confusion matrices on the test split: row = true digit, column = "
               "prediction; off-diagonal counts are the errors.", name="confusion")  # fmt: skip
