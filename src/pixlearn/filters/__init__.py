"""Filters: convolution and correlation, Gaussian and derivative filters, rank filters, Gabor
banks, frequency-domain filters and template matching."""

from __future__ import annotations

from pixlearn.filters.derivatives import (
    difference_of_gaussians,
    gaussian_derivative2d,
    laplacian_of_gaussian,
    sobel,
)
from pixlearn.filters.fft import fft_convolve
from pixlearn.filters.frequency import (
    FILTER_KINDS,
    bandpass,
    correct_background,
    frequency_response,
    highpass,
    lowpass,
)
from pixlearn.filters.gabor import COMBINES, gabor_filter_bank, gabor_kernel
from pixlearn.filters.kernels import box_kernel, gaussian_kernel1d, gaussian_kernel2d, sobel_kernels
from pixlearn.filters.linear import (
    BORDERS,
    GaussianBlur2d,
    box_blur2d,
    convolve2d,
    correlate2d,
    gaussian_blur2d,
)
from pixlearn.filters.rank import median_blur2d
from pixlearn.filters.template import match_template, peak_local_max

__all__ = [
    "BORDERS",
    "COMBINES",
    "FILTER_KINDS",
    "GaussianBlur2d",
    "bandpass",
    "box_blur2d",
    "box_kernel",
    "convolve2d",
    "correct_background",
    "correlate2d",
    "difference_of_gaussians",
    "fft_convolve",
    "frequency_response",
    "gabor_filter_bank",
    "gabor_kernel",
    "gaussian_blur2d",
    "gaussian_derivative2d",
    "gaussian_kernel1d",
    "gaussian_kernel2d",
    "highpass",
    "laplacian_of_gaussian",
    "lowpass",
    "match_template",
    "median_blur2d",
    "peak_local_max",
    "sobel",
    "sobel_kernels",
]
