r"""COCO detection evaluation (``bbox`` and ``segm``), identical to pycocotools' ``COCOeval``.

The evaluation has three stages, each in its own module: reading and checking the JSON
(:mod:`~pixlearn.metrics.detection.coco_data`), greedy matching of detections to ground truth
for every image, category, area range and IoU threshold at once
(:mod:`~pixlearn.metrics.detection.coco_match`), and accumulation into precision/recall arrays
and the 12 summary numbers (:mod:`~pixlearn.metrics.detection.coco_accumulate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixlearn._core.check import check_choice, check_int, check_range
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.metrics.detection.coco_accumulate import accumulate, summarize
from pixlearn.metrics.detection.coco_data import parse_ground_truth, parse_results
from pixlearn.metrics.detection.coco_masks import mask_iou_pairs
from pixlearn.metrics.detection.coco_match import box_iou_pairs, match_detections, sort_detections

__all__ = ["COCOEvalResult", "evaluate_coco"]

#: the standard names of the 12 numbers, in pycocotools' order
STAT_NAMES = (
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
)  # fmt: skip
_DEFAULT_AREAS = {"all": (0.0, 1e5**2), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2),
                  "large": (96.0**2, 1e5**2)}  # fmt: skip


@dataclass
class COCOEvalResult:
    """What :func:`evaluate_coco` returns.

    Attributes:
        stats: ``(12,)`` AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (-1 when
            a setting does not exist or has no ground truth).
        per_class: category id -> AP@[.5:.95] (area "all", largest maxDet); -1 without ground truth.
        precision: ``(T, R, K, A, M)`` as ``COCOeval.eval["precision"]``.
        recall: ``(T, K, A, M)`` as ``COCOeval.eval["recall"]``.
        iou_thresholds, recall_thresholds, category_ids, area_labels, area_ranges, max_dets: the
            axes of the arrays.
        iou_type: ``"bbox"`` or ``"segm"``.
    """

    stats: np.ndarray
    per_class: dict[int, float]
    precision: np.ndarray
    recall: np.ndarray
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray
    category_ids: list[int]
    area_labels: list[str]
    area_ranges: np.ndarray
    max_dets: list[int]
    iou_type: str
    lines: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, float]:
        """The 12 numbers by name (``{"AP": ..., "AP50": ..., ...}``)."""
        return {k: float(v) for k, v in zip(STAT_NAMES, self.stats, strict=True)}

    def summary(self) -> str:
        """The 12 lines pycocotools' ``summarize()`` prints."""
        return "\n".join(self.lines)


def _area_ranges(area_ranges: Any) -> tuple[list[str], np.ndarray]:
    if area_ranges is None:
        area_ranges = _DEFAULT_AREAS
    if isinstance(area_ranges, Mapping):
        labels, pairs = [str(k) for k in area_ranges], list(area_ranges.values())
    else:
        pairs = list(area_ranges)
        if len(pairs) > 4:
            raise ShapeError(
                "area_ranges given as a list may hold at most 4 ranges (labelled all, small, "
                f"medium, large); pass a dict label -> (lo, hi) for more, got {len(pairs)}"
            )
        labels = list(_DEFAULT_AREAS)[: len(pairs)]
    if not pairs:
        raise ShapeError("area_ranges must hold at least one (lo, hi) range")
    try:
        arr = np.asarray(pairs, dtype=np.float64).reshape(len(pairs), 2)
    except (TypeError, ValueError):
        raise ShapeError(f"area_ranges must be (lo, hi) pairs, got {area_ranges!r}") from None
    if np.isnan(arr).any() or (arr[:, 1] < arr[:, 0]).any():
        raise ValueRangeError(f"area_ranges must be pairs with lo <= hi, got {arr.tolist()}")
    return labels, arr


def _thresholds(iou_thresholds: Any) -> np.ndarray:
    if iou_thresholds is None:
        # np.linspace, not arange, as pycocotools: 0.75 must be exactly 0.75
        return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
    thr = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    if thr.ndim != 1 or not len(thr):
        raise ShapeError(f"iou_thresholds must be a non-empty 1-D sequence, got {iou_thresholds!r}")
    for t in thr:
        check_range(float(t), "iou_thresholds", 0.0, 1.0)
    return thr


