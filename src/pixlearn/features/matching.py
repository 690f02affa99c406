r"""Matching local descriptors (nearest neighbour, ratio test, cross-check) and fitting a
homography to the matches with RANSAC."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_int,
    check_positive,
    check_range,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.transform import estimate_homography

__all__ = ["match_descriptors", "ransac_homography"]

_METRICS = ("euclidean", "cityblock", "cosine")


def _check_desc(d: Any, name: str) -> Tensor:
    check_tensor(d, name)
    if d.dim() != 2:
        raise ShapeError(f"{name} must have shape (N, D), got {describe(d)}")
    if d.is_complex():
        raise WrongTypeError(f"{name} must be real, got {describe(d)}")
    check_finite(d, name)
    return d.to(torch.float64)


def match_descriptors(
    descriptors1: Tensor,
    descriptors2: Tensor,
    *,
    metric: str = "euclidean",
    max_ratio: float = 0.8,
    cross_check: bool = True,
    max_distance: float = math.inf,
) -> Tensor:
    r"""Match each descriptor of the first set to its nearest neighbour in the second.

    Args:
        descriptors1: shape ``(N1, D)``, real, finite.
        descriptors2: shape ``(N2, D)``, same ``D``.
        metric: ``"euclidean"``, ``"cityblock"`` (L1) or ``"cosine"`` (1 - cosine similarity).
        max_ratio: Lowe's ratio test, keep a match only if (nearest distance) / (second
            nearest distance in ``descriptors2``) < ``max_ratio``; 1 disables it. In (0, 1].
        cross_check: keep a pair only if each is the other's nearest neighbour.
        max_distance: keep pairs closer than this, > 0.

    Returns:
        The matches, int64 of shape ``(M, 2)``: rows ``(i, j)`` pair ``descriptors1[i]`` with
        ``descriptors2[j]``, sorted by ``i``. Same semantics as
        ``skimage.feature.match_descriptors`` (whose default ``max_ratio`` is 1).

    Shape:
        ``(N1, D), (N2, D) -> (M, 2)``.

    Raises:
        ShapeError: not 2-D, or descriptor lengths that differ.
        ValueRangeError: NaN/Inf, ``max_ratio`` outside (0, 1], ``max_distance`` <= 0, unknown
            ``metric``.

    Notes:
        With :math:`d_1 \le d_2` the two smallest distances from a query, the ratio test keeps
        :math:`d_1 / d_2 < \rho`: a correct match is much closer than the closest wrong one,
        while for a wrong match the two are alike (Lowe 2004 rejects 90% of false matches and
        5% of correct ones at :math:`\rho = 0.8`). With a single candidate, the test passes.

    Example:
        >>> d1 = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
        >>> d2 = torch.tensor([[1.1, 1.0], [0.1, 0.0], [5.0, 5.0]])
        >>> match_descriptors(d1, d2)
        tensor([[0, 1],
                [1, 0]])

    References:
        Lowe, D. G. "Distinctive image features from scale-invariant keypoints." IJCV 2004.
    """
    a = _check_desc(descriptors1, "descriptors1")
    b = _check_desc(descriptors2, "descriptors2")
    if a.shape[1] != b.shape[1]:
        raise ShapeError(
            f"descriptors2 must have the descriptor length of descriptors1 ({a.shape[1]}), "
            f"got {describe(descriptors2)}"
        )
    check_choice(metric, "metric", _METRICS)
    ratio = check_range(max_ratio, "max_ratio", 0.0, 1.0)
    if ratio <= 0:
        raise ValueRangeError(f"max_ratio must be in (0, 1], got {max_ratio!r}")
    if not isinstance(max_distance, (int, float)) or not max_distance > 0:
        raise ValueRangeError(f"max_distance must be > 0 (inf allowed), got {max_distance!r}")
    dev = descriptors1.device
    if a.shape[0] == 0 or b.shape[0] == 0:
        return torch.zeros(0, 2, dtype=torch.long, device=dev)
    dist = _distances(a, b, metric)  # (N1, N2)
    i1 = torch.arange(a.shape[0], device=dist.device)
    i2 = dist.argmin(1)
    if cross_check:
        back = dist.argmin(0)  # (N2,)
        keep = back[i2] == i1
        i1, i2 = i1[keep], i2[keep]
    best = dist[i1, i2]
    if max_distance < math.inf:
        keep = best < max_distance
        i1, i2, best = i1[keep], i2[keep], best[keep]
    if ratio < 1.0 and b.shape[0] > 1 and i1.numel():
        rows = dist[i1].clone()
        rows[torch.arange(i1.numel(), device=rows.device), i2] = math.inf
        second = rows.min(1).values
        # d1 / d2 < rho, with d2 = 0 read as the smallest positive number
        second = second.clamp_min(torch.finfo(torch.float64).eps)
        keep = best / second < ratio
        i1, i2 = i1[keep], i2[keep]
    return torch.stack([i1, i2], 1).to(dev)


def _distances(a: Tensor, b: Tensor, metric: str) -> Tensor:
    if metric == "euclidean":
        return torch.cdist(a, b)
    if metric == "cityblock":
        return torch.cdist(a, b, p=1)
    na = a / a.norm(dim=1, keepdim=True).clamp_min(1e-300)
    nb = b / b.norm(dim=1, keepdim=True).clamp_min(1e-300)
    return 1 - na @ nb.T


def _check_points(p: Any, name: str) -> Tensor:
    check_tensor(p, name)
    if not p.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {describe(p)}")
    if p.dim() != 2 or p.shape[1] != 2:
        raise ShapeError(f"{name} must have shape (N, 2), got {describe(p)}")
    if p.shape[0] < 4:
        raise ShapeError(f"{name} must hold at least 4 points for a homography, got {p.shape[0]}")
    check_finite(p, name)
    return p.detach().to("cpu", torch.float64)


def _hartley(p: Tensor) -> Tensor:
    """Similarity taking ``p`` to centroid 0 and mean distance sqrt(2), shape (3, 3)."""
    mean = p.mean(0)
    dist = float((p - mean).norm(dim=1).mean())
    s = math.sqrt(2) / dist if dist > 0 else 1.0
    t = torch.eye(3, dtype=p.dtype)
    t[0, 0] = t[1, 1] = s
    t[:2, 2] = -s * mean
    return t


def _minimal_dlt(s: Tensor, d: Tensor) -> Tensor:
    """Homographies from batches of 4 pairs: ``s, d`` (T, 4, 2) -> (T, 3, 3) by 8x9 SVD."""
    one = torch.ones_like(s[..., :1])
    sh = torch.cat([s, one], -1)  # (T, 4, 3)
    zero = torch.zeros_like(sh)
    # rows (-s, 0, x' s) and (0, -s, y' s)
    a = torch.cat(
        [
            torch.cat([-sh, zero, d[..., :1] * sh], -1),
            torch.cat([zero, -sh, d[..., 1:] * sh], -1),
        ],
        1,
    )  # (T, 8, 9)
    _, _, vh = torch.linalg.svd(a, full_matrices=True)
    return vh[:, -1].reshape(-1, 3, 3)


def _transfer_error(h: Tensor, s: Tensor, d: Tensor) -> Tensor:
    """Distances ``|d - pi(H s)|`` for homographies (T, 3, 3), points (N, 2) -> (T, N)."""
    sh = torch.cat([s, torch.ones_like(s[:, :1])], 1)  # (N, 3)
    q = torch.einsum("tij,nj->tni", h, sh)  # (T, N, 3)
    w = q[..., 2]
    err = (q[..., :2] / w[..., None] - d).norm(dim=-1)
    return torch.where(torch.isfinite(err) & (w.abs() > 1e-12), err, torch.inf)


def ransac_homography(
    src: Tensor,
    dst: Tensor,
    *,
    threshold: float = 3.0,
    max_trials: int = 2000,
    confidence: float = 0.999,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""A homography from correspondences with outliers: RANSAC on 4-point DLT, then a refit.

    Args:
        src: points ``(x, y)``, shape ``(N, 2)``, N >= 4, float, finite.
        dst: the matching points, same shape.
        threshold: a pair is an inlier when :math:`\|d - \pi(H s)\| <` ``threshold`` pixels.
        max_trials: the most random minimal samples drawn, >= 1.
        confidence: stop once the probability that an all-inlier sample has been drawn
            reaches this, given the best inlier ratio so far, in (0, 1].
        generator: the random source of the samples.

    Returns:
        ``(H, inliers)``: the 3x3 homography from ``src`` to ``dst`` (``H[2, 2] = 1``, dtype
        of ``src``, usable with :func:`pixlearn.transform.perspective_warp`), refitted by
        :func:`pixlearn.transform.estimate_homography` on all inliers of the best sample; and
        the bool inlier mask ``(N,)`` of that refit.

    Raises:
        WrongTypeError: non-tensor or integer points.
        ShapeError: shapes other than ``(N, 2)``, N < 4, or ``src`` and ``dst`` of different N.
        ValueRangeError: NaN/Inf; bad options; no sample with 4 or more inliers (too few
            consistent matches).

    Notes:
        Samples are drawn 256 at a time and solved in one batched SVD (DLT of 4 pairs on
        Hartley-normalised points); each is scored by its number of inliers (ties: smaller sum
        of inlier errors). Drawing stops after :math:`T = \log(1 - p) / \log(1 - w^4)` samples,
        :math:`w` the best inlier ratio, or after ``max_trials``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> src = torch.rand(50, 2, generator=g) * 100
        >>> h = torch.tensor([[1.1, 0.1, 5.0], [-0.1, 0.9, 3.0], [1e-4, 0.0, 1.0]])
        >>> q = torch.cat([src, torch.ones(50, 1)], 1) @ h.T
        >>> dst = q[:, :2] / q[:, 2:]
        >>> dst[:10] += 40.0  # outliers
        >>> est, inl = ransac_homography(src, dst, generator=g)
        >>> int(inl.sum()), bool(torch.allclose(est, h, atol=1e-4))
        (40, True)

    References:
        Fischler, M. A., Bolles, R. C. "Random sample consensus." CACM 24(6), 1981.
    """
    s, d = _check_points(src, "src"), _check_points(dst, "dst")
    if s.shape != d.shape:
        raise ShapeError(f"dst must have the shape of src {tuple(src.shape)}, got {describe(dst)}")
    thr = check_positive(threshold, "threshold")
    trials = check_int(max_trials, "max_trials", min_value=1)
    conf = check_range(confidence, "confidence", 0.0, 1.0)
    n = s.shape[0]
    ts, td = _hartley(s), _hartley(d)
    sn = s @ ts[:2, :2].T + ts[:2, 2]  # normalised points, (N, 2)
    dn = d @ td[:2, :2].T + td[:2, 2]
    td_inv = torch.linalg.inv(td)
    best = (-1, math.inf)
    best_h = None
    drawn, needed = 0, trials
    while drawn < min(trials, needed):
        t = min(256, trials - drawn)
        # 4 distinct indices per trial: the first 4 of a random permutation score
        idx = torch.rand(t, n, generator=generator).argsort(1)[:, :4]  # (t, 4)
        hn = _minimal_dlt(sn[idx], dn[idx])
        h = td_inv @ hn @ ts  # back to pixel units, (t, 3, 3)
        err = _transfer_error(h, s, d)  # (t, N)
        inl = err < thr
        count = inl.sum(1)
        cost = torch.where(inl, err, 0.0).sum(1)
        # most inliers first, then the smallest total error
        k = int(torch.argmax(count * 1e6 - cost / (cost.max() + 1)))
        cand = (int(count[k]), float(cost[k]))
        if cand[0] > best[0] or (cand[0] == best[0] and cand[1] < best[1]):
            best, best_h = cand, h[k]
        drawn += t
        w = best[0] / n
        if 0 < w < 1 and conf < 1:
            needed = math.ceil(math.log(1 - conf) / math.log(1 - w**4))
        elif w >= 1:
            needed = 0
    if best_h is None or best[0] < 4:
        raise ValueRangeError(
            f"no homography is supported by 4 or more of the {n} pairs within threshold {thr}"
        )
    inliers = _transfer_error(best_h[None], s, d)[0] < thr
    h = estimate_homography(s[inliers], d[inliers])
    # one more round: the refit may gain (or lose) inliers
    again = _transfer_error(h[None], s, d)[0] < thr
    if int(again.sum()) >= max(4, int(inliers.sum())):
        inliers = again
        h = estimate_homography(s[inliers], d[inliers])
    return h.to(device=src.device, dtype=src.dtype), inliers.to(src.device)
