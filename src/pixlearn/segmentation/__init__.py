"""Segmentation: classical methods.

Graph-based over-segmentation (Felzenszwalb & Huttenlocher) for now; thresholds and
connected-component labelling come later.
"""

from __future__ import annotations

from pixlearn.segmentation.graph import felzenszwalb

__all__ = ["felzenszwalb"]
