"""Rank filters: the exact median over a window."""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, pair
from pixlearn._core.errors import ValueRangeError
from pixlearn.filters.linear import BORDERS, _finish, _pad, _prepare

__all__ = ["median_blur2d"]

_CHUNK = 1 << 22  # window values gathered at once (16 MiB in float32)


def median_blur2d(
    image: Tensor, size: int | tuple[int, int], *, border: str = "reflect", value: float = 0.0
) -> Tensor:
    r"""Replace each pixel by the median of the ``(h, w)`` window centred on it (exact).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (a zero-size batch is fine).
        size: ``n`` or ``(h, w)``, each odd and >= 1 (an odd window has one middle value).
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (``value``) or ``"circular"``;
            ``"reflect"`` repeats the mirroring for a window larger than the image.
        value: the fill value for ``"constant"``.

    Returns:
        The filtered image, same shape and dtype. Every output value is one of the window's
        input values (a rank filter creates no new values). Not differentiable in a useful way
        (the gradient goes to the selected pixel).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: an even ``size``, unknown ``border``, NaN/Inf input.

    Notes:
        :math:`g(y, x) = \operatorname{median}\{f(y + i, x + j) : |i| \le h/2, |j| \le w/2\}`.
        A 3x3 window uses the exact sorted-columns rule: with each column sorted into
        (low, mid, high), the median is
        :math:`\operatorname{med}(\max(\text{lows}), \operatorname{med}(\text{mids}),
        \min(\text{highs}))`; larger windows gather the values (in chunks of rows, to bound
        memory) and select the middle one. Equals ``scipy.ndimage.median_filter(f, size,
        mode='mirror')``.

    Example:
        >>> img = torch.zeros(5, 5)
        >>> img[2, 2] = 1.0  # impulse noise is removed
        >>> median_blur2d(img, 3).abs().max().item()
        0.0

    References:
        Tukey, J. W. *Exploratory Data Analysis*, 1977; Paeth, A. W. "Median finding on a
        3x3 grid." Graphics Gems, 1990.
    """
    x, shape, dtype = _prepare(image)
    h, w = pair(size, "size")
    if h % 2 == 0 or w % 2 == 0:
        raise ValueRangeError(f"size must be odd in both axes, got {size!r}")
    check_choice(border, "border", BORDERS)
    if x.shape[0] == 0 or h * w == 1:
        return _finish(x.clone(), shape, dtype)
    xp = _pad(x, (h // 2, h // 2, w // 2, w // 2), border, value)  # (B, H + h - 1, W + w - 1)
    if (h, w) == (3, 3):
        return _finish(_median3x3(xp), shape, dtype)
    B, H, W = x.shape
    windows = xp.unfold(1, h, 1).unfold(2, w, 1)  # (B, H, W, h, w), a view
    rows = max(1, _CHUNK // max(1, B * W * h * w))
    mid = (h * w) // 2
    parts = [
        windows[:, i : i + rows].reshape(B, -1, W, h * w).kthvalue(mid + 1, dim=-1).values
        for i in range(0, H, rows)
    ]  # each (B, rows, W)
    return _finish(torch.cat(parts, dim=1), shape, dtype)


def _median3x3(xp: Tensor) -> Tensor:
    """Exact 3x3 median of ``xp (B, H + 2, W + 2)`` by sorting columns once."""
    n = xp.shape[1] - 2
    a, b, c = xp[:, 0:n], xp[:, 1 : n + 1], xp[:, 2 : n + 2]  # (B, H, W + 2) each
    # sort every vertical triple: lo <= mid <= hi
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    mid = torch.minimum(hi, c)
    hi = torch.maximum(hi, c)
    lo, mid = torch.minimum(lo, mid), torch.maximum(lo, mid)
    m = xp.shape[2] - 2

    def cols(t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return t[..., 0:m], t[..., 1 : m + 1], t[..., 2 : m + 2]

    l0, l1, l2 = cols(lo)
    m0, m1, m2 = cols(mid)
    h0, h1, h2 = cols(hi)
    max_lo = torch.maximum(torch.maximum(l0, l1), l2)
    min_hi = torch.minimum(torch.minimum(h0, h1), h2)
    med_mid = _med3(m0, m1, m2)
    return _med3(max_lo, med_mid, min_hi)  # (B, H, W)


def _med3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Element-wise median of three: max(min(a, b), min(max(a, b), c))."""
    return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))
