r"""Boundary descriptors of a closed curve: signature, Fourier descriptors, curvature.

A boundary is a ``(K, 2)`` tensor of (row, col) points in order, e.g. from
:func:`~pixlearn.measure.find_contours` or :func:`~pixlearn.measure.trace_boundary`; it is
closed (the last point joins the first), and a last point repeating the first is dropped.
The geometry uses ``x = col`` and ``y = -row`` (y pointing up, as the image is seen), so
"counter-clockwise" and positive angles are those seen on the screen.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_finite, check_int, check_positive, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["curvature", "fourier_descriptors", "signature"]


def _xy(coords: Tensor, name: str, min_points: int) -> tuple[Tensor, Tensor]:
    """Check a closed boundary; return ``x = col``, ``y = -row`` ``(K,)`` without a repeated end."""
    check_tensor(coords, name)
    if coords.dim() != 2 or coords.shape[1] != 2:
        raise ShapeError(
            f"{name} must be a (K, 2) tensor of (row, col) points, got {describe(coords)}"
        )
    if coords.is_complex() or coords.dtype == torch.bool:
        raise WrongTypeError(f"{name} must be a real tensor, got {coords.dtype}")
    check_finite(coords, name)
    pts = coords if coords.is_floating_point() else coords.to(torch.float64)
    if pts.shape[0] > 1 and bool((pts[0] == pts[-1]).all()):
        pts = pts[:-1]  # a closed polyline that repeats its first point
    if pts.shape[0] < min_points:
        raise ValueRangeError(
            f"{name} must hold at least {min_points} distinct points, got {pts.shape[0]}"
        )
    return pts[:, 1], -pts[:, 0]


def _signed_area(x: Tensor, y: Tensor) -> Tensor:
    # shoelace: A = 1/2 sum_i (x_i y_{i+1} - x_{i+1} y_i), > 0 counter-clockwise
    return 0.5 * (x * torch.roll(y, -1) - torch.roll(x, -1) * y).sum()


def signature(
    boundary_coords: Tensor, *, n_angles: int = 360, center: tuple[float, float] | None = None
) -> Tensor:
    r"""Distance from the centre to the boundary as a function of angle.

    Args:
        boundary_coords: ``(K, 2)`` (row, col) points of a closed boundary, ``K >= 3``.
        n_angles: number of angles :math:`\theta_j = 2\pi j / n`, ``j = 0..n-1``, measured
            counter-clockwise (as seen) from the direction of increasing columns.
        center: ``(row, col)`` of the centre; ``None`` is the centroid of the area enclosed
            by the boundary polygon (the mean of the points if that area is 0).

    Returns:
        ``(n_angles,)`` distances :math:`r(\theta_j)`, float (float64 for integer points):
        the farthest crossing of the ray from the centre at angle :math:`\theta_j` with the
        boundary polygon, 0 where the ray misses it (a centre outside the shape). For a
        star-shaped boundary around the centre this is its only crossing.

    Notes:
        The ray :math:`c + t u`, :math:`u = (\cos\theta, \sin\theta)`, meets the edge
        :math:`p_i + s (p_{i+1} - p_i)` where, with :math:`a \times b = a_x b_y - a_y b_x`,
        :math:`t = ((p_i - c) \times d) / (u \times d)` and
        :math:`s = ((p_i - c) \times u) / (u \times d)`, :math:`d = p_{i+1} - p_i`;
        :math:`r(\theta) = \max \{ t \ge 0 : 0 \le s \le 1 \}`. The polygon centroid is
        :math:`\bar x = \frac{1}{6A}\sum_i (x_i + x_{i+1})(x_i y_{i+1} - x_{i+1} y_i)`.

    Example:
        >>> square = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
        >>> signature(square, n_angles=8)
        tensor([1.0000, 1.4142, 1.0000, 1.4142, 1.0000, 1.4142, 1.0000, 1.4142])

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., section 11.2
        (signatures).
    """
    x, y = _xy(boundary_coords, "boundary_coords", 3)
    n_angles = check_int(n_angles, "n_angles", min_value=1)
    if center is None:
        area = _signed_area(x, y)
        cross = x * torch.roll(y, -1) - torch.roll(x, -1) * y  # (K,)
        if float(area.detach()) != 0.0:
            cx = ((x + torch.roll(x, -1)) * cross).sum() / (6 * area)
            cy = ((y + torch.roll(y, -1)) * cross).sum() / (6 * area)
        else:
            cx, cy = x.mean(), y.mean()
    else:
        if len(center) != 2:
            raise ShapeError(f"center must be a pair (row, col), got {center!r}")
        cr, cc = float(center[0]), float(center[1])
        if not (math.isfinite(cr) and math.isfinite(cc)):
            raise ValueRangeError(f"center must be finite, got {center!r}")
        cx = torch.tensor(cc, dtype=x.dtype, device=x.device)
        cy = torch.tensor(-cr, dtype=x.dtype, device=x.device)
    theta = torch.arange(n_angles, dtype=x.dtype, device=x.device) * (2 * math.pi / n_angles)
    ux, uy = torch.cos(theta)[:, None], torch.sin(theta)[:, None]  # (n, 1) ray directions
    wx, wy = (x - cx)[None], (y - cy)[None]  # (1, K) edge start relative to the centre
    dx, dy = (torch.roll(x, -1) - x)[None], (torch.roll(y, -1) - y)[None]  # (1, K) edges
    den = ux * dy - uy * dx  # (n, K)  u x d
    safe = torch.where(den == 0, torch.ones_like(den), den)
    t = (wx * dy - wy * dx) / safe  # (n, K) distance along the ray
    s = (wx * uy - wy * ux) / safe  # (n, K) position along the edge
    hit = (den != 0) & (t >= 0) & (s >= 0) & (s <= 1)
    return torch.where(hit, t, torch.zeros_like(t)).amax(dim=1)


def fourier_descriptors(
    boundary_coords: Tensor, *, n: int | None = None, normalize: bool = True
) -> Tensor:
    r"""Fourier descriptors of a closed boundary.

    Args:
        boundary_coords: ``(K, 2)`` (row, col) points of a closed boundary, ``K >= 3``.
        n: number of harmonics kept on each side: frequencies :math:`\pm 1..\pm n` (and 0
            when not normalised); ``None`` keeps all. Needs :math:`2n + 1 \le K`.
        normalize: return invariant descriptors (below) instead of the raw coefficients.

    Returns:
        ``normalize=False``: complex :math:`F_k`, in FFT order: ``(K,)`` (all), or
        ``(2n + 1,)`` for :math:`k = 0, 1..n, -n..-1`. ``normalize=True``: real
        :math:`|F_k| / |F_1|` after orienting the boundary counter-clockwise, for
        :math:`k = 1..n, -n..-1` (``(2n,)``), or all :math:`k \ne 0` (``(K - 1,)``).

    Notes:
        With :math:`z_m = x_m + i y_m`, :math:`F_k = \frac{1}{K}\sum_m z_m e^{-2\pi i k m/K}`.
        A translation changes only :math:`F_0` (dropped); a scaling by :math:`s` multiplies
        every :math:`F_k` by :math:`s` (divided out by :math:`|F_1|`); a rotation by
        :math:`\varphi` multiplies them by :math:`e^{i\varphi}` and a shift of the start
        point by :math:`m_0` samples by :math:`e^{2\pi i k m_0/K}`, which the magnitudes drop.
        Reversing the direction maps :math:`F_k` to :math:`F_{-k}` up to a phase, removed by
        orienting the boundary counter-clockwise (positive shoelace area) first, so the
        normalised descriptors do not depend on the direction of traversal either. A mirror
        image maps :math:`F_k` to :math:`\overline{F_{-k}}` and reverses the orientation, so
        after re-orienting it has the same magnitudes: mirror images are not told apart.

    Example:
        >>> t = torch.arange(16, dtype=torch.float64) * (2 * torch.pi / 16)
        >>> ellipse = torch.stack([torch.sin(t), 2 * torch.cos(t)], 1)
        >>> fourier_descriptors(ellipse, n=2)
        tensor([1.0000, 0.0000, 0.0000, 0.3333], dtype=torch.float64)

    References:
        Zahn, C. T., Roskies, R. Z. "Fourier descriptors for plane closed curves." IEEE
        Trans. Computers C-21(3), 1972. Persoon, E., Fu, K.-S. "Shape discrimination using
        Fourier descriptors." IEEE Trans. SMC 7(3), 1977.
    """
    x, y = _xy(boundary_coords, "boundary_coords", 3)
    k = x.shape[0]
    if n is not None:
        n = check_int(n, "n", min_value=1)
        if 2 * n + 1 > k:
            raise ValueRangeError(
                f"n must satisfy 2 * n + 1 <= K (the number of points, {k}), got n={n}"
            )
    if normalize and float(_signed_area(x, y).detach()) < 0:
        x, y = x.flip(0), y.flip(0)  # orient counter-clockwise
    # F_k = 1/K sum_m z_m exp(-2 pi i k m / K)
    coef = torch.fft.fft(torch.complex(x, y)) / k  # (K,)
    if n is not None:
        coef = torch.cat([coef[: n + 1], coef[k - n :]])  # (2n + 1,) frequencies 0, 1..n, -n..-1
    if not normalize:
        return coef
    mag = coef.abs()[1:]  # drop F_0 (position); (K - 1,) or (2n,)
    if float(mag[0].detach()) <= 1e-12 * float(mag.detach().max()):
        raise ValueRangeError(
            "boundary_coords: the first harmonic F_1 is 0 (a curve wound more than once, or a "
            "degenerate one), so the descriptors cannot be normalised by |F_1|"
        )
    return mag / mag[0]


def curvature(boundary_coords: Tensor, *, sigma: float = 2.0) -> Tensor:
    r"""Curvature along a closed curve, from Gaussian-smoothed derivatives.

    Args:
        boundary_coords: ``(K, 2)`` (row, col) points of a closed curve, ``K >= 3``,
            roughly evenly spaced (the derivatives are taken with respect to the index).
        sigma: standard deviation of the Gaussian, in samples; 0 differentiates the
            trigonometric interpolant of the points without smoothing.

    Returns:
        ``(K,)`` curvature at each point (same float dtype; float64 for integer points), in
        1/pixel: positive where the curve turns counter-clockwise (as seen), so a circle of
        radius :math:`r` traversed counter-clockwise has :math:`\kappa = 1/r`.

    Notes:
        :math:`\kappa = \dfrac{x' y'' - y' x''}{(x'^2 + y'^2)^{3/2}}`, with
        :math:`x' = g_\sigma' \circledast x` and :math:`x'' = g_\sigma'' \circledast x`
        (circular convolution, done in the Fourier domain: :math:`x'` has the spectrum
        :math:`i\omega\, e^{-\sigma^2\omega^2/2} X(\omega)`, :math:`x''` has
        :math:`-\omega^2 e^{-\sigma^2\omega^2/2} X(\omega)`). The smoothing shrinks a
        circle of :math:`K` points by :math:`e^{-\sigma^2\omega_1^2/2}`,
        :math:`\omega_1 = 2\pi/K`, so its curvature comes out :math:`e^{\sigma^2\omega_1^2/2}/r`.
        For a simple closed curve :math:`\sum_m \kappa_m |(x'_m, y'_m)| = \pm 2\pi`.

    Example:
        >>> t = torch.arange(64, dtype=torch.float64) * (2 * torch.pi / 64)
        >>> circle = torch.stack([-5 * torch.sin(t), 5 * torch.cos(t)], 1)  # rows point down
        >>> curvature(circle, sigma=0.0)[:3]
        tensor([0.2000, 0.2000, 0.2000], dtype=torch.float64)

    References:
        Mokhtarian, F., Mackworth, A. K. "A theory of multiscale, curvature-based shape
        representation for planar curves." IEEE TPAMI 14(8), 1992.
    """
    x, y = _xy(boundary_coords, "boundary_coords", 3)
    sigma = check_positive(sigma, "sigma", strict=False)
    k = x.shape[0]
    omega = 2 * math.pi * torch.fft.fftfreq(k, dtype=x.dtype, device=x.device)  # (K,)
    gauss = torch.exp(-0.5 * (sigma * omega) ** 2)  # (K,) spectrum of the Gaussian
    first = 1j * omega * gauss  # spectrum of g'
    if k % 2 == 0:
        first[k // 2] = 0  # the Nyquist term of an odd derivative has no real part
    second = -(omega**2) * gauss  # spectrum of g''
    spec = torch.fft.fft(torch.stack([x, y]))  # (2, K)
    d1 = torch.fft.ifft(spec * first).real  # (2, K) x', y'
    d2 = torch.fft.ifft(spec * second).real  # (2, K) x'', y''
    # kappa = (x' y'' - y' x'') / (x'^2 + y'^2)^(3/2)
    num = d1[0] * d2[1] - d1[1] * d2[0]
    return num / (d1[0] ** 2 + d1[1] ** 2) ** 1.5
