"""Histograms, histogram equalisation and histogram specification (matching).

A histogram counts how many pixels fall in each intensity bin; normalised and cumulated it is
the empirical CDF :math:`F(r)`. Mapping every pixel through its own CDF, :math:`s = F(r)`, spreads
the values so the output's CDF is close to the identity (a flat histogram): *equalisation*.
Mapping through :math:`G^{-1}(F(r))`, with :math:`G` a reference image's CDF, gives the image the
reference's histogram: *specification*.

Every ``(H, W)`` plane (each channel of each image) is its own distribution, batched over the
leading dims; the bins follow ``numpy.histogram`` exactly (edges ``linspace(lo, hi, bins + 1)``
in the image's dtype, the last edge inclusive), so counts equal NumPy's bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.exposure._binning import bin_counts, blocks, linspace_edges

__all__ = ["equalize_hist", "histogram", "match_histograms"]


def histogram(
    image: Tensor, bins: int = 256, *, range: tuple[float, float] = (0.0, 1.0)
) -> tuple[Tensor, Tensor]:
    r"""Count the pixels of each ``(H, W)`` plane in ``bins`` equal bins over ``range``.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty planes (a zero-size batch is
            fine).
        bins: number of bins, >= 1.
        range: ``(low, high)``, ``low < high``. Values outside are not counted; a value equal
            to ``high`` falls in the last bin (as ``numpy.histogram``).

    Returns:
        ``(counts, bin_centers)``: int64 counts shaped ``(..., bins)`` and the ``(bins,)`` bin
        centres in the image's dtype.

    Shape:
        ``(..., H, W) -> (..., bins), (bins,)``.

    Notes:
        Bin :math:`i` holds the values :math:`r` with :math:`e_i \le r < e_{i+1}`,
        :math:`e_i = \mathrm{low} + i\,(\mathrm{high} - \mathrm{low}) / \mathrm{bins}`.

    Example:
        >>> counts, centers = histogram(torch.tensor([[0.1, 0.2], [0.6, 1.0]]), 2)
        >>> counts, centers
        (tensor([2, 2]), tensor([0.2500, 0.7500]))
    """
    check_image(image, "image", floating=True)
    bins = check_int(bins, "bins", min_value=1)
    lo_f, hi_f = _pair(range, "range")
    if lo_f >= hi_f:
        raise ValueRangeError(f"range must have low < high, got {range!r}")
    h, w = image.shape[-2:]
    lead = image.shape[:-2]
    x = image.reshape(-1, h * w)  # (P, N)
    rows = max(x.shape[0], 1)
    lo = torch.full((rows, 1), lo_f, dtype=image.dtype, device=image.device)
    hi = torch.full((rows, 1), hi_f, dtype=image.dtype, device=image.device)
    if x.shape[0] == 0:
        edges = linspace_edges(lo, hi, bins)  # (1, bins + 1)
        centers = (edges[0, :-1] + edges[0, 1:]) / 2  # (bins,)
        return torch.zeros(*lead, bins, dtype=torch.int64, device=image.device), centers
    # values outside the range are not counted (NumPy drops them before binning)
    keep = (x >= lo) & (x <= hi)
    counts, edges = bin_counts(x.clamp(lo_f, hi_f), lo, hi, bins, keep=keep)  # (P, bins)
    centers = (edges[0, :-1] + edges[0, 1:]) / 2  # (bins,)
    return counts.reshape(*lead, bins), centers


def _pair(value: Any, name: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ShapeError(f"{name} must be a pair (low, high), got {describe(value)}")
    return check_range(value[0], name), check_range(value[1], name)


def equalize_hist(image: Tensor, bins: int = 256, *, mask: Tensor | None = None) -> Tensor:
    r"""Histogram equalisation: map each plane through its own cumulative histogram.

    As ``skimage.exposure.equalize_hist``: the histogram spans each plane's ``min..max`` (of
    the pixels under ``mask``), its normalised cumulative sum is the CDF, and every pixel is
    mapped by linear interpolation of the CDF between the bin centres.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty planes. Each ``(H, W)`` plane
            (every channel of every image) is equalised on its own.
        bins: number of histogram bins, >= 1.
        mask: bool, broadcastable to ``image``: only these pixels build the histogram (all
            pixels are mapped). Every plane needs at least one selected pixel.

    Returns:
        The equalised image in (0, 1], same shape and dtype. A constant plane (its range
        widened to value +- 0.5, as scikit-image) becomes 0.5 for an even ``bins``, 1 for odd.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        With :math:`n_k` pixels in bin :math:`k` of :math:`N`, the CDF at bin :math:`k` is
        :math:`F_k = \sum_{j \le k} n_j / N`, and

        .. math:: s = \mathrm{interp}(r;\ c_k, F_k),

        :math:`c_k` the bin centres; the output's cumulative histogram approximates the
        identity.

    Example:
        >>> x = torch.tensor([[0.0, 0.25], [0.5, 1.0]])
        >>> equalize_hist(x, 4)
        tensor([[0.2500, 0.3750],
                [0.6250, 1.0000]])

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 3.3.
    """
    check_image(image, "image", floating=True)
    bins = check_int(bins, "bins", min_value=1)
    h, w = image.shape[-2:]
    x = image.reshape(-1, h * w)  # (P, N)
    keep = None
    if mask is not None:
        check_tensor(mask, "mask")
        if mask.dtype != torch.bool:
            raise ValueRangeError(f"mask must be a bool tensor, got {describe(mask)}")
        try:
            keep = mask.to(image.device).expand(image.shape).reshape(-1, h * w)  # (P, N)
        except RuntimeError:
            raise ShapeError(
                f"mask must broadcast to the image's shape {tuple(image.shape)}, "
                f"got {describe(mask)}"
            ) from None
    if x.shape[0] == 0:
        return image.clone()
    if keep is None:
        # (amin and amax: two vectorised passes, faster than aminmax along a dim)
        lo, hi = x.amin(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)  # (P, 1) each
    else:
        if not bool(keep.any(dim=1).all()):
            raise ValueRangeError("mask must select at least one pixel of every plane")
        lo = torch.where(keep, x, torch.inf).amin(dim=1, keepdim=True)
        hi = torch.where(keep, x, -torch.inf).amax(dim=1, keepdim=True)
    # a constant plane gets the range value +- 0.5 (as NumPy/scikit-image)
    flat = lo == hi
    lo, hi = torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)
    rows = x.shape[0]
    # every pixel's bin, as its slot index h = bin + 1 + p (bins + 2), kept for the mapping
    index = torch.empty(x.shape, dtype=torch.int32, device=x.device)  # (P, N)
    xb = x if keep is None else torch.minimum(torch.maximum(x, lo), hi)
    counts, edges = bin_counts(xb, lo, hi, bins, keep=keep, index_out=index)
    # F_k = sum_{j <= k} n_j / N, rounded to the image's dtype as scikit-image does
    cum = counts.cumsum(dim=1).double()
    cdf = (cum / cum[:, -1:]).to(image.dtype).double()  # (P, bins)
    centers = (edges[:, :-1] + edges[:, 1:]) / 2  # (P, bins), image dtype
    cd = centers.double()
    # np.interp: on segment j (c_j <= r < c_{j+1}) s = F_j + slope_j (r - c_j); F_0 left of
    # c_0, F_last right of c_last. Segment k = the number of centres <= r, in [0, bins], is
    # stored at slot entry k + 1 of the plane's (bins + 2)-slot
    slope = (cdf[:, 1:] - cdf[:, :-1]) / (cd[:, 1:] - cd[:, :-1])  # (P, bins - 1)
    zero = cdf.new_zeros(rows, 1)
    seg_slope = torch.cat([zero, zero, slope, zero], dim=1).reshape(-1)  # (P (bins + 2),)
    seg_x = torch.cat([zero, cd[:, :1], cd], dim=1).reshape(-1)
    seg_f = torch.cat([zero, cdf[:, :1], cdf], dim=1).reshape(-1)
    # the centre of the bin at slot entry h: centres_slot[h] = c_{h - 1} (float64, exact)
    centers_slot = torch.cat([cd[:, :1], cd, cd[:, -1:]], dim=1).reshape(-1)
    out = torch.empty_like(x)  # (P, N)
    for rs, cs in blocks(rows, x.shape[1]):
        xd = x[rs, cs].to(torch.float64, copy=True)  # (r, c), a copy: changed in place below
        h = index[rs, cs]  # (r, c) int32: bin + 1 (+ the plane's slot)
        shape = h.shape
        # k + 1 = h + [r >= c_bin]: the number of centres <= r, plus one (the comparison as
        # r - c >= 0: exact, and faster than a bool tensor)
        c = centers_slot.index_select(0, h.reshape(-1)).view(shape)
        k = h + torch.sub(xd, c, out=c).ge_(0).to(torch.int32)
        flat_k = k.reshape(-1)
        # s = slope_k (r - x_k) + F_k, in float64 as np.interp
        s = xd.sub_(seg_x.index_select(0, flat_k).view(shape))
        s.mul_(seg_slope.index_select(0, flat_k).view(shape))
        s.add_(seg_f.index_select(0, flat_k).view(shape))
        out[rs, cs] = s
    return out.reshape(image.shape)


def _right_rank(sorted_rows: Tensor) -> Tensor:
    """For each entry of the sorted rows ``(P, N)``, the count of row entries ``<=`` it."""
    n = sorted_rows.shape[1]
    pos = torch.arange(n, device=sorted_rows.device).expand_as(sorted_rows)  # (P, N)
    # an entry is the last of its run of equal values when the next one differs
    last = torch.ones_like(sorted_rows, dtype=torch.bool)
    last[:, :-1] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    # the position of the run's last entry: a running minimum taken from the right
    end = torch.where(last, pos, n).flip(1).cummin(dim=1).values.flip(1)
    return end + 1


def match_histograms(
    image: Tensor, reference: Tensor, *, channel_axis: int | None = None
) -> Tensor:
    r"""Histogram specification: give ``image`` the histogram of ``reference``.

    As ``skimage.exposure.match_histograms``: each value is replaced by the reference value
    at the same quantile, interpolated linearly between the reference's distinct values.

    Args:
        image: float, finite, at least 2 dims, non-empty.
        reference: float, finite, at least 2 dims, non-empty; any size.
        channel_axis: ``None`` matches the whole tensor as one distribution; an axis (e.g.
            ``-3`` for ``(C, H, W)``) matches each slice along it with the reference's slice
            of the same index (both must have the same length there). Stack a batch along a
            new axis and pass it here to match image by image.

    Returns:
        The matched image, same shape and dtype as ``image``.

    Notes:
        With :math:`F` the image's and :math:`G` the reference's empirical CDF,

        .. math:: s = G^{-1}(F(r)),

        :math:`F(r)` = share of image pixels :math:`\le r`; :math:`G^{-1}` interpolates
        linearly between the reference's distinct values. With equal sizes and distinct
        values the output is a permutation of the reference's values.

    Example:
        >>> img = torch.tensor([[0.1, 0.5], [0.3, 0.2]])
        >>> ref = torch.tensor([[1.0, 4.0], [3.0, 2.0]])
        >>> match_histograms(img, ref)
        tensor([[1., 4.],
                [3., 2.]])

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 3.3.
    """
    check_image(image, "image", floating=True)
    check_image(reference, "reference", floating=True)
    if channel_axis is None:
        src = image.reshape(1, -1)  # (1, N)
        tmpl = reference.reshape(1, -1)  # (1, M)
    else:
        axis = check_int(channel_axis, "channel_axis")
        if not (-image.dim() <= axis < image.dim() and -reference.dim() <= axis < reference.dim()):
            raise ValueRangeError(
                f"channel_axis must be a valid axis of image ({image.dim()}-D) and "
                f"reference ({reference.dim()}-D), got {channel_axis}"
            )
        if image.shape[axis] != reference.shape[axis]:
            raise ShapeError(
                f"reference must have as many channels as image along channel_axis "
                f"{axis}: {reference.shape[axis]} != {image.shape[axis]}"
            )
        c = image.shape[axis]
        src = image.movedim(axis, 0).reshape(c, image.numel() // max(c, 1))  # (C, N)
        tmpl = reference.movedim(axis, 0).reshape(c, reference.numel() // max(c, 1))  # (C, M)
    if src.shape[0] == 0 or src.shape[1] == 0:
        return image.clone()
    if tmpl.shape[1] == 0:
        raise ShapeError(f"reference must not be empty, got {describe(reference)}")
    n, m = src.shape[1], tmpl.shape[1]
    # F(r) for every source pixel: its right rank in the sorted row, over N
    s_sorted, order = src.sort(dim=1)  # (C, N)
    src_q = torch.empty(src.shape, dtype=torch.float64, device=src.device)
    src_q.scatter_(1, order, _right_rank(s_sorted).double() / n)  # (C, N)
    # G at each sorted reference value (runs of equal values share the quantile of their end)
    t_sorted = tmpl.sort(dim=1).values.double()  # (C, M)
    t_q = _right_rank(t_sorted).double() / m  # (C, M) non-decreasing, last = 1
    # G^{-1}(q): the first reference entry with G >= q, interpolated from the entry before
    k = torch.searchsorted(t_q, src_q.contiguous())  # (C, N) in [0, M - 1]
    k_prev = (k - 1).clamp(min=0)
    q1, q0 = t_q.gather(1, k), t_q.gather(1, k_prev)
    v1, v0 = t_sorted.gather(1, k), t_sorted.gather(1, k_prev)
    slope = (v1 - v0) / torch.where(q1 > q0, q1 - q0, 1.0)
    inside = (k > 0) & (q1 > src_q)
    out = torch.where(inside, slope * (src_q - q0) + v0, v1)
    if channel_axis is None:
        return out.to(image.dtype).reshape(image.shape)
    moved = image.movedim(channel_axis, 0).shape
    return out.to(image.dtype).reshape(moved).movedim(0, channel_axis)
