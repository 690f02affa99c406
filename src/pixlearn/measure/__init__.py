"""Measuring regions and shapes: region properties, moments, boundary descriptors, texture."""

from pixlearn.measure.chain import chain_code, chain_code_difference, shape_number, trace_boundary
from pixlearn.measure.contours import find_contours
from pixlearn.measure.convex import convex_hull_image
from pixlearn.measure.descriptors import curvature, fourier_descriptors, signature
from pixlearn.measure.moments import moments, moments_central, moments_hu, moments_normalized
from pixlearn.measure.perimeter import euler_number, perimeter, perimeter_crofton
from pixlearn.measure.polygon import approximate_polygon
from pixlearn.measure.regionprops import (
    PROPERTIES,
    RegionProperties,
    regionprops,
    regionprops_table,
)
from pixlearn.measure.texture import graycomatrix, graycoprops

__all__ = [
    "PROPERTIES",
    "RegionProperties",
    "approximate_polygon",
    "chain_code",
    "chain_code_difference",
    "convex_hull_image",
    "curvature",
    "euler_number",
    "find_contours",
    "fourier_descriptors",
    "graycomatrix",
    "graycoprops",
    "moments",
    "moments_central",
    "moments_hu",
    "moments_normalized",
    "perimeter",
    "perimeter_crofton",
    "regionprops",
    "regionprops_table",
    "shape_number",
    "signature",
    "trace_boundary",
]
