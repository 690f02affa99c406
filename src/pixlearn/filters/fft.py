"""FFT convolution: a linear convolution computed as a product of zero-padded spectra.

By the convolution theorem :math:`g = f \\otimes h \\iff G = F \\cdot H`; padding both signals to
at least ``H + h - 1`` samples makes the circular convolution of the DFT equal the linear one.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, describe
from pixlearn._core.errors import ShapeError
from pixlearn.imaging.blur import _next_fast
from pixlearn.imaging.otf import _fft_dtype

__all__ = ["fft_convolve"]

_MODES = ("full", "same", "valid")


def fft_convolve(image: Tensor, kernel: Tensor, *, mode: str = "full") -> Tensor:
    r"""Linear (not circular) 2-D convolution of real arrays through the FFT, batched.

    Args:
        image: the signal, shape ``(..., H, W)``, float, finite, non-empty.
        kernel: any real kernel, shape ``(h, w)`` or ``(..., h, w)`` with leading dims
            broadcastable against the image's, float, finite, non-empty. It is cast to the
            image's dtype and device.
        mode: ``"full"`` (every overlap, ``(H + h - 1, W + w - 1)``), ``"same"`` (the centre
            ``(H, W)`` of the full result, as :func:`scipy.signal.fftconvolve`) or ``"valid"``
            (only complete overlaps, ``(H - h + 1, W - w + 1)``; needs ``h <= H``, ``w <= W``).

    Returns:
        The convolution, dtype of ``image`` (float16/bfloat16 are computed in float32).

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H', W')`` with the leading dims broadcast.

    Raises:
        WrongTypeError: ``image`` or ``kernel`` not a floating tensor.
        ShapeError: an empty input, fewer than 2 dims, leading dims that do not broadcast, a
            kernel larger than the image in ``"valid"`` mode.
        ValueRangeError: NaN/Inf values, an unknown ``mode``.

    Notes:
        .. math::
            g(y, x) = \sum_{u, v} f(y - u, x - v)\,k(u, v)
            \quad\Longleftrightarrow\quad G = F \cdot K,

        with both arrays zero-padded to a length with prime factors <= 7 that is long enough
        for no wrap-around to reach the requested output (``H + h - 1`` for ``"full"``, only
        ``H`` for ``"valid"``).

    Example:
        >>> f = torch.tensor([[1.0, 2.0, 3.0]])
        >>> fft_convolve(f, torch.tensor([[1.0, 1.0]]))
        tensor([[1., 3., 5., 3.]])

    References:
        Oppenheim, A. V., Schafer, R. W. *Discrete-Time Signal Processing*, 3rd ed., sec. 8.7.
    """
    check_image(image, "image", floating=True)
    check_image(kernel, "kernel", floating=True)
    check_choice(mode, "mode", _MODES)
    try:
        lead = torch.broadcast_shapes(image.shape[:-2], kernel.shape[:-2])
    except RuntimeError:
        raise ShapeError(
            f"kernel leading dims must broadcast against the image's "
            f"{tuple(image.shape[:-2])}, got {describe(kernel)}"
        ) from None
    (h, w), (kh, kw) = image.shape[-2:], kernel.shape[-2:]
    if mode == "valid" and (kh > h or kw > w):
        raise ShapeError(
            f"kernel must not be larger than the image ({h}, {w}) in 'valid' mode, "
            f"got {describe(kernel)}"
        )
    # first index of the full result that is kept, and the output size
    if mode == "full":
        (sy, sx), (oh, ow) = (0, 0), (h + kh - 1, w + kw - 1)
    elif mode == "same":
        (sy, sx), (oh, ow) = ((kh - 1) // 2, (kw - 1) // 2), (h, w)
    else:
        (sy, sx), (oh, ow) = (kh - 1, kw - 1), (h - kh + 1, w - kw + 1)
    if 0 in lead:
        return image.new_zeros(*lead, oh, ow)
    x = _fft_dtype(image)
    k = kernel.to(dtype=x.dtype, device=x.device)
    # a circular convolution of length N equals the linear one at index i when no sample
    # wraps: i - u >= 0 or N + i - u > H - 1, i.e. N >= H + h - 1 - i for the first kept i
    n, m = _next_fast(h + kh - 1 - sy), _next_fast(w + kw - 1 - sx)
    spectrum = torch.fft.rfft2(x, s=(n, m)) * torch.fft.rfft2(k, s=(n, m))  # (..., N, M//2+1)
    full = torch.fft.irfft2(spectrum, s=(n, m))  # (..., N, M)
    return full[..., sy : sy + oh, sx : sx + ow].to(image.dtype)
