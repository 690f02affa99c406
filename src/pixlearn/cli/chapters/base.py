"""What a demo chapter is: named steps that fill one report section."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from pixlearn.viz.report import Section

__all__ = ["Chapter", "DemoSettings", "Step"]


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
