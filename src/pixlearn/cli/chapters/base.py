"""What a demo chapter is: named steps that fill one report section."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from matplotlib.figure import Figure

from pixlearn.viz.report import Section

__all__ = ["Chapter", "DemoSettings", "Step", "image_axes", "psnr"]


@dataclass(frozen=True)
class DemoSettings:
    """Settings every step sees: ``quick`` shrinks sizes and repeats; ``seed`` fixes randomness."""

    quick: bool = False
    seed: int = 0

    def generator(self) -> torch.Generator:
        """A fresh CPU generator seeded with ``seed`` (each step gets its own stream)."""
        return torch.Generator().manual_seed(self.seed)


Step = Callable[[Section, DemoSettings], None]


@dataclass
class Chapter:
    """A syllabus chapter in the demo: a report section filled by ``steps`` in order."""

    title: str
    intro: str
    steps: list[tuple[str, Step]] = field(default_factory=list)

    def step(self, name: str) -> Callable[[Step], Step]:
        """Decorator that appends a step to the chapter."""

        def register(fn: Step) -> Step:
            self.steps.append((name, fn))
            return fn

        return register


def image_axes(fig: Figure, n: int, rows: int = 1) -> list:
    """``rows x n`` axes for showing images: no ticks, no frame."""
    axes = fig.subplots(rows, n, squeeze=False).ravel().tolist()
    for ax in axes:
        ax.set_axis_off()
    return axes


def psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: ``10 log10(1 / MSE)``."""
    mse = float(((x - ref) ** 2).mean())
    return 10 * math.log10(1.0 / mse) if mse > 0 else math.inf
