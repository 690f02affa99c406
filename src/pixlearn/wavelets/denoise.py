r"""Wavelet shrinkage denoising: threshold the detail coefficients, keep the approximation.

White Gaussian noise of standard deviation :math:`\sigma` stays white with the same
:math:`\sigma` in an orthogonal wavelet basis, while a piecewise smooth image concentrates in
a few large coefficients. Shrinking the small detail coefficients towards zero therefore
removes mostly noise (Donoho & Johnstone).

Example:
    >>> torch.manual_seed(0)
    <torch._C.Generator object at 0x...>
    >>> clean = torch.zeros(64, 64); clean[16:48, 16:48] = 1.0
    >>> noisy = clean + 0.1 * torch.randn(64, 64)
    >>> out = wavelet_denoise(noisy, wavelet="db2")
    >>> bool((out - clean).pow(2).mean() < (noisy - clean).pow(2).mean())
    True
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_positive
from pixlearn.wavelets.dwt import dwt_max_level, wavedec2, waverec2
from pixlearn.wavelets.filters import wavelet_filters

__all__ = ["estimate_sigma_mad", "wavelet_denoise"]

# the 75th percentile of the standard normal distribution: MAD = 0.6745 sigma for N(0, sigma^2)
_NORMAL_Q75 = 0.6744897501960817


def _median_last(x: Tensor) -> Tensor:
    """Median over the last axis ignoring NaN, averaging the two middle values (NumPy's rule)."""
    s, _ = x.sort(dim=-1)  # NaN sort last
    k = (~torch.isnan(x)).sum(-1, keepdim=True).clamp(min=1)  # (..., 1)
    lo = s.gather(-1, (k - 1) // 2)
    hi = s.gather(-1, k // 2)
    return ((lo + hi) / 2)[..., 0]


def estimate_sigma_mad(detail: Tensor) -> Tensor:
    r"""Robust noise level from the finest diagonal detail band (Donoho's MAD estimator).

    Args:
        detail: the diagonal detail coefficients ``cD_1``, shape ``(..., h, w)``.

    Returns:
        :math:`\hat\sigma = \operatorname{median}(|d|) / 0.6745` per leading index, ``(...)``;
        coefficients exactly 0 are ignored (masked regions).

    Example:
        >>> d = torch.tensor([[1.0, -1.0], [0.0, 2.0]])
        >>> round(float(estimate_sigma_mad(d)), 4)  # median(1, 1, 2) / 0.6745
        1.4826

    References:
        Donoho, D. L., Johnstone, I. M. "Ideal spatial adaptation by wavelet shrinkage."
        Biometrika 81(3), 1994.
    """
    a = detail.abs().flatten(-2)  # (..., h*w)
    a = torch.where(a == 0, torch.full_like(a, float("nan")), a)
    return _median_last(a) / _NORMAL_Q75


def _threshold(d: Tensor, t: Tensor, mode: str) -> Tensor:
    t = t[..., None, None]
    if mode == "soft":
        # soft: sign(d) max(|d| - t, 0)
        return torch.sign(d) * torch.clamp(d.abs() - t, min=0)
    # hard: d 1[|d| > t]
    return torch.where(d.abs() > t, d, torch.zeros_like(d))


def wavelet_denoise(
    image: Tensor,
    *,
    wavelet: str = "db1",
    mode: str = "soft",
    method: str = "BayesShrink",
    sigma: float | None = None,
    wavelet_levels: int | None = None,
) -> Tensor:
    r"""Denoise images by thresholding their 2-D wavelet detail coefficients.

    Each ``(H, W)`` plane (every channel and batch item) is processed on its own, with its own
    noise estimate and thresholds, as ``skimage.restoration.denoise_wavelet`` does per channel
    (with ``rescale_sigma=False``).

    Args:
        image: noisy images, ``(..., H, W)``, float.
        wavelet: a name from :func:`pixlearn.wavelets.wavelist` (orthogonal ones are the
            designed case).
        mode: ``"soft"`` or ``"hard"`` thresholding.
        method: ``"BayesShrink"`` (one threshold per subband) or ``"VisuShrink"`` (the
            universal threshold for all).
        sigma: the noise standard deviation; ``None`` estimates it per plane from the finest
            diagonal band (:func:`estimate_sigma_mad`).
        wavelet_levels: decomposition levels; ``None`` for ``max(dwt_max_level - 3, 1)``.

    Returns:
        The denoised images, same shape and dtype (not clipped).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        VisuShrink: :math:`T = \sigma \sqrt{2 \ln N}`, :math:`N = HW`.
        BayesShrink, per subband :math:`s`:
        :math:`T_s = \sigma^2 / \sigma_{x,s}`, with
        :math:`\sigma_{x,s} = \sqrt{\max(\overline{d_s^2} - \sigma^2, \epsilon)}`.
        Soft: :math:`\eta(d) = \operatorname{sign}(d)\max(|d| - T, 0)`; hard:
        :math:`\eta(d) = d\,\mathbb{1}[|d| > T]`. The noise level is
        :math:`\hat\sigma = \operatorname{median}(|cD_1|)/0.6745`.

    Example:
        >>> x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
        >>> wavelet_denoise(x, wavelet="db2", method="VisuShrink").shape
        torch.Size([2, 3, 32, 32])

    References:
        Donoho, D. L., Johnstone, I. M. "Ideal spatial adaptation by wavelet shrinkage."
        Biometrika 81(3), 1994.
        Chang, S. G., Yu, B., Vetterli, M. "Adaptive wavelet thresholding for image denoising
        and compression." IEEE TIP 9(9), 2000.
    """
    check_image(image, "image", min_dims=2, floating=True)
    check_choice(mode, "mode", ("soft", "hard"))
    check_choice(method, "method", ("BayesShrink", "VisuShrink"))
    h, w = image.shape[-2:]
    if wavelet_levels is None:
        length = len(wavelet_filters(wavelet).dec_lo)
        wavelet_levels = max(min(dwt_max_level(h, length), dwt_max_level(w, length)) - 3, 1)
    else:
        wavelet_levels = check_int(wavelet_levels, "wavelet_levels", min_value=1)
    coeffs = wavedec2(image, wavelet, level=wavelet_levels)
    details = coeffs[1:]
    lead = image.shape[:-2]
    if sigma is None:
        sig = estimate_sigma_mad(details[-1][2])  # (...)
    else:
        sig = torch.full(lead, check_positive(sigma, "sigma", strict=False), dtype=image.dtype)
        sig = sig.to(image.device)
    var = sig**2
    eps = torch.finfo(image.dtype).eps
    new = []
    for band in details:
        level = []
        for d in band:
            if method == "VisuShrink":
                t = sig * math.sqrt(2 * math.log(h * w))
            else:
                # BayesShrink: T = sigma^2 / sigma_x, sigma_x^2 = max(E[d^2] - sigma^2, eps)
                d_var = (d * d).mean(dim=(-2, -1))  # (...)
                t = var / torch.sqrt(torch.clamp(d_var - var, min=eps))
            level.append(_threshold(d, t, mode))
        new.append(tuple(level))
    return waverec2([coeffs[0], *new], wavelet)[..., :h, :w]
