"""Image formation: point-spread functions, OTF, LSI blur, sampling, noise, cameras, microscopes.

The syllabus chapter "Images": a scene is blurred by the optics (convolution with the PSF, i.e.
multiplication by the OTF), sampled on the pixel grid, quantised and corrupted by noise.
"""

from __future__ import annotations

from pixlearn.imaging.bayer import BAYER_PATTERNS, bayer_mask, bayer_mosaic, demosaic
from pixlearn.imaging.blur import BOUNDARIES, Blur, blur
from pixlearn.imaging.calibration import CalibrationResult, calibrate_camera
from pixlearn.imaging.camera import (
    distort_points,
    project_points,
    rotation_from_vector,
    undistort_points,
    vector_from_rotation,
)
from pixlearn.imaging.checkerboard import find_checkerboard_corners, render_checkerboard
from pixlearn.imaging.microscope import MAX_NA, GroundTruth, VirtualMicroscope, simulate_dataset
from pixlearn.imaging.noise import gaussian_noise, poisson_noise, salt_and_pepper, uniform_noise
from pixlearn.imaging.otf import cutoff_frequency, mtf, otf2psf, psf2otf, radial_profile
from pixlearn.imaging.psf import airy_psf, defocus_psf, gaussian_psf, motion_psf
from pixlearn.imaging.sampling import antialias_filter, downsample, quantize

__all__ = [
    "BAYER_PATTERNS",
    "BOUNDARIES",
    "MAX_NA",
    "Blur",
    "CalibrationResult",
    "GroundTruth",
    "VirtualMicroscope",
    "airy_psf",
    "antialias_filter",
    "bayer_mask",
    "bayer_mosaic",
    "blur",
    "calibrate_camera",
    "cutoff_frequency",
    "defocus_psf",
    "demosaic",
    "distort_points",
    "downsample",
    "find_checkerboard_corners",
    "gaussian_noise",
    "gaussian_psf",
    "motion_psf",
    "mtf",
    "otf2psf",
    "poisson_noise",
    "project_points",
    "psf2otf",
    "quantize",
    "radial_profile",
    "render_checkerboard",
    "rotation_from_vector",
    "salt_and_pepper",
    "simulate_dataset",
    "undistort_points",
    "uniform_noise",
    "vector_from_rotation",
]
