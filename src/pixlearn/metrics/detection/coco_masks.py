"""COCO segmentations (polygons, uncompressed and compressed RLE) as RLE, and their mask IoU.

The run-length encoding itself (``encode``/``decode``/``area`` and polygon rasterisation) is
pycocotools' C utility, which the design allows as the one runtime helper for COCO masks; the
IoU between masks is computed here from decoded masks.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["mask_iou_pairs", "rle_area", "segmentation_to_rle"]


def segmentation_to_rle(segmentation: Any, height: int, width: int, name: str) -> dict[str, Any]:
    """Turn one COCO ``segmentation`` into a compressed RLE dict of an ``height x width`` image.

    Args:
        segmentation: a list of polygons ``[[x1, y1, x2, y2, ...], ...]`` (each at least 3
            points), an uncompressed RLE ``{"size": [h, w], "counts": [int, ...]}`` or a
            compressed RLE ``{"size": [h, w], "counts": str | bytes}``.
        height: image height in pixels.
        width: image width in pixels.
        name: how the entry is named in error messages, e.g. ``"results[3]"``.

    Returns:
        A compressed RLE ``{"size": [h, w], "counts": bytes}``; polygons of one object are merged.

    Example:
        >>> rle = segmentation_to_rle([[0, 0, 4, 0, 4, 4, 0, 4]], 8, 8, "ann")
        >>> int(mask_utils.area(rle))
        16
    """
    if isinstance(segmentation, list):
        if not segmentation:
            raise ShapeError(f"{name}['segmentation'] must hold at least one polygon, got []")
        for i, poly in enumerate(segmentation):
            if not isinstance(poly, (list, tuple)) or len(poly) < 6 or len(poly) % 2:
                n = len(poly) if isinstance(poly, (list, tuple)) else type(poly).__name__
                raise ShapeError(
                    f"{name}['segmentation'][{i}] must be a polygon [x1, y1, x2, y2, ...] with "
                    f"at least 3 points (an even number >= 6 of coordinates), got {n}"
                )
            if not np.isfinite(np.asarray(poly, dtype=np.float64)).all():
                raise ValueRangeError(f"{name}['segmentation'][{i}] must be finite")
        rles = mask_utils.frPyObjects([list(map(float, p)) for p in segmentation], height, width)
        return mask_utils.merge(rles)
    if isinstance(segmentation, dict):
        if "counts" not in segmentation or "size" not in segmentation:
            raise ValueRangeError(
                f"{name}['segmentation'] as RLE must have keys 'size' and 'counts', "
                f"got keys {sorted(segmentation)}"
            )
        size = list(segmentation["size"])
        if size != [height, width]:
            raise ShapeError(
                f"{name}['segmentation'] has size {size}, but its image is {[height, width]}"
            )
        counts = segmentation["counts"]
        if isinstance(counts, list):  # uncompressed RLE
            return mask_utils.frPyObjects(segmentation, height, width)
        if isinstance(counts, str):
            return {"size": size, "counts": counts.encode("ascii")}
        if isinstance(counts, bytes):
            return {"size": size, "counts": counts}
    raise WrongTypeError(
        f"{name}['segmentation'] must be a list of polygons or an RLE dict, "
        f"got {type(segmentation).__name__}"
    )


def rle_area(rles: Sequence[dict[str, Any]]) -> np.ndarray:
    """Pixel counts of RLE masks as float64 (in chunks: pycocotools' ``area`` overflows past 255).

    Example:
        >>> rle_area([segmentation_to_rle([[0, 0, 2, 0, 2, 3, 0, 3]], 5, 5, "ann")])
        array([6.])
    """
    out = [mask_utils.area(list(rles[i : i + 200])) for i in range(0, len(rles), 200)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def mask_iou_pairs(
    det_rles: Sequence[dict[str, Any]],
    gt_rles: Sequence[dict[str, Any]],
    gt_crowd: np.ndarray,
    pair_det: np.ndarray,
    pair_gt: np.ndarray,
    pair_image: np.ndarray,
) -> np.ndarray:
    r"""Mask IoU of the listed (detection, ground truth) pairs, crowd regions as in COCO.

    Args:
        det_rles: RLEs of the detections (all of one image size per pair).
        gt_rles: RLEs of the ground truths.
        gt_crowd: ``(G,)`` bool, crowd flag of each ground truth.
        pair_det: ``(P,)`` int, detection index of each pair.
        pair_gt: ``(P,)`` int, ground-truth index of each pair.
        pair_image: ``(P,)`` int, image of each pair (masks are decoded one image at a time).

    Returns:
        ``(P,)`` float64 IoU; the same double as pycocotools (``i / u`` of integer pixel counts).

    Notes:
        :math:`\mathrm{IoU} = |D \cap G| / |D \cup G|`; for a crowd ground truth the union is
        replaced by :math:`|D|`, so a detection inside a crowd region is not penalised.
    """
    out = np.zeros(len(pair_det), dtype=np.float64)
    if not len(pair_det):
        return out
    det_area, gt_area = rle_area(det_rles), rle_area(gt_rles)
    # decode image by image, so that only one image's masks are in memory at a time
    order = np.argsort(pair_image, kind="stable")
    bounds = np.flatnonzero(np.diff(pair_image[order])) + 1
    for sel in np.split(order, bounds):
        dets, d_inv = np.unique(pair_det[sel], return_inverse=True)
        gts, g_inv = np.unique(pair_gt[sel], return_inverse=True)
        with warnings.catch_warnings():  # pycocotools' NumPy 2 copy-keyword deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            d_masks = mask_utils.decode([det_rles[i] for i in dets])  # (H, W, nd) uint8
            g_masks = mask_utils.decode([gt_rles[i] for i in gts])  # (H, W, ng) uint8
        hw = d_masks.shape[0] * d_masks.shape[1]
        # integer pixel counts are exact in float32 below 2**24 pixels, in float64 above
        ftype = np.float32 if hw < (1 << 24) else np.float64
        d_flat = d_masks.reshape(hw, -1, order="F").astype(ftype)  # (HW, nd)
        g_flat = g_masks.reshape(hw, -1, order="F").astype(ftype)  # (HW, ng)
        # |D n G| for every detection/ground-truth pair of this size
        inter_all = (d_flat.T @ g_flat).astype(np.float64)  # (nd, ng)
        inter = inter_all[d_inv, g_inv]
        da, ga = det_area[pair_det[sel]], gt_area[pair_gt[sel]]
        # |D u G| = |D| + |G| - |D n G|, or |D| for a crowd region
        union = np.where(gt_crowd[pair_gt[sel]], da, da + ga - inter)
        out[sel] = np.where(inter > 0, inter / np.where(inter > 0, union, 1.0), 0.0)
    return out
