"""Detection ops: boxes, IoU, NMS, box coding and matching, anchors, RoI pooling, selective search.

Boxes are ``(N, 4)`` float tensors in ``xyxy`` pixel coordinates (continuous, area
``(x2 - x1) * (y2 - y1)``, no +1) unless a function says otherwise.
"""

from __future__ import annotations

