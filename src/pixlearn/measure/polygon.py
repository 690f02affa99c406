r"""Polygonal approximation of a curve by the Douglas-Peucker (Ramer) algorithm."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_finite, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError, WrongTypeError

__all__ = ["approximate_polygon"]


def _distances(pts: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """Distance of each point of ``pts`` ``(M, 2)`` to the segment ``p0 -> p1``.

    Points that project inside the segment use the distance to its line, written in Hesse
    normal form; the others (and every point when ``p0 == p1``, a closed curve) the distance
    to the nearer end point.
    """
    (r0, c0), (r1, c1) = p0, p1
    dr, dc = r1 - r0, c1 - c0
    # unit normal (cos a, sin a) of the line, a = -atan2(dr, dc); line: r cos a + c sin a = rho
    a = -np.arctan2(dr, dc)
    cos_a, sin_a = np.cos(a), np.sin(a)
    rho = c0 * sin_a + r0 * cos_a
    r, c = pts[:, 0], pts[:, 1]  # (M,)
    dr0, dc0, dr1, dc1 = r - r0, c - c0, r - r1, c - c1
    # the projection lies strictly inside when both end points see the point "ahead"
    inside = (dr0 * dr + dc0 * dc > 0) & (-dr1 * dr - dc1 * dc > 0)  # (M,)
    to_line = np.abs(r * cos_a + c * sin_a - rho)
    to_ends = np.minimum(np.sqrt(dc0**2 + dr0**2), np.sqrt(dc1**2 + dr1**2))
    return np.where(inside, to_line, to_ends)


def approximate_polygon(coords: Tensor, tolerance: float) -> Tensor:
    r"""Approximate a polygonal chain by a subset of its vertices (Douglas-Peucker).

    Args:
        coords: ``(K, 2)`` float or integer (row, col) points of an open chain, or of a
            closed one whose last point repeats the first (as :func:`find_contours` returns).
        tolerance: the largest distance allowed between a dropped point and the polygon;
            ``<= 0`` returns the points unchanged.

    Returns:
        ``(M, 2)`` the kept points (a copy), in order, same dtype; the first and last points
        are always kept. Equal to ``skimage.measure.approximate_polygon``.

    Shape:
        ``(K, 2)`` -> ``(M, 2)``, ``M <= K``.

    Raises:
        ShapeError: ``coords`` not of shape ``(K, 2)``.
        ValueRangeError: NaN/Inf coordinates or tolerance.

    Notes:
        Recursive splitting: for the chain :math:`p_i, \dots, p_j` let
        :math:`k = \arg\max_{i<k<j} \operatorname{dist}(p_k, \overline{p_i p_j})`; if that
        distance exceeds the tolerance, :math:`p_k` is kept and both halves
        :math:`p_i..p_k` and :math:`p_k..p_j` are split in turn, otherwise the segment
        :math:`\overline{p_i p_j}` replaces the chain. The distance is to the line
        (:math:`|r\cos\alpha + c\sin\alpha - \rho|`, Hesse normal form) for points that
        project inside the segment, and to the nearer end point otherwise. Ties go to the
        first point. Worst case :math:`O(K^2)`, typically :math:`O(K \log K)`.

    Example:
        >>> line = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.1, 2.0], [0.0, 3.0], [3.0, 3.0]])
        >>> approximate_polygon(line, 0.5).tolist()
        [[0.0, 0.0], [0.0, 3.0], [3.0, 3.0]]

    References:
        Douglas, D. H., Peucker, T. K. "Algorithms for the reduction of the number of points
        required to represent a digitized line or its caricature." Cartographica 10(2), 1973.
        Ramer, U. "An iterative procedure for the polygonal approximation of plane curves."
        Computer Graphics and Image Processing 1(3), 1972.
    """
    check_tensor(coords, "coords")
    if coords.dim() != 2 or coords.shape[1] != 2:
        raise ShapeError(
            f"coords must be a (K, 2) tensor of (row, col) points, got {describe(coords)}"
        )
    if coords.is_complex() or coords.dtype == torch.bool:
        raise WrongTypeError(f"coords must be a real tensor, got {coords.dtype}")
    check_finite(coords, "coords")
    tol = check_range(tolerance, "tolerance")
    if tol <= 0 or coords.shape[0] < 3:
        return coords.clone()
    # float32 stays float32 (as in NumPy); other dtypes are measured in float64
    work = coords.dtype if coords.dtype in (torch.float32, torch.float64) else torch.float64
    pts = coords.detach().to("cpu", work).numpy()  # (K, 2)
    keep = np.zeros(len(pts), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]  # chains still to split
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        d = _distances(pts[i + 1 : j], pts[i], pts[j])  # (j - i - 1,)
        k = int(np.argmax(d))  # the first of the farthest points
        if d[k] > tol:
            k += i + 1
            keep[k] = True
            stack += [(k, j), (i, k)]
    return coords[torch.from_numpy(keep).to(coords.device)].clone()
