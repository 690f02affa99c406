"""COCO JSON: the common in-memory form of every detection data set, its reader and writer.

Every reader of :mod:`pixlearn.data.formats` returns, and every writer takes, a COCO-style dict::

    {"images":      [{"id", "file_name", "width", "height"}, ...],
     "annotations": [{"id", "image_id", "category_id", "bbox": [x, y, w, h], "area",
                      "iscrowd", "segmentation" (optional: polygons or RLE),
                      "difficult" (optional, 0/1: Pascal VOC)}, ...],
     "categories":  [{"id", "name"}, ...]}

``bbox`` is ``[x, y, w, h]`` in continuous pixel coordinates: the box covers ``x <= u < x + w``
(pixel ``i`` spans ``[i, i + 1)``), so its area is ``w * h`` (no +1) and it converts to
pixlearn's ``xyxy`` as ``(x, y, x + w, y + h)``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from pixlearn._core.errors import DataFormatError

__all__ = ["BOX_TOLERANCE", "read_coco", "validate_coco", "write_coco"]

#: How far (in pixels) a box may reach beyond its image before it is refused: the rounding of
#: the file formats (VOC integer pixels, YOLO decimals) stays well inside it.
BOX_TOLERANCE = 1.0


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_segmentation(seg: Any, where: str) -> None:
    """Polygons: a list of flat ``[x0, y0, x1, y1, ...]`` lists; RLE: ``{"size", "counts"}``."""
    if isinstance(seg, dict):
        size = seg.get("size")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(s) for s in size)):
            raise DataFormatError(f"{where}: RLE segmentation needs 'size' [h, w], got {size!r}")
        if not isinstance(seg.get("counts"), (str, list)):
            raise DataFormatError(f"{where}: RLE segmentation needs 'counts' (str or list)")
        return
    if not isinstance(seg, list):
        raise DataFormatError(f"{where}: segmentation must be polygons or RLE, got {seg!r:.60}")
    for k, poly in enumerate(seg):
        if not (isinstance(poly, list) and all(_is_number(v) for v in poly)):
            raise DataFormatError(f"{where}: polygon {k} must be a flat list of numbers")
        if len(poly) < 6 or len(poly) % 2:
            raise DataFormatError(
                f"{where}: polygon {k} needs >= 3 points (6 numbers, an even count), "
                f"got {len(poly)} numbers"
            )


def validate_coco(data: Any, source: str = "data") -> dict[str, Any]:
    """Check a COCO-style dict and return it normalised (a new dict; the input is not modified).

    ``area`` defaults to ``w * h`` and ``iscrowd`` to 0 when missing. Image, annotation and
    category ids must be unique integers (0 allowed).

    Args:
        data: the candidate dict.
        source: what to call it in messages (the file name when read from a file).

    Returns:
        The normalised dict, with new ``images``/``annotations``/``categories`` lists of new
        dicts (extra keys kept).

    Raises:
        DataFormatError: a missing key, a wrong type, a duplicate id, an annotation whose image
            or category does not exist, a box with negative size or outside its image by more
            than :data:`BOX_TOLERANCE` pixels, a polygon with fewer than 3 points. The message
            names ``source`` and the entry (``annotations[12] (id 40)``).

    Example:
        >>> d = validate_coco({"images": [{"id": 1, "file_name": "a.png", "width": 8,
        ...     "height": 6}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...     "bbox": [1, 1, 2, 3]}], "categories": [{"id": 1, "name": "cat"}]})
        >>> d["annotations"][0]["area"], d["annotations"][0]["iscrowd"]
        (6.0, 0)
    """
    if not isinstance(data, dict):
        raise DataFormatError(f"{source}: must be a JSON object (dict), got {type(data).__name__}")
    out: dict[str, Any] = {k: v for k, v in data.items()}
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataFormatError(f"{source}: needs a list {key!r}, got {data.get(key)!r:.60}")

    images: dict[int, dict[str, Any]] = {}
    out["images"] = []
    for i, img in enumerate(data["images"]):
        where = f"{source}: images[{i}]"
        if not isinstance(img, dict):
            raise DataFormatError(f"{where} must be an object")
        for key in ("id", "width", "height"):
            if not _is_int(img.get(key)):
                raise DataFormatError(f"{where}: {key!r} must be an integer, got {img.get(key)!r}")
        if img["width"] < 1 or img["height"] < 1:
            raise DataFormatError(f"{where}: width and height must be >= 1")
        if not isinstance(img.get("file_name"), str):
            raise DataFormatError(f"{where}: 'file_name' must be a string")
        if img["id"] in images:
            raise DataFormatError(f"{where}: duplicate image id {img['id']}")
        images[img["id"]] = img
        out["images"].append(dict(img))

    categories: set[int] = set()
    out["categories"] = []
    for i, cat in enumerate(data["categories"]):
        where = f"{source}: categories[{i}]"
        if not isinstance(cat, dict) or not _is_int(cat.get("id")):
            raise DataFormatError(f"{where}: needs an integer 'id'")
        if not isinstance(cat.get("name"), str):
            raise DataFormatError(f"{where}: needs a string 'name'")
        if cat["id"] in categories:
            raise DataFormatError(f"{where}: duplicate category id {cat['id']}")
        categories.add(cat["id"])
        out["categories"].append(dict(cat))

    seen: set[int] = set()
    out["annotations"] = []
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not _is_int(ann.get("id")):
            raise DataFormatError(f"{source}: annotations[{i}]: needs an integer 'id'")
        where = f"{source}: annotations[{i}] (id {ann['id']})"
        if ann["id"] in seen:
            raise DataFormatError(f"{where}: duplicate annotation id")
        seen.add(ann["id"])
        img = images.get(ann.get("image_id"))  # type: ignore[arg-type]
        if img is None:
            raise DataFormatError(f"{where}: unknown image_id {ann.get('image_id')!r}")
        if ann.get("category_id") not in categories:
            raise DataFormatError(f"{where}: unknown category_id {ann.get('category_id')!r}")
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_number, bbox))):
            raise DataFormatError(f"{where}: 'bbox' must be 4 finite numbers, got {bbox!r}")
        x, y, w, h = bbox
        if w < 0 or h < 0:
            raise DataFormatError(f"{where}: bbox width and height must be >= 0, got {bbox}")
        t = BOX_TOLERANCE
        if x < -t or y < -t or x + w > img["width"] + t or y + h > img["height"] + t:
            raise DataFormatError(
                f"{where}: bbox {bbox} lies outside its image "
                f"({img['width']}x{img['height']}, image id {img['id']})"
            )
        if "segmentation" in ann:
            _check_segmentation(ann["segmentation"], where)
        new = dict(ann)
        new["bbox"] = [float(v) for v in bbox]
        new["area"] = float(ann.get("area", w * h))
        new["iscrowd"] = int(ann.get("iscrowd", 0))
        out["annotations"].append(new)
    return out


def read_coco(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a COCO JSON annotation file.

    Args:
        path: the ``.json`` file.

    Returns:
        The validated, normalised COCO dict (see :func:`validate_coco`).

    Raises:
        DataFormatError: the file is missing, unreadable, not JSON, or fails
            :func:`validate_coco`; the message names the file (and the entry).

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.json"
        >>> write_coco({"images": [], "annotations": [], "categories": []}, f)
        >>> read_coco(f)["images"]
        []

    References:
        Lin, T.-Y. et al. "Microsoft COCO: Common Objects in Context." ECCV 2014
        (data format: https://cocodataset.org/#format-data).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(f"cannot read COCO file {str(path)!r}: {err}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(f"malformed JSON in COCO file {str(path)!r}: {err}") from err
    return validate_coco(data, source=repr(str(path)))


def write_coco(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Validate a COCO dict and write it as JSON (parent folders are created).

    Args:
        data: a COCO-style dict (see the module docstring).
        path: the ``.json`` file to write.

    Raises:
        DataFormatError: ``data`` fails :func:`validate_coco`, or the file cannot be written.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.json"
        >>> write_coco({"images": [], "annotations": [], "categories": []}, f)
        >>> f.exists()
        True
    """
    clean = validate_coco(data, source="data")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(clean, indent=1), encoding="utf-8")
    except OSError as err:
        raise DataFormatError(f"cannot write COCO file {str(path)!r}: {err}") from err
