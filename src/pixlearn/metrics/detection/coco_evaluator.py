"""Model outputs and targets as COCO dicts, and an incremental COCO evaluator for validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pycocotools import mask as mask_utils
from torch import Tensor

from pixlearn._core.check import check_choice, check_tensor
from pixlearn._core.errors import ShapeError
from pixlearn.metrics.detection.coco import COCOEvalResult, evaluate_coco

__all__ = ["COCOEvaluator", "coco_ground_truth", "coco_results"]


def _array(d: dict[str, Any], key: str, name: str, *, ndim: int) -> np.ndarray:
    if key not in d:
        raise ShapeError(f"{name} has no key {key!r}")
    x = check_tensor(d[key], f"{name}[{key!r}]")
    if x.dim() != ndim or (key == "boxes" and x.shape[-1] != 4):
        want = "(N, 4)" if key == "boxes" else ("(N,)" if ndim == 1 else "(N, H, W)")
        raise ShapeError(f"{name}[{key!r}] must have shape {want}, got {tuple(x.shape)}")
    return x.detach().cpu().numpy()


def _xywh(boxes: np.ndarray) -> np.ndarray:
    b = boxes.astype(np.float64)
    # [x1, y1, x2, y2] -> [x, y, w, h]
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def _rles(masks: np.ndarray) -> list[dict[str, Any]]:
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))  # (H, W, N)
    out = mask_utils.encode(fortran) if masks.shape[0] else []
    return [{"size": r["size"], "counts": r["counts"].decode("ascii")} for r in out]


def coco_ground_truth(
    targets: Sequence[dict[str, Tensor]],
    image_sizes: Sequence[tuple[int, int]],
    categories: Sequence[int] | None = None,
    *,
    image_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Targets of a detection model as a COCO ground-truth dict.

    Args:
        targets: one dict per image with ``boxes`` ``(N, 4)`` xyxy, ``labels`` ``(N,)`` and
            optionally ``masks`` ``(N, H, W)`` bool, ``iscrowd`` ``(N,)``, ``area`` ``(N,)``.
        image_sizes: ``(height, width)`` of each image.
        categories: category ids; default: the labels that occur.
        image_ids: one id per image; default ``0, 1, ...``.

    Returns:
        ``{"images", "annotations", "categories"}``; annotation ids start at 1, the area is
        ``area`` if given, else the mask's pixel count, else the box's ``w * h``.

    Example:
        >>> t = [{"boxes": torch.tensor([[0.0, 0.0, 4.0, 2.0]]), "labels": torch.tensor([3])}]
        >>> coco_ground_truth(t, [(10, 10)])["annotations"][0]["bbox"]
        [0.0, 0.0, 4.0, 2.0]
    """
    if len(image_sizes) != len(targets):
        raise ShapeError(
            f"image_sizes must have one (H, W) per target, got {len(image_sizes)} for "
            f"{len(targets)} targets"
        )
    ids = list(range(len(targets))) if image_ids is None else [int(i) for i in image_ids]
    if len(ids) != len(targets):
        raise ShapeError(f"image_ids must have one id per target, got {len(ids)}")
    images, anns, seen = [], [], set()
    for i, (t, hw, img_id) in enumerate(zip(targets, image_sizes, ids, strict=True)):
        name = f"targets[{i}]"
        boxes = _xywh(_array(t, "boxes", name, ndim=2))
        labels = _array(t, "labels", name, ndim=1).astype(np.int64)
        if len(labels) != len(boxes):
            raise ShapeError(f"{name}['labels'] must have one label per box, got {len(labels)}")
        n = len(boxes)
        crowd = _array(t, "iscrowd", name, ndim=1) if "iscrowd" in t else np.zeros(n)
        rles = _rles(_array(t, "masks", name, ndim=3)) if "masks" in t else None
        if "area" in t:
            area = _array(t, "area", name, ndim=1).astype(np.float64)
        elif rles is not None:
            area = (
                mask_utils.area([dict(r, counts=r["counts"].encode()) for r in rles]) if n else []
            )
        else:
            area = boxes[:, 2] * boxes[:, 3]
        images.append({"id": img_id, "height": int(hw[0]), "width": int(hw[1])})
        for j in range(n):
            ann = {
                "id": len(anns) + 1,
                "image_id": img_id,
                "category_id": int(labels[j]),
                "bbox": boxes[j].tolist(),
                "area": float(area[j]),
                "iscrowd": int(crowd[j]),
            }
            if rles is not None:
                ann["segmentation"] = rles[j]
            anns.append(ann)
        seen.update(labels.tolist())
    cats = sorted(seen) if categories is None else [int(c) for c in categories]
    return {"images": images, "annotations": anns, "categories": [{"id": c} for c in cats]}


