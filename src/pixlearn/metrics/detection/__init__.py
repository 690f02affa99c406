"""Detection metrics: COCO evaluation identical to pycocotools, VOC average precision, PR curves."""

from __future__ import annotations

