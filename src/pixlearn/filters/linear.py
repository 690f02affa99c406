"""Linear spatial filtering: 2-D convolution and correlation, Gaussian and box blurs.

Images are ``(..., H, W)``; leading dims (batch, channels) are folded into one batch and every
image is filtered alone. The border is extended first (``BORDERS``), then the filter runs in
"valid" mode, so the output has the input's size. Separable filters (Gaussian, box) run as two
1-D passes; a long 1-D pass is a product with a banded (Toeplitz) matrix over blocks of rows,
which is a matrix multiply (the fastest kernel a CPU or GPU has).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_choice, check_image, check_tensor, describe, pair
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.filters.kernels import _sigma_pair, gaussian_kernel1d

__all__ = [
    "BORDERS",
    "GaussianBlur2d",
    "box_blur2d",
    "convolve2d",
    "correlate2d",
    "gaussian_blur2d",
]

BORDERS = ("reflect", "replicate", "constant", "circular")

_BLOCK = 32  # output rows per block of the banded matrix product


def correlate2d(
    image: Tensor, kernel: Tensor, *, border: str = "reflect", value: float = 0.0
) -> Tensor:
    r"""Correlate an image with a kernel (the kernel is not flipped), same size out.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (a zero-size batch is fine).
        kernel: shape ``(kh, kw)``, real, finite, any size (also even or larger than the
            image); cast to the image's dtype and device. Its sample ``(kh // 2, kw // 2)``
            lies over the output pixel, as in ``scipy.ndimage.correlate`` and OpenCV's
            ``filter2D`` default anchor.
        border: how the image continues past its edge: ``"reflect"`` (mirror about the edge
            pixel without repeating it, NumPy ``'reflect'``, SciPy ``'mirror'``, OpenCV
            ``BORDER_REFLECT_101``; repeated as often as a large kernel needs), ``"replicate"``
            (edge pixel repeated), ``"constant"`` (``value``), ``"circular"`` (wrap).
        value: the fill value for ``"constant"``.

    Returns:
        The filtered image, same shape and dtype (float16/bfloat16 are computed in float32).

    Shape:
        ``(..., H, W), (kh, kw) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not a floating tensor, ``kernel`` not a tensor.
        ShapeError: ``image`` empty or under 2-D, ``kernel`` not 2-D or empty.
        ValueRangeError: NaN/Inf in ``image`` or ``kernel``, unknown ``border``.

    Notes:
        With :math:`c = (k_h // 2, k_w // 2)`:
        :math:`g(y, x) = \sum_{i, j} f(y + i - c_y, x + j - c_x)\,k(i, j)`.

    Example:
        >>> img = torch.arange(5.0).repeat(3, 1)  # a ramp along x
        >>> correlate2d(img, torch.tensor([[-1.0, 0.0, 1.0]]))[1, 1:4]
        tensor([2., 2., 2.])

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 3.4.
    """
    x, lead, out_dtype = _prepare(image)
    check_choice(border, "border", BORDERS)
    k = _check_kernel(kernel, x)
    kh, kw = k.shape
    cy, cx = kh // 2, kw // 2
    return _finish(
        _correlate(x, k, (cy, kh - 1 - cy, cx, kw - 1 - cx), border, value), lead, out_dtype
    )


def convolve2d(
    image: Tensor, kernel: Tensor, *, border: str = "reflect", value: float = 0.0
) -> Tensor:
    r"""Convolve an image with a kernel (true convolution: the kernel is flipped).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (a zero-size batch is fine).
        kernel: shape ``(kh, kw)``; its sample ``(kh // 2, kw // 2)`` lies over the output
            pixel (the PSF convention, as ``scipy.ndimage.convolve``), odd or even sized.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` or ``"circular"``, as in
            :func:`correlate2d`.
        value: the fill value for ``"constant"``.

    Returns:
        The filtered image, same shape and dtype.

    Shape:
        ``(..., H, W), (kh, kw) -> (..., H, W)``.

    Raises:
        As :func:`correlate2d`.

    Notes:
        .. math::
            g(y, x) = \sum_{s, t} f(y - s, x - t)\,k(c_y + s, c_x + t), \qquad
            c = (k_h // 2, k_w // 2).

        Convolution is correlation with the flipped kernel. For an odd size both put the
        centre on the same sample, so ``convolve2d(f, k) == correlate2d(f, k.flip(0, 1))``;
        for an even size the flipped kernel's centre is ``k_h - 1 - k_h // 2``, one sample
        before the one :func:`correlate2d` uses (as SciPy's ``convolve``/``correlate`` pair).

    Example:
        >>> img = torch.zeros(5, 5)
        >>> img[2, 2] = 1.0  # an impulse returns the kernel itself
        >>> k = torch.arange(9.0).reshape(3, 3)
        >>> bool(torch.equal(convolve2d(img, k)[1:4, 1:4], k))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 3.4.
    """
    x, lead, out_dtype = _prepare(image)
    check_choice(border, "border", BORDERS)
    k = _check_kernel(kernel, x)
    kh, kw = k.shape
    cy, cx = kh // 2, kw // 2
    # flipped kernel: its centre moves to (kh - 1 - cy, kw - 1 - cx)
    pads = (kh - 1 - cy, cy, kw - 1 - cx, cx)
    return _finish(_correlate(x, k.flip(0, 1), pads, border, value), lead, out_dtype)


def gaussian_blur2d(
    image: Tensor,
    sigma: float | tuple[float, float],
    *,
    truncate: float = 4.0,
    border: str = "reflect",
    value: float = 0.0,
) -> Tensor:
    r"""Smooth an image with a Gaussian, as two separable 1-D passes.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma: standard deviation in pixels, one number or ``(sigma_y, sigma_x)``, > 0.
        truncate: kernel radius ``int(truncate * sigma + 0.5)`` per axis (SciPy's rule).
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` or ``"circular"``.
        value: the fill value for ``"constant"``.

    Returns:
        The blurred image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: ``sigma``/``truncate`` not > 0, unknown ``border``, NaN input.

    Notes:
        .. math::
            G_\sigma(y, x) = g_\sigma(y)\,g_\sigma(x), \qquad
            f * G_\sigma = (f *_y g_\sigma) *_x g_\sigma,

        with :math:`g_\sigma` the normalised sampled Gaussian of
        :func:`~pixlearn.filters.gaussian_kernel1d`. Equals
        ``scipy.ndimage.gaussian_filter(f, sigma, truncate=truncate, mode='mirror')``.

    Example:
        >>> out = gaussian_blur2d(torch.full((2, 9, 9), 0.5), 1.5)
        >>> bool(torch.allclose(out, torch.full_like(out, 0.5)))
        True

    References:
        Witkin, A. P. "Scale-space filtering." IJCAI 1983.
    """
    x, lead, out_dtype = _prepare(image)
    sy, sx = _sigma_pair(sigma, "sigma")
    check_choice(border, "border", BORDERS)
    ky = gaussian_kernel1d(sy, truncate=truncate, dtype=x.dtype, device=x.device)
    kx = gaussian_kernel1d(sx, truncate=truncate, dtype=x.dtype, device=x.device)
    return _finish(_separable(x, ky, kx, border, value), lead, out_dtype)


def box_blur2d(
    image: Tensor, size: int | tuple[int, int], *, border: str = "reflect", value: float = 0.0
) -> Tensor:
    """The mean over a ``(h, w)`` window around each pixel (two 1-D passes).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        size: ``n`` or ``(h, w)``, each >= 1; an even size is centred on ``(h // 2, w // 2)``
            of the window (as :func:`correlate2d` with :func:`~pixlearn.filters.box_kernel`).
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` or ``"circular"``.
        value: the fill value for ``"constant"``.

    Returns:
        The filtered image, same shape and dtype.

    Example:
        >>> box_blur2d(torch.tensor([[0.0, 3.0, 0.0]]), (1, 3))
        tensor([[2., 1., 2.]])
    """
    x, lead, out_dtype = _prepare(image)
    h, w = pair(size, "size")
    check_choice(border, "border", BORDERS)
    ky = torch.full((h,), 1.0 / h, dtype=x.dtype, device=x.device)
    kx = torch.full((w,), 1.0 / w, dtype=x.dtype, device=x.device)
    return _finish(_separable(x, ky, kx, border, value), lead, out_dtype)


class GaussianBlur2d(nn.Module):
    """Module form of :func:`gaussian_blur2d`.

    Example:
        >>> GaussianBlur2d(1.0)(torch.ones(1, 3, 8, 8)).shape
        torch.Size([1, 3, 8, 8])
    """

    def __init__(
        self, sigma: float | tuple[float, float], *, truncate: float = 4.0, border: str = "reflect"
    ) -> None:
        super().__init__()
        self.sigma = _sigma_pair(sigma, "sigma")
        self.truncate = truncate
        self.border = check_choice(border, "border", BORDERS)

    def forward(self, image: Tensor) -> Tensor:
        return gaussian_blur2d(image, self.sigma, truncate=self.truncate, border=self.border)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, truncate={self.truncate}, border={self.border!r}"


# ---- shared machinery (also used by derivatives.py and rank.py) ------------------------------


def _prepare(image: Tensor) -> tuple[Tensor, torch.Size, torch.dtype]:
    """Check ``image`` and fold it to ``(B, H, W)`` in a dtype torch can filter on this device."""
    check_image(image, "image", floating=True)
    dtype = image.dtype
    x = image.reshape(-1, *image.shape[-2:])  # (B, H, W)
    if dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return x, image.shape, dtype


def _finish(out: Tensor, shape: torch.Size, dtype: torch.dtype) -> Tensor:
    """Unfold ``(B, H, W)`` back to the input's shape and dtype."""
    return out.reshape(shape).to(dtype)


def _check_kernel(kernel: Tensor, x: Tensor) -> Tensor:
    check_tensor(kernel, "kernel")
    if kernel.dim() != 2 or kernel.numel() == 0:
        raise ShapeError(f"kernel must be a non-empty 2-D tensor (kh, kw), got {describe(kernel)}")
    if kernel.is_complex() or kernel.dtype == torch.bool:
        raise ShapeError(f"kernel must be real, got {describe(kernel)}")
    k = kernel.to(dtype=x.dtype, device=x.device)
    if not bool(torch.isfinite(k).all()):
        raise ValueRangeError(f"kernel must be finite, got {describe(kernel)} with NaN/Inf")
    return k


def _border_index(n: int, before: int, after: int, border: str, device: torch.device) -> Tensor:
    """Source index of every sample of an axis of length ``n`` extended by ``before``/``after``."""
    j = torch.arange(-before, n + after, device=device)  # (n + before + after,)
    if border == "circular":
        return j % n
    if border == "replicate" or n == 1:
        return j.clamp(0, n - 1)
    # reflect without repeating the edge: period 2 (n - 1)
    period = 2 * (n - 1)
    m = j % period
    return torch.where(m < n, m, period - m)


def _pad(x: Tensor, pads: tuple[int, int, int, int], border: str, value: float) -> Tensor:
    """Extend ``x (B, H, W)`` by ``(top, bottom, left, right)`` samples past its border."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    h, w = x.shape[-2:]
    if border == "constant":
        return F.pad(x, (left, right, top, bottom), mode="constant", value=value)
    limit_h = h - 1 if border == "reflect" else (h if border == "circular" else 1 << 30)
    limit_w = w - 1 if border == "reflect" else (w if border == "circular" else 1 << 30)
    if max(top, bottom) <= limit_h and max(left, right) <= limit_w and x.shape[0] > 0:
        # one extension deep: torch's own padding kernel
        return F.pad(x, (left, right, top, bottom), mode=border)
    rows = _border_index(h, top, bottom, border, x.device)
    cols = _border_index(w, left, right, border, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def _correlate(
    x: Tensor, k: Tensor, pads: tuple[int, int, int, int], border: str, value: float
) -> Tensor:
    """Correlate ``x (B, H, W)`` with ``k (kh, kw)`` after extending it by ``pads``."""
    if x.shape[0] == 0:
        return x.clone()
    xp = _pad(x, pads, border, value)  # (B, H + kh - 1, W + kw - 1)
    # F.conv2d is a correlation: g(y, x) = sum_ij xp(y + i, x + j) k(i, j)
    return F.conv2d(xp.unsqueeze(1), k[None, None]).squeeze(1)  # (B, H, W)


def _separable(x: Tensor, ky: Tensor, kx: Tensor, border: str, value: float) -> Tensor:
    """Convolve ``x (B, H, W)`` with ``ky (Ky,)`` along y, then ``kx (Kx,)`` along x.

    The kernels are symmetric or antisymmetric about their centre, so they are flipped here to
    correlate. The image is extended once by both radii; each pass then runs in "valid" mode.
    """
    if x.shape[0] == 0:
        return x.clone()
    ry, rx = ky.numel() // 2, kx.numel() // 2
    ry2, rx2 = ky.numel() - 1 - ry, kx.numel() - 1 - rx
    # convolution: flipped kernel, centre moved to K - 1 - K // 2
    xp = _pad(x, (ry2, ry, rx2, rx), border, value).contiguous()  # (B, H + Ky - 1, W + Kx - 1)
    y = _pass_rows(xp, ky.flip(0))  # (B, H, W + Kx - 1)
    return _pass_cols(y.contiguous(), kx.flip(0))  # (B, H, W)


def _band(k: Tensor, b: int) -> Tensor:
    """Banded matrix ``T (b, b + K - 1)`` with ``T[i, i + j] = k[j]``: ``T @ v`` correlates."""
    K = k.numel()
    t = k.new_zeros(b, b + K - 1)
    idx = torch.arange(b, device=k.device)[:, None] + torch.arange(K, device=k.device)  # (b, K)
    return t.scatter(1, idx, k.expand(b, K))


def _pass_rows(x: Tensor, k: Tensor) -> Tensor:
    """Valid 1-D correlation along y: ``x (B, Hp, W) -> (B, Hp - K + 1, W)``; ``x`` contiguous."""
    K = k.numel()
    B, hp, w = x.shape
    n = hp - K + 1
    if K <= 5:
        # short kernel: a few shifted multiply-adds, out(y) = sum_j k[j] x(y + j)
        out = x[:, 0:n] * k[0]
        for j in range(1, K):
            out = out + x[:, j : j + n] * k[j]
        return out
    b = min(_BLOCK, n)
    nb = n // b
    t = _band(k, b)  # (b, b + K - 1)
    # overlapping blocks of b + K - 1 input rows, one per b output rows (a view, no copy)
    blocks = x.as_strided(
        (B, nb, b + K - 1, w), (hp * w, b * w, w, 1), x.storage_offset()
    )  # (B, nb, b + K - 1, W)
    out = torch.matmul(t, blocks).reshape(B, nb * b, w)  # (B, nb * b, W)
    rem = n - nb * b
    if rem:
        tail = torch.matmul(t[:rem, : rem + K - 1], x[:, nb * b :])  # (B, rem, W)
        out = torch.cat([out, tail], dim=1)
    return out


def _pass_cols(x: Tensor, k: Tensor) -> Tensor:
    """Valid 1-D correlation along x: ``x (B, H, Wp) -> (B, H, Wp - K + 1)``; ``x`` contiguous."""
    K = k.numel()
    B, h, wp = x.shape
    n = wp - K + 1
    if K <= 5:
        out = x[..., 0:n] * k[0]
        for j in range(1, K):
            out = out + x[..., j : j + n] * k[j]
        return out
    b = min(_BLOCK, n)
    nb = n // b
    tt = _band(k, b).t()  # (b + K - 1, b)
    blocks = x.as_strided(
        (B, nb, h, b + K - 1), (h * wp, b, wp, 1), x.storage_offset()
    )  # (B, nb, H, b + K - 1)
    out = torch.matmul(blocks, tt)  # (B, nb, H, b)
    out = out.permute(0, 2, 1, 3).reshape(B, h, nb * b)  # (B, H, nb * b)
    rem = n - nb * b
    if rem:
        tail = torch.matmul(x[..., nb * b :], tt[: rem + K - 1, :rem])  # (B, H, rem)
        out = torch.cat([out, tail], dim=2)
    return out
