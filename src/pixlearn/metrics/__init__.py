"""Metrics: detection (COCO-exact AP, VOC AP, confusion); more tasks come with their chapters."""

from __future__ import annotations

from pixlearn.metrics import detection

__all__ = ["detection"]
