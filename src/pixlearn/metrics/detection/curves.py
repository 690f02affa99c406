"""Precision-recall curves read off a COCO evaluation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice
from pixlearn._core.errors import ValueRangeError
from pixlearn.metrics.detection.coco import COCOEvalResult

__all__ = ["pr_curve"]


def pr_curve(
    result: COCOEvalResult,
    *,
    iou_threshold: float = 0.5,
    area: str = "all",
    max_det: int | None = None,
) -> dict[int, tuple[Tensor, Tensor]]:
    r"""The interpolated precision-recall curve of each category, as COCO samples it.

    Args:
        result: what :func:`~pixlearn.metrics.detection.evaluate_coco` returned.
        iou_threshold: one of ``result.iou_thresholds`` (0.5, 0.55, ..., 0.95 by default).
        area: one of ``result.area_labels`` (``"all"``, ``"small"``, ``"medium"``, ``"large"``).
        max_det: one of ``result.max_dets``; ``None`` for the largest.

    Returns:
        Category id -> ``(recall, precision)``, float64 tensors of the recall points (0, 0.01,
        ..., 1) at which precision is defined; categories without ground truth are left out.
        The mean of the precision over all 101 points (0 where recall is never reached) is the
        category's AP at that IoU, area and detection limit.

    Notes:
        COCO interpolates precision as :math:`p(r) = \max_{r' \ge r} p(r')` and samples it at
        :math:`r \in \{0, 0.01, \ldots, 1\}`; points past the largest recall reached hold 0.

    Example:
        >>> from pixlearn.metrics.detection import evaluate_coco
        >>> gt = {"images": [{"id": 1, "width": 10, "height": 10}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                        "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}],
        ...       "categories": [{"id": 1, "name": "a"}]}
        >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
        >>> recall, precision = pr_curve(evaluate_coco(gt, dt))[1]
        >>> float(precision.mean())
        1.0
    """
    t = np.flatnonzero(np.isclose(result.iou_thresholds, iou_threshold, rtol=0, atol=1e-9))
    if t.size == 0:
        raise ValueRangeError(
            f"iou_threshold must be one of {result.iou_thresholds.tolist()}, got {iou_threshold!r}"
        )
    a = result.area_labels.index(check_choice(area, "area", result.area_labels))
    if max_det is None:
        m = len(result.max_dets) - 1
    elif max_det in result.max_dets:
        m = result.max_dets.index(max_det)
    else:
        raise ValueRangeError(f"max_det must be one of {result.max_dets}, got {max_det!r}")
    recall = torch.as_tensor(result.recall_thresholds, dtype=torch.float64)
    curves = {}
    for k, cat in enumerate(result.category_ids):
        precision = result.precision[t[0], :, k, a, m]  # (R,), -1 without ground truth
        if (precision >= 0).any():
            curves[cat] = (recall, torch.as_tensor(precision, dtype=torch.float64))
    return curves
