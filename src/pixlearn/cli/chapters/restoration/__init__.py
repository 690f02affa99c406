"""Demo chapter "Restoration": deconvolution (inverse, Wiener, Richardson-Lucy), inpainting,
dehazing and the super-resolution baseline. The steps run in the order their modules are
imported here."""

from __future__ import annotations

from pixlearn.cli.chapters.restoration import deconvolution, dehazing, inpainting, superres
from pixlearn.cli.chapters.restoration.chapter import RESTORATION

__all__ = ["RESTORATION"]
