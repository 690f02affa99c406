"""Derivative filters: Gaussian derivatives, LoG, difference of Gaussians, Sobel."""

from __future__ import annotations

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
