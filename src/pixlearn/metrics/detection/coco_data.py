"""Reading and checking COCO ground truth and results into flat NumPy arrays.

Every entry is checked once, with vectorised tests, and the first bad entry is named in the
error (``results[17]``, ``ground_truth['annotations'][3]``), so that a malformed file never turns
into a ``KeyError`` deep inside the evaluation. What pycocotools' ``COCO.loadRes`` adds to results
is reproduced: with a ``bbox`` in the first result every detection's area is ``w * h`` (and a
missing segmentation becomes the box polygon); otherwise the area is the mask's pixel count.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixlearn._core.errors import ImageFileError, ValueRangeError, WrongTypeError
from pixlearn.metrics.detection.coco_masks import rle_area, segmentation_to_rle

__all__ = ["CocoDetections", "CocoGroundTruth", "load_json", "parse_ground_truth", "parse_results"]


@dataclass
class CocoGroundTruth:
    """Ground truth as arrays; image and category indices point into the sorted id arrays."""

    image_ids: np.ndarray  # (I,) int64, sorted
    category_ids: np.ndarray  # (K,) int64, sorted
    image_sizes: np.ndarray  # (I, 2) int64 (height, width), -1 where not given
    image: np.ndarray  # (G,) int64 index into image_ids
    category: np.ndarray  # (G,) int64 index into category_ids
    box: np.ndarray  # (G, 4) float64 [x, y, w, h]
    area: np.ndarray  # (G,) float64, the annotation's "area" field
    crowd: np.ndarray  # (G,) bool
    rles: list[dict[str, Any]] = field(default_factory=list)  # segm only


@dataclass
class CocoDetections:
    """Detections as arrays, in the order of the results list."""

    image: np.ndarray  # (D,) int64 index into the ground truth's image_ids
    category: np.ndarray  # (D,) int64 index into the ground truth's category_ids
    score: np.ndarray  # (D,) float64
    box: np.ndarray  # (D, 4) float64 [x, y, w, h] (bbox) or empty
    area: np.ndarray  # (D,) float64
    rles: list[dict[str, Any]] = field(default_factory=list)  # segm only


def load_json(source: Any, name: str, kind: type) -> Any:
    """Return ``source`` itself, or the JSON document of the file it names."""
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, encoding="utf-8") as f:
                source = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImageFileError(
                f"{name}: cannot read COCO JSON file {str(source)!r}: {exc}"
            ) from exc
    if not isinstance(source, kind):
        raise WrongTypeError(
            f"{name} must be a {kind.__name__} (or a path to a JSON file holding one), "
            f"got {type(source).__name__}"
        )
    return source


def _column(entries: Sequence[Any], key: str, name: str) -> list[Any]:
    """``[e[key] for e in entries]``, naming the first entry that is not a dict or lacks ``key``."""
    try:
        return [e[key] for e in entries]
    except (KeyError, TypeError, IndexError):
        for i, e in enumerate(entries):
            if not isinstance(e, dict):
                raise WrongTypeError(
                    f"{name}[{i}] must be a dict, got {type(e).__name__}"
                ) from None
            if key not in e:
                raise ValueRangeError(f"{name}[{i}] has no key {key!r}") from None
        raise


def _numbers(
    values: list[Any], key: str, name: str, *, integer: bool = False, shape: tuple[int, ...] = ()
) -> np.ndarray:
    """The column as a float64 (or int64) array, naming the first entry that is not a number."""
    n = len(values)
    if not n:
        return np.zeros((0, *shape), dtype=np.int64 if integer else np.float64)
    try:
        arr = np.asarray(values, dtype=np.float64).reshape((n, *shape))
    except (TypeError, ValueError):
        arr = None
    bad = np.ones(n, dtype=bool) if arr is None else ~np.isfinite(arr).reshape(n, -1).all(axis=1)
    if integer and arr is not None:
        bad |= arr != np.round(arr)
    if bad.any():
        for i in np.flatnonzero(bad):
            v = values[i]
            ok_shape = np.shape(v) == shape if not isinstance(v, (str, bytes)) else False
            ok = ok_shape and not isinstance(v, bool)
            if ok:
                try:
                    a = np.asarray(v, dtype=np.float64)
                    ok = bool(np.isfinite(a).all()) and (
                        not integer or bool((a == np.round(a)).all())
                    )
                except (TypeError, ValueError):
                    ok = False
            if not ok:
                what = "an integer" if integer else ("a finite number" if not shape else "")
                if shape:
                    what = f"{shape[0]} finite numbers"
                raise ValueRangeError(f"{name}[{i}][{key!r}] must be {what}, got {v!r}")
    return arr.astype(np.int64) if integer else arr  # type: ignore[union-attr]


def _index_of(ids: np.ndarray, known: np.ndarray, key: str, name: str, what: str) -> np.ndarray:
    """Positions of ``ids`` in the sorted array ``known``; name the first unknown id."""
    pos = np.searchsorted(known, ids)
    pos_c = np.minimum(pos, max(len(known) - 1, 0))
    bad = (pos >= len(known)) | (known[pos_c] != ids) if len(known) else np.ones(len(ids), bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueRangeError(
            f"{name}[{i}][{key!r}] = {int(ids[i])} is not {what} of the ground truth"
        )
    return pos


def _check_boxes(box: np.ndarray, name: str) -> None:
    bad = (box[:, 2] < 0) | (box[:, 3] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueRangeError(
            f"{name}[{i}]['bbox'] must have width and height >= 0 ([x, y, w, h]), "
            f"got {box[i].tolist()}"
        )


def parse_ground_truth(source: Any, iou_type: str, name: str = "ground_truth") -> CocoGroundTruth:
    """Check a COCO ground-truth document and return it as :class:`CocoGroundTruth`."""
    gt = load_json(source, name, dict)
    for key in ("images", "annotations", "categories"):
        if not isinstance(gt.get(key), list):
            raise ValueRangeError(f"{name} must have a list {key!r}, got {type(gt.get(key))}")
    images, anns, cats = gt["images"], gt["annotations"], gt["categories"]
    img_ids = _numbers(
        _column(images, "id", f"{name}['images']"), "id", f"{name}['images']", integer=True
    )
    cat_ids = _numbers(
        _column(cats, "id", f"{name}['categories']"), "id", f"{name}['categories']", integer=True
    )
    order = np.argsort(img_ids, kind="stable")
    image_ids, first = np.unique(img_ids[order], return_index=True)
    category_ids = np.unique(cat_ids)
    sizes = np.full((len(image_ids), 2), -1, dtype=np.int64)
    if iou_type == "segm":
        for key, col in (("height", 0), ("width", 1)):
            vals = _numbers(
                _column(images, key, f"{name}['images']"), key, f"{name}['images']", integer=True
            )
            sizes[:, col] = vals[order][first]
    an = f"{name}['annotations']"
    image = _index_of(
        _numbers(_column(anns, "image_id", an), "image_id", an, integer=True),
        image_ids,
        "image_id",
        an,
        "an image id",
    )
    category = _index_of(
        _numbers(_column(anns, "category_id", an), "category_id", an, integer=True),
        category_ids,
        "category_id",
        an,
        "a category id",
    )
    area = _numbers(_column(anns, "area", an), "area", an)
    crowd = np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool)
    box = np.zeros((len(anns), 4))
    rles: list[dict[str, Any]] = []
    if iou_type == "bbox":
        box = _numbers(_column(anns, "bbox", an), "bbox", an, shape=(4,)).reshape(-1, 4)
        _check_boxes(box, an)
    else:
        segs = _column(anns, "segmentation", an)
        rles = [
            segmentation_to_rle(s, int(sizes[j, 0]), int(sizes[j, 1]), f"{an}[{i}]")
            for i, (s, j) in enumerate(zip(segs, image.tolist(), strict=True))
        ]
    return CocoGroundTruth(image_ids, category_ids, sizes, image, category, box, area, crowd, rles)


def parse_results(
    source: Any, gt: CocoGroundTruth, iou_type: str, name: str = "results"
) -> CocoDetections:
    """Check a COCO results list against its ground truth, as pycocotools' ``loadRes`` reads it."""
    res = load_json(source, name, list)
    n = len(res)
    image = _index_of(
        _numbers(_column(res, "image_id", name), "image_id", name, integer=True),
        gt.image_ids,
        "image_id",
        name,
        "an image id",
    )
    category = _index_of(
        _numbers(_column(res, "category_id", name), "category_id", name, integer=True),
        gt.category_ids,
        "category_id",
        name,
        "a category id",
    )
    score = _numbers(_column(res, "score", name), "score", name)
    # loadRes: results whose first entry has a non-empty bbox are box results (area = w * h)
    first = res[0] if n else {}
    box_results = isinstance(first, dict) and "bbox" in first and len(first["bbox"]) > 0
    if n and not box_results and not (isinstance(first, dict) and "segmentation" in first):
        raise ValueRangeError(f"{name}[0] must have a 'bbox' or a 'segmentation'")
    box = np.zeros((n, 4))
    area = np.zeros(n)
    if box_results or iou_type == "bbox":
        box = _numbers(_column(res, "bbox", name), "bbox", name, shape=(4,)).reshape(-1, 4)
        _check_boxes(box, name)
        area = box[:, 2] * box[:, 3]
    rles: list[dict[str, Any]] = []
    if iou_type == "segm":
        segs: list[Any] = (
            [r.get("segmentation", _box_polygon(b)) for r, b in zip(res, box.tolist(), strict=True)]
            if box_results
            else _column(res, "segmentation", name)
        )
        sizes = gt.image_sizes[image].tolist()
        rles = [
            segmentation_to_rle(s, hw[0], hw[1], f"{name}[{i}]")
            for i, (s, hw) in enumerate(zip(segs, sizes, strict=True))
        ]
        if not box_results:
            area = rle_area(rles)
    return CocoDetections(image, category, score, box, area, rles)


def _box_polygon(b: list[float]) -> list[list[float]]:
    """The polygon loadRes gives a box result without a segmentation."""
    x1, y1, x2, y2 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    return [[x1, y1, x1, y2, x2, y2, x2, y1]]
