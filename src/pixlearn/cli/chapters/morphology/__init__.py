"""Demo chapter "Morphology and segmentation": the coins pipeline from the lattice operators to
watershed, granulometry and region properties."""

from __future__ import annotations

import pixlearn.cli.chapters.morphology.shapes  # (registers its steps)
from pixlearn.cli.chapters.morphology.coins import MORPHOLOGY

__all__ = ["MORPHOLOGY"]
