"""The two networks of the chapter, trained once per (model, mode, seed) by pixlearn's engine.

The engine normalises its inputs with the training set's mean and standard deviation and may
resize them to ``imgsz``; :class:`PixelModel` puts both in front of the trained network, so the
interpretation tools and the attacks work on images in [0, 1], the space where an ``eps`` of
0.1 means a tenth of the value range.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn.data import load_dataset

__all__ = ["PixelModel", "TrainedModel", "digits_split", "predict", "trained"]

#: engine keys per model: (quick, full)
_RUNS: dict[str, tuple[dict, dict]] = {
    "lenet5": ({"epochs": 6}, {"epochs": 15}),
    "resnet18": ({"epochs": 2, "imgsz": 16}, {"epochs": 2}),
}


class PixelModel(nn.Module):
    """``net(normalise(resize(x)))``: the trained network fed with images in [0, 1].

    Layers keep their names under ``net.`` (``"net.features.3"``).
    """

    def __init__(self, net: nn.Module, mean: list[float], std: list[float], imgsz: int) -> None:
        super().__init__()
        self.net, self.imgsz = net, imgsz
        self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.imgsz, self.imgsz):  # as the engine's classify task does
            x = F.interpolate(x, size=(self.imgsz, self.imgsz), mode="bilinear", antialias=True)
        return self.net((x - self.mean) / self.std)  # (B, num_classes)


@dataclass(frozen=True)
class TrainedModel:
    """A trained network (in [0, 1] pixel space), its engine metrics and its settings."""

    name: str
    model: PixelModel
    metrics: dict[str, float]
    settings: dict


@functools.lru_cache(maxsize=4)
def trained(name: str, quick: bool, seed: int) -> TrainedModel:
    """Train ``name`` on digits with :func:`pixlearn.engine.train` (run folder in a temp dir)."""
    from pixlearn.engine import train
    from pixlearn.engine.runs import load_checkpoint

    keys = _RUNS[name][0 if quick else 1]
    log = logging.getLogger("lightning.pytorch")
    level = log.level
    log.setLevel(logging.ERROR)  # the demo has its own progress; keep Lightning's notes out
    try:
        with tempfile.TemporaryDirectory() as project, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = train("classify", model=name, data="digits", seed=seed, devices="cpu",
                           project=project, progress=False, **keys)  # fmt: skip
            info = load_checkpoint(result.weights)["pixlearn"]
    finally:
        log.setLevel(level)
    net = PixelModel(result.model, info["mean"], info["std"], int(info["imgsz"]))
    return TrainedModel(name, net.eval(), dict(result.metrics), dict(keys))


@functools.lru_cache(maxsize=3)
def digits_split(split: str = "test") -> tuple[Tensor, Tensor]:
    """One split of digits as tensors: images ``(N, 1, 32, 32)`` and labels ``(N,)``."""
    ds = load_dataset("digits", split)
    images = torch.stack([ds[i][0] for i in range(len(ds))])
    labels = torch.tensor([ds[i][1] for i in range(len(ds))])
    return images, labels


def predict(model: torch.nn.Module, images: Tensor, batch: int = 256) -> Tensor:
    """Predicted classes ``(N,)`` of ``images (N, C, H, W)``."""
    with torch.no_grad():
        return torch.cat(
            [model(images[i : i + batch]).argmax(1) for i in range(0, len(images), batch)]
        )
