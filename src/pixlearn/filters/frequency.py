"""Filtering in the frequency domain: ideal/Butterworth/Gaussian low-, high- and band-pass
filters, and background (uneven illumination) correction.

By the convolution theorem a linear shift-invariant filter is a product of spectra,
:math:`g = f \\otimes h \\iff G = F \\cdot H`. Here ``H`` is a transfer function designed
directly on the frequency grid (:func:`lowpass`, :func:`highpass`, :func:`bandpass`); FFT
convolution with a spatial kernel is :func:`pixlearn.filters.fft_convolve`. Frequencies are in
cycles per pixel, so the Nyquist frequency is 0.5 along each axis, for odd and even image sizes
alike (the grid is ``torch.fft.fftfreq``: index 0 is the DC term, whatever the size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_range,
    pair,
)
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.imaging.otf import _fft_dtype

__all__ = [
    "FILTER_KINDS",
    "bandpass",
    "correct_background",
    "frequency_response",
    "highpass",
    "lowpass",
]

FILTER_KINDS = ("ideal", "butterworth", "gaussian")
_BOUNDARIES = ("circular", "reflect")


def _check_cutoff(value: float, name: str) -> float:
    return check_range(value, name, 0.0, 0.5, low_inclusive=False)


def frequency_response(
    shape: int | Sequence[int],
    cutoff: float,
    *,
    kind: str = "ideal",
    order: int = 2,
    highpass: bool = False,
    onesided: bool = False,
    centered: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The transfer function :math:`H(\nu)` of a radial low-pass (or high-pass) filter.

    Args:
        shape: the image size ``(H, W)`` (or ``n``) whose DFT grid is sampled.
        cutoff: the cut-off frequency :math:`D_0` in cycles per pixel, in ``(0, 0.5]``.
        kind: ``"ideal"``, ``"butterworth"`` or ``"gaussian"``.
        order: the Butterworth order :math:`n` >= 1 (ignored by the other kinds).
        highpass: return the complementary high-pass :math:`1 - H`.
        onesided: only the ``W // 2 + 1`` non-negative column frequencies (the ``rfft2`` half).
        centered: DC moved to the centre (``fftshift``, for display); not with ``onesided``.
        dtype: floating dtype of the result (a factory option, as in :func:`torch.zeros`).
        device: device of the result.

    Returns:
        :math:`H`, shape ``(H, W)`` (or ``(H, W // 2 + 1)`` when ``onesided``), real, in [0, 1].

    Notes:
        With :math:`D(\nu) = \sqrt{\nu_y^2 + \nu_x^2}` the distance from DC in cycles/pixel:

        .. math::
            H_\text{ideal} = [D \le D_0], \qquad
            H_\text{Butterworth} = \frac{1}{\sqrt{1 + (D / D_0)^{2n}}}, \qquad
            H_\text{Gauss} = e^{-D^2 / (2 D_0^2)}.

        At the cut-off the Butterworth magnitude is :math:`1/\sqrt{2}` (-3 dB, the classical
        analogue definition; Gonzalez & Woods use its square) and the Gaussian
        :math:`e^{-1/2}`. A Gaussian blur of spatial std :math:`\sigma` is the Gaussian
        filter with :math:`D_0 = 1 / (2\pi\sigma)`.

    Example:
        >>> h = frequency_response(8, 0.25, kind="butterworth", order=1, dtype=torch.float64)
        >>> round(float(h[0, 2]), 6), float(h[0, 0])  # (0, 0.25) is on the cut-off; DC passes
        (0.707107, 1.0)

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.8-4.9.
    """
    n, m = pair(shape, "shape")
    d0 = _check_cutoff(cutoff, "cutoff")
    check_choice(kind, "kind", FILTER_KINDS)
    order = check_int(order, "order", min_value=1)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise WrongTypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    if onesided and centered:
        raise ValueRangeError("centered=True needs the full grid, got onesided=True")
    fy = torch.fft.fftfreq(n, dtype=torch.float64, device=device)  # (H,), cycles/pixel
    fx = (torch.fft.rfftfreq if onesided else torch.fft.fftfreq)(
        m, dtype=torch.float64, device=device
    )  # (W,) or (W // 2 + 1,)
    d2 = fy[:, None] ** 2 + fx[None, :] ** 2  # (H, W'), D^2
    r2 = d2 / (d0 * d0)  # (D / D0)^2
    if kind == "ideal":
        # H = [D <= D0] (a relative tolerance keeps frequencies that sit on the cut-off)
        resp = (r2 <= 1.0 + 1e-12).to(torch.float64)
    elif kind == "butterworth":
        # H = 1 / sqrt(1 + (D / D0)^(2n))
        resp = torch.rsqrt(1.0 + r2**order)
    else:
        # H = exp(-D^2 / (2 D0^2))
        resp = torch.exp(-0.5 * r2)
    if highpass:
        resp = 1.0 - resp
    if centered:
        resp = torch.fft.fftshift(resp)
    return resp.to(dtype)


