"""Linear shift-invariant (LSI) imaging: blurring an image with a PSF by the convolution theorem.

Any LSI system is a convolution with its PSF, and a convolution is a product of spectra:
:math:`g = f \\otimes h \\iff G = F \\cdot \\mathrm{OTF}`. The product runs on real FFTs
(``rfft2``/``irfft2``) of a size with only small prime factors, so a large PSF costs no more than
a small one. The image border is handled by extending the image first (``boundary``).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_choice, check_finite, check_image, describe
from pixlearn._core.errors import ShapeError
from pixlearn.imaging.otf import _check_psf, _fft_dtype, _wrap_to_origin

__all__ = ["BOUNDARIES", "Blur", "blur"]

BOUNDARIES = ("circular", "reflect", "zero")


@functools.lru_cache(maxsize=512)
def _is_fast(n: int) -> bool:
    """Whether ``n`` has no prime factor above 7 (FFT-friendly)."""
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


@functools.lru_cache(maxsize=512)
def _next_fast(n: int) -> int:
    """The smallest FFT-friendly length >= ``n``."""
    while not _is_fast(n):
        n += 1
    return n


def _extend_index(n: int, before: int, after: int, boundary: str, device: torch.device) -> Tensor:
    """Source indices of the image extended by ``before``/``after`` samples along one axis.

    ``circular`` wraps (``j mod n``); ``reflect`` mirrors about the edge sample without
    repeating it (period ``2 (n - 1)``, as NumPy's ``'reflect'`` also for pads longer than the
    image; a single sample is repeated).
    """
    j = torch.arange(-before, n + after, device=device)  # (n + before + after,)
    if boundary == "circular":
        return j % n
    if n == 1:
        return torch.zeros_like(j)
    period = 2 * (n - 1)
    m = j % period
    return torch.where(m < n, m, period - m)


def blur(image: Tensor, psf: Tensor, *, boundary: str = "circular") -> Tensor:
    r"""Image an object through an LSI system: convolve it with the PSF, same size out.

    Args:
        image: the object, shape ``(..., H, W)``, float, finite, non-empty. A 1x1 image works:
            it is multiplied by ``psf.sum()`` (``circular``, ``reflect``) or by the PSF's centre
            value (``zero``).
        psf: the PSF, shape ``(h, w)`` or ``(..., h, w)`` with leading dims broadcastable
            against the image's; non-negative with a positive sum (not necessarily 1), centred
            on ``(h // 2, w // 2)``, odd or even sized. Any size is accepted, also larger than
            the image: ``circular`` then folds it onto the image's period, ``zero`` and
            ``reflect`` extend the image as far as the PSF reaches. It is cast to the image's
            dtype and device.
        boundary: how the image continues beyond its border. ``"circular"``: periodically (the
            plain DFT model); ``"reflect"``: mirrored about the edge pixel without repeating it
            (NumPy ``'reflect'``, OpenCV ``BORDER_REFLECT_101``); ``"zero"``: with zeros.

    Returns:
        The blurred image, shape ``broadcast(image.shape[:-2], psf.shape[:-2]) + (H, W)``,
        dtype of ``image`` (float16/bfloat16 are computed in float32). It may be a
        non-contiguous view (a crop of the padded result). Finite values so large that their
        sum overflows are blurred after dividing by the largest magnitude, then scaled back.

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` or ``psf`` not a floating tensor.
        ShapeError: fewer than 2 dims, an empty image or PSF, leading dims that do not
            broadcast (named ``psf``).
        ValueRangeError: NaN/Inf in ``image`` or ``psf``, a negative PSF value or a PSF that
            sums to 0, an unknown ``boundary``.

    Notes:
        True convolution (the PSF is flipped, unlike correlation), with :math:`s` counted from
        the PSF centre :math:`(h // 2, w // 2)`:

        .. math::
            g(x) = \sum_s f(x - s)\,h(s) \quad\Longleftrightarrow\quad
            G(\nu) = F(\nu)\,\mathrm{OTF}(\nu).

        The image is extended by the PSF's reach (``circular`` on an FFT-friendly size needs
        none), zero-padded to a length with prime factors <= 7 and multiplied by one OTF per
        PSF, shared by the whole batch.

    Example:
        >>> img = torch.zeros(1, 7, 7)
        >>> img[0, 3, 3] = 1.0  # a point source images as the PSF itself
        >>> psf = torch.rand(3, 3) + 0.1
        >>> bool(torch.allclose(blur(img, psf)[0, 2:5, 2:5], psf, atol=1e-6))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.6-4.7 and 5.5.
    """
    check_image(image, "image", floating=True, finite=False)
    # any NaN/Inf makes the sum NaN/Inf: one cheap reduction, the exact count only on failure
    scale = None
    if image.numel() and not bool(torch.isfinite(image.sum())):
        check_finite(image, "image")
        # finite values whose sum overflows (~1e38 in float32) would overflow the FFT too:
        # blur is linear, so blur the image divided by its largest magnitude, then scale back
        scale = image.detach().abs().amax()
    _check_psf(psf)
    check_choice(boundary, "boundary", BOUNDARIES)
    try:
        lead = torch.broadcast_shapes(image.shape[:-2], psf.shape[:-2])
    except RuntimeError:
        raise ShapeError(
            f"psf leading dims must broadcast against the image's {tuple(image.shape[:-2])}, "
            f"got {describe(psf)}"
        ) from None
    x = _fft_dtype(image if scale is None else image / scale)
    kernel = psf.to(dtype=x.dtype, device=x.device)
    if 0 in lead:  # a zero-size batch: nothing to transform (MKL refuses empty FFTs)
        return image.new_zeros(*lead, *image.shape[-2:])
    (h, w), (ph, pw) = image.shape[-2:], psf.shape[-2:]
    cy, cx = ph // 2, pw // 2
    if boundary == "circular" and _is_fast(h) and _is_fast(w):
        # period (H, W) already FFT-friendly: no extension, the PSF is folded onto the period
        src, oy, ox, n, m = x, 0, 0, h, w
    elif boundary == "zero":
        # the FFT's own zero padding is the extension; no wrap-around reaches [0, H) when
        # N >= H + max(cy, h - 1 - cy)
        src, oy, ox = x, 0, 0
        n, m = _next_fast(h + max(cy, ph - 1 - cy)), _next_fast(w + max(cx, pw - 1 - cx))
    else:
        # g(x) needs f(x - s) for s in [-cy, h - 1 - cy]: extend by h - 1 - cy before, cy after
        oy, ox = ph - 1 - cy, pw - 1 - cx
        src = _extend(x, (oy, cy, ox, cx), boundary)  # (..., H + h - 1, W + w - 1)
        n, m = _next_fast(h + ph - 1), _next_fast(w + pw - 1)
    otf = torch.fft.rfft2(_wrap_to_origin(kernel, (n, m)))  # (..., N, M // 2 + 1), shared
    spectrum = torch.fft.rfft2(src, s=(n, m))  # (..., N, M // 2 + 1)
    # G = F . OTF (in place when no gradient needs the factors)
    if spectrum.shape == torch.broadcast_shapes(spectrum.shape, otf.shape) and not (
        torch.is_grad_enabled() and (spectrum.requires_grad or otf.requires_grad)
    ):
        spectrum.mul_(otf)
    else:
        spectrum = spectrum * otf
    full = torch.fft.irfft2(spectrum, s=(n, m))  # (..., N, M)
    out = full[..., oy : oy + h, ox : ox + w]
    return (out if scale is None else out * scale).to(image.dtype)


def _extend(x: Tensor, pads: tuple[int, int, int, int], boundary: str) -> Tensor:
    """Extend ``x (..., H, W)`` by ``(top, bottom, left, right)`` samples, reflected or wrapped."""
    top, bottom, left, right = pads
    h, w = x.shape[-2:]
    limit = h - 1 if boundary == "reflect" else h
    limit_w = w - 1 if boundary == "reflect" else w
    if x.numel() and max(top, bottom) <= limit and max(left, right) <= limit_w:
        # the common case, one extension deep: torch's own padding kernel
        flat = x.reshape(-1, h, w)  # (B, H, W)
        out = F.pad(flat, (left, right, top, bottom), mode=boundary)
        return out.reshape(*x.shape[:-2], *out.shape[-2:])
    rows = _extend_index(h, top, bottom, boundary, x.device)  # (H + top + bottom,)
    cols = _extend_index(w, left, right, boundary, x.device)  # (W + left + right,)
    return x.index_select(-2, rows).index_select(-1, cols)


class Blur(nn.Module):
    """Module form of :func:`blur`: holds the PSF as a buffer (it moves with ``.to``).

    Args:
        psf: the PSF, as in :func:`blur` (checked here, stored as a copy).
        boundary: ``"circular"``, ``"reflect"`` or ``"zero"``.

    Example:
        >>> from pixlearn.imaging import gaussian_psf
        >>> m = Blur(gaussian_psf(5, 1.0), boundary="reflect")
        >>> m(torch.ones(2, 8, 8)).sub(1).abs().max().item() < 1e-6
        True
    """

    psf: Tensor

    def __init__(self, psf: Tensor, *, boundary: str = "circular") -> None:
        super().__init__()
        _check_psf(psf)
        self.boundary = check_choice(boundary, "boundary", BOUNDARIES)
        self.register_buffer("psf", psf.detach().clone())

    def forward(self, image: Tensor) -> Tensor:
        return blur(image, self.psf, boundary=self.boundary)

    def extra_repr(self) -> str:
        return f"psf_shape={tuple(self.psf.shape)}, boundary={self.boundary!r}"
