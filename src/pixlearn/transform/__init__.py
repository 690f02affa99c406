"""Geometric and multiscale transforms: interpolation kernels, resize, rotations, affine and
perspective warps, swirl, scattered-data interpolation, Gaussian scale space and the N-jet,
Gaussian/Laplacian pyramids, and blob detection over scale."""

from __future__ import annotations

from pixlearn.transform.blobs import blob_dog, blob_log, blob_overlap
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
from pixlearn.transform.pyramids import (
    gaussian_pyramid,
    laplacian_pyramid,
    pyramid_max_levels,
    reconstruct_laplacian_pyramid,
)
from pixlearn.transform.resize import resize
from pixlearn.transform.scale_space import (
    gaussian_scale_space,
    njet,
    njet_orders,
    scale_normalized_derivative,
)
from pixlearn.transform.swirl import swirl
from pixlearn.transform.warps import affine_warp, perspective_warp, rotate, translate

__all__ = [
    "BORDERS",
    "GRIDDATA_METHODS",
    "INTERPOLATIONS",
    "KERNEL_SUPPORT",
    "RBF_KERNELS",
    "affine_warp",
    "blob_dog",
    "blob_log",
    "blob_overlap",
    "cubic",
    "estimate_homography",
    "gaussian_pyramid",
    "gaussian_scale_space",
    "griddata",
    "kernel",
    "lanczos3",
    "laplacian_pyramid",
    "linear",
    "nearest",
    "njet",
    "njet_orders",
    "perspective_warp",
    "pyramid_max_levels",
    "reconstruct_laplacian_pyramid",
    "resize",
    "rotate",
    "sample",
    "scale_normalized_derivative",
    "swirl",
    "translate",
]
