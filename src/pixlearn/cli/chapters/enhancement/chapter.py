"""The chapter object of "Enhancement"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["ENHANCEMENT"]

ENHANCEMENT = Chapter(
    "Enhancement, filtering and geometry",
    "Point transforms and histograms (equalisation, CLAHE), local filters (Gabor banks), the "
    "Fourier domain (low-, high- and band-pass), normalised template matching, and the "
    "augmentation that moves images, boxes and masks together.",
)
