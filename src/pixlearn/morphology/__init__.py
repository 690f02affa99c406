"""Mathematical morphology: footprints, erosion and dilation and the operators built on them."""

from __future__ import annotations

from pixlearn.morphology.extrema import (
    extended_maxima,
    h_maxima,
    h_minima,
    regional_maxima,
    regional_minima,
)
from pixlearn.morphology.footprints import diamond, disk, ellipse, line, rectangle, square
from pixlearn.morphology.operators import (
    black_tophat,
    closing,
    dilation,
    erosion,
    hit_or_miss,
    morphological_gradient,
    opening,
    white_tophat,
)
from pixlearn.morphology.reconstruction import clear_border, fill_holes, reconstruction

__all__ = [
    "black_tophat",
    "clear_border",
    "closing",
    "diamond",
    "dilation",
    "disk",
    "ellipse",
    "erosion",
    "extended_maxima",
    "fill_holes",
    "h_maxima",
    "h_minima",
    "hit_or_miss",
    "line",
    "morphological_gradient",
    "opening",
    "reconstruction",
    "rectangle",
    "regional_maxima",
    "regional_minima",
    "square",
    "white_tophat",
]
