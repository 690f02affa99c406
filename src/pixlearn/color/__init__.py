"""Colour spaces: RGB <-> HSV, CMYK, YCbCr and gray (ITU-R 601/709).

The syllabus chapter "Image enhancement", section "Color": colour models (RGB, HSV, CMYK, ...)
as per-pixel maps on ``(..., 3, H, W)`` float tensors.
"""

from __future__ import annotations

from pixlearn.color.convert import (
    GRAY_WEIGHTS,
    cmyk_to_rgb,
    hsv_to_rgb,
    rgb_to_cmyk,
    rgb_to_gray,
    rgb_to_hsv,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)

__all__ = [
    "GRAY_WEIGHTS",
    "cmyk_to_rgb",
    "hsv_to_rgb",
    "rgb_to_cmyk",
    "rgb_to_gray",
    "rgb_to_hsv",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]
