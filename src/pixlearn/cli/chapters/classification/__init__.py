"""Demo chapter "Classification": LeNet-5 and ResNet-18 on digits, interpretation, attacks.

The steps run in the order their modules are imported here (accuracy, explain, fragility); the
networks are trained once, by :func:`pixlearn.engine.train`, and shared by the steps.
"""

from __future__ import annotations

from pixlearn.cli.chapters.classification import accuracy, explain, fragility
from pixlearn.cli.chapters.classification.chapter import CLASSIFICATION

__all__ = ["CLASSIFICATION"]
