"""Synthetic data with perfect ground truth: generated phantoms and their label masks."""

from __future__ import annotations

from pixlearn.data.synthetic.cells import cells

__all__ = ["cells"]
