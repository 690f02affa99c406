"""Derivative filters: Gaussian derivatives, LoG, difference of Gaussians, Sobel."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_positive
from pixlearn._core.errors import ValueRangeError
from pixlearn.filters.kernels import _order_pair, _sigma_pair, gaussian_kernel1d
from pixlearn.filters.linear import (
    BORDERS,
    _finish,
    _pad,
    _prepare,
    _separable,
    gaussian_blur2d,
)

__all__ = ["difference_of_gaussians", "gaussian_derivative2d", "laplacian_of_gaussian", "sobel"]

_SOBEL_BLOCK = 1 << 17  # pixels per block of the no-grad Sobel (a few 256 KiB buffers)
_MAG_SCALE = 0.25 * math.sqrt(0.5)


def gaussian_derivative2d(
    image: Tensor,
    sigma: float | tuple[float, float],
    order: tuple[int, int] = (0, 1),
    *,
    truncate: float = 4.0,
    border: str = "reflect",
) -> Tensor:
    r"""Differentiate the Gaussian-smoothed image: :math:`\partial^{o_y + o_x} (f * G_\sigma)`.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma: one standard deviation or ``(sigma_y, sigma_x)``, > 0.
        order: ``(order_y, order_x)``, each 0, 1 or 2 (``(0, 0)`` is the plain blur).
        truncate: kernel radius ``int(truncate * sigma + 0.5)`` per axis.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        The derivative image, same shape and dtype; y grows down the rows, x along columns.

    Notes:
        Differentiation commutes with convolution, so
        :math:`\partial_y^{a}\partial_x^{b}(f * G) = f * (g^{(a)}(y)\,g^{(b)}(x))`, two 1-D
        passes with the kernels of :func:`~pixlearn.filters.gaussian_kernel1d`. Equals
        ``scipy.ndimage.gaussian_filter(f, sigma, order=order, mode='mirror')``.

    Example:
        >>> ramp = torch.arange(12.0).repeat(12, 1) * 0.5  # slope 0.5 along x
        >>> round(gaussian_derivative2d(ramp, 1.0, (0, 1))[6, 6].item(), 4)
        0.5

    References:
        Koenderink, J. J. "The structure of images." Biological Cybernetics 1984.
    """
    x, shape, dtype = _prepare(image)
    sy, sx = _sigma_pair(sigma, "sigma")
    oy, ox = _order_pair(order)
    check_choice(border, "border", BORDERS)
    ky = gaussian_kernel1d(sy, truncate=truncate, order=oy, dtype=x.dtype, device=x.device)
    kx = gaussian_kernel1d(sx, truncate=truncate, order=ox, dtype=x.dtype, device=x.device)
    return _finish(_separable(x, ky, kx, border, 0.0), shape, dtype)


def laplacian_of_gaussian(
    image: Tensor,
    sigma: float | tuple[float, float],
    *,
    truncate: float = 4.0,
    border: str = "reflect",
    normalize: bool = False,
) -> Tensor:
    r"""The Laplacian of the Gaussian-smoothed image (Marr-Hildreth).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma: one standard deviation or ``(sigma_y, sigma_x)``, > 0.
        truncate: kernel radius per axis, as :func:`gaussian_derivative2d`.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.
        normalize: multiply by :math:`\sigma_y \sigma_x` (scale-normalised LoG, comparable
            across scales).

    Returns:
        The LoG response, same shape and dtype (negative on bright blobs).

    Notes:
        .. math::
            \nabla^2 (f * G_\sigma) = f * \partial_y^2 G_\sigma + f * \partial_x^2 G_\sigma.

        Equals ``scipy.ndimage.gaussian_laplace(f, sigma, mode='mirror')``.

    Example:
        >>> img = torch.zeros(15, 15)
        >>> img[7, 7] = 1.0
        >>> bool(laplacian_of_gaussian(img, 2.0)[7, 7] < 0)
        True

    References:
        Marr, D., Hildreth, E. "Theory of edge detection." Proc. R. Soc. Lond. B 1980.
    """
    sy, sx = _sigma_pair(sigma, "sigma")
    d = dict(truncate=truncate, border=border)
    out = gaussian_derivative2d(image, (sy, sx), (2, 0), **d) + gaussian_derivative2d(
        image, (sy, sx), (0, 2), **d
    )
    return out * (sy * sx) if normalize else out


def difference_of_gaussians(
    image: Tensor,
    sigma_low: float,
    sigma_high: float | None = None,
    *,
    truncate: float = 4.0,
    border: str = "reflect",
) -> Tensor:
    r"""Band-pass an image: blur with ``sigma_low`` minus blur with ``sigma_high``.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma_low: the smaller standard deviation, > 0.
        sigma_high: the larger one, > ``sigma_low``; default ``1.6 * sigma_low``.
        truncate: kernel radius per axis, as :func:`gaussian_blur2d`.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        :math:`f * G_{\sigma_l} - f * G_{\sigma_h}`, same shape and dtype.

    Raises:
        ValueRangeError: a sigma not > 0 or ``sigma_high <= sigma_low``.

    Notes:
        Since :math:`\partial G / \partial \sigma = \sigma \nabla^2 G`,
        :math:`G_{k\sigma} - G_\sigma \approx (k - 1)\sigma^2 \nabla^2 G_\sigma`: the DoG
        approximates :math:`-(k-1)\sigma^2` LoG; Marr and Hildreth chose :math:`k = 1.6`.

    Example:
        >>> difference_of_gaussians(torch.ones(8, 8), 1.0).abs().max().item() < 1e-6
        True

    References:
        Marr, D., Hildreth, E. "Theory of edge detection." Proc. R. Soc. Lond. B 1980.
    """
    low = check_positive(sigma_low, "sigma_low")
    high = 1.6 * low if sigma_high is None else check_positive(sigma_high, "sigma_high")
    if high <= low:
        raise ValueRangeError(f"sigma_high must be > sigma_low ({low}), got {sigma_high!r}")
    d = dict(truncate=truncate, border=border)
    return gaussian_blur2d(image, low, **d) - gaussian_blur2d(image, high, **d)


def sobel(image: Tensor, *, axis: int | None = None, border: str = "reflect") -> Tensor:
    r"""Sobel edge filter: the gradient magnitude, or the derivative along one axis.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        axis: ``None`` for the magnitude, ``-2``/``0`` for d/dy (rows), ``-1``/``1`` for d/dx
            (columns).
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        Same shape and dtype. Normalised as ``skimage.filters.sobel``: each derivative is the
        convolution with :func:`~pixlearn.filters.sobel_kernels` (a ramp of slope ``a`` gives
        ``2a``), the magnitude is :math:`\sqrt{(G_y^2 + G_x^2) / 2}`.

    Notes:
        .. math::
            G_x = \tfrac14 \begin{bmatrix}1\\2\\1\end{bmatrix}
                  \begin{bmatrix}1 & 0 & -1\end{bmatrix} * f, \qquad
            G_y = G_x^\top\text{-kernel} * f.

    Example:
        >>> ramp = torch.arange(6.0).repeat(6, 1)
        >>> sobel(ramp, axis=-1)[2, 2].item()
        2.0

    References:
        Sobel, I., Feldman, G. "A 3x3 isotropic gradient operator for image processing." 1968.
    """
    x, shape, dtype = _prepare(image)
    check_choice(border, "border", BORDERS)
    if axis is not None:
        axis = check_int(axis, "axis")
        check_choice(axis, "axis", (-2, -1, 0, 1))
    if x.shape[0] == 0:
        return _finish(x.clone(), shape, dtype)
    if not (torch.is_grad_enabled() and x.requires_grad):
        return _finish(_sobel_blocks(_pad_one(x, border), axis), shape, dtype)
    xp = _pad(x, (1, 1, 1, 1), border, 0.0)  # (B, H + 2, W + 2)
    gy = gx = None
    if axis in (None, -2, 0):
        # convolved [1, 0, -1] along y: f(y + 1) - f(y - 1), then [1, 2, 1] / 4 along x
        d = xp[:, 2:, :] - xp[:, :-2, :]  # (B, H, W + 2)
        gy = (d[..., :-2] + 2 * d[..., 1:-1] + d[..., 2:]) * 0.25  # (B, H, W)
    if axis in (None, -1, 1):
        d = xp[..., 2:] - xp[..., :-2]  # (B, H + 2, W)
        gx = (d[:, :-2] + 2 * d[:, 1:-1] + d[:, 2:]) * 0.25  # (B, H, W)
    if gy is None:
        out = gx
    elif gx is None:
        out = gy
    else:
        # |G| = sqrt((Gy^2 + Gx^2) / 2), as scikit-image averages over the axes
        s = (gy * gy + gx * gx) * 0.5
        # sqrt has an infinite slope at 0 (flat regions, mirrored borders): gradient 0 there
        out = torch.where(s > 0, torch.sqrt(torch.where(s > 0, s, 1.0)), 0.0)
    return _finish(out, shape, dtype)


def _pad_one(x: Tensor, border: str) -> Tensor:
    """``x (B, H, W)`` extended by one sample on every side, contiguous: ``(B, H + 2, W + 2)``.

    Mirror and edge extensions are written straight into one new tensor (the interior once,
    then two rows and two columns); the other borders use the general :func:`_pad`.
    """
    B, H, W = x.shape
    if border not in ("reflect", "replicate") or min(H, W) < 2:
        return _pad(x, (1, 1, 1, 1), border, 0.0).contiguous()
    # reflect takes the sample next to the edge (f(-1) = f(1)), replicate the edge itself
    near = 1 if border == "reflect" else 0
    xp = x.new_empty(B, H + 2, W + 2)
    xp[:, 1:-1, 1:-1] = x
    xp[:, 0, 1:-1] = x[:, near]
    xp[:, -1, 1:-1] = x[:, H - 1 - near]
    xp[:, :, 0] = xp[:, :, 1 + near]
    xp[:, :, -1] = xp[:, :, W - near]
    return xp


def _sobel_blocks(xp: Tensor, axis: int | None) -> Tensor:
    """Sobel of the padded ``xp (B, H + 2, W + 2)`` without autograd, block by block.

    The same sums as the differentiable path, run over blocks of about ``_SOBEL_BLOCK``
    pixels (whole images when they are small, bands of rows when large) into four scratch
    buffers reused by every block, so the intermediates stay in the CPU cache and no large
    temporary is allocated (on CPU, touching fresh memory costs as much as the arithmetic).
    """
    B, hp, wp = xp.shape
    H, W = hp - 2, wp - 2
    out = xp.new_empty(B, H, W)
    want_y, want_x = axis in (None, -2, 0), axis in (None, -1, 1)
    if H * W >= _SOBEL_BLOCK:
        nb, nr = 1, max(1, _SOBEL_BLOCK // W)
    else:
        nb, nr = max(1, _SOBEL_BLOCK // (H * W)), H
    nb, nr = min(nb, B), min(nr, H)
    dy = xp.new_empty(nb, nr, wp) if want_y else None  # [1, 0, -1] along y
    dx = xp.new_empty(nb, nr + 2, W) if want_x else None  # [1, 0, -1] along x
    both = axis is None
    gy = xp.new_empty(nb, nr, W) if both else None
    gx = xp.new_empty(nb, nr, W) if both else None
    for b0 in range(0, B, nb):
        m = min(B, b0 + nb) - b0
        src = xp[b0 : b0 + m]  # (m, H + 2, W + 2)
        for r0 in range(0, H, nr):
            n = min(H, r0 + nr) - r0
            o = out[b0 : b0 + m, r0 : r0 + n]  # (m, n, W)
            if want_y:
                # d = f(y + 1) - f(y - 1), then gy = d(x - 1) + 2 d(x) + d(x + 1)
                d = torch.sub(src[:, r0 + 2 : r0 + n + 2], src[:, r0 : r0 + n], out=dy[:m, :n])
                g = o if gy is None else gy[:m, :n]
                torch.add(d[..., :-2], d[..., 2:], out=g).add_(d[..., 1:-1], alpha=2)
            if want_x:
                s = src[:, r0 : r0 + n + 2]  # (m, n + 2, W + 2)
                d = torch.sub(s[..., 2:], s[..., :-2], out=dx[:m, : n + 2])
                g = o if gx is None else gx[:m, :n]
                torch.add(d[:, :-2], d[:, 2:], out=g).add_(d[:, 1:-1], alpha=2)
            if both:
                # |G| = sqrt((gy / 4)^2 + (gx / 4)^2) / 2) = sqrt(gy^2 + gx^2) / (4 sqrt 2)
                g = gy[:m, :n].mul_(gy[:m, :n]).addcmul_(gx[:m, :n], gx[:m, :n])
                torch.sqrt(g, out=o).mul_(_MAG_SCALE)
            else:
                o.mul_(0.25)
    return out
