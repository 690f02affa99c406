"""Detection ops: boxes, IoU, NMS, box coding and matching, anchors, RoI pooling, selective search.

Boxes are ``(N, 4)`` float tensors in ``xyxy`` pixel coordinates (continuous, area
``(x2 - x1) * (y2 - y1)``, no +1) unless a function says otherwise.
"""

from __future__ import annotations

from pixlearn.ops.anchors import AnchorGenerator
from pixlearn.ops.box_coder import BoxCoder
from pixlearn.ops.boxes import (
    BOX_FORMATS,
    box_area,
    box_convert,
    box_iou,
    clip_boxes,
    generalized_box_iou,
    remove_small_boxes,
)
from pixlearn.ops.matcher import Matcher
from pixlearn.ops.nms import batched_nms, nms, soft_nms
from pixlearn.ops.poolers import MultiScaleRoIAlign, fpn_levels
from pixlearn.ops.roi_align import RoIAlign, roi_align
from pixlearn.ops.roi_pool import RoIPool, roi_pool
from pixlearn.ops.sampler import BalancedSampler
from pixlearn.ops.selective_search import selective_search
from pixlearn.ops.spp import SpatialPyramidPool, spatial_pyramid_pool

__all__ = [
    "BOX_FORMATS",
    "AnchorGenerator",
    "BalancedSampler",
    "BoxCoder",
    "Matcher",
    "MultiScaleRoIAlign",
    "RoIAlign",
    "RoIPool",
    "SpatialPyramidPool",
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes",
    "fpn_levels",
    "generalized_box_iou",
    "nms",
    "remove_small_boxes",
    "roi_align",
    "roi_pool",
    "selective_search",
    "soft_nms",
    "spatial_pyramid_pool",
]
