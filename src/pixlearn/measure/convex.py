"""Convex hulls of pixel regions: Andrew's monotone chain, run for every region at once.

The hull of a region is the hull of its pixels seen as small diamonds: pixel ``(r, c)``
contributes the midpoints of its four edges ``(r +- 1/2, c)`` and ``(r, c +- 1/2)``, the
convention of ``skimage.morphology.convex_hull_image``. A pixel belongs to the hull image when
its centre lies inside the hull or on its boundary. All coordinates are doubled so that every
vertex is an integer and every test is exact.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, describe
from pixlearn._core.errors import ShapeError

__all__ = ["convex_hull_image"]


def _lower_chains(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower hull of many point sequences at once (Andrew's monotone chain in lock-step).

    Args:
        points: ``(S, N, 2)`` int64 ``(x, y)``, each sequence sorted by ``x`` (ties in any
            order), padded at the end by repeating its last point (which changes no hull).

    Returns:
        ``(chain, k)``: ``chain (S, N, 2)`` whose first ``k[s]`` rows are the vertices of the
        lower hull of sequence ``s``, ``x`` strictly increasing.
    """
    s_count, n = points.shape[:2]
    chain = np.zeros_like(points)
    k = np.zeros(s_count, dtype=np.int64)
    rows = np.arange(s_count)
    for i in range(n):
        p = points[:, i]  # (S, 2), every sequence's i-th point
        while True:
            o = chain[rows, np.maximum(k - 2, 0)]  # (S, 2)
            a = chain[rows, np.maximum(k - 1, 0)]
            # cross(a - o, p - o) <= 0: o -> a -> p does not turn left, a is not on the hull
            cross = (a[:, 0] - o[:, 0]) * (p[:, 1] - o[:, 1]) - (a[:, 1] - o[:, 1]) * (
                p[:, 0] - o[:, 0]
            )
            pop = (k >= 2) & (cross <= 0)
            if not pop.any():
                break
            k -= pop
        chain[rows, k] = p
        k += 1
    return chain, k


