"""Synthetic data with perfect ground truth: generated phantoms and their label masks."""

from __future__ import annotations

from pixlearn.data.synthetic.cells import cells
from pixlearn.data.synthetic.digit_scenes import digit_scenes
from pixlearn.data.synthetic.scenes import SPLITS, SyntheticScenes, to_coco
from pixlearn.data.synthetic.shapes import SHAPE_KINDS, shapes

__all__ = [
    "SHAPE_KINDS",
    "SPLITS",
    "SyntheticScenes",
    "cells",
    "digit_scenes",
    "shapes",
    "to_coco",
]
