"""Mathematical morphology: footprints, lattice operators, reconstruction, regional extrema,
watershed, component trees and attribute filters, granulometry, distance transform, skeletons."""

from __future__ import annotations

from pixlearn.morphology.attribute import (
    ATTRIBUTES,
    area_closing,
    area_opening,
    attribute_filter,
    diameter_closing,
    diameter_opening,
)
from pixlearn.morphology.distance import distance_transform_edt
from pixlearn.morphology.extrema import (
    extended_maxima,
    h_maxima,
    h_minima,
    regional_maxima,
    regional_minima,
)
from pixlearn.morphology.footprints import diamond, disk, ellipse, line, rectangle, square
from pixlearn.morphology.granulometry import Granulometry, granulometry
from pixlearn.morphology.max_tree import MaxTree, max_tree
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
from pixlearn.morphology.skeleton import medial_axis, skeletonize
from pixlearn.morphology.watershed import watershed

__all__ = [
    "ATTRIBUTES",
    "Granulometry",
    "MaxTree",
    "area_closing",
    "area_opening",
    "attribute_filter",
    "black_tophat",
    "clear_border",
    "closing",
    "diameter_closing",
    "diameter_opening",
    "diamond",
    "dilation",
    "disk",
    "distance_transform_edt",
    "ellipse",
    "erosion",
    "extended_maxima",
    "fill_holes",
    "granulometry",
    "h_maxima",
    "h_minima",
    "hit_or_miss",
    "line",
    "max_tree",
    "medial_axis",
    "morphological_gradient",
    "opening",
    "reconstruction",
    "rectangle",
    "regional_maxima",
    "regional_minima",
    "skeletonize",
    "square",
    "watershed",
    "white_tophat",
]
