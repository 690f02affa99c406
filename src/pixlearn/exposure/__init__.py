"""Exposure: point transforms, intensity stretching, histograms, equalisation and CLAHE."""

from __future__ import annotations

from pixlearn.exposure.clahe import equalize_adapthist
from pixlearn.exposure.histogram import equalize_hist, histogram, match_histograms
from pixlearn.exposure.intensity import (
    adjust_gamma,
    center,
    normalize,
    rescale_intensity,
    standardize,
)

__all__ = [
    "adjust_gamma",
    "center",
    "equalize_adapthist",
    "equalize_hist",
    "histogram",
    "match_histograms",
    "normalize",
    "rescale_intensity",
    "standardize",
]
