"""Gabor filters and filter banks: oriented, band-limited, localised frequency detectors.

A Gabor kernel is a complex sinusoid under a Gaussian window: where the Fourier transform says
*which* frequencies an image holds, a bank of Gabor filters at several frequencies and
orientations also says *where* and *along which direction* (the receptive fields of simple
cells in the visual cortex look alike, and so do the first-layer filters CNNs learn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_positive, check_range
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.imaging.blur import _extend, _next_fast
from pixlearn.imaging.otf import _fft_dtype, _wrap_to_origin

__all__ = ["COMBINES", "gabor_filter_bank", "gabor_kernel"]

COMBINES = ("max", "sum", "mean")


def _sigma_prefactor(bandwidth: float) -> float:
    """sigma * frequency for a half-magnitude bandwidth of ``bandwidth`` octaves."""
    b = 2.0**bandwidth
    return math.sqrt(math.log(2.0) / 2.0) / math.pi * (b + 1.0) / (b - 1.0)


def gabor_kernel(
    frequency: float,
    theta: float = 0.0,
    *,
    bandwidth: float = 1.0,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
    n_stds: float = 3,
    offset: float = 0.0,
    dtype: torch.dtype = torch.complex64,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A complex 2-D Gabor kernel: a Gaussian envelope times a complex sinusoid.

    Parameterised as :func:`skimage.filters.gabor_kernel`, so the two can be compared.

    Args:
        frequency: frequency of the sinusoid in cycles per pixel, > 0.
        theta: orientation in radians; 0 makes the sinusoid vary along x (columns).
        bandwidth: half-magnitude bandwidth in octaves, > 0; sets ``sigma_x``/``sigma_y``
            when they are not given (:math:`\sigma \propto 1 / f`).
        sigma_x: std of the envelope along the sinusoid's direction (before rotation), > 0.
        sigma_y: std of the envelope across it, > 0.
        n_stds: half-size of the kernel in standard deviations, > 0 (at least 1 pixel).
        offset: phase offset of the sinusoid in radians.
        dtype: complex dtype of the result (complex64 or complex128).
        device: device of the result.

    Returns:
        The kernel, shape ``(2 y_0 + 1, 2 x_0 + 1)`` (odd), centred on ``(y_0, x_0)``.

    Notes:
        With :math:`x' = x\cos\theta + y\sin\theta` and :math:`y' = -x\sin\theta + y\cos\theta`,

        .. math::
            g(x, y) = \frac{1}{2\pi\sigma_x\sigma_y}
            \exp\left(-\frac{x'^2}{2\sigma_x^2} - \frac{y'^2}{2\sigma_y^2}\right)
            \exp\big(i\,(2\pi f x' + \psi)\big),

        and, without explicit sigmas,
        :math:`\sigma = \frac{1}{\pi f}\sqrt{\frac{\ln 2}{2}}\,\frac{2^b + 1}{2^b - 1}`.
        The half-sizes are :math:`x_0 = \lceil\max(|n\sigma_x\cos\theta|,
        |n\sigma_y\sin\theta|, 1)\rceil` and
        :math:`y_0 = \lceil\max(|n\sigma_y\cos\theta|, |n\sigma_x\sin\theta|, 1)\rceil`.

    Example:
        >>> g = gabor_kernel(0.25, 0.0, sigma_x=1.0, sigma_y=1.0, n_stds=2)
        >>> g.shape, g.dtype, bool(g[2, 2].imag == 0)
        (torch.Size([5, 5]), torch.complex64, True)

    References:
        Daugman, J. G. "Uncertainty relation for resolution in space, spatial frequency, and
        orientation optimized by two-dimensional visual cortical filters." JOSA A 2(7), 1985.
    """
    f = check_positive(frequency, "frequency")
    th = check_range(theta, "theta")
    psi = check_range(offset, "offset")
    n = check_positive(n_stds, "n_stds")
    if not isinstance(dtype, torch.dtype) or not dtype.is_complex:
        raise WrongTypeError(f"dtype must be a complex torch.dtype, got {dtype!r}")
    if sigma_x is None or sigma_y is None:
        s = _sigma_prefactor(check_positive(bandwidth, "bandwidth")) / f
    sx = s if sigma_x is None else check_positive(sigma_x, "sigma_x")
    sy = s if sigma_y is None else check_positive(sigma_y, "sigma_y")
    ct, st = math.cos(th), math.sin(th)
    x0 = math.ceil(max(abs(n * sx * ct), abs(n * sy * st), 1))
    y0 = math.ceil(max(abs(n * sy * ct), abs(n * sx * st), 1))
    y = torch.arange(-y0, y0 + 1, dtype=torch.float64, device=device)[:, None]  # (h, 1)
    x = torch.arange(-x0, x0 + 1, dtype=torch.float64, device=device)[None, :]  # (1, w)
    # rotated coordinates: x' along the sinusoid, y' across it
    xr = x * ct + y * st  # (h, w)
    yr = -x * st + y * ct  # (h, w)
    # Gaussian envelope exp(-x'^2 / (2 sx^2) - y'^2 / (2 sy^2)) / (2 pi sx sy)
    envelope = torch.exp(-0.5 * (xr**2 / sx**2 + yr**2 / sy**2)) / (2.0 * math.pi * sx * sy)
    # complex sinusoid exp(i (2 pi f x' + psi))
    phase = 2.0 * math.pi * f * xr + psi
    return torch.polar(envelope, phase).to(dtype)


