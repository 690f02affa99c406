"""Segmentation: thresholds, connected-component labelling, graph-based over-segmentation.

Thresholds (Otsu, multi-Otsu, Li, local) and labelling (4/8-connectivity) match scikit-image;
Felzenszwalb & Huttenlocher's graph-based segmentation feeds selective search.
"""

from __future__ import annotations

from pixlearn.segmentation.graph import felzenszwalb
from pixlearn.segmentation.label import label, remove_small_objects
from pixlearn.segmentation.threshold import (
    threshold_li,
    threshold_local,
    threshold_multiotsu,
    threshold_otsu,
)

__all__ = [
    "felzenszwalb",
    "label",
    "remove_small_objects",
    "threshold_li",
    "threshold_local",
    "threshold_multiotsu",
    "threshold_otsu",
]
