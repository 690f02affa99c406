"""Demo chapter "Enhancement": histograms and CLAHE, Gabor banks, frequency filters, template
matching and augmentation. The steps run in the order their modules are imported here."""

from __future__ import annotations

from pixlearn.cli.chapters.enhancement import augmentation, contrast, filtering
from pixlearn.cli.chapters.enhancement.chapter import ENHANCEMENT

__all__ = ["ENHANCEMENT"]
