"""The chapter object of "Classification"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["CLASSIFICATION"]

CLASSIFICATION = Chapter(
    "Classification",
    "Convolutional networks on the built-in digits (scikit-learn's 8x8 digits at 32x32), trained "
    "by pixlearn's engine: LeNet-5 and a ResNet-18 with the small-input stem, their test "
    "accuracy and confusion matrices; what they look at (first-layer filters, activation maps, "
    "saliency, Grad-CAM); and the adversarial fragility the syllabus warns about, measured by "
    "the fast gradient sign method (FGSM) and projected gradient descent (PGD).",
)