def evaluate_coco(
    ground_truth: Any,
    results: Any,
    iou_type: str = "bbox",
    *,
    max_dets: Sequence[int] = (1, 10, 100),
    area_ranges: Mapping[str, tuple[float, float]] | Sequence[tuple[float, float]] | None = None,
    iou_thresholds: Sequence[float] | None = None,
) -> COCOEvalResult:
    r"""Evaluate detections the COCO way: AP over IoU 0.5:0.95, areas and detection limits.

    Args:
        ground_truth: a COCO ground-truth JSON path or its loaded dict (``images``,
            ``annotations`` with ``id``, ``image_id``, ``category_id``, ``area``, ``bbox``
            ``[x, y, w, h]`` / ``segmentation``, optional ``iscrowd``; ``categories``).
        results: a results JSON path or its loaded list of ``{"image_id", "category_id",
            "score", "bbox" | "segmentation"}`` (polygons or RLE).
        iou_type: ``"bbox"`` or ``"segm"`` (segm needs image ``height``/``width``).
        max_dets: detection limits per image (sorted; the summary uses the first three).
        area_ranges: ``{label: (lo, hi)}`` or up to four ``(lo, hi)`` pairs labelled all,
            small, medium, large; bounds are inclusive. Default: all, < 32^2, 32^2..96^2, > 96^2.
        iou_thresholds: default ``0.5, 0.55, ..., 0.95``.

    Returns:
        A :class:`COCOEvalResult` whose ``stats``, ``precision`` and ``recall`` equal
        pycocotools' ``COCOeval`` on the same data (the same doubles).

    Notes:
        AP of one category at one IoU threshold is
        :math:`\frac{1}{101}\sum_{r \in \{0, .01, \dots, 1\}}
        \max_{\mathrm{rc}_i \ge r} \mathrm{pr}_i`
        over the detections of all images sorted by score, each matched greedily to the free
        ground truth of highest IoU :math:`\ge t`. Crowd regions and ground truths outside the
        area range are "ignored": matching one is neither a true nor a false positive.
        One deliberate difference from pycocotools: an annotation id of 0 is matched like any
        other (pycocotools marks a match by the id, so a match to id 0 counts as a miss).

    Example:
        >>> gt = {"images": [{"id": 1}], "categories": [{"id": 7}], "annotations": [
        ...     {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 50, 50],
        ...      "area": 2500, "iscrowd": 0}]}
        >>> res = [{"image_id": 1, "category_id": 7, "bbox": [12, 10, 50, 50], "score": 0.9}]
        >>> r = evaluate_coco(gt, res)
        >>> round(float(r.stats[0]), 3), float(r.stats[1])   # AP, AP50 (IoU = 0.923)
        (0.9, 1.0)

    References:
        Lin, T.-Y. et al. "Microsoft COCO: Common Objects in Context." ECCV 2014.
    """
    check_choice(iou_type, "iou_type", ("bbox", "segm"))
    if isinstance(max_dets, int) or not len(max_dets):
        raise ShapeError(f"max_dets must be a non-empty sequence of ints, got {max_dets!r}")
    max_det_list = sorted(check_int(m, "max_dets", min_value=1) for m in max_dets)
    area_labels, ranges = _area_ranges(area_ranges)
    thr = _thresholds(iou_thresholds)
    rec_thr = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)

    gt = parse_ground_truth(ground_truth, iou_type)
    dt = parse_results(results, gt, iou_type)
    k_n = len(gt.category_ids)
    # group key of an (image, category) pair; images in ascending id order, as pycocotools
    gt_key = gt.image * k_n + gt.category
    gt_order = np.argsort(gt_key, kind="stable")  # file order inside a group
    det_order, det_rank = sort_detections(dt.image * k_n + dt.category, dt.score, max_det_list[-1])
    det_key = (dt.image * k_n + dt.category)[det_order]

    if iou_type == "bbox":

        def iou_fn(pd: np.ndarray, pg: np.ndarray) -> np.ndarray:
            return box_iou_pairs(dt.box[det_order], gt.box[gt_order], gt.crowd[gt_order], pd, pg)
    else:

        def iou_fn(pd: np.ndarray, pg: np.ndarray) -> np.ndarray:
            return mask_iou_pairs(
                [dt.rles[i] for i in det_order], [gt.rles[i] for i in gt_order],
                gt.crowd[gt_order], pd, pg, gt.image[gt_order][pg],
            )  # fmt: skip

    matched, ignored, gt_ign = match_detections(
        det_key, det_rank, dt.area[det_order], gt_key[gt_order], gt.area[gt_order],
        gt.crowd[gt_order], iou_fn, thr, ranges,
    )  # fmt: skip
    # ground truths that count, per category and area range: (K, A)
    n_positive = np.zeros((k_n, len(ranges)), dtype=np.int64)
    for a in range(len(ranges)):
        n_positive[:, a] = np.bincount(gt.category[gt_order][~gt_ign[a]], minlength=k_n)
    precision, recall = accumulate(
        dt.category[det_order], dt.image[det_order], det_rank, dt.score[det_order],
        matched & ~ignored, ~matched & ~ignored, n_positive, rec_thr, max_det_list,
    )  # fmt: skip
    stats, lines = summarize(precision, recall, thr, area_labels, max_det_list)
    a_all = area_labels.index("all") if "all" in area_labels else 0
    per_class: dict[int, float] = {}
    for k, cid in enumerate(gt.category_ids.tolist()):
        s = precision[:, :, k, a_all, -1]
        per_class[int(cid)] = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
    return COCOEvalResult(
        stats, per_class, precision, recall, thr, rec_thr, gt.category_ids.tolist(),
        area_labels, ranges, max_det_list, iou_type, lines,
    )  # fmt: skip
