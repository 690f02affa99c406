"""The chapter object of "Multiscale"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["MULTISCALE"]

MULTISCALE = Chapter(
    "Wavelets and multiresolution processing",
    "Images at several resolutions: the Gaussian pyramid (blur, subsample) and the Laplacian "
    "pyramid of band-pass differences that reconstructs the image exactly; the Gaussian scale "
    "space, where detail disappears as the scale grows; blobs found as maxima of the "
    "scale-normalised Laplacian over (scale, y, x); and a multilevel 2-D wavelet decomposition.",
)
