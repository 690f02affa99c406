"""Geometric transforms: interpolation kernels, resize, rotations, affine and perspective warps,
swirl, and scattered-data interpolation."""

from __future__ import annotations

