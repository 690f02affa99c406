r"""Homography estimation from point correspondences: normalised DLT, then refinement.

A homography :math:`H` maps :math:`(x, y, 1)^T \propto H (u, v, 1)^T`; four correspondences in
general position fix its eight degrees of freedom. The direct linear transform (DLT) stacks two
linear equations per pair and takes the null vector by SVD, after Hartley's normalisation of
both point sets; with more than four noisy pairs, Levenberg-Marquardt then minimises the
reprojection error, as ``cv2.findHomography(method=0)`` does.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_finite,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["estimate_homography"]


def _normalise_points(p: Tensor) -> Tensor:
    """Hartley's similarity: centroid to the origin, mean distance sqrt(2). Returns 3x3."""
    mean = p.mean(0)  # (2,)
    dist = (p - mean).norm(dim=1).mean()
    s = math.sqrt(2) / float(dist) if float(dist) > 0 else 1.0
    t = torch.eye(3, dtype=torch.float64)
    t[0, 0] = t[1, 1] = s
    t[:2, 2] = -s * mean
    return t


def _check_points(points: Any, name: str) -> Tensor:
    check_tensor(points, name)
    if not points.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {describe(points)}")
    if points.dim() != 2 or points.shape[1] != 2 or points.shape[0] < 4:
        raise ShapeError(f"{name} must have shape (N, 2) with N >= 4, got {describe(points)}")
    check_finite(points, name)
    return points.detach().to("cpu", torch.float64)


def _collinear(p: Tensor) -> bool:
    """Whether all points lie on one line (or coincide)."""
    s = torch.linalg.svdvals(p - p.mean(0))
    return bool(s[1] <= 1e-10 * max(float(s[0]), 1e-300))


def estimate_homography(src: Tensor, dst: Tensor, *, refine: bool = True) -> Tensor:
    r"""The homography that maps ``src`` points to ``dst`` points, from 4 or more pairs.

    Args:
        src: points ``(x, y)`` in the input image, shape ``(N, 2)``, N >= 4, float, finite.
        dst: the corresponding points in the output image, same shape.
        refine: after the linear estimate, minimise the reprojection error
            :math:`\sum_i \|d_i - \pi(H s_i)\|^2` by Levenberg-Marquardt, as
            ``cv2.findHomography(method=0)`` does. No effect on exact correspondences.

    Returns:
        ``H``, shape ``(3, 3)``, normalised to ``H[2, 2] = 1``, dtype promoted from ``src`` and
        ``dst``, on ``src``'s device; computed in float64. Usable with
        :func:`perspective_warp`.

    Raises:
        WrongTypeError: non-tensor or integer points.
        ShapeError: shapes other than ``(N, 2)`` with N >= 4, or different ``N``.
        ValueRangeError: NaN/Inf; degenerate configurations (all points of ``src`` or of
            ``dst`` collinear, or too few independent points: the solution is not unique);
            a singular result or one with ``H[2, 2] = 0`` (the origin maps to infinity).

    Notes:
        The direct linear transform (DLT) on Hartley-normalised points :math:`\hat s = T s`,
        :math:`\hat d = T' d`: each pair gives two rows of :math:`A h = 0`,

        .. math::
            \begin{pmatrix} -\hat s^\top & 0^\top & \hat x'\hat s^\top \\
            0^\top & -\hat s^\top & \hat y'\hat s^\top \end{pmatrix} h = 0,

        solved in the least-squares sense (:math:`\|h\| = 1`) by the right singular vector of
        the smallest singular value; then :math:`H = T'^{-1} \hat H\, T`.

    Example:
        >>> src = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        >>> estimate_homography(src, 2 * src + 1)
        tensor([[2., 0., 1.],
                [0., 2., 1.],
                [0., 0., 1.]])

    References:
        Hartley, R. "In defense of the eight-point algorithm." TPAMI 1997; Hartley, R.,
        Zisserman, A. *Multiple View Geometry in Computer Vision*, 2nd ed. 2004, alg. 4.2.
    """
    s, d = _check_points(src, "src"), _check_points(dst, "dst")
    if s.shape != d.shape:
        raise ShapeError(f"dst must have the shape of src {tuple(src.shape)}, got {describe(dst)}")
    for name, p in (("src", s), ("dst", d)):
        if _collinear(p):
            raise ValueRangeError(f"{name} points are degenerate: all on one line")
    ts, td = _normalise_points(s), _normalise_points(d)
    ones = torch.ones(s.shape[0], 1, dtype=torch.float64)
    sh = torch.cat([s, ones], 1) @ ts.T  # (N, 3)
    dh = torch.cat([d, ones], 1) @ td.T  # (N, 3)
    zero = torch.zeros_like(sh)
    # rows (-s, 0, x' s) and (0, -s, y' s) for every pair
    a = torch.cat(
        [
            torch.cat([-sh, zero, dh[:, :1] * sh], 1),
            torch.cat([zero, -sh, dh[:, 1:2] * sh], 1),
        ]
    )  # (2N, 9)
    _, sv, vh = torch.linalg.svd(a, full_matrices=True)
    # the null space must be one-dimensional: the 8th singular value clearly above zero
    if float(sv[7]) <= 1e-10 * float(sv[0]):
        raise ValueRangeError(
            "src and dst are degenerate: the correspondences do not determine a unique "
            "homography (three or more points on one line?)"
        )
    h = torch.linalg.inv(td) @ vh[-1].reshape(3, 3) @ ts
    if abs(float(h[2, 2])) <= 1e-12 * float(h.abs().max()):
        raise ValueRangeError("src and dst are degenerate: the estimated homography has H22 = 0")
    h = h / h[2, 2]
    if abs(float(torch.linalg.det(h))) <= 1e-12 * float(h.abs().max()) ** 3:
        raise ValueRangeError("src and dst are degenerate: the estimated homography is singular")
    if refine and s.shape[0] > 4:
        h = _refine(h, s, d)
    dtype = torch.promote_types(src.dtype, dst.dtype)
    return h.to(device=src.device, dtype=dtype)


