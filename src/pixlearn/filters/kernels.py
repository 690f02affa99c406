"""Filter kernels: sampled Gaussians and their derivatives, the box (mean) and the Sobel pair.

Every factory creates its kernel from nothing, so it takes ``dtype=`` and ``device=`` as
``torch.zeros`` does. Kernels are *convolution* kernels centred on sample ``(h // 2, w // 2)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_positive, check_range, pair
from pixlearn._core.errors import ShapeError

__all__ = ["box_kernel", "gaussian_kernel1d", "gaussian_kernel2d", "sobel_kernels"]


def gaussian_kernel1d(
    sigma: float,
    *,
    truncate: float = 4.0,
    order: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A sampled 1-D Gaussian, or its first or second derivative, as SciPy samples it.

    Args:
        sigma: standard deviation in pixels, > 0.
        truncate: the kernel reaches ``radius = int(truncate * sigma + 0.5)`` samples either
            side of its centre, so it has ``2 * radius + 1`` taps; > 0.
        order: 0 (smoothing), 1 (first derivative) or 2 (second derivative).
        dtype: floating dtype of the kernel (default: torch's default dtype).
        device: device of the kernel.

    Returns:
        The convolution kernel, shape ``(2 * radius + 1,)``; sample ``radius`` is the centre.

    Shape:
        ``() -> (2 * radius + 1,)``.

    Raises:
        ValueRangeError: ``sigma`` or ``truncate`` not > 0, ``order`` not in 0..2.

    Notes:
        With :math:`\phi(x) = e^{-x^2 / 2\sigma^2} / \sum_{|u| \le r} e^{-u^2 / 2\sigma^2}`
        (normalised on the samples, so smoothing keeps the mean exactly):

        .. math::
            g_0 = \phi, \quad g_1(x) = -\frac{x}{\sigma^2}\phi(x), \quad
            g_2(x) = \Big(\frac{x^2}{\sigma^4} - \frac{1}{\sigma^2}\Big)\phi(x).

        Convolving with :math:`g_n` differentiates the smoothed image :math:`n` times
        (:math:`(f * g)' = f * g'`), as ``scipy.ndimage.gaussian_filter1d(order=n)`` does.

    Example:
        >>> k = gaussian_kernel1d(1.0)
        >>> k.shape, round(k.sum().item(), 6)
        (torch.Size([9]), 1.0)
        >>> gaussian_kernel1d(1.0, order=1)[4].item()  # odd derivative: 0 at the centre
        0.0

    References:
        Lindeberg, T. "Scale-space for discrete signals." TPAMI 1990.
    """
    sigma = check_positive(sigma, "sigma")
    truncate = check_positive(truncate, "truncate")
    order = check_int(order, "order", min_value=0)
    check_range(order, "order", 0, 2)
    radius = int(truncate * sigma + 0.5)
    dtype = dtype or torch.get_default_dtype()
    # sampled in float64, rounded once to the requested dtype
    x = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)  # (K,)
    phi = torch.exp(-0.5 * (x / sigma) ** 2)
    phi = phi / phi.sum()
    var = sigma * sigma
    if order == 1:
        # g1(x) = -x / sigma^2 * phi(x)
        phi = -x / var * phi
    elif order == 2:
        # g2(x) = (x^2 / sigma^4 - 1 / sigma^2) * phi(x)
        phi = (x * x / (var * var) - 1.0 / var) * phi
    return phi.to(dtype)


def gaussian_kernel2d(
    sigma: float | tuple[float, float],
    *,
    truncate: float = 4.0,
    order: tuple[int, int] = (0, 0),
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A sampled 2-D Gaussian (or derivative): the outer product of two 1-D kernels.

    Args:
        sigma: one standard deviation, or ``(sigma_y, sigma_x)``.
        truncate: as in :func:`gaussian_kernel1d`, per axis.
        order: derivative orders ``(order_y, order_x)``, each in 0..2.
        dtype: floating dtype of the kernel.
        device: device of the kernel.

    Returns:
        The kernel, shape ``(2 r_y + 1, 2 r_x + 1)``.

    Notes:
        The Gaussian is separable: :math:`G(y, x) = g(y)\,g(x)`, so a 2-D Gaussian filter is
        two 1-D passes (``2K`` instead of ``K^2`` operations per pixel).

    Example:
        >>> gaussian_kernel2d((1.0, 0.5)).shape
        torch.Size([9, 5])
    """
    sy, sx = _sigma_pair(sigma, "sigma")
    oy, ox = _order_pair(order)
    ky = gaussian_kernel1d(sy, truncate=truncate, order=oy, dtype=dtype, device=device)
    kx = gaussian_kernel1d(sx, truncate=truncate, order=ox, dtype=dtype, device=device)
    return ky[:, None] * kx[None, :]  # (Ky, Kx)


def box_kernel(
    size: int | tuple[int, int],
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """The mean filter: a ``(h, w)`` kernel of ``1 / (h w)``.

    Args:
        size: ``n`` or ``(h, w)``, each >= 1 (an even size is centred on ``(h // 2, w // 2)``).
        dtype: floating dtype of the kernel.
        device: device of the kernel.

    Returns:
        The kernel, shape ``(h, w)``, summing to 1.

    Example:
        >>> box_kernel((1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """
    h, w = pair(size, "size")
    return torch.full((h, w), 1.0 / (h * w), dtype=dtype, device=device)


def sobel_kernels(
    *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Tensor:
    r"""The Sobel pair ``(d/dy, d/dx)`` as convolution kernels, normalised as scikit-image.

    Args:
        dtype: floating dtype of the kernels.
        device: device of the kernels.

    Returns:
        Shape ``(2, 3, 3)``: index 0 differentiates along rows (y), index 1 along columns (x).

    Notes:
        Each is a smoothing ``[1, 2, 1] / 4`` across the axis times the central difference
        ``[1, 0, -1]`` along it; convolved, it gives :math:`f(x+1) - f(x-1)` smoothed, i.e.
        twice the derivative (a ramp of slope :math:`a` gives :math:`2a`).

    Example:
        >>> sobel_kernels()[1]
        tensor([[ 0.2500,  0.0000, -0.2500],
                [ 0.5000,  0.0000, -0.5000],
                [ 0.2500,  0.0000, -0.2500]])

    References:
        Sobel, I., Feldman, G. "A 3x3 isotropic gradient operator for image processing." 1968.
    """
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64, device=device) / 4
    edge = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64, device=device)
    ky = edge[:, None] * smooth[None, :]  # (3, 3)
    kx = smooth[:, None] * edge[None, :]  # (3, 3)
    return torch.stack([ky, kx]).to(dtype or torch.get_default_dtype())


def _sigma_pair(sigma: float | tuple[float, float], name: str) -> tuple[float, float]:
    """``s`` or ``(sy, sx)`` as two checked positive floats."""
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != 2:
            raise ShapeError(f"{name} must be a number or a pair (sy, sx), got {sigma!r}")
        return check_positive(sigma[0], name), check_positive(sigma[1], name)
    s = check_positive(sigma, name)
    return s, s


def _order_pair(order: int | tuple[int, int]) -> tuple[int, int]:
    """``(oy, ox)`` with each order in 0..2."""
    oy, ox = pair(order, "order", min_value=0)
    check_range(oy, "order", 0, 2)
    check_range(ox, "order", 0, 2)
    return oy, ox
