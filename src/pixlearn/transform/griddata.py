r"""Interpolation of scattered data: values known at arbitrary points, wanted at others.

Four methods, from local to global:

- ``"nearest"``: the value of the closest data point (a Voronoi-cell staircase).
- ``"linear"``: barycentric interpolation on the Delaunay triangulation of the points (2-D):
  continuous, exact for linear functions, undefined outside the convex hull.
- ``"idw"``: Shepard's inverse-distance weighting, a weighted mean of all data values.
- ``"rbf"``: radial basis functions plus a linear polynomial, fitted by one linear solve; smooth
  (thin-plate spline, Gaussian or multiquadric kernel), with optional smoothing.

The Delaunay triangulation itself comes from ``scipy.spatial.Delaunay`` (Qhull); locating each
query in a triangle (a uniform grid of triangle buckets) and the interpolation are tensor code.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.spatial
import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_positive,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["GRIDDATA_METHODS", "RBF_KERNELS", "griddata"]

GRIDDATA_METHODS = ("linear", "nearest", "idw", "rbf")
RBF_KERNELS = ("thin_plate", "gaussian", "multiquadric")

# queries x data points evaluated at once by the dense methods (memory bound)
_CHUNK = 1 << 22


def griddata(
    points: Tensor,
    values: Tensor,
    query: Tensor,
    *,
    method: str = "linear",
    fill_value: float = float("nan"),
    power: float = 2.0,
    kernel: str = "thin_plate",
    epsilon: float = 1.0,
    smoothing: float = 0.0,
) -> Tensor:
    r"""Interpolate values given at scattered points onto query points.

    Args:
        points: data sites, shape ``(N, D)``, float, finite; ``D = 2`` for ``"linear"``.
        values: data values, shape ``(N,)`` or ``(N, *F)`` (several values per site), float.
        query: where to interpolate, shape ``(..., D)`` (e.g. a grid ``(H, W, 2)``), float.
        method: ``"linear"`` (needs >= 3 points not all on a line), ``"nearest"``, ``"idw"``
            or ``"rbf"`` (needs >= D + 1 points not all on a hyperplane).
        fill_value: ``"linear"`` only: the value outside the convex hull of ``points``.
        power: ``"idw"`` only: the exponent :math:`p` of the weights :math:`1 / d^p`, > 0.
        kernel: ``"rbf"`` only: ``"thin_plate"`` :math:`r^2 \log r`, ``"gaussian"``
            :math:`e^{-r^2}` or ``"multiquadric"`` :math:`-\sqrt{1 + r^2}`, of
            :math:`r = \varepsilon \lVert x - x_i \rVert`.
        epsilon: ``"rbf"`` only: the shape parameter :math:`\varepsilon` (> 0).
        smoothing: ``"rbf"`` only: :math:`\lambda \ge 0` added to the kernel matrix's
            diagonal; 0 interpolates the data exactly, larger values smooth noisy data.

    Returns:
        The interpolated values, shape ``query.shape[:-1] + values.shape[1:]``, dtype the
        promotion of the three inputs' dtypes. ``"linear"`` is ``fill_value`` outside the hull;
        the other methods extrapolate. Differentiable with respect to ``values`` (and, away
        from triangle edges and data points, ``query``).

    Shape:
        ``(N, D), (N, *F), (..., D) -> (..., *F)``.

    Raises:
        WrongTypeError: an input that is not a floating tensor.
        ShapeError: ``points`` not ``(N, D)``; ``values`` not of length ``N``; ``query`` whose
            last dim is not ``D``; ``"linear"`` with ``D != 2``.
        ValueRangeError: NaN/Inf in an input, an unknown ``method`` or ``kernel``, a bad
            ``power``/``epsilon``/``smoothing``, too few points or degenerate ones.

    Notes:
        Linear: the query :math:`q` in triangle :math:`(a, b, c)` has barycentric coordinates
        :math:`\lambda` with :math:`q = \lambda_a a + \lambda_b b + \lambda_c c`,
        :math:`\sum \lambda = 1`, and

        .. math:: f(q) = \lambda_a f_a + \lambda_b f_b + \lambda_c f_c.

        Inverse-distance weighting (Shepard):
        :math:`f(q) = \sum_i w_i f_i / \sum_i w_i`, :math:`w_i = \lVert q - x_i \rVert^{-p}`
        (the data value itself at a data point).

        Radial basis functions: :math:`f(q) = \sum_i w_i \varphi(\lVert q - x_i \rVert) +
        c_0 + c^\top q`, with the weights from

        .. math::
            \begin{pmatrix} \Phi + \lambda I & P \\ P^\top & 0 \end{pmatrix}
            \begin{pmatrix} w \\ c \end{pmatrix} =
            \begin{pmatrix} f \\ 0 \end{pmatrix},
            \quad \Phi_{ij} = \varphi(\lVert x_i - x_j \rVert),\ P_i = (1, x_i^\top).

        The polynomial makes the thin-plate and multiquadric systems solvable and reproduces
        linear functions (hence constants) exactly.

    Example:
        >>> pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> vals = pts[:, 0] + 2 * pts[:, 1]  # a linear function
        >>> griddata(pts, vals, torch.tensor([[0.25, 0.5], [2.0, 2.0]]))
        tensor([1.2500,    nan])

    References:
        Delaunay, B. "Sur la sphère vide." 1934; Shepard, D. "A two-dimensional interpolation
        function for irregularly-spaced data." ACM National Conference 1968; Duchon, J.
        "Splines minimizing rotation-invariant semi-norms in Sobolev spaces." 1977.
    """
    check_choice(method, "method", GRIDDATA_METHODS)
    for x, name in ((points, "points"), (values, "values"), (query, "query")):
        check_tensor(x, name)
        if not x.is_floating_point():
            raise WrongTypeError(f"{name} must be a floating-point tensor, got {describe(x)}")
        check_finite(x, name)
    if points.dim() != 2 or points.shape[1] < 1:
        raise ShapeError(f"points must have shape (N, D), got {describe(points)}")
    n, d = points.shape
    if values.dim() < 1 or values.shape[0] != n:
        raise ShapeError(
            f"values must have shape (N, ...) with N = {n} (the number of points), "
            f"got {describe(values)}"
        )
    if query.dim() < 1 or query.shape[-1] != d:
        raise ShapeError(
            f"query must have shape (..., D) with D = {d} (as points), got {describe(query)}"
        )
    dtype = torch.promote_types(torch.promote_types(points.dtype, values.dtype), query.dtype)
    device = values.device
    if n == 0:
        raise ValueRangeError("points must hold at least 1 point, got 0")
    p = points.to(dtype=dtype, device=device)
    v = values.to(dtype).reshape(n, -1)  # (N, F)
    q = query.to(dtype=dtype, device=device).reshape(-1, d)  # (M, D)
    out_shape = (*query.shape[:-1], *values.shape[1:])
    if method == "linear":
        out = _linear(p, v, q, float(fill_value))
    elif method == "nearest":
        out = _chunked(p, v, q, _nearest)
    elif method == "idw":
        pw = check_positive(power, "power")
        out = _chunked(p, v, q, lambda r2, vv: _idw(r2, vv, pw))
    else:
        check_choice(kernel, "kernel", RBF_KERNELS)
        eps = check_positive(epsilon, "epsilon")
        lam = check_positive(smoothing, "smoothing", strict=False)
        out = _rbf(p, v, q, kernel, eps, lam)
    return out.reshape(out_shape)


def _sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Squared distances ``(M, N)`` by explicit differences (exact, unlike ``cdist``'s GEMM)."""
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def _chunked(p: Tensor, v: Tensor, q: Tensor, fn) -> Tensor:
    """Evaluate ``fn(squared distances (m, N), values)`` on query chunks of bounded size."""
    step = max(1, _CHUNK // max(1, p.shape[0] * p.shape[1]))
    parts = [fn(_sq_dist(q[i : i + step], p), v) for i in range(0, q.shape[0], step)]
    return torch.cat(parts) if parts else v.new_zeros(0, v.shape[1])


def _nearest(r2: Tensor, v: Tensor) -> Tensor:
    return v[r2.argmin(dim=1)]  # (m, F)


def _idw(r2: Tensor, v: Tensor, power: float) -> Tensor:
    hit = r2 == 0  # query on a data point: its value (the mean over coincident points)
    # w_i = d_i^-p = (d_i^2)^(-p/2)
    w = torch.where(hit, torch.zeros_like(r2), r2.clamp_min(1e-300).pow(-power / 2))
    w = torch.where(hit.any(dim=1, keepdim=True), hit.to(r2.dtype), w)  # (m, N)
    # f(q) = sum_i w_i f_i / sum_i w_i
    return (w @ v) / w.sum(dim=1, keepdim=True)


def _phi(r2: Tensor, kernel: str, eps: float) -> Tensor:
    """The radial kernel as a function of the squared distance (no square root to differentiate)."""
    e2 = (eps * eps) * r2  # (eps r)^2
    if kernel == "thin_plate":
        # r^2 log r = (1/2) r^2 log r^2, and 0 at r = 0
        return 0.5 * torch.xlogy(e2, e2)
    if kernel == "gaussian":
        return torch.exp(-e2)
    # the negative sign makes the multiquadric conditionally positive definite (order 1), so
    # that smoothing (lambda I) regularises rather than cancels it
    return -torch.sqrt(1.0 + e2)


def _rbf(p: Tensor, v: Tensor, q: Tensor, kernel: str, eps: float, lam: float) -> Tensor:
    n, d = p.shape
    if n < d + 1:
        raise ValueRangeError(
            f"points must hold at least D + 1 = {d + 1} points for method 'rbf', got {n}"
        )
    # centre and scale the sites so the polynomial block is well conditioned
    shift = p.mean(0)
    scale = (p - shift).abs().amax().clamp_min(torch.finfo(p.dtype).tiny)
    poly = torch.cat([torch.ones_like(p[:, :1]), (p - shift) / scale], dim=1)  # (N, D + 1)
    # [[Phi + lam I, P], [P^T, 0]] [w; c] = [f; 0]
    a = _phi(_sq_dist(p, p), kernel, eps) + lam * torch.eye(n, dtype=p.dtype, device=p.device)
    lhs = torch.cat(
        [torch.cat([a, poly], 1), torch.cat([poly.t(), poly.new_zeros(d + 1, d + 1)], 1)], 0
    )  # (N + D + 1, N + D + 1)
    rhs = torch.cat([v, v.new_zeros(d + 1, v.shape[1])], 0)  # (N + D + 1, F)
    sol, info = torch.linalg.solve_ex(lhs, rhs)
    if int(info) != 0 or not bool(torch.isfinite(sol).all()):
        raise ValueRangeError(
            "points are degenerate for method 'rbf' (repeated points, or all on a line/plane): "
            "the interpolation system is singular"
        )
    w, c = sol[:n], sol[n:]  # (N, F), (D + 1, F)

    def evaluate(r2: Tensor, _: Tensor) -> Tensor:
        return _phi(r2, kernel, eps) @ w  # (m, F)

    qp = torch.cat([torch.ones_like(q[:, :1]), (q - shift) / scale], dim=1)  # (M, D + 1)
    return _chunked(p, w, q, evaluate) + qp @ c


def _linear(p: Tensor, v: Tensor, q: Tensor, fill_value: float) -> Tensor:
    n, d = p.shape
    if d != 2:
        raise ShapeError(f"points must have shape (N, 2) for method 'linear', got {describe(p)}")
    if n < 3:
        raise ValueRangeError(f"points must hold at least 3 points for method 'linear', got {n}")
    try:
        tri = scipy.spatial.Delaunay(p.detach().cpu().double().numpy()).simplices
    except scipy.spatial.QhullError as err:
        raise ValueRangeError(
            "points cannot be triangulated for method 'linear' (all on a line or repeated): "
            f"{str(err).splitlines()[0]}"
        ) from None
    simplices = torch.from_numpy(tri.astype(np.int64)).to(p.device)  # (T, 3)
    with torch.no_grad():
        inv, origin = _barycentric_frames(p[simplices])
        found = _locate(p[simplices], inv, origin, q)  # (M,) triangle index or -1
    inside = found >= 0
    out = v.new_full((q.shape[0], v.shape[1]), fill_value)
    if not bool(inside.any()):
        return out
    t = simplices[found[inside]]  # (m, 3)
    lam = _barycentric(p[t], q[inside])  # (m, 3), with gradients
    # f(q) = sum_k lambda_k f(vertex_k)
    vals = (lam[:, :, None] * v[t]).sum(1)  # (m, F)
    return out.index_put((inside.nonzero().squeeze(1),), vals)


def _barycentric(corners: Tensor, q: Tensor) -> Tensor:
    """Barycentric coordinates ``(M, 3)`` of ``q`` (M, 2) in triangles ``corners`` (M, 3, 2)."""
    inv, origin = _barycentric_frames(corners)
    l12 = (inv @ (q - origin)[:, :, None]).squeeze(-1)  # (M, 2)
    return torch.cat([1.0 - l12.sum(1, keepdim=True), l12], 1)


def _barycentric_frames(corners: Tensor) -> tuple[Tensor, Tensor]:
    """Per triangle ``(a, b, c)``: the inverse of ``[b - a, c - a]`` (T, 2, 2) and ``a``."""
    a, e1, e2 = corners[:, 0], corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # (T,), twice the signed area
    # a flat triangle gets a NaN frame: no query is ever found inside it
    det = torch.where(det == 0, torch.full_like(det, float("nan")), det)
    inv = torch.stack(
        [torch.stack([e2[:, 1], -e2[:, 0]], -1), torch.stack([-e1[:, 1], e1[:, 0]], -1)], 1
    )
    return inv / det[:, None, None], a  # (T, 2, 2), (T, 2)


def _locate(corners: Tensor, inv: Tensor, origin: Tensor, q: Tensor) -> Tensor:
    """The index of a triangle holding each query, or -1 (outside the hull).

    Triangles are put into the buckets of a uniform grid over the hull's bounding box that
    their own bounding boxes overlap (about one bucket per triangle); a query then tests only
    the few triangles of its bucket, all queries at once, one candidate rank after another.
    """
    t_count = corners.shape[0]
    tol = 100 * torch.finfo(q.dtype).eps
    lo, hi = corners.amin((0, 1)), corners.amax((0, 1))  # (2,)
    extent = (hi - lo).clamp_min(torch.finfo(q.dtype).tiny)
    # cells about as many as triangles, square-ish
    cell = math.sqrt(float(extent[0] * extent[1]) / t_count) or float(extent.max()) / t_count
    shape = ((extent / cell).floor().long() + 1).clamp(1, 4 * t_count)  # (2,) cells per axis
    size = extent / shape  # (2,) cell size

    def cell_of(x: Tensor) -> Tensor:
        return ((x - lo) / size).floor().long().clamp(torch.zeros_like(shape), shape - 1)

    # every (cell, triangle) pair whose boxes overlap; boxes widened by the tolerance
    pad = tol * extent
    c0, c1 = cell_of(corners.amin(1) - pad), cell_of(corners.amax(1) + pad)  # (T, 2)
    span = c1 - c0 + 1  # (T, 2)
    per_tri = span.prod(1)  # (T,)
    tri_id = torch.repeat_interleave(torch.arange(t_count, device=q.device), per_tri)
    first = torch.cumsum(per_tri, 0) - per_tri
    k = torch.arange(int(per_tri.sum()), device=q.device) - first[tri_id]  # rank within a box
    cx = c0[tri_id, 0] + k % span[tri_id, 0]
    cy = c0[tri_id, 1] + k // span[tri_id, 0]
    cell_id = cy * shape[0] + cx
    order = torch.argsort(cell_id, stable=True)
    bucket = tri_id[order]  # triangles sorted by cell
    counts = torch.bincount(cell_id, minlength=int(shape.prod()))
    starts = torch.cumsum(counts, 0) - counts

    found = torch.full((q.shape[0],), -1, dtype=torch.long, device=q.device)
    in_box = ((q >= lo - pad) & (q <= hi + pad)).all(1)
    qc = cell_of(q)
    qcell = qc[:, 1] * shape[0] + qc[:, 0]
    n_cand = torch.where(in_box, counts[qcell], torch.zeros_like(qcell))
    for rank in range(int(n_cand.max()) if q.shape[0] else 0):
        todo = ((n_cand > rank) & (found < 0)).nonzero().squeeze(1)
        if todo.numel() == 0:
            break
        t = bucket[starts[qcell[todo]] + rank]  # (m,) candidate triangle per query
        l12 = (inv[t] @ (q[todo] - origin[t])[:, :, None]).squeeze(-1)  # (m, 2)
        lam0 = 1.0 - l12.sum(1)
        hit = (l12 >= -tol).all(1) & (lam0 >= -tol)
        found[todo[hit]] = t[hit]
    return found
