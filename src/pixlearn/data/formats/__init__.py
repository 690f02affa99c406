"""Detection data formats: COCO JSON, Pascal VOC XML and YOLO txt readers and writers."""

from __future__ import annotations

