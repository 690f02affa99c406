"""The chapter object of "Images"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["IMAGING"]

IMAGING = Chapter(
    "Images: how an image forms",
    "A scene is blurred by the optics (convolution with the point-spread function, i.e. "
    "multiplication of its spectrum by the optical transfer function), sampled on the pixel "
    "grid, quantised and corrupted by noise. Each step below simulates one stage on built-in "
    "data and measures the property the theory predicts.",
)

# A green-emitting fluorophore under a good dry objective, sampled at 50 nm in the object plane.
