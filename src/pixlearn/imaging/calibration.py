"""Camera calibration by Zhang's method: homographies, closed-form intrinsics, then refinement.

From several views of a planar target (a checkerboard, points on ``z = 0``) Zhang's method recovers
the whole camera chain of :mod:`pixlearn.imaging.camera`:

1. one homography per view, world plane -> image (normalised DLT);
2. the intrinsics ``K`` in closed form, from two linear constraints per view on
   :math:`B = K^{-T} K^{-1}`, the image of the absolute conic;
3. each view's pose ``(R, t)`` from ``K^{-1} H``;
4. a Levenberg-Marquardt refinement of all parameters at once, lens distortion included, that
   minimises the reprojection error in pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_finite, check_int, describe, pair
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.imaging.camera import project_points, rotation_from_vector, vector_from_rotation

__all__ = ["CalibrationResult", "calibrate_camera"]


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate_camera` recovers (float64 tensors).

    Attributes:
        K: intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``, shape ``(3, 3)``.
        dist: distortion ``(k1, k2, p1, p2, k3)`` in OpenCV's order, shape ``(5,)``.
        rvecs: per-view world-to-camera rotations as Rodrigues vectors, shape ``(M, 3)``.
        tvecs: per-view world-to-camera translations, shape ``(M, 3)``.
        rms: RMS reprojection error in pixels over all points,
            :math:`\\sqrt{\\frac1P\\sum_i \\lVert \\hat u_i - u_i \\rVert^2}` (OpenCV's definition).
        per_view_errors: the same RMS for each view, shape ``(M,)``.
        iterations: Levenberg-Marquardt iterations run.
    """

    K: Tensor
    dist: Tensor
    rvecs: Tensor
    tvecs: Tensor
    rms: float
    per_view_errors: Tensor
    iterations: int

    @property
    def R(self) -> Tensor:
        """Per-view rotation matrices, shape ``(M, 3, 3)``."""
        return rotation_from_vector(self.rvecs)


def _as_views(value: Any, name: str, dim: int) -> list[Tensor]:
    """A list of ``(N, dim)`` float64 tensors from a list/tuple of tensors/arrays, or an
    ``(M, N, dim)`` tensor/array."""
    if isinstance(value, (Tensor, np.ndarray)):
        if value.ndim != 3:
            raise ShapeError(f"{name} must be a list of (N, {dim}) arrays, got {describe(value)}")
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise WrongTypeError(f"{name} must be a list of (N, {dim}) arrays, got {describe(value)}")
    views = []
    for i, v in enumerate(value):
        label = f"{name}[{i}]"
        if isinstance(v, Tensor):
            v = v.detach().to(torch.float64)
        else:
            try:
                v = torch.as_tensor(np.asarray(v, dtype=np.float64))
            except (TypeError, ValueError) as e:
                raise WrongTypeError(
                    f"{label} must be an array of numbers, got {describe(v)}"
                ) from e
        if v.dim() != 2 or v.shape[1] != dim:
            raise ShapeError(f"{label} must be shaped (N, {dim}), got {describe(v)}")
        views.append(check_finite(v, label))
    return views


def _normalise(p: Tensor) -> Tensor:
    """Hartley's similarity: centroid to 0, mean distance to sqrt(2); ``(N, 2) -> (3, 3)``."""
    c = p.mean(0)
    s = 2**0.5 / (p - c).norm(dim=1).mean().clamp_min(1e-300)
    T = torch.eye(3, dtype=p.dtype, device=p.device)
    T[0, 0] = T[1, 1] = s
    T[:2, 2] = -s * c
    return T


def _homography(src: Tensor, dst: Tensor) -> Tensor:
    """Normalised DLT: the ``H`` with ``dst ~ H src`` (homogeneous), least squares, ``N >= 4``."""
    Ts, Td = _normalise(src), _normalise(dst)
    s = src @ Ts[:2, :2].T + Ts[:2, 2]  # (N, 2), normalised
    d = dst @ Td[:2, :2].T + Td[:2, 2]
    one, zero = torch.ones_like(s[:, :1]), torch.zeros_like(s[:, :1])
    sh = torch.cat([s, one], 1)  # (N, 3) homogeneous source
    # each match gives two rows of A h = 0:  [s^T, 0, -x' s^T] and [0, s^T, -y' s^T]
    rows_u = torch.cat([sh, zero, zero, zero, -d[:, :1] * sh], 1)  # (N, 9)
    rows_v = torch.cat([zero, zero, zero, sh, -d[:, 1:] * sh], 1)
    A = torch.cat([rows_u, rows_v], 0)  # (2N, 9)
    h = torch.linalg.svd(A, full_matrices=False).Vh[-1]  # the null vector of A
    # undo the normalisations: H = Td^-1 Hn Ts
    H = torch.linalg.solve(Td, h.reshape(3, 3) @ Ts)
    return H / H[2, 2]