def _refine(h: Tensor, s: Tensor, d: Tensor, iterations: int = 50) -> Tensor:
    """Levenberg-Marquardt on the 8 free entries of ``h`` (``h[2, 2] = 1``)."""
    p = h.reshape(-1)[:8].clone()
    lam = 1e-3

    def residual(p: Tensor) -> tuple[Tensor, Tensor]:
        hm = torch.cat([p, p.new_ones(1)]).reshape(3, 3)
        q = torch.cat([s, s.new_ones(s.shape[0], 1)], 1) @ hm.T  # (N, 3)
        r = q[:, :2] / q[:, 2:] - d  # (N, 2)
        # Jacobian of (u / w, v / w) w.r.t. the 8 entries, rows x then y
        sx, sy = s[:, 0:1], s[:, 1:2]
        w = q[:, 2:]
        one = torch.ones_like(sx)
        zero = torch.zeros_like(sx)
        px, py = q[:, 0:1] / w, q[:, 1:2] / w
        jx = torch.cat([sx, sy, one, zero, zero, zero, -px * sx, -px * sy], 1) / w
        jy = torch.cat([zero, zero, zero, sx, sy, one, -py * sx, -py * sy], 1) / w
        return r.T.reshape(-1), torch.cat([jx, jy])  # (2N,), (2N, 8)

    r, j = residual(p)
    cost = float(r @ r)
    for _ in range(iterations):
        g = j.T @ r
        jtj = j.T @ j
        step = torch.linalg.solve(jtj + lam * torch.diag(torch.diagonal(jtj)), -g)
        r_new, j_new = residual(p + step)
        cost_new = float(r_new @ r_new)
        if cost_new < cost:
            p, r, j, lam = p + step, r_new, j_new, lam / 10
            if cost - cost_new <= 1e-16 * max(cost, 1e-300):
                break
            cost = cost_new
        else:
            lam *= 10
            if lam > 1e12:
                break
    return torch.cat([p, p.new_ones(1)]).reshape(3, 3)
