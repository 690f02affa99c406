r"""Box operations: format conversion, area, IoU, generalized IoU, clipping, small-box removal.

Boxes are float tensors shaped ``(..., 4)`` (``(N, 4)`` where a function pairs them up) in
``xyxy`` pixel coordinates: continuous, ``x1 <= x2``, ``y1 <= y2``, area
:math:`(x_2 - x_1)(y_2 - y_1)` (no +1). A zero-area box (a point or a segment) is valid: its
IoU with any box, itself included, is defined as 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_finite, check_positive, check_tensor, pair
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes",
    "generalized_box_iou",
    "remove_small_boxes",
]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _check_boxes(boxes: object, name: str, *, fmt: str = "xyxy", matrix: bool = False) -> Tensor:
    """Check a float ``(..., 4)`` (``(N, 4)`` if ``matrix``) box tensor: finite, non-negative
    extent (``x2 >= x1``, ``y2 >= y1`` for ``xyxy``; ``w, h >= 0`` otherwise)."""
    check_tensor(boxes, name)
    assert isinstance(boxes, Tensor)
    if not boxes.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {boxes.dtype}")
    if (matrix and boxes.dim() != 2) or boxes.dim() < 1 or boxes.shape[-1] != 4:
        want = "(N, 4)" if matrix else "(..., 4)"
        raise ShapeError(f"{name} must have shape {want}, got shape {tuple(boxes.shape)}")
    if boxes.device.type == "cpu" and boxes.dtype in (torch.float32, torch.float64):
        # fast path for valid CPU boxes (NumPy calls cost a fraction of torch's on small
        # inputs); anything wrong falls through to the checks below, which name the problem
        a = boxes.detach().numpy()
        ext = a[..., 2:] - a[..., :2] if fmt == "xyxy" else a[..., 2:]
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isfinite(a).all() and (ext >= 0).all():
                return boxes
    check_finite(boxes, name)
    if boxes.numel():
        # (..., 2): width, height
        extent = boxes[..., 2:] - boxes[..., :2] if fmt == "xyxy" else boxes[..., 2:]
        bad = (extent < 0).any(-1)  # (...)
        if bool(bad.any()):
            idx = tuple(int(i) for i in bad.nonzero()[0])
            index = idx[0] if len(idx) == 1 else idx
            what = "x2 >= x1 and y2 >= y1" if fmt == "xyxy" else "w >= 0 and h >= 0"
            raise ValueRangeError(
                f"{name} must have {what} ({fmt} format), got {boxes[idx].tolist()} "
                f"at index {index}"
            )
    return boxes


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    r"""Convert boxes between the ``xyxy``, ``xywh`` and ``cxcywh`` formats.

    Args:
        boxes: boxes in ``in_fmt``, shape ``(..., 4)``, float, finite, non-negative extent.
        in_fmt: ``"xyxy"`` (corners), ``"xywh"`` (top-left corner, width, height) or
            ``"cxcywh"`` (centre, width, height).
        out_fmt: the format to return, one of the same.

    Returns:
        A new tensor of the same shape and dtype (a copy also when the formats are equal).

    Shape:
        ``(..., 4) -> (..., 4)``.

    Raises:
        WrongTypeError: ``boxes`` not a floating tensor.
        ShapeError: last dimension not 4.
        ValueRangeError: NaN/Inf, a negative width or height, an unknown format.

    Notes:
        :math:`w = x_2 - x_1,\ h = y_2 - y_1,\ c_x = (x_1 + x_2)/2,\ c_y = (y_1 + y_2)/2`.

    Example:
        >>> box_convert(torch.tensor([[10.0, 20.0, 30.0, 60.0]]), "xyxy", "cxcywh")
        tensor([[20., 40., 20., 40.]])
    """
    check_choice(in_fmt, "in_fmt", BOX_FORMATS)
    check_choice(out_fmt, "out_fmt", BOX_FORMATS)
    _check_boxes(boxes, "boxes", fmt=in_fmt)
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt == "xyxy":
        # w = x2 - x1, cx = (x1 + x2) / 2
        w, h = c - a, d - b
        out = (a, b, w, h) if out_fmt == "xywh" else ((a + c) * 0.5, (b + d) * 0.5, w, h)
    elif in_fmt == "xywh":
        # x2 = x1 + w, cx = x1 + w / 2
        out = (a, b, a + c, b + d) if out_fmt == "xyxy" else (a + 0.5 * c, b + 0.5 * d, c, d)
    else:
        # x1 = cx - w / 2, x2 = cx + w / 2
        x1, y1 = a - 0.5 * c, b - 0.5 * d
        out = (x1, y1, a + 0.5 * c, b + 0.5 * d) if out_fmt == "xyxy" else (x1, y1, c, d)
    return torch.stack(out, dim=-1)


def box_area(boxes: Tensor) -> Tensor:
    r"""Area of ``xyxy`` boxes, :math:`(x_2 - x_1)(y_2 - y_1)`.

    Args:
        boxes: shape ``(..., 4)``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.

    Returns:
        The areas, shape ``(...)``, dtype of ``boxes``.

    Example:
        >>> box_area(torch.tensor([[0.0, 0.0, 2.0, 3.0], [1.0, 1.0, 1.0, 5.0]]))
        tensor([6., 0.])
    """
    _check_boxes(boxes, "boxes")
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = (rb - lt).clamp(min=0)  # (N, M, 2): overlap width and height, 0 if disjoint
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    # |A u B| = |A| + |B| - |A n B|
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    return inter, union


def _check_pair(boxes1: Tensor, boxes2: Tensor) -> None:
    _check_boxes(boxes1, "boxes1", matrix=True)
    _check_boxes(boxes2, "boxes2", matrix=True)
    if boxes2.dtype != boxes1.dtype:
        raise WrongTypeError(
            f"boxes2 must have the dtype of boxes1 ({boxes1.dtype}), got {boxes2.dtype}"
        )


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    r"""Intersection over union of every pair of ``xyxy`` boxes.

    Args:
        boxes1: shape ``(N, 4)``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        boxes2: shape ``(M, 4)``, same dtype.

    Returns:
        ``iou[i, j]`` in ``[0, 1]``, shape ``(N, M)``, dtype of the boxes. A pair whose union
        has zero area (two degenerate boxes) gets 0; a zero-area box has IoU 0 with anything.
        Differentiable (almost everywhere) in both arguments.

    Shape:
        ``(N, 4), (M, 4) -> (N, M)``.

    Raises:
        WrongTypeError: a non-floating tensor, or different dtypes.
        ShapeError: not ``(N, 4)``.
        ValueRangeError: NaN/Inf, ``x2 < x1`` or ``y2 < y1`` (the message gives the index).

    Notes:
        .. math::
            \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|}
            = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}.

    Example:
        >>> a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> b = torch.tensor([[1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
        >>> box_iou(a, b)
        tensor([[0.3333, 0.0000]])
    """
    _check_pair(boxes1, boxes2)
    inter, union = _inter_union(boxes1, boxes2)
    # the where keeps the 0/0 of two degenerate boxes out of the value and the gradient
    safe = torch.where(union > 0, union, torch.ones_like(union))
    return torch.where(union > 0, inter / safe, torch.zeros_like(inter))


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    r"""Generalized IoU (GIoU) of every pair of ``xyxy`` boxes.

    Args:
        boxes1: shape ``(N, 4)``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        boxes2: shape ``(M, 4)``, same dtype.

    Returns:
        ``giou[i, j]`` in ``[-1, 1]``, shape ``(N, M)``; 1 for identical boxes of positive
        area, :math:`\le` IoU always. A pair whose enclosing box has zero area gets 0.
        Differentiable (almost everywhere).

    Shape:
        ``(N, 4), (M, 4) -> (N, M)``.

    Raises:
        Same as :func:`box_iou`.

    Notes:
        With :math:`C` the smallest box enclosing :math:`A` and :math:`B`,

        .. math::
            \mathrm{GIoU} = \mathrm{IoU} - \frac{|C| - |A \cup B|}{|C|},

        which, unlike IoU, still decreases as disjoint boxes move apart.

    Example:
        >>> a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        >>> generalized_box_iou(a, torch.tensor([[2.0, 0.0, 3.0, 1.0], [0.0, 0.0, 1.0, 1.0]]))
        tensor([[-0.3333,  1.0000]])

    References:
        Rezatofighi, H. et al. "Generalized Intersection over Union: A Metric and a Loss for
        Bounding Box Regression." CVPR 2019.
    """
    _check_pair(boxes1, boxes2)
    inter, union = _inter_union(boxes1, boxes2)
    safe_u = torch.where(union > 0, union, torch.ones_like(union))
    iou = torch.where(union > 0, inter / safe_u, torch.zeros_like(inter))  # (N, M)
    lt = torch.minimum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    rb = torch.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = rb - lt  # (N, M, 2): never negative, both boxes have x2 >= x1
    enclose = wh[..., 0] * wh[..., 1]  # |C|, (N, M)
    safe_c = torch.where(enclose > 0, enclose, torch.ones_like(enclose))
    # GIoU = IoU - (|C| - |A u B|) / |C|
    giou = iou - (enclose - union) / safe_c
    return torch.where(enclose > 0, giou, torch.zeros_like(giou))


def clip_boxes(boxes: Tensor, size: int | Sequence[int]) -> Tensor:
    """Clip ``xyxy`` boxes to an image of ``size = (H, W)``: x into ``[0, W]``, y into ``[0, H]``.

    Args:
        boxes: shape ``(..., 4)``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        size: the image size ``(H, W)`` (or one int for a square), each >= 0.

    Returns:
        The clipped boxes, a new tensor of the same shape and dtype. A box entirely outside
        the image becomes a zero-area box on its border.

    Example:
        >>> clip_boxes(torch.tensor([[-5.0, 2.0, 12.0, 30.0]]), (20, 10))
        tensor([[ 0.,  2., 10., 20.]])
    """
    _check_boxes(boxes, "boxes")
    h, w = pair(size, "size", min_value=0)
    x = boxes[..., 0::2].clamp(0, w)  # (..., 2)
    y = boxes[..., 1::2].clamp(0, h)  # (..., 2)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """Indices of the boxes whose width and height are both at least ``min_size``.

    Args:
        boxes: shape ``(N, 4)``, ``xyxy``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        min_size: the least width and height kept, >= 0.

    Returns:
        The kept indices in increasing order, int64, shape ``(K,)``.

    Example:
        >>> b = torch.tensor([[0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 1.0, 9.0], [2.0, 2.0, 4.0, 4.0]])
        >>> remove_small_boxes(b, 2.0)
        tensor([0, 2])
    """
    _check_boxes(boxes, "boxes", matrix=True)
    m = check_positive(min_size, "min_size", strict=False)
    ws = boxes[:, 2] - boxes[:, 0]  # (N,)
    hs = boxes[:, 3] - boxes[:, 1]  # (N,)
    keep = (ws >= m) & (hs >= m)
    return keep.nonzero().flatten()
