"""Colour spaces: RGB <-> HSV, CMYK, YCbCr and gray (ITU-R 601/709)."""

from __future__ import annotations