def _eval_chains(
    chain: np.ndarray, k: np.ndarray, seq: np.ndarray, x: np.ndarray, *, upper: bool
) -> np.ndarray:
    """Value of chain ``seq[i]`` at even ``x[i]``, rounded inwards to a whole column.

    The chain holds doubled coordinates, so the column is ``y / 2``: rounded up (``ceil``) on
    a left boundary, down (``floor``) on a right boundary (``upper``, stored mirrored).
    """
    s_count, n = chain.shape[:2]
    span = int(max(np.abs(chain[..., 0]).max(), np.abs(x).max())) * 2 + 4
    valid = np.arange(n)[None, :] < k[:, None]  # (S, N)
    offset = (np.arange(s_count) * span)[:, None]
    # one sorted list of all vertices' x, each sequence shifted to its own range
    xs = (chain[..., 0] + offset)[valid]
    ys = chain[..., 1][valid]
    j = np.searchsorted(xs, x + seq * span, side="right") - 1  # vertex at or left of x
    x0, x1, y0, y1 = xs[j] - seq * span, xs[j + 1] - seq * span, ys[j], ys[j + 1]
    d = x1 - x0
    # y(x) = y0 + (y1 - y0) (x - x0) / d, so col = y / 2 = num / (2 d)
    num = y0 * d + (y1 - y0) * (x - x0)
    if upper:  # mirrored: the true y is -num / d
        return (-num) // (2 * d)
    return -((-num) // (2 * d))


def _hull_row_ranges(
    region: np.ndarray, row: np.ndarray, cmin: np.ndarray, cmax: np.ndarray, n_regions: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column range of the hull of each region on each of its rows.

    Args:
        region, row, cmin, cmax: ``(M,)`` int64, one entry per (region, row) holding pixels,
            sorted by region then row: the first and last column of the region on that row.
        n_regions: the number of regions (every index ``0..n_regions - 1`` appears).

    Returns:
        ``(region, row, lo, hi)`` for every row from the region's first to its last: the hull
        covers columns ``lo..hi`` (``hi < lo`` when the row misses every pixel centre).
    """
    start = np.searchsorted(region, np.arange(n_regions))  # first entry of each region
    rank = np.arange(len(region)) - start[region]  # row rank inside its region
    count = np.bincount(region, minlength=n_regions)  # rows per region
    n = 3 * int(count.max())
    length = 3 * count
    # each row gives three points per side, in doubled coordinates (x = 2 row, y = 2 col):
    # (2r - 1, 2c), (2r, 2c -+ 1), (2r + 1, 2c) with c its first (left) or last (right) column
    dx = np.array([-1, 0, 1])
    x = 2 * row[:, None] + dx  # (M, 3)
    left_y = 2 * cmin[:, None] - np.array([0, 1, 0])  # (M, 3)
    right_y = -(2 * cmax[:, None] + np.array([0, 1, 0]))  # mirrored: the right side as a min
    pts = np.zeros((2 * n_regions, n, 2), dtype=np.int64)
    seq = np.concatenate([region, region + n_regions])
    pos = (3 * rank[:, None] + np.arange(3)).ravel()
    pts[np.repeat(seq, 3), np.tile(pos, 2)] = np.stack(
        [np.concatenate([x, x]).ravel(), np.concatenate([left_y, right_y]).ravel()], 1
    )
    # pad every sequence with its last point
    last = np.concatenate([length, length]) - 1  # (2R,)
    tail = np.arange(n)[None, :] > last[:, None]
    idx = np.where(tail, last[:, None], np.arange(n)[None, :])
    pts = np.take_along_axis(pts, idx[..., None], axis=1)
    chain, k = _lower_chains(pts)
    # every integer row between the region's first and last row
    r0 = row[start]
    r1 = row[start + count - 1]
    height = r1 - r0 + 1
    q_region = np.repeat(np.arange(n_regions), height)
    q_row = np.arange(int(height.sum())) - np.repeat(np.cumsum(height) - height, height)
    q_row = q_row + r0[q_region]
    lo = _eval_chains(chain, k, q_region, 2 * q_row, upper=False)
    hi = _eval_chains(chain, k, q_region + n_regions, 2 * q_row, upper=True)
    return q_region, q_row, lo, hi


def _row_extremes(
    region: Tensor, row: Tensor, col: Tensor, n_regions: int, height: int
) -> tuple[np.ndarray, ...]:
    """First and last column per (region, row) of labelled pixels, sorted by region, row."""
    key = region * height + row  # (K,)
    uniq, inv = torch.unique(key, return_inverse=True)
    cmin = torch.full_like(uniq, torch.iinfo(torch.int64).max)
    cmin = cmin.scatter_reduce(0, inv, col, "amin")
    cmax = torch.full_like(uniq, -1).scatter_reduce(0, inv, col, "amax")
    to_np = [t.cpu().numpy() for t in (uniq // height, uniq % height, cmin, cmax)]
    return tuple(to_np)


def _convex_areas(region: Tensor, row: Tensor, col: Tensor, n_regions: int, height: int):
    """Pixel count of the convex hull image of every region (border pixels suffice)."""
    q_region, _, lo, hi = _hull_row_ranges(
        *_row_extremes(region, row, col, n_regions, height), n_regions
    )
    counts = np.maximum(hi - lo + 1, 0)
    return torch.from_numpy(np.bincount(q_region, weights=counts, minlength=n_regions))


def convex_hull_image(image: Tensor) -> Tensor:
    r"""The convex hull of the object pixels of a binary image, as a mask.

    Args:
        image: a mask ``(H, W)``; every value > 0 is the object.

    Returns:
        A bool mask ``(H, W)`` on the image's device, True where a pixel centre lies inside
        or on the hull; all False for an image without object pixels. Equal to
        ``skimage.morphology.convex_hull_image`` (its defaults).

    Notes:
        Andrew's monotone chain: with points sorted by ``x``, walk them keeping a stack; pop
        the top while the last two stack points and the new one do not turn left,
        :math:`(a - o) \times (p - o) \le 0`; the stack is then the lower hull. Here ``x`` is
        the row, and the left and right boundaries are the lower hulls of each row's leftmost
        and (mirrored) rightmost pixel-edge midpoints; a row's hull pixels are the whole
        columns between them. Runs in :math:`O(n \log n)` for ``n`` boundary points.

    Example:
        >>> img = torch.zeros(5, 5, dtype=torch.bool)
        >>> img[0, 2] = img[4, 0] = img[4, 4] = True
        >>> convex_hull_image(img).int()
        tensor([[0, 0, 1, 0, 0],
                [0, 1, 1, 1, 0],
                [0, 1, 1, 1, 0],
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1]], dtype=torch.int32)

    References:
        Andrew, A. M. "Another efficient algorithm for convex hulls in two dimensions."
        Information Processing Letters 9(5), 1979.
    """
    check_image(image, "image", max_dims=2, allow_empty=True)
    if image.dim() != 2:
        raise ShapeError(f"image must be a 2-D mask (H, W), got {describe(image)}")
    h, w = image.shape
    out = torch.zeros(h, w, dtype=torch.bool, device=image.device)
    rr, cc = torch.nonzero(image > 0, as_tuple=True)
    if rr.numel() == 0:
        return out
    zeros = torch.zeros_like(rr)
    _, q_row, lo, hi = _hull_row_ranges(*_row_extremes(zeros, rr, cc, 1, h), 1)
    cols = torch.arange(w, device=image.device)
    lo_t = torch.from_numpy(lo).to(image.device)[:, None]
    hi_t = torch.from_numpy(hi).to(image.device)[:, None]
    out[torch.from_numpy(q_row).to(image.device)] = (cols >= lo_t) & (cols <= hi_t)
    return out