def coco_results(predictions: Sequence[dict[str, Tensor]], image_ids: Sequence[int]) -> list[dict]:
    """Predictions of a detection model as a COCO results list.

    Args:
        predictions: one dict per image with ``boxes`` ``(N, 4)`` xyxy, ``scores`` ``(N,)``,
            ``labels`` ``(N,)`` and optionally ``masks`` ``(N, H, W)`` (bool, or probabilities
            thresholded at 0.5).
        image_ids: the id of each image.

    Returns:
        ``[{"image_id", "category_id", "score", "bbox" [x, y, w, h][, "segmentation"]}, ...]``.

    Example:
        >>> p = [{"boxes": torch.tensor([[1.0, 1.0, 3.0, 5.0]]), "scores": torch.tensor([0.5]),
        ...       "labels": torch.tensor([2])}]
        >>> coco_results(p, [7])[0]["bbox"]
        [1.0, 1.0, 2.0, 4.0]
    """
    if len(image_ids) != len(predictions):
        raise ShapeError(
            f"image_ids must have one id per prediction, got {len(image_ids)} for "
            f"{len(predictions)} predictions"
        )
    out: list[dict] = []
    for i, (p, img_id) in enumerate(zip(predictions, image_ids, strict=True)):
        name = f"predictions[{i}]"
        boxes = _xywh(_array(p, "boxes", name, ndim=2)).tolist()
        scores = _array(p, "scores", name, ndim=1).astype(np.float64).tolist()
        labels = _array(p, "labels", name, ndim=1).astype(np.int64).tolist()
        if not len(boxes) == len(scores) == len(labels):
            raise ShapeError(f"{name}: boxes, scores and labels must have the same length")
        rles = None
        if "masks" in p:
            m = _array(p, "masks", name, ndim=3)
            rles = _rles(m if m.dtype == bool else m > 0.5)
        for j in range(len(boxes)):
            r = {"image_id": int(img_id), "category_id": labels[j], "score": scores[j],
                 "bbox": boxes[j]}  # fmt: skip
            if rles is not None:
                r["segmentation"] = rles[j]
            out.append(r)
    return out


class COCOEvaluator:
    """Collects predictions and targets batch by batch, then evaluates with :func:`evaluate_coco`.

    Args:
        iou_type: ``"bbox"`` or ``"segm"``.
        categories: the category ids; default: every label seen in targets or predictions.
        **kwargs: options of :func:`evaluate_coco` (``max_dets``, ``area_ranges``, ...).

    Example:
        >>> ev = COCOEvaluator()
        >>> box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
        >>> ev.update([{"boxes": box, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}],
        ...           [{"boxes": box, "labels": torch.tensor([1])}])
        >>> float(ev.compute().stats[0])
        1.0
    """

    def __init__(self, iou_type: str = "bbox", *, categories: Sequence[int] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        self.iou_type = check_choice(iou_type, "iou_type", ("bbox", "segm"))
        self.categories = None if categories is None else [int(c) for c in categories]
        self.kwargs = kwargs
        self.reset()

    def reset(self) -> None:
        """Forget everything collected so far."""
        self._gt: list[dict[str, Tensor]] = []
        self._pred: list[dict[str, Tensor]] = []
        self._sizes: list[tuple[int, int]] = []
        self._ids: list[int] = []

    def update(
        self,
        predictions: Sequence[dict[str, Tensor]],
        targets: Sequence[dict[str, Tensor]],
        image_ids: Sequence[int] | None = None,
    ) -> None:
        """Add one batch (model outputs and their targets, see :func:`coco_ground_truth`)."""
        if len(predictions) != len(targets):
            raise ShapeError(
                f"predictions and targets must have the same length, got {len(predictions)} "
                f"and {len(targets)}"
            )
        if image_ids is None:
            image_ids = range(len(self._ids), len(self._ids) + len(targets))
        for p, t, i in zip(predictions, targets, image_ids, strict=True):
            # keep CPU copies, so that GPU memory is not held until compute()
            self._pred.append({k: v.detach().cpu() for k, v in p.items() if isinstance(v, Tensor)})
            self._gt.append({k: v.detach().cpu() for k, v in t.items() if isinstance(v, Tensor)})
            masks = t.get("masks")
            hw = tuple(masks.shape[-2:]) if isinstance(masks, Tensor) else (0, 0)
            self._sizes.append((int(hw[0]), int(hw[1])))
            self._ids.append(int(i))

    def compute(self) -> COCOEvalResult:
        """Evaluate everything collected since the last :meth:`reset`."""
        cats = self.categories
        if cats is None:
            labels = [d["labels"] for d in self._gt + self._pred if "labels" in d]
            cats = sorted(set(torch.cat(labels).tolist())) if labels else []
        gt = coco_ground_truth(self._gt, self._sizes, cats, image_ids=self._ids)
        res = coco_results(self._pred, self._ids)
        return evaluate_coco(gt, res, self.iou_type, **self.kwargs)