def gabor_filter_bank(
    image: Tensor,
    frequencies: Sequence[float],
    thetas: Sequence[float],
    *,
    combine: str | None = None,
    bandwidth: float = 1.0,
    n_stds: float = 3,
    boundary: str = "reflect",
) -> Tensor:
    r"""Response magnitudes of a bank of Gabor filters (frequencies x orientations).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (channels are filtered alone).
        frequencies: the sinusoid frequencies in cycles per pixel, each > 0, at least one.
        thetas: the orientations in radians, at least one.
        combine: ``None`` keeps every response; ``"max"``, ``"sum"`` or ``"mean"`` reduce the
            bank to one map per image (the syllabus' filter-bank combinations).
        bandwidth: bandwidth in octaves, sets each kernel's envelope (:func:`gabor_kernel`).
        n_stds: kernel half-size in standard deviations.
        boundary: how the image continues beyond its border: ``"reflect"`` (mirrored about the
            edge pixel, SciPy ``'mirror'``/OpenCV ``BORDER_REFLECT_101``) or ``"circular"``.

    Returns:
        :math:`|f \otimes g_{k}|`, shape ``(..., F*T, H, W)`` with ``k = i_f * T + i_theta``
        (frequency-major), or ``(..., H, W)`` when combined. Dtype of ``image``.

    Shape:
        ``(..., H, W) -> (..., F*T, H, W)`` or ``(..., H, W)``.

    Raises:
        WrongTypeError: a non-floating image. ShapeError: empty image or empty bank.
        ValueRangeError: NaN/Inf, a frequency <= 0, an unknown ``combine``/``boundary``.

    Notes:
        Each response is a true convolution with the complex kernel, by FFT on the image
        extended by the largest kernel's reach (one image spectrum for the whole bank):

        .. math::
            m_k = \sqrt{(f \otimes \Re g_k)^2 + (f \otimes \Im g_k)^2},\qquad
            m_{\max} = \max_k m_k,\ m_\Sigma = \sum_k m_k,\ \bar m = \tfrac{1}{K}\sum_k m_k.

    Example:
        >>> img = torch.rand(2, 32, 32)
        >>> gabor_filter_bank(img, [0.1, 0.2], [0.0, 0.7, 1.4]).shape
        torch.Size([2, 6, 32, 32])
        >>> gabor_filter_bank(img, [0.1, 0.2], [0.0, 0.7], combine="max").shape
        torch.Size([2, 32, 32])

    References:
        Jain, A. K., Farrokhnia, F. "Unsupervised texture segmentation using Gabor filters."
        Pattern Recognition 24(12), 1991.
    """
    check_image(image, "image", floating=True)
    if combine is not None:
        check_choice(combine, "combine", COMBINES)
    check_choice(boundary, "boundary", ("reflect", "circular"))
    freqs, angles = list(frequencies), list(thetas)
    if not freqs or not angles:
        raise ShapeError(
            f"frequencies and thetas must each hold at least one value, got "
            f"{len(freqs)} frequencies and {len(angles)} thetas"
        )
    x = _fft_dtype(image)
    ctype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    kernels = [
        gabor_kernel(f, t, bandwidth=bandwidth, n_stds=n_stds, dtype=ctype, device=x.device)
        for f in freqs
        for t in angles
    ]
    ry = max(k.shape[-2] // 2 for k in kernels)
    rx = max(k.shape[-1] // 2 for k in kernels)
    h, w = x.shape[-2:]
    n_k = len(kernels)
    if x.numel() == 0:
        out = x.new_zeros(*x.shape[:-2], n_k, h, w)
    else:
        # extend the image by the largest kernel's reach; zero padding up to (N, M) beyond
        # the extension is never reached by the kept outputs
        ext = _extend(x, (ry, ry, rx, rx), boundary)  # (..., H + 2ry, W + 2rx)
        n, m = _next_fast(h + 2 * ry), _next_fast(w + 2 * rx)
        spec = torch.fft.rfft2(ext, s=(n, m)).unsqueeze(-3)  # (..., 1, N, M // 2 + 1)
        bank = torch.stack([_wrap_to_origin(k, (n, m)) for k in kernels])  # (K, N, M) complex
        # real and imaginary kernel parts are real filters: half spectra suffice
        re = torch.fft.irfft2(spec * torch.fft.rfft2(bank.real), s=(n, m))  # (..., K, N, M)
        im = torch.fft.irfft2(spec * torch.fft.rfft2(bank.imag), s=(n, m))  # (..., K, N, M)
        # m_k = |f * g_k| on the original pixels
        out = torch.hypot(re[..., ry : ry + h, rx : rx + w], im[..., ry : ry + h, rx : rx + w])
    if combine == "max":
        out = out.amax(dim=-3)
    elif combine == "sum":
        out = out.sum(dim=-3)
    elif combine == "mean":
        out = out.mean(dim=-3)
    return out.to(image.dtype)
