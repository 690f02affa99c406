r"""Iso-valued contours of a 2-D image by marching squares.

Algorithm:

1. **Cells.** Every 2x2 block of neighbouring pixels is a cell. Its four corners are classified
   as above (``> level``) or not, which gives one of 16 cases (bit 1: upper-left, 2:
   upper-right, 4: lower-left, 8: lower-right). The case table is evaluated for all cells at
   once (NumPy array operations on the CPU, no loop over pixels).
2. **Segments.** Where a cell edge joins a corner above the level to one not above, the contour
   crosses it at the linearly interpolated point. Each case gives zero, one or two (saddle
   cases 6 and 9) segments, oriented so that contours wind counter-clockwise around the low
   values (``positive_orientation="low"``).
3. **Joining.** Segments are taken in raster order of their cells and linked end to start into
   polylines (a loop over the segments with dictionaries from end points to open polylines,
   about a million segments per second); when two polylines meet, the one created first keeps
   its place, so contours come out in the order of their first segment.

This reproduces ``skimage.measure.find_contours`` point for point.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["find_contours"]

# For each of the 16 cases, the segments as pairs (from, to) of crossing points, where
# 0 = top, 1 = bottom, 2 = left, 3 = right edge of the cell; -1 = no segment. The saddle cases
# 6 and 9 have two segments, and which corners they join depends on ``fully_connected``.
_T, _B, _L, _R = 0, 1, 2, 3
_NONE = (-1, -1)
_CASES_LOW = [
    [_NONE, _NONE],  # 0: all corners low
    [(_T, _L), _NONE],  # 1: upper-left high
    [(_R, _T), _NONE],  # 2: upper-right high
    [(_R, _L), _NONE],  # 3: top row high
    [(_L, _B), _NONE],  # 4: lower-left high
    [(_T, _B), _NONE],  # 5: left column high
    [(_R, _T), (_L, _B)],  # 6: saddle, low corners joined
    [(_R, _B), _NONE],  # 7: only lower-right low
    [(_B, _R), _NONE],  # 8: lower-right high
    [(_T, _L), (_B, _R)],  # 9: saddle, low corners joined
    [(_B, _T), _NONE],  # 10: right column high
    [(_B, _L), _NONE],  # 11: only lower-left low
    [(_L, _R), _NONE],  # 12: bottom row high
    [(_T, _R), _NONE],  # 13: only upper-right low
    [(_L, _T), _NONE],  # 14: only upper-left low
    [_NONE, _NONE],  # 15: all corners high
]
_CASES_HIGH = [list(c) for c in _CASES_LOW]
_CASES_HIGH[6] = [(_L, _T), (_R, _B)]  # saddle, high corners joined
_CASES_HIGH[9] = [(_T, _R), (_B, _L)]


def _fraction(a: np.ndarray, b: np.ndarray, level: float) -> np.ndarray:
    """Where ``level`` lies between ``a`` and ``b``: ``(level - a) / (b - a)``, 0 if ``a == b``."""
    diff = b - a
    same = diff == 0
    return np.where(same, 0.0, (level - a) / np.where(same, 1.0, diff))


def _segments(img: np.ndarray, level: float, high: bool) -> tuple[np.ndarray, np.ndarray]:
    """All oriented segments in raster order of their cells, as ``(S, 2)`` from/to points."""
    w = img.shape[1]
    # case = 1[ul > t] + 2[ur > t] + 4[ll > t] + 8[lr > t], per cell (H-1, W-1)
    above = (img > level).view(np.uint8)  # (H, W)
    case = above[:-1, :-1] + 2 * above[:-1, 1:] + 4 * above[1:, :-1] + 8 * above[1:, 1:]
    # cells touching a NaN are skipped, as if entirely on one side of the level
    nan = np.isnan(img)
    nan = nan[:-1, :-1] | nan[:-1, 1:] | nan[1:, :-1] | nan[1:, 1:]
    cell = np.flatnonzero((case != 0) & (case != 15) & ~nan)  # (N,) crossed cells, raster order
    case = case.reshape(-1)[cell]  # (N,)
    r0, c0 = np.divmod(cell, w - 1)  # (N,) cell row and column (its upper-left pixel)
    ul, ur = img[r0, c0], img[r0, c0 + 1]  # (N,) corner values
    ll, lr = img[r0 + 1, c0], img[r0 + 1, c0 + 1]
    # the crossing points (row, col) on the top, bottom, left, right edges: linear interpolation
    rows = np.stack([r0, r0 + 1, r0 + _fraction(ul, ll, level), r0 + _fraction(ur, lr, level)])
    cols = np.stack([c0 + _fraction(ul, ur, level), c0 + _fraction(ll, lr, level), c0, c0 + 1])
    points = np.stack([rows, cols], -1)  # (4, N, 2) float64
    table = np.array(_CASES_HIGH if high else _CASES_LOW)  # (16, 2, 2)
    seg = table[case]  # (N, 2 slots, 2 ends) edge ids, -1 for none
    which = np.broadcast_to(np.arange(case.size)[:, None], (case.size, 2))  # (N, 2)
    valid = seg[..., 0] >= 0  # (N, 2)
    src, dst, which = seg[..., 0][valid], seg[..., 1][valid], which[valid]  # (S,) in order
    return points[src, which], points[dst, which]


def _assemble(start: np.ndarray, end: np.ndarray) -> list[np.ndarray]:
    """Link oriented segments into polylines; polylines are ordered by their first segment."""
    # exact point identity: the same float pair always comes from the same computation
    pts = np.concatenate([start, end]) + 0.0  # (2S, 2); + 0.0 turns -0.0 into 0.0
    # one 16-byte key per point: equal keys <=> equal float pairs
    keys = np.ascontiguousarray(pts).view(np.dtype((np.void, 16)))[:, 0]
    _, ids = np.unique(keys, return_inverse=True)
    n = len(start)
    a_ids, b_ids = ids[:n].tolist(), ids[n:].tolist()
    lines: dict[int, deque[int]] = {}  # creation number -> point indices (into pts)
    by_head: dict[int, int] = {}  # first point id -> creation number of its polyline
    by_tail: dict[int, int] = {}  # last point id -> creation number
    made = 0
    for i, (a, b) in enumerate(zip(a_ids, b_ids, strict=True)):
        if a == b:
            continue  # a corner exactly at the level: the neighbouring cells carry it
        after = by_head.pop(b, None)  # a polyline that starts where this segment ends
        before = by_tail.pop(a, None)  # a polyline that ends where this segment starts
        if after is None and before is None:
            lines[made] = deque((i, n + i))
            by_head[a], by_tail[b] = made, made
            made += 1
        elif before is None:
            lines[after].appendleft(i)  # type: ignore[index]
            by_head[a] = after  # type: ignore[assignment]
        elif after is None:
            lines[before].append(n + i)
            by_tail[b] = before
        elif after == before:
            lines[before].append(n + i)  # the polyline closes on itself
        elif after > before:
            # ``before`` is older: it absorbs ``after`` and keeps its place
            first = lines[before]
            first.extend(lines.pop(after))
            by_head[ids[first[0]]], by_tail[ids[first[-1]]] = before, before
        else:
            # ``after`` is older: ``before`` is put in front of it
            second = lines[after]
            moved = lines.pop(before)
            by_head.pop(ids[moved[0]], None)
            second.extendleft(reversed(moved))
            by_head[ids[second[0]]], by_tail[ids[second[-1]]] = after, after
    return [pts[np.fromiter(line, dtype=np.int64)] for _, line in sorted(lines.items())]


def find_contours(
    image: Tensor,
    level: float | None = None,
    *,
    fully_connected: str = "low",
    positive_orientation: str = "low",
) -> list[Tensor]:
    r"""Iso-valued contours of a 2-D image at ``level``, by marching squares.

    Args:
        image: a 2-D image ``(H, W)``, float or integer, at least 2x2; NaN pixels are allowed
            (the cells touching them are skipped).
        level: the iso-value; ``None`` is halfway between the smallest and largest value
            (NaN ignored).
        fully_connected: ``"low"``: at a saddle cell, the two corners at or below ``level``
            are taken as connected (low regions are 8-connected); ``"high"``: the corners
            above ``level`` are.
        positive_orientation: ``"low"``: contours wind counter-clockwise around values at or
            below ``level`` (high values on the left when walking along a contour, with rows
            pointing down); ``"high"``: the reverse, counter-clockwise around high values.

    Returns:
        A list of float64 tensors ``(K, 2)`` of (row, col) points on the input's device, one
        per contour, in the order of their first cell in raster order. A closed contour
        repeats its first point at the end. Equal to ``skimage.measure.find_contours``.

    Shape:
        ``(H, W)`` -> list of ``(K_i, 2)``.

    Raises:
        ShapeError: the image is not 2-D or smaller than 2x2.
        ValueRangeError: an unknown option, a non-finite ``level``.

    Notes:
        Along a cell edge from pixel value :math:`a` to :math:`b` the crossing is at the
        fraction :math:`t = (\ell - a)/(b - a)` of the edge, the zero of the linear
        interpolation :math:`a + t(b - a) = \ell`.

    Example:
        >>> img = torch.zeros(5, 5)
        >>> img[1:4, 1:4] = 1.0
        >>> c = find_contours(img, 0.5)
        >>> len(c), c[0].shape, bool((c[0][0] == c[0][-1]).all())
        (1, torch.Size([13, 2]), True)

    References:
        Lorensen, W. E., Cline, H. E. "Marching cubes: a high resolution 3D surface
        construction algorithm." SIGGRAPH 1987.
    """
    check_image(image, "image", finite=False, min_size=2)
    if image.dim() != 2:
        raise ShapeError(f"image must be a 2-D tensor (H, W), got {describe(image)}")
    check_choice(fully_connected, "fully_connected", ("low", "high"))
    check_choice(positive_orientation, "positive_orientation", ("low", "high"))
    img = image.to(torch.float64)
    if level is None:
        # midrange in the image's own float dtype (as NumPy does), integers in float64
        vals = image if image.is_floating_point() else img
        good = vals[~torch.isnan(vals)]
        level = float((good.min() + good.max()) / 2.0) if good.numel() else float("nan")
    level = float(level)
    if not np.isfinite(level):
        raise ValueRangeError(f"level must be a finite number, got {level!r}")
    start, end = _segments(img.cpu().numpy(), level, fully_connected == "high")
    lines = _assemble(start, end) if len(start) else []
    if positive_orientation == "high":
        lines = [line[::-1] for line in lines]
    return [torch.from_numpy(np.ascontiguousarray(line)).to(image.device) for line in lines]
