"""Full-reference image quality: mean squared error, PSNR and SSIM.

They compare a restored (or compressed, generated) image with the reference it should equal. MSE
and PSNR count the error energy; SSIM (Wang et al. 2004) compares local means, contrasts and
structure in a Gaussian window, closer to what a viewer notices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["mse", "psnr", "ssim"]

Dims = int | Sequence[int] | None


def _check_pair(image: Tensor, reference: Tensor) -> None:
    check_image(image, "image", floating=True)
    check_image(reference, "reference", floating=True)
    if image.shape != reference.shape:
        raise ShapeError(
            f"image and reference must have the same shape, got {describe(image)} and "
            f"{describe(reference)}"
        )


def _reduce(x: Tensor, dim: Dims) -> Tensor:
    return x.mean() if dim is None else x.mean(dim=dim)


def _data_range(reference: Tensor, data_range: float | None) -> float:
    """``data_range``, or scikit-image's guess for float images: 1 if ``reference >= 0`` else 2."""
    if data_range is not None:
        return check_positive(data_range, "data_range")
    lo, hi = float(reference.detach().min()), float(reference.detach().max())
    if lo < -1 or hi > 1:
        raise ValueRangeError(
            "data_range must be given when reference is outside [-1, 1] (the range assumed "
            f"for float images), got values in [{lo:.4g}, {hi:.4g}]"
        )
    return 1.0 if lo >= 0 else 2.0


def mse(image: Tensor, reference: Tensor, *, dim: Dims = None) -> Tensor:
    r"""Mean squared error :math:`\frac{1}{N}\sum (x - y)^2`.

    Args:
        image: the image to judge, shape ``(..., H, W)``, float.
        reference: the ground truth, same shape.
        dim: dims to average over; ``None`` (default) averages everything (one number, as
            ``skimage.metrics.mean_squared_error``); ``(-3, -2, -1)`` gives one value per
            ``(C, H, W)`` image of a batch.

    Returns:
        The MSE, a 0-d tensor or the shape left by ``dim``, dtype of ``image``; differentiable.

    Raises:
        WrongTypeError: non-floating inputs. ShapeError: different shapes, empty images.
        ValueRangeError: NaN/Inf.

    Example:
        >>> mse(torch.zeros(4, 4), torch.full((4, 4), 0.5))
        tensor(0.2500)
    """
    _check_pair(image, reference)
    return _reduce((image - reference) ** 2, dim)


