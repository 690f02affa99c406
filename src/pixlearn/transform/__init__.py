"""Geometric transforms: interpolation kernels, resize, rotations, affine and perspective warps,
swirl, and scattered-data interpolation."""

from __future__ import annotations

from pixlearn.transform.griddata import GRIDDATA_METHODS, RBF_KERNELS, griddata
from pixlearn.transform.homography import estimate_homography
from pixlearn.transform.interpolation import (
    BORDERS,
    INTERPOLATIONS,
    KERNEL_SUPPORT,
    cubic,
    kernel,
    lanczos3,
    linear,
    nearest,
    sample,
)
from pixlearn.transform.resize import resize
from pixlearn.transform.swirl import swirl
from pixlearn.transform.warps import affine_warp, perspective_warp, rotate, translate

__all__ = [
    "BORDERS",
    "GRIDDATA_METHODS",
    "INTERPOLATIONS",
    "KERNEL_SUPPORT",
    "RBF_KERNELS",
    "affine_warp",
    "cubic",
    "estimate_homography",
    "griddata",
    "kernel",
    "lanczos3",
    "linear",
    "nearest",
    "perspective_warp",
    "resize",
    "rotate",
    "sample",
    "swirl",
    "translate",
]
