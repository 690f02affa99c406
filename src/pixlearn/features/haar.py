"""Haar-like features: signed sums of adjacent rectangles, read from an integral image.

A feature is up to four rectangles with alternating signs ``-, +, -, +``; its value is
``-S0 + S1 - S2 + S3`` where ``Sk`` is the pixel sum over rectangle ``k``:

- ``type-2-x`` / ``type-2-y`` (edge): two equal rectangles side by side along x / along y;
- ``type-3-x`` / ``type-3-y`` (line): three along x / y, the middle one positive;
- ``type-4`` (four-rectangle, checkerboard): top-left, top-right, bottom-right, bottom-left.

Coordinates, order and signs are scikit-image's (``skimage.feature.haar_like_feature_coord``),
so values are equal feature by feature. Rectangles are stored as pixlearn boxes, ``xyxy`` with
exclusive ends, relative to the window's top-left corner: a feature is a ``(4, 4)`` block,
features with fewer than four rectangles padded with empty ``(0, 0, 0, 0)`` boxes, which sum to
0. One difference from scikit-image: its ``haar_like_feature`` drops the border subtraction
for rectangles touching the top or left edge of a window placed at ``r > 0`` or ``c > 0``
(it then sums from the image origin); pixlearn always returns the true rectangle sums, equal to
scikit-image's on the window's own integral image.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["HAAR_FEATURE_TYPES", "haar_like_feature", "haar_like_feature_coords"]

#: the feature types, in the order scikit-image concatenates them
HAAR_FEATURE_TYPES: tuple[str, ...] = ("type-2-x", "type-2-y", "type-3-x", "type-3-y", "type-4")

#: sign of rectangle k in a feature's value: -S0 + S1 - S2 + S3
_RECT_SIGNS = (-1, 1, -1, 1)


def _types(feature_type: str | Sequence[str] | None) -> tuple[str, ...]:
    if feature_type is None:
        return HAAR_FEATURE_TYPES
    names = (feature_type,) if isinstance(feature_type, str) else tuple(feature_type)
    for t in names:
        if t not in HAAR_FEATURE_TYPES:
            raise ValueRangeError(
                f"feature_type must be one of {', '.join(map(repr, HAAR_FEATURE_TYPES))}, got {t!r}"
            )
    return names


def _coords_one(width: int, height: int, kind: str) -> Tensor:
    """All features of one type, scikit-image's loop order (y, x, dy, dx), shape (F, 4, 4)."""
    # every (y, x, dy, dx) with 0 <= y < H, 0 <= x < W, 1 <= dy <= H, 1 <= dx <= W, row-major
    g = torch.meshgrid(
        torch.arange(height),
        torch.arange(width),
        torch.arange(1, height + 1),
        torch.arange(1, width + 1),
        indexing="ij",
    )
    y, x, dy, dx = (t.reshape(-1) for t in g)  # each (P,)
    nx, ny = {"type-2-x": (2, 1), "type-2-y": (1, 2), "type-3-x": (3, 1), "type-3-y": (1, 3)}.get(
        kind, (2, 2)
    )
    keep = (x + nx * dx <= width) & (y + ny * dy <= height)
    y, x, dy, dx = y[keep], x[keep], dy[keep], dx[keep]  # each (F,)

    def box(i: int, j: int) -> Tensor:
        # the cell i steps right and j steps down from (x, y), one (dx, dy) cell
        return torch.stack([x + i * dx, y + j * dy, x + (i + 1) * dx, y + (j + 1) * dy], -1)

    empty = torch.zeros(x.numel(), 4, dtype=torch.int64)
    if kind == "type-4":
        rects = [box(0, 0), box(1, 0), box(1, 1), box(0, 1)]
    elif nx > 1:
        rects = [box(i, 0) for i in range(nx)]
    else:
        rects = [box(0, j) for j in range(ny)]
    rects += [empty] * (4 - len(rects))
    return torch.stack(rects, 1)  # (F, 4, 4)


def haar_like_feature_coords(
    width: int, height: int, feature_type: str | Sequence[str] | None = None
) -> tuple[Tensor, list[str]]:
    """Every Haar-like feature of a ``height x width`` window, in scikit-image's order.

    Args:
        width: window width, >= 1.
        height: window height, >= 1.
        feature_type: one name of :data:`HAAR_FEATURE_TYPES`, a sequence of them, or ``None``
            for all five (in that order).

    Returns:
        ``(coords, types)``: ``coords`` int64 of shape ``(F, 4, 4)``, rectangle ``k`` of
        feature ``f`` being the box ``coords[f, k] = (x1, y1, x2, y2)`` relative to the window
        (exclusive ends; unused rectangles are ``(0, 0, 0, 0)``); ``types`` the ``F`` type names.
        Rectangle ``k`` of feature ``f`` is scikit-image's
        ``[(y1, x1), (y2 - 1, x2 - 1)]``.

    Shape:
        ``coords``: ``(F, 4, 4)``.

    Raises:
        WrongTypeError: non-integer sizes.
        ValueRangeError: sizes < 1, an unknown feature type.

    Example:
        >>> coords, types = haar_like_feature_coords(2, 2, "type-4")
        >>> coords.tolist(), types
        ([[[0, 0, 1, 1], [1, 0, 2, 1], [1, 1, 2, 2], [0, 1, 1, 2]]], ['type-4'])

    References:
        Viola, P., Jones, M. "Robust real-time face detection." IJCV 57(2), 2004, fig. 1.
    """
    w = check_int(width, "width", min_value=1)
    h = check_int(height, "height", min_value=1)
    parts = [(_coords_one(w, h, t), t) for t in _types(feature_type)]
    coords = torch.cat([p for p, _ in parts])
    types = [t for p, t in parts for _ in range(p.shape[0])]
    return coords, types


