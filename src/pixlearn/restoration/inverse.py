"""The inverse filter: divide the spectrum by the OTF, with a threshold that keeps it stable.

Blurring multiplies the spectrum by the OTF, :math:`G = F \\cdot H`, so in the absence of noise
:math:`F = G / H`. Where :math:`|H|` is tiny the division amplifies whatever noise (or rounding)
sits there by :math:`1 / |H|`: the plain inverse filter "blows up". The pseudo-inverse keeps only
the frequencies the optics transmit well enough and sets the others to zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_range
from pixlearn.restoration._fourier import check_pair, transfer_function

__all__ = ["inverse_filter"]


def inverse_filter(image: Tensor, psf: Tensor, *, threshold: float = 0.1) -> Tensor:
    r"""Deconvolve with the pseudo-inverse of the OTF: zero where :math:`|H|` is below threshold.

    Args:
        image: the blurred image, shape ``(..., H, W)``, float, finite.
        psf: the PSF, shape ``(h, w)`` or ``(..., h, w)`` broadcastable against the image's
            leading dims, ``h <= H`` and ``w <= W``, non-negative with a positive sum,
            centred on ``(h // 2, w // 2)``; used as given (a sum ``s != 1`` is a gain the
            filter undoes).
        threshold: relative cut, in ``[0, 1]``. Frequencies with
            :math:`|H| < \mathrm{threshold} \cdot \max|H|` are **zeroed** (not clamped);
            ``max|H|`` is ``psf.sum()``, the zero frequency. ``0`` is the plain inverse filter
            (only exact zeros of :math:`H` are dropped): on a noisy image it blows up.

    Returns:
        The restored image, same shape (broadcast) and dtype; not clipped.

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` or ``psf`` not floating.
        ShapeError: a PSF larger than the image, leading dims that do not broadcast.
        ValueRangeError: NaN/Inf in ``image`` or ``psf``, a negative PSF value or a zero sum,
            ``threshold`` outside ``[0, 1]``.

    Notes:
        The image is taken as periodic (the DFT model of :func:`pixlearn.imaging.blur` with
        ``boundary="circular"``):

        .. math::
            \hat F(\nu) = \begin{cases} G(\nu) / H(\nu) & |H(\nu)| \ge t \max|H| \\
            0 & \text{otherwise.} \end{cases}

    Example:
        >>> from pixlearn.imaging import blur, gaussian_psf
        >>> x = torch.rand(32, 32, dtype=torch.float64)
        >>> psf = gaussian_psf(5, 0.7, dtype=torch.float64)
        >>> out = inverse_filter(blur(x, psf), psf, threshold=0.0)  # no noise: exact
        >>> bool(torch.allclose(out, x, atol=1e-8))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 5.7.
    """
    x, lead = check_pair(image, psf)
    t = check_range(threshold, "threshold", 0.0, 1.0)
    h, w = image.shape[-2:]
    if 0 in lead:  # a zero-size batch (MKL refuses empty transforms)
        return image.new_zeros(*lead, h, w)
    otf = transfer_function(psf, x, "psf")  # (..., H, W // 2 + 1)
    magnitude = otf.abs()
    # keep nu where |H(nu)| >= t max|H| (and H(nu) != 0); 1 / H elsewhere would blow up
    keep = (magnitude >= t * magnitude.amax((-2, -1), keepdim=True)) & (magnitude > 0)
    safe = torch.where(keep, otf, torch.ones_like(otf))
    gain = torch.where(keep, 1.0 / safe, torch.zeros_like(otf))  # the pseudo-inverse of H
    out = torch.fft.irfft2(torch.fft.rfft2(x) * gain, s=(h, w))  # (..., H, W)
    return out.expand(*lead, h, w).to(image.dtype)
