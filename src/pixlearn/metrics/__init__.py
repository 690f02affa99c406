"""Metrics: detection (COCO-exact AP), and later classification, segmentation and image quality."""

from __future__ import annotations

