"""Demo chapter "Morphology and segmentation" (first part): the coins pipeline up to labelling.

Watershed, granulometry and shape description join it when they land.
"""

from __future__ import annotations

from pixlearn.cli.chapters.morphology.coins import MORPHOLOGY

__all__ = ["MORPHOLOGY"]