def _symmetric_extend(x: Tensor) -> Tensor:
    """``(..., H, W) -> (..., 2H, 2W)``: the image and its mirror images, a continuous period."""
    x = torch.cat([x, x.flip(-2)], dim=-2)  # (..., 2H, W)
    return torch.cat([x, x.flip(-1)], dim=-1)  # (..., 2H, 2W)


def _apply_response(
    image: Tensor, boundary: str, make: dict[float, float], kind: str, order: int
) -> Tensor:
    """Multiply the (checked) image's spectrum by ``sum(sign * H_lowpass(cutoff))``."""
    check_choice(boundary, "boundary", _BOUNDARIES)
    check_choice(kind, "kind", FILTER_KINDS)
    if image.numel() == 0:
        return image.clone()
    x = _fft_dtype(image)
    h, w = x.shape[-2:]
    if boundary == "reflect":
        x = _symmetric_extend(x)  # (..., 2H, 2W)
    n, m = x.shape[-2:]
    resp = x.new_zeros(n, m // 2 + 1)  # (N, M // 2 + 1)
    for cutoff, sign in make.items():
        resp = resp + sign * frequency_response(
            (n, m), cutoff, kind=kind, order=order, onesided=True, dtype=x.dtype, device=x.device
        )
    out = torch.fft.irfft2(torch.fft.rfft2(x) * resp, s=(n, m))  # (..., N, M)
    return out[..., :h, :w].to(image.dtype)


def lowpass(
    image: Tensor,
    cutoff: float,
    *,
    kind: str = "ideal",
    order: int = 2,
    boundary: str = "circular",
) -> Tensor:
    r"""Keep the frequencies below ``cutoff``: smoothing, the "main areas, no texture".

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (a zero-size batch is fine).
        cutoff: :math:`D_0` in cycles per pixel, in ``(0, 0.5]``.
        kind: ``"ideal"`` (sharp, rings), ``"butterworth"`` or ``"gaussian"`` (no ringing).
        order: the Butterworth order :math:`n` >= 1.
        boundary: ``"circular"``: the image is one period (the plain DFT); ``"reflect"``: it is
            first mirrored to ``(2H, 2W)`` (edge sample repeated), so the opposite borders do
            not bleed into each other.

    Returns:
        The filtered image, same shape and dtype (float16/bfloat16 computed in float32).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: a non-floating image.
        ShapeError: fewer than 2 dims.
        ValueRangeError: NaN/Inf, ``cutoff`` outside ``(0, 0.5]``, an unknown option.

    Notes:
        :math:`g = \mathcal{F}^{-1}\{H \cdot \mathcal{F}\{f\}\}` with :math:`H` of
        :func:`frequency_response`; DC passes unchanged, so the mean is kept.

    Example:
        >>> y = torch.arange(16.0)
        >>> img = torch.cos(2 * torch.pi * 0.0625 * y) + torch.cos(2 * torch.pi * 0.375 * y)
        >>> out = lowpass(img.expand(16, 16), 0.2)
        >>> bool(torch.allclose(out[0], torch.cos(2 * torch.pi * 0.0625 * y), atol=1e-5))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.8.
    """
    check_image(image, "image", floating=True)
    d0 = _check_cutoff(cutoff, "cutoff")
    order = check_int(order, "order", min_value=1)
    return _apply_response(image, boundary, {d0: 1.0}, kind, order)


def highpass(
    image: Tensor,
    cutoff: float,
    *,
    kind: str = "ideal",
    order: int = 2,
    boundary: str = "circular",
) -> Tensor:
    r"""Keep the frequencies above ``cutoff``: details and texture, flat areas go to 0.

    The complement of :func:`lowpass` with the same arguments:
    ``lowpass(f) + highpass(f) == f`` (the transfer functions sum to 1).

    Args:
        image: shape ``(..., H, W)``, float, finite.
        cutoff: :math:`D_0` in cycles per pixel, in ``(0, 0.5]``.
        kind: ``"ideal"``, ``"butterworth"`` or ``"gaussian"``.
        order: the Butterworth order :math:`n` >= 1.
        boundary: ``"circular"`` or ``"reflect"``, as in :func:`lowpass`.

    Returns:
        The filtered image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        :math:`H_\text{hp} = 1 - H_\text{lp}`; the mean of the output is 0.

    Example:
        >>> img = torch.rand(8, 8, dtype=torch.float64)
        >>> s = lowpass(img, 0.2, kind="gaussian") + highpass(img, 0.2, kind="gaussian")
        >>> bool(torch.allclose(s, img))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.9.
    """
    check_image(image, "image", floating=True)
    d0 = _check_cutoff(cutoff, "cutoff")
    order = check_int(order, "order", min_value=1)
    return image - _apply_response(image, boundary, {d0: 1.0}, kind, order)


def bandpass(
    image: Tensor,
    low: float,
    high: float,
    *,
    kind: str = "ideal",
    order: int = 2,
    boundary: str = "circular",
) -> Tensor:
    r"""Keep the frequencies between ``low`` and ``high``: a difference filter.

    Args:
        image: shape ``(..., H, W)``, float, finite.
        low: the lower cut-off in cycles per pixel, in ``(0, 0.5]``, ``< high``.
        high: the upper cut-off in cycles per pixel, in ``(0, 0.5]``.
        kind: ``"ideal"``, ``"butterworth"`` or ``"gaussian"``.
        order: the Butterworth order :math:`n` >= 1.
        boundary: ``"circular"`` or ``"reflect"``, as in :func:`lowpass`.

    Returns:
        The filtered image, same shape and dtype; its mean is 0.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: cut-offs outside ``(0, 0.5]`` or ``low >= high``, and as :func:`lowpass`.

    Notes:
        The difference of two low-passes,
        :math:`H_\text{bp} = H_\text{lp}(D_\text{high}) - H_\text{lp}(D_\text{low})`, so that
        ``lowpass(f, low) + bandpass(f, low, high) + highpass(f, high) == f``; for the ideal
        kind it passes exactly :math:`D_\text{low} < D \le D_\text{high}`.

    Example:
        >>> img = torch.rand(8, 8, dtype=torch.float64)
        >>> parts = lowpass(img, 0.1) + bandpass(img, 0.1, 0.3) + highpass(img, 0.3)
        >>> bool(torch.allclose(parts, img))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.10.
    """
    check_image(image, "image", floating=True)
    lo, hi = _check_cutoff(low, "low"), _check_cutoff(high, "high")
    if lo >= hi:
        raise ValueRangeError(f"low must be < high, got low={low!r} and high={high!r}")
    order = check_int(order, "order", min_value=1)
    return _apply_response(image, boundary, {hi: 1.0, lo: -1.0}, kind, order)


def correct_background(
    image: Tensor,
    *,
    sigma: float | None = None,
    cutoff: float | None = None,
    kind: str = "gaussian",
    order: int = 2,
    boundary: str = "reflect",
) -> Tensor:
    r"""Remove uneven illumination: subtract a low-pass background, add its mean back.

    Args:
        image: shape ``(..., H, W)``, float, finite; each ``(H, W)`` plane separately.
        sigma: spatial standard deviation (pixels) of the Gaussian that estimates the
            background, > 0; larger than the objects to keep. Exactly one of ``sigma`` and
            ``cutoff`` must be given.
        cutoff: the background's cut-off frequency in cycles per pixel, in ``(0, 0.5]``.
        kind: the low-pass used with ``cutoff`` (``sigma`` always means Gaussian).
        order: the Butterworth order.
        boundary: ``"reflect"`` (default: a tilted illumination is not periodic) or
            ``"circular"``.

    Returns:
        The corrected image, same shape and dtype; its mean equals the input's mean.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: both or neither of ``sigma``/``cutoff``, values out of range,
            NaN/Inf. WrongTypeError: a non-floating image.

    Notes:
        With :math:`b = \text{lowpass}(f)` the background estimate,

        .. math::
            g = f - b + \bar b, \qquad \bar b = \frac{1}{HW}\sum_{y, x} b(y, x).

        ``sigma`` maps to the Gaussian cut-off :math:`D_0 = 1 / (2\pi\sigma)`.

    Example:
        >>> y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
        >>> img = 0.2 + 0.02 * x + 0.1 * (torch.rand(32, 32) > 0.9)  # spots on a ramp
        >>> out = correct_background(img, sigma=8.0)
        >>> bool(abs(out.mean() - img.mean()) < 1e-5)
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.9 (shading
        correction); Russ, J. C. *The Image Processing Handbook*, 6th ed., ch. 4.
    """
    check_image(image, "image", floating=True)
    if (sigma is None) == (cutoff is None):
        raise ValueRangeError(
            f"give exactly one of sigma and cutoff, got sigma={sigma!r} and cutoff={cutoff!r}"
        )
    if sigma is not None:
        s = check_range(sigma, "sigma", 0.0, low_inclusive=False)
        # a spatial Gaussian of std sigma has the transfer function exp(-2 pi^2 sigma^2 D^2)
        d0, kind = 1.0 / (2.0 * math.pi * s), "gaussian"
        if d0 > 0.5:
            raise ValueRangeError(f"sigma must be >= 1 / pi (cut-off <= 0.5), got {sigma!r}")
    else:
        d0 = _check_cutoff(cutoff, "cutoff")
    order = check_int(order, "order", min_value=1)
    if image.numel() == 0:
        return image.clone()
    background = _apply_response(image, boundary, {d0: 1.0}, kind, order)
    # g = f - b + mean(b)
    return image - background + background.mean(dim=(-2, -1), keepdim=True)