def _v(H: Tensor, i: int, j: int) -> Tensor:
    """Zhang's row ``v_ij`` with ``h_i^T B h_j = v_ij^T b`` for b = (B11, B22, B13, B23, B33)
    (zero skew, so B12 = 0 and its column is dropped)."""
    hi, hj = H[:, i], H[:, j]
    return torch.stack(
        [
            hi[0] * hj[0],
            hi[1] * hj[1],
            hi[2] * hj[0] + hi[0] * hj[2],
            hi[2] * hj[1] + hi[1] * hj[2],
            hi[2] * hj[2],
        ]
    )


def _intrinsics_closed_form(Hs: list[Tensor]) -> Tensor:
    """Zhang's closed form (zero skew): K from the homographies; raises when degenerate."""
    # each view: h1^T B h2 = 0 and h1^T B h1 = h2^T B h2 (r1, r2 orthonormal)
    V = torch.stack([row for H in Hs for row in (_v(H, 0, 1), _v(H, 0, 0) - _v(H, 1, 1))])
    b = torch.linalg.svd(V, full_matrices=False).Vh[-1]  # (5,), up to scale and sign
    if b[0] < 0:
        b = -b
    B11, B22, B13, B23, B33 = b.unbind()
    # with B12 = 0: v0 = -B23/B22, u0 = -B13/B11, lambda = B33 - B13^2/B11 - B23^2/B22
    v0 = -B23 / B22
    u0 = -B13 / B11
    lam = B33 - B13**2 / B11 - B23**2 / B22
    if not bool(B11 > 0 and B22 > 0 and lam > 0):
        raise ValueRangeError(
            "image_points do not constrain the camera: the views are degenerate "
            "(e.g. all fronto-parallel or all rotated about one axis); add tilted views"
        )
    # alpha = sqrt(lambda / B11), beta = sqrt(lambda / B22)
    K = torch.eye(3, dtype=b.dtype, device=b.device)
    K[0, 0], K[1, 1], K[0, 2], K[1, 2] = (lam / B11).sqrt(), (lam / B22).sqrt(), u0, v0
    return K


def _pose(K: Tensor, H: Tensor) -> tuple[Tensor, Tensor]:
    """The pose of one view from ``K^{-1} H = [r1 r2 t] / lambda``; R is made orthonormal."""
    M = torch.linalg.solve(K, H)  # (3, 3) columns ~ r1, r2, t
    scale = 2 / (M[:, 0].norm() + M[:, 1].norm())
    if M[2, 2] < 0:  # the board must be in front of the camera (t_z > 0)
        scale = -scale
    r1, r2, t = scale * M[:, 0], scale * M[:, 1], scale * M[:, 2]
    R = torch.stack([r1, r2, torch.linalg.cross(r1, r2)], 1)
    # nearest rotation (Frobenius): R = U diag(1, 1, det(U V^T)) V^T
    U, _, Vh = torch.linalg.svd(R)
    D = torch.diag(torch.stack([torch.ones_like(t[0]), torch.ones_like(t[0]), (U @ Vh).det()]))
    return vector_from_rotation(U @ D @ Vh), t


def _levenberg_marquardt(fun: Any, jac: Any, x: Tensor, max_iterations: int) -> tuple[Tensor, int]:
    """Minimise ``||fun(x)||^2`` by Levenberg-Marquardt with Marquardt's diagonal scaling."""
    r = fun(x)
    cost = float(r @ r)
    lam = 1e-3
    it = 0
    for it in range(1, max_iterations + 1):  # noqa: B007 (it is returned)
        J = jac(x)  # (2P, n)
        A, g = J.T @ J, J.T @ r  # Gauss-Newton normal equations
        diag = A.diagonal().clamp_min(1e-12 * float(A.diagonal().max()))
        improved = False
        while lam < 1e16:
            # (J^T J + lambda diag(J^T J)) delta = -J^T r
            delta = torch.linalg.solve(A + lam * torch.diag(diag), -g)
            r_new = fun(x + delta)
            cost_new = float(r_new @ r_new)
            if cost_new < cost:
                improved = True
                break
            lam *= 10
        if not improved:
            break
        x, r = x + delta, r_new
        small_step = float(delta.abs().max()) <= 1e-15 * (float(x.abs().max()) + 1e-15)
        converged = cost - cost_new <= 1e-15 * cost or small_step
        cost, lam = cost_new, max(lam / 10, 1e-12)
        if converged:
            break
    return x, it


