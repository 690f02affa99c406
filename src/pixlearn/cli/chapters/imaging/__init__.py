"""Demo chapter "Images": PSF and OTF, LSI blur, sampling and aliasing, noise, cameras, microscope.

Every number the chapter reports is measured in the run, next to what the theory predicts. The
steps run in the order their modules are imported here.
"""

from __future__ import annotations

from pixlearn.cli.chapters.imaging import optics, sensor, systems
from pixlearn.cli.chapters.imaging.chapter import IMAGING

__all__ = ["IMAGING"]
