"""Demo chapter "Detection toolkit": anchors, selective search, NMS and COCO evaluation.

The steps run in the order their modules are imported here.
"""

from __future__ import annotations

from pixlearn.cli.chapters.detection import baseline, parts
from pixlearn.cli.chapters.detection.chapter import DETECTION

__all__ = ["DETECTION"]