def calibrate_camera(
    object_points: Sequence[Any] | Tensor,
    image_points: Sequence[Any] | Tensor,
    image_size: tuple[int, int],
    *,
    max_iterations: int = 100,
) -> CalibrationResult:
    r"""Calibrate a camera from views of a planar target (Zhang's method).

    The model is :func:`~pixlearn.imaging.camera.project_points` with zero skew and five
    distortion coefficients (OpenCV's default model of ``cv2.calibrateCamera``).

    Args:
        object_points: per view, the target's points in its own frame, shape ``(N_i, 3)`` with
            ``z = 0`` (any unit; the translations come out in it); tensors, arrays or an
            ``(M, N, 3)`` tensor.
        image_points: per view, the observed pixels ``(u, v) = (column, row)``, shape ``(N_i, 2)``.
        image_size: ``(width, height)`` in pixels, as OpenCV takes it; it scales pixel
            coordinates to about [-1, 1] so that the closed form is well conditioned.
        max_iterations: most Levenberg-Marquardt iterations.

    Returns:
        A :class:`CalibrationResult` (``K``, ``dist``, ``rvecs``, ``tvecs``, ``rms``,
        ``per_view_errors``), float64, on the device of the image points.

    Raises:
        ShapeError: fewer than 3 views, fewer than 4 points in a view, point counts that differ
            between ``object_points`` and ``image_points``, or wrong shapes.
        ValueRangeError: NaN/Inf points, a non-planar target (``z != 0``), or degenerate views.
        WrongTypeError: inputs that are not lists of arrays.

    Notes:
        Each view gives a homography :math:`H = \lambda K [r_1\ r_2\ t]`. As :math:`r_1, r_2` are
        orthonormal, :math:`h_1^T B h_2 = 0` and :math:`h_1^T B h_1 = h_2^T B h_2` with
        :math:`B = K^{-T}K^{-1}`: two linear equations per view in the entries of :math:`B`,
        solved by SVD; :math:`K` follows in closed form, and :math:`r_1 = \lambda K^{-1} h_1`,
        :math:`r_2 = \lambda K^{-1} h_2`, :math:`r_3 = r_1 \times r_2`,
        :math:`t = \lambda K^{-1} h_3`. Finally Levenberg-Marquardt minimises
        :math:`\sum_{ij} \lVert u_{ij} - \pi(K, d, R_i, t_i, X_j) \rVert^2` over all
        :math:`9 + 6M` parameters: :math:`(J^TJ + \mu\,\mathrm{diag}(J^TJ))\,\delta = -J^Tr`.

    Example:
        >>> K = torch.tensor([[300.0, 0, 160], [0, 310, 120], [0, 0, 1]], dtype=torch.float64)
        >>> g = torch.stack(torch.meshgrid(torch.arange(6.0), torch.arange(5.0), indexing="xy"), -1)
        >>> obj = torch.cat([g.reshape(-1, 2), torch.zeros(30, 1)], 1).double()
        >>> rs = [[0.3, 0.1, 0.0], [-0.2, 0.3, 0.1], [0.1, -0.3, -0.1], [0.2, 0.2, 0.3]]
        >>> img = [project_points(obj, K, torch.tensor(r).double(), torch.tensor([-2.5, -2, 9.0]))
        ...        for r in rs]
        >>> res = calibrate_camera([obj] * 4, img, (320, 240))
        >>> res.K.round(decimals=3) + 0.0
        tensor([[300.,   0., 160.],
                [  0., 310., 120.],
                [  0.,   0.,   1.]], dtype=torch.float64)
        >>> res.rms < 1e-6
        True

    References:
        Zhang, Z. "A flexible new technique for camera calibration." TPAMI 22(11), 2000.
        Hartley, R. "In defense of the eight-point algorithm." TPAMI 1997 (normalised DLT).
        Marquardt, D. W. "An algorithm for least-squares estimation of nonlinear parameters." 1963.
    """
    objs = _as_views(object_points, "object_points", 3)
    imgs = _as_views(image_points, "image_points", 2)
    if len(objs) != len(imgs):
        raise ShapeError(
            f"image_points must hold one array per view of object_points, got {len(imgs)} "
            f"image_points and {len(objs)} object_points"
        )
    if len(objs) < 3:
        raise ShapeError(f"object_points must hold at least 3 views, got {len(objs)}")
    for i, (o, p) in enumerate(zip(objs, imgs, strict=True)):
        if o.shape[0] != p.shape[0]:
            raise ShapeError(
                f"image_points[{i}] has {p.shape[0]} points but object_points[{i}] has {o.shape[0]}"
            )
        if o.shape[0] < 4:
            raise ShapeError(f"object_points[{i}] must hold at least 4 points, got {o.shape[0]}")
        if float(o[:, 2].abs().max()) > 1e-9 * (1 + float(o[:, :2].abs().max())):
            raise ValueRangeError(f"object_points[{i}] must lie on the plane z = 0 (planar target)")
    width, height = pair(image_size, "image_size")
    max_iterations = check_int(max_iterations, "max_iterations", min_value=0)
    device = imgs[0].device
    objs, imgs = [o.to(device) for o in objs], [p.to(device) for p in imgs]

    # 1-2. homographies of pixels scaled by T to about [-1, 1], then K' in those units, K = T^-1 K'
    s = float(max(width, height)) / 2
    T = torch.tensor(
        [[1 / s, 0, -width / 2 / s], [0, 1 / s, -height / 2 / s], [0, 0, 1]],
        dtype=torch.float64,
        device=device,
    )
    Hs = [
        _homography(o[:, :2], p @ T[:2, :2].T + T[:2, 2]) for o, p in zip(objs, imgs, strict=True)
    ]
    K0 = torch.linalg.solve(T, _intrinsics_closed_form(Hs))
    # 3. per-view extrinsics from the pixel-space homographies T^-1 H
    poses = [_pose(K0, torch.linalg.solve(T, H)) for H in Hs]
    rvecs0 = torch.stack([r for r, _ in poses])  # (M, 3)
    tvecs0 = torch.stack([t for _, t in poses])  # (M, 3)

    # 4. Levenberg-Marquardt over x = (fx, fy, cx, cy, k1, k2, p1, p2, k3, rvecs, tvecs)
    m = len(objs)
    view = torch.cat([torch.full((len(o),), i, device=device) for i, o in enumerate(objs)])
    X = torch.cat(objs)[:, None, :]  # (P, 1, 3): one point per "batch" item
    U = torch.cat(imgs)  # (P, 2)
    zero, one = torch.zeros((), dtype=torch.float64, device=device), torch.ones_like(U[0, 0])

    def unpack(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        fx, fy, cx, cy = x[0], x[1], x[2], x[3]
        K = torch.stack(
            [
                torch.stack([fx, zero, cx]),
                torch.stack([zero, fy, cy]),
                torch.stack([zero, zero, one]),
            ]
        )
        return K, x[4:9], x[9 : 9 + 3 * m].reshape(m, 3), x[9 + 3 * m :].reshape(m, 3)

    def residuals(x: Tensor) -> Tensor:
        K, dist, rv, tv = unpack(x)
        # each point projected with the pose of its view: (P, 1, 3) -> (P, 1, 2)
        uv = project_points(X, K, rotation_from_vector(rv)[view], tv[view], dist)[:, 0]
        return (uv - U).reshape(-1)  # (2P,)

    x0 = torch.cat(
        [
            K0[0, 0, None],  # fx
            K0[1, 1, None],  # fy
            K0[:2, 2],  # cx, cy
            K0.new_zeros(5),  # k1, k2, p1, p2, k3: no distortion to start with
            rvecs0.reshape(-1),
            tvecs0.reshape(-1),
        ]
    )
    row_view = view.repeat_interleave(2)  # (2P,) the view of each residual
    rows = torch.arange(len(row_view), device=device)

    def jacobian(x: Tensor) -> Tensor:
        # forward-mode derivatives, one pass per shared parameter (the 9 intrinsics) and one per
        # pose parameter for all views at once: a view's pose moves only that view's points
        J = x.new_zeros(len(row_view), len(x))  # (2P, 9 + 6M), block-sparse in the poses
        for k in range(9 + 6):
            e = torch.zeros_like(x)
            if k < 9:
                e[k] = 1
            else:
                block = 9 + 3 * m * ((k - 9) // 3) + (k - 9) % 3  # rvecs[:, c] or tvecs[:, c]
                e[block : block + 3 * m : 3] = 1
            d = torch.func.jvp(residuals, (x,), (e,))[1]  # (2P,)
            if k < 9:
                J[:, k] = d
            else:
                J[rows, block + 3 * row_view] = d
        return J

    x, iterations = _levenberg_marquardt(residuals, jacobian, x0, max_iterations)

    K, dist, rvecs, tvecs = unpack(x)
    sq = residuals(x).reshape(-1, 2).pow(2).sum(1)  # (P,) squared pixel errors
    per_view = torch.zeros(m, dtype=torch.float64, device=device).index_add_(0, view, sq)
    counts = torch.tensor([len(o) for o in objs], dtype=torch.float64, device=device)
    return CalibrationResult(
        K=K,
        dist=dist,
        rvecs=rvecs,
        tvecs=tvecs,
        rms=float(sq.mean().sqrt()),
        per_view_errors=(per_view / counts).sqrt(),
        iterations=iterations,
    )