def psnr(
    image: Tensor, reference: Tensor, *, data_range: float | None = None, dim: Dims = None
) -> Tensor:
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(R^2 / \mathrm{MSE})`.

    Args:
        image: the image to judge, shape ``(..., H, W)``, float.
        reference: the ground truth, same shape.
        data_range: :math:`R`, the span of possible values. ``None``: 1 if ``reference`` is
            non-negative, 2 if it has negative values (scikit-image's rule for floats);
            ``reference`` outside ``[-1, 1]`` then needs an explicit value.
        dim: dims the MSE averages over, as in :func:`mse` (``None``: the whole tensor).

    Returns:
        PSNR in dB (``inf`` for identical images), 0-d or the shape left by ``dim``;
        differentiable. Equals ``skimage.metrics.peak_signal_noise_ratio(reference, image)``.

    Raises:
        As :func:`mse`; ValueRangeError for ``data_range <= 0`` or a reference outside
        ``[-1, 1]`` without ``data_range``.

    Example:
        >>> psnr(torch.zeros(4, 4), torch.full((4, 4), 0.1))  # 10 log10(1 / 0.01)
        tensor(20.0000)

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 8.1.
    """
    _check_pair(image, reference)
    r = _data_range(reference, data_range)
    err = _reduce((image - reference) ** 2, dim)
    # PSNR = 10 log10(R^2 / MSE) = 20 log10(R) - 10 log10(MSE)
    return 20.0 * math.log10(r) - 10.0 * torch.log10(err)


def _symmetric_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Indices of a length-``n`` axis extended by ``pad`` on each side, mirrored with the edge
    sample repeated (SciPy's ``'reflect'``, period ``2n``)."""
    j = torch.arange(-pad, n + pad, device=device) % (2 * n)  # (n + 2 pad,)
    return torch.where(j < n, j, 2 * n - 1 - j)


def _local_means(stack: Tensor, kernel: Tensor) -> Tensor:
    """Filter every ``(H, W)`` plane of ``stack`` with the separable 1-D ``kernel``, symmetric
    boundary: the local (weighted) means of the SSIM window."""
    h, w = stack.shape[-2:]
    r = kernel.numel() // 2
    ext = stack.index_select(-2, _symmetric_index(h, r, stack.device))
    ext = ext.index_select(-1, _symmetric_index(w, r, stack.device))  # (..., H + 2r, W + 2r)
    flat = ext.reshape(-1, 1, h + 2 * r, w + 2 * r)  # (B, 1, H + 2r, W + 2r)
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1))  # (B, 1, H, W + 2r)
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1))  # (B, 1, H, W)
    return flat.reshape(stack.shape)


def ssim(
    image: Tensor,
    reference: Tensor,
    *,
    data_range: float | None = None,
    gaussian_weights: bool = True,
    sigma: float = 1.5,
    win_size: int | None = None,
    full: bool = False,
    use_sample_covariance: bool = False,
    k1: float = 0.01,
    k2: float = 0.03,
    dim: Dims = None,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Structural similarity index (Wang et al. 2004), Gaussian window by default.

    Args:
        image: the image to judge, shape ``(..., H, W)``, float; each ``(H, W)`` plane is
            compared on its own (channels are planes).
        reference: the ground truth, same shape.
        data_range: :math:`R`, as in :func:`psnr` (``None``: 1, or 2 for a reference with
            negative values).
        gaussian_weights: weight the window with a Gaussian of std ``sigma`` truncated at
            :math:`3.5\sigma` (radius ``int(3.5 sigma + 0.5)``); else a uniform
            ``win_size`` x ``win_size`` box.
        sigma: std of the Gaussian window, > 0.
        win_size: odd window side, at most ``min(H, W)``; ``None``: ``2 int(3.5 sigma + 0.5)
            + 1`` (11 for sigma 1.5) with Gaussian weights, 7 without. As in scikit-image, with
            Gaussian weights it only sets the border excluded from the mean,
            ``(win_size - 1) // 2`` pixels on each side.
        full: also return the SSIM map.
        use_sample_covariance: divide (co)variances by ``N - 1`` instead of ``N`` (``N``
            pixels in the window); ``False`` is Wang et al.'s choice.
        k1: :math:`K_1`, >= 0. k2: :math:`K_2`, >= 0.
        dim: dims of the (cropped) SSIM map to average; ``None``: all (one number; for a
            ``(C, H, W)`` image this equals scikit-image's ``channel_axis`` result).

    Returns:
        The mean SSIM (0-d, or the shape left by ``dim``), and with ``full`` also the SSIM map
        ``(..., H, W)``. Values in ``[-1, 1]``, 1 for identical images; differentiable.
        Equals ``skimage.metrics.structural_similarity(image, reference, data_range=R,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.

    Raises:
        As :func:`psnr`; ShapeError for a window larger than the image, ValueRangeError for an
        even ``win_size``, ``sigma <= 0`` or negative ``k1``/``k2``.

    Notes:
        With :math:`\mu, \sigma^2, \sigma_{xy}` the windowed means, variances and covariance
        (symmetric image boundary), :math:`C_1 = (K_1 R)^2`, :math:`C_2 = (K_2 R)^2`:

        .. math::
            \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
            {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}.

    Example:
        >>> x = torch.rand(32, 32)
        >>> float(ssim(x, x))
        1.0
        >>> noise = torch.randn(32, 32)
        >>> bool(ssim(x + 0.3 * noise, x) < ssim(x + 0.1 * noise, x) < 1)  # more noise, lower
        True

    References:
        Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. "Image quality assessment:
        from error visibility to structural similarity." IEEE TIP 13 (2004).
    """
    _check_pair(image, reference)
    r_data = _data_range(reference, data_range)
    s = check_positive(sigma, "sigma")
    c1 = (check_positive(k1, "k1", strict=False) * r_data) ** 2
    c2 = (check_positive(k2, "k2", strict=False) * r_data) ** 2
    radius = int(3.5 * s + 0.5)
    if win_size is None:
        win_size = 2 * radius + 1 if gaussian_weights else 7
    size = check_int(win_size, "win_size", min_value=1)
    if size % 2 == 0:
        raise ValueRangeError(f"win_size must be odd, got {size}")
    h, w = image.shape[-2:]
    if size > min(h, w):
        raise ShapeError(
            f"win_size must be at most the image's smaller side {min(h, w)}, got {size} "
            f"(image {describe(image)}; pass a smaller odd win_size)"
        )
    dtype, device = image.dtype, image.device
    if gaussian_weights:
        t = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
        kernel = torch.exp(-0.5 * (t / s) ** 2)  # (2 radius + 1,)
    else:
        kernel = torch.ones(size, dtype=torch.float64, device=device)
    kernel = (kernel / kernel.sum()).to(dtype)
    x, y = image, reference
    # the five local moments in one pass: E[x], E[y], E[x^2], E[y^2], E[xy]
    moments = _local_means(torch.stack([x, y, x * x, y * y, x * y]), kernel)  # (5, ..., H, W)
    ux, uy, uxx, uyy, uxy = moments.unbind(0)
    n = size**2
    cov_norm = n / (n - 1) if use_sample_covariance and n > 1 else 1.0
    vx = cov_norm * (uxx - ux * ux)  # sigma_x^2
    vy = cov_norm * (uyy - uy * uy)  # sigma_y^2
    vxy = cov_norm * (uxy - ux * uy)  # sigma_xy
    # SSIM = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2))
    smap = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (size - 1) // 2
    inner = smap[..., pad : h - pad, pad : w - pad]  # the border is left out of the mean
    value = _reduce(inner.double(), dim).to(dtype)
    return (value, smap) if full else value
