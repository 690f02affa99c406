"""Point-spread functions: the image of a point source through Gaussian, diffraction-limited,
defocused and moving optics.

Every PSF here is a small non-negative array of shape ``(h, w)`` that sums to 1 (an optical
system neither creates nor destroys light) and is centred on pixel ``(h // 2, w // 2)``: the
convention of :func:`pixlearn.imaging.psf2otf` and :func:`pixlearn.imaging.blur`, valid for odd
and even sizes alike. The profile is computed in float64 and cast to ``dtype`` at the end, so the
sum is 1 up to the rounding of ``dtype`` (1e-7 in float32, 1e-15 in float64). Light that falls
outside the ``(h, w)`` window is dropped before normalising: choose ``size`` large enough for the
tails you care about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_positive, check_range, pair
from pixlearn._core.errors import WrongTypeError

__all__ = ["airy_psf", "defocus_psf", "gaussian_psf", "motion_psf"]


def _check_dtype(dtype: torch.dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise WrongTypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


def _offsets(n: int, device: torch.device | str | None) -> Tensor:
    """Pixel-centre offsets from the centre pixel ``n // 2``: ``-(n // 2), ..., n - 1 - n // 2``."""
    return torch.arange(n, dtype=torch.float64, device=device) - (n // 2)  # (n,)


def _finish(psf: Tensor, dtype: torch.dtype) -> Tensor:
    """Normalise a float64 profile to unit sum and cast it."""
    return (psf / psf.sum()).to(dtype)


def gaussian_psf(
    size: int | Sequence[int],
    sigma: float | Sequence[float],
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A sampled Gaussian PSF, the usual model of a well-corrected lens plus sensor.

    Args:
        size: ``n`` or ``(h, w)``, odd or even, each >= 1.
        sigma: standard deviation in pixels, a number or a pair ``(sigma_y, sigma_x)``, > 0.
        dtype: floating dtype of the result (a factory option, as in :func:`torch.zeros`).
        device: device of the result.

    Returns:
        The PSF, shape ``(h, w)``, non-negative, summing to 1, centred on ``(h // 2, w // 2)``.

    Notes:
        The continuous Gaussian is sampled at the pixel centres (not integrated over the pixel),
        so that its OTF is the closed form :math:`e^{-2\pi^2\sigma^2 f^2}` up to aliasing, about
        :math:`e^{-\pi^2\sigma^2/2}` (7e-3 for :math:`\sigma = 1`, 3e-9 for :math:`\sigma = 2`),
        and truncation to the window (negligible beyond :math:`\pm 6\sigma`):

        .. math::
            h(y, x) \propto \exp\left(-\frac{y^2}{2\sigma_y^2} - \frac{x^2}{2\sigma_x^2}\right).

    Example:
        >>> p = gaussian_psf(5, 1.0)
        >>> p.shape, round(float(p.sum()), 6), bool(p.argmax() == 12)
        (torch.Size([5, 5]), 1.0, True)

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.7 and 5.6.
    """
    h, w = pair(size, "size")
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != 2:
            raise WrongTypeError(f"sigma must be a number or a pair, got {sigma!r}")
        sy, sx = check_positive(sigma[0], "sigma"), check_positive(sigma[1], "sigma")
    else:
        sy = sx = check_positive(sigma, "sigma")
    _check_dtype(dtype)
    y, x = _offsets(h, device), _offsets(w, device)
    # h(y, x) = exp(-y^2 / (2 sy^2)) exp(-x^2 / (2 sx^2)), separable
    gy = torch.exp(-0.5 * (y / sy) ** 2)  # (h,)
    gx = torch.exp(-0.5 * (x / sx) ** 2)  # (w,)
    return _finish(gy[:, None] * gx[None, :], dtype)


def airy_psf(
    size: int | Sequence[int],
    *,
    wavelength: float,
    na: float,
    pixel_size: float,
    oversample: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The diffraction-limited PSF of a circular aperture (the Airy pattern), pixel-integrated.

    Args:
        size: ``n`` or ``(h, w)``, odd or even, each >= 1.
        wavelength: wavelength of the light :math:`\lambda`, > 0.
        na: numerical aperture of the objective, > 0.
        pixel_size: pixel pitch in the object plane, same unit as ``wavelength``, > 0.
        oversample: Gauss-Legendre nodes per pixel and axis used to integrate the intensity
            over each pixel. ``None`` picks ``ceil(8 pixel_size NA / wavelength)`` clipped to
            ``[4, 32]`` (a node pitch of about :math:`\lambda / (8\,\mathrm{NA})`, an eighth
            of the Airy disk radius). 1 samples the pixel centres only.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        The PSF, shape ``(h, w)``, non-negative, summing to 1, centred on ``(h // 2, w // 2)``.

    Notes:
        The intensity at distance :math:`r` from the centre (Fraunhofer diffraction) is

        .. math::
            I(r) = \left(\frac{2 J_1(v)}{v}\right)^2,
            \qquad v = \frac{2\pi\,\mathrm{NA}\,r}{\lambda},

        with first zero at :math:`r = 0.61\,\lambda/\mathrm{NA}` (the Rayleigh resolution). Its
        OTF is zero beyond the cut-off :math:`f_c = 2\,\mathrm{NA}/\lambda`
        (:func:`pixlearn.imaging.cutoff_frequency`); sample with
        ``pixel_size < wavelength / (4 * na)`` (Nyquist) to keep it alias-free. Integrating
        over the pixel keeps the PSF correct when the pattern is smaller than a pixel.
        ``torch.special.bessel_j1`` is accurate to about 5e-7 (absolute) for :math:`5 < v < 25`
        in float64 (measured against SciPy), so the PSF is good to about 1e-6 of its peak.

    Example:
        >>> p = airy_psf(15, wavelength=0.5, na=0.8, pixel_size=0.1)
        >>> round(float(p.sum()), 6), bool(p.argmax() == 7 * 15 + 7)
        (1.0, True)

    References:
        Goodman, J. W. *Introduction to Fourier Optics*, 3rd ed., sec. 4.4 and 6.3.
    """
    h, w = pair(size, "size")
    lam = check_positive(wavelength, "wavelength")
    na_ = check_positive(na, "na")
    dx = check_positive(pixel_size, "pixel_size")
    if oversample is None:
        oversample = min(32, max(4, math.ceil(8.0 * dx * na_ / lam)))
    n = check_int(oversample, "oversample", min_value=1)
    _check_dtype(dtype)
    # Gauss-Legendre nodes and weights on one pixel [-1/2, 1/2] (exact for polynomials of
    # degree 2n - 1 in each axis)
    t, wt = (torch.from_numpy(a).to(device) for a in np.polynomial.legendre.leggauss(n))
    sub, wt = 0.5 * t, 0.5 * wt  # (n,), (n,)
    y = (_offsets(h, device)[:, None] + sub[None, :]) * dx  # (h, n), object-plane units
    x = (_offsets(w, device)[:, None] + sub[None, :]) * dx  # (w, n)
    k = 2.0 * math.pi * na_ / lam
    psf = torch.zeros(h, w, dtype=torch.float64, device=device)
    for i in range(n):  # one sub-row at a time keeps the memory at (h, w, n)
        r = torch.sqrt(y[:, i, None, None] ** 2 + x[None, :, :] ** 2)  # (h, w, n)
        # v = 2 pi NA r / lambda;  I = (2 J1(v) / v)^2, with the limit I(0) = 1
        v = k * r
        safe = torch.where(v > 0, v, torch.ones_like(v))
        amp = torch.where(v > 0, 2.0 * torch.special.bessel_j1(safe) / safe, torch.ones_like(v))
        psf += wt[i] * (amp**2 * wt).sum(-1)
    return _finish(psf, dtype)


def _disk_quadrant_area(x: Tensor, y: Tensor, radius: float) -> Tensor:
    """Signed area of the disk of ``radius`` (centre 0) inside the rectangle ``[0, x] x [0, y]``.

    For ``x, y >= 0`` it is :math:`\\int_0^{\\min(y, R)} \\min(x, \\sqrt{R^2 - v^2})\\,dv`; the
    function is odd in ``x`` and in ``y`` separately, which extends it to every quadrant.
    """
    r2 = radius * radius
    ax, ay = x.abs(), y.abs()

    def s(t: Tensor) -> Tensor:
        # S(t) = int_0^t sqrt(R^2 - v^2) dv = (t sqrt(R^2 - t^2) + R^2 asin(t / R)) / 2
        t = t.clamp(max=radius)
        return 0.5 * (t * torch.sqrt((r2 - t * t).clamp(min=0.0)) + r2 * torch.asin(t / radius))

    # below v* = sqrt(R^2 - x^2) the chord is wider than x: the strip is a full rectangle
    v_star = torch.sqrt((r2 - ax * ax).clamp(min=0.0))
    ymax = ay.clamp(max=radius)
    rect = ax * torch.minimum(ymax, v_star)
    cap = torch.where(ymax > v_star, s(ymax) - s(v_star), torch.zeros_like(ymax))
    return torch.sign(x) * torch.sign(y) * (rect + cap)


def defocus_psf(
    size: int | Sequence[int],
    radius: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The PSF of an out-of-focus lens in geometric optics: a uniform disk (pillbox).

    Args:
        size: ``n`` or ``(h, w)``, odd or even, each >= 1.
        radius: radius of the circle of confusion in pixels, > 0.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        The PSF, shape ``(h, w)``, non-negative, summing to 1, centred on ``(h // 2, w // 2)``.

    Notes:
        Each pixel gets the exact area of its unit square covered by the disk
        :math:`x^2 + y^2 \le R^2` (anti-aliased, no supersampling), divided by the total:
        a pixel wholly inside the disk holds :math:`1 / (\pi R^2)` when the disk fits the window.
        With :math:`F(x, y)` the disk area inside :math:`[0, x] \times [0, y]`, a pixel
        :math:`[x_0, x_1] \times [y_0, y_1]` covers

        .. math::
            A = F(x_1, y_1) - F(x_0, y_1) - F(x_1, y_0) + F(x_0, y_0).

    Example:
        >>> p = defocus_psf(7, 2.0, dtype=torch.float64)
        >>> bool(abs(p[3, 3] - 1 / (torch.pi * 4)) < 1e-12)
        True

    References:
        Hansen, P. C., Nagy, J. G., O'Leary, D. P. *Deblurring Images*, SIAM 2006, sec. 3.2.
    """
    h, w = pair(size, "size")
    rad = check_positive(radius, "radius")
    _check_dtype(dtype)
    # pixel edges relative to the centre pixel's centre: offset -+ 1/2
    y, x = _offsets(h, device), _offsets(w, device)
    y0, y1 = (y - 0.5)[:, None], (y + 0.5)[:, None]  # (h, 1)
    x0, x1 = (x - 0.5)[None, :], (x + 0.5)[None, :]  # (1, w)

    def f(a: Tensor, b: Tensor) -> Tensor:
        a, b = torch.broadcast_tensors(a, b)
        return _disk_quadrant_area(a, b, rad)

    # A = F(x1, y1) - F(x0, y1) - F(x1, y0) + F(x0, y0)
    area = f(x1, y1) - f(x0, y1) - f(x1, y0) + f(x0, y0)  # (h, w)
    return _finish(area.clamp(min=0.0), dtype)


def motion_psf(
    size: int | Sequence[int],
    length: float,
    angle: float,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The PSF of linear motion during the exposure: an anti-aliased line segment.

    Args:
        size: ``n`` or ``(h, w)``, odd or even, each >= 1.
        length: length of the segment in pixels, > 0 (a camera moving ``length`` pixels at
            constant speed while the shutter is open).
        angle: direction in degrees, counter-clockwise from the +x (column) axis as seen on a
            screen, where rows grow downwards: 0 is horizontal, 90 vertical. The segment is
            centred on the centre pixel, so ``angle`` and ``angle + 180`` give the same PSF.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        The PSF, shape ``(h, w)``, non-negative, summing to 1, centred on ``(h // 2, w // 2)``.
        A segment longer than the window is clipped to it.

    Notes:
        The segment :math:`p(t) = c + (t - \tfrac12)\,L\,(\cos\theta, -\sin\theta)`,
        :math:`t \in [0, 1]`, is drawn with the bilinear (tent) kernel
        :math:`\Lambda(u) = \max(0, 1 - |u|)` and integrated exactly:

        .. math::
            h(i, j) = \int_0^1 \Lambda(y(t) - i)\,\Lambda(x(t) - j)\,dt.

        Between two crossings of the pixel grid the integrand is a quadratic in :math:`t`, so
        Simpson's rule on each such piece is exact. The centroid of the PSF is exactly the
        centre pixel.

    Example:
        >>> p = motion_psf(7, 3.0, 0.0, dtype=torch.float64)
        >>> [round(float(v), 4) for v in p[3, 1:6] * 3]
        [0.125, 0.875, 1.0, 0.875, 0.125]

    References:
        Hansen, P. C., Nagy, J. G., O'Leary, D. P. *Deblurring Images*, SIAM 2006, sec. 3.2.
    """
    h, w = pair(size, "size")
    ln = check_positive(length, "length")
    theta = math.radians(check_range(angle, "angle"))
    _check_dtype(dtype)
    # end points in (row, col), relative to the centre pixel; rows grow downwards
    dy, dx = -ln * math.sin(theta), ln * math.cos(theta)
    ya, xa = -0.5 * dy, -0.5 * dx
    # parameters t where the segment crosses an integer row or column, plus the two ends
    cuts = [torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)]
    for start, delta in ((ya, dy), (xa, dx)):
        if abs(delta) > 1e-12:
            lo, hi = sorted((start, start + delta))
            ks = torch.arange(math.floor(lo) + 1, math.ceil(hi), dtype=torch.float64, device=device)
            cuts.append((ks - start) / delta)
    t = torch.cat(cuts).clamp(0.0, 1.0).sort().values  # (K,)
    ta, tb = t[:-1], t[1:]
    # Simpson's rule on each piece: nodes ta, (ta + tb) / 2, tb with weights (1, 4, 1) (tb - ta) / 6
    nodes = torch.cat([ta, 0.5 * (ta + tb), tb])  # (3 (K - 1),)
    wts = torch.cat([(tb - ta) / 6, 4 * (tb - ta) / 6, (tb - ta) / 6])
    py, px = ya + nodes * dy + h // 2, xa + nodes * dx + w // 2  # pixel coordinates
    iy, ix = torch.floor(py), torch.floor(px)
    fy, fx = py - iy, px - ix
    psf = torch.zeros(h * w, dtype=torch.float64, device=device)
    # bilinear splat: the tent kernel gives each node's weight to its 4 neighbouring pixels
    for oy, wy in ((0, 1 - fy), (1, fy)):
        for ox, wx in ((0, 1 - fx), (1, fx)):
            r, c = (iy + oy).long(), (ix + ox).long()
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            psf.index_add_(0, (r * w + c)[inside], (wts * wy * wx)[inside])
    return _finish(psf.reshape(h, w), dtype)
