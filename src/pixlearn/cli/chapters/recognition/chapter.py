"""The chapter object of "Classical recognition"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["RECOGNITION"]

RECOGNITION = Chapter(
    "Classical recognition",
    "The hand-made features that came before CNNs, and the baselines the CNN chapters are "
    "measured against: Harris corners, SIFT keypoints matched across a known warp and "
    "RANSAC recovering it, histograms of oriented gradients, bag of visual words against "
    "Fisher vectors feeding a linear SVM, and a Viola-Jones cascade of boosted Haar features.",
)