def _corner_table(coords: Tensor, stride: int) -> tuple[Tensor, Tensor]:
    """Flat offsets (F, 16) into an integral image of row length ``stride`` and their signs.

    A feature's value on a window whose top-left table entry is ``base`` is
    ``sum_j coef[f, j] * ii_flat[base + offset[f, j]]``: four corners per rectangle,
    ``+D - B - C + A``, times the rectangle's sign.
    """
    x1, y1, x2, y2 = coords.to(torch.int64).unbind(-1)  # each (F, 4)
    offsets = torch.stack(
        [y2 * stride + x2, y1 * stride + x2, y2 * stride + x1, y1 * stride + x1], -1
    )  # (F, 4 rects, 4 corners)
    corner = torch.tensor([1, -1, -1, 1], dtype=torch.int64)
    sign = torch.tensor(_RECT_SIGNS, dtype=torch.int64)
    coef = sign[:, None] * corner[None, :]  # (4, 4)
    return offsets.reshape(-1, 16), coef.reshape(1, 16).expand(offsets.shape[0], 16)


def haar_like_feature(
    ii: Tensor,
    r: int,
    c: int,
    width: int,
    height: int,
    feature_type: str | Sequence[str] | None = None,
    feature_coord: Tensor | None = None,
) -> Tensor:
    r"""Haar-like feature values of one window of an integral image (batched).

    Args:
        ii: a table from :func:`~pixlearn.features.integral_image`, ``(..., H + 1, W + 1)``.
        r: row of the window's top-left pixel.
        c: column of the window's top-left pixel.
        width: window width; ``c + width <= W``.
        height: window height; ``r + height <= H``.
        feature_type: the types to compute when ``feature_coord`` is ``None`` (as in
            :func:`haar_like_feature_coords`). With ``feature_coord`` it may be the per-feature
            type list returned with the coordinates (checked for length, as scikit-image wants
            it); the coordinates alone define the features.
        feature_coord: ``(F, 4, 4)`` rectangles from :func:`haar_like_feature_coords`
            (possibly a subset), relative to the window.

    Returns:
        The feature values, shape ``(..., F)``, dtype of ``ii`` (int64 for integer images,
        float64 for floating ones), in the order of the coordinates.

    Shape:
        ``(..., H + 1, W + 1) -> (..., F)``.

    Raises:
        WrongTypeError: non-tensor input or non-integer positions.
        ShapeError: ``feature_coord`` not ``(F, 4, 4)``, ``feature_type`` of another length.
        ValueRangeError: the window or a rectangle outside the image, an unknown type.

    Notes:
        Each rectangle sum is four look-ups (:func:`~pixlearn.features.integral_sum`), and

        .. math::
            f = -S_0 + S_1 - S_2 + S_3,

        (absent rectangles contribute 0), so an edge feature is right minus left (bottom
        minus top), a line feature the middle minus both sides, a four-rectangle feature one
        diagonal minus the other. All features are gathered at once: ``16 F`` look-ups.

    Example:
        >>> from pixlearn.features import integral_image
        >>> ii = integral_image(torch.ones(5, 5, dtype=torch.uint8))
        >>> haar_like_feature(ii, 0, 0, 5, 5, "type-3-x")[:5]
        tensor([-1, -2, -3, -4, -5])

    References:
        Viola, P., Jones, M. "Robust real-time face detection." IJCV 57(2), 2004.
        Papageorgiou, C., Oren, M., Poggio, T. "A general framework for object detection."
        ICCV 1998.
    """
    check_image(ii, "ii", min_dims=2)
    r = check_int(r, "r", min_value=0)
    c = check_int(c, "c", min_value=0)
    width = check_int(width, "width", min_value=1)
    height = check_int(height, "height", min_value=1)
    big_h, big_w = ii.shape[-2] - 1, ii.shape[-1] - 1
    if r + height > big_h or c + width > big_w:
        raise ValueRangeError(
            f"the window (r={r}, c={c}, width={width}, height={height}) must lie inside the "
            f"{big_h}x{big_w} image of ii"
        )
    if feature_coord is None:
        coords, _ = haar_like_feature_coords(width, height, feature_type)
    else:
        coords = check_tensor(feature_coord, "feature_coord")
        if coords.dim() != 3 or coords.shape[1:] != (4, 4):
            raise ShapeError(f"feature_coord must have shape (F, 4, 4), got {describe(coords)}")
        if feature_type is not None and not isinstance(feature_type, str):
            if len(feature_type) != coords.shape[0]:
                raise ShapeError(
                    f"feature_type must list one type per feature ({coords.shape[0]}), "
                    f"got {len(feature_type)}"
                )
            _types(feature_type)
        x1, y1, x2, y2 = coords.unbind(-1)
        if bool(((x1 < 0) | (y1 < 0) | (x2 > width) | (y2 > height) | (x2 < x1)).any()) or bool(
            (y2 < y1).any()
        ):
            raise ValueRangeError(
                f"feature_coord must hold boxes inside the {height}x{width} window"
            )
    stride = ii.shape[-1]
    offsets, coef = _corner_table(coords.to(ii.device), stride)  # (F, 16) each
    base = r * stride + c
    flat = ii.reshape(*ii.shape[:-2], -1)  # (..., (H+1)(W+1))
    vals = flat[..., base + offsets]  # (..., F, 16)
    return (vals * coef.to(device=ii.device, dtype=ii.dtype)).sum(-1)
