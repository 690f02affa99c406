"""Demo chapter "Multiscale": pyramids, scale space, blob detection and wavelets. The steps run
in the order their modules are imported here."""

from __future__ import annotations

from pixlearn.cli.chapters.multiscale import steps
from pixlearn.cli.chapters.multiscale.chapter import MULTISCALE

__all__ = ["MULTISCALE"]
