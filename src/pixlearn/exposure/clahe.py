"""CLAHE: contrast-limited adaptive histogram equalisation.

Histogram equalisation with one CDF for the whole picture cannot brighten a dark corner and
darken a bright sky at once. Adaptive equalisation gives every tile of a grid its own mapping,
and each pixel blends the mappings of the four nearest tiles bilinearly, so no seams show.
Clipping each tile's histogram at a limit (and handing the excess back to all bins) caps the
slope of the mapping, so flat, noisy regions are not blown up.

The algorithm follows scikit-image's ``equalize_adapthist`` step for step (14-bit working
levels, reflect padding of the last tiles, its clipping and redistribution, its bilinear
blending), written in torch with the histograms of all tiles of all planes counted by one
``bincount``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_range, pair
from pixlearn._core.errors import ValueRangeError

__all__ = ["equalize_adapthist"]

_LEVELS = 2**14  # working gray levels, as scikit-image


def _reflect_index(n: int, before: int, length: int, device: torch.device) -> Tensor:
    """Indices ``-before..length-before-1`` into an axis of size ``n``, mirrored at both ends
    about the edge sample (NumPy's ``'reflect'``, also for pads longer than the axis)."""
    j = torch.arange(-before, length - before, device=device)
    if n == 1:
        return torch.zeros_like(j)
    period = 2 * (n - 1)
    m = j % period
    return torch.where(m < n, m, period - m)


def _clip_histograms(hist: Tensor, clim: int) -> Tensor:
    """Clip each row of ``hist (R, nbins)`` at ``clim`` and hand the excess back to the bins.

    The same steps as scikit-image's ``clip_histogram``, run on all rows at once: clip; add the
    average excess to every bin that stays below the limit (bins that would cross it are
    filled to it); then give out what is left one count at a time, striding through the bins
    still below the limit.
    """
    nbins = hist.shape[1]
    n_excess = (hist - clim).clamp(min=0).sum(dim=1)  # (R,)
    hist = hist.clamp(max=clim)
    bin_incr = n_excess // nbins  # (R,) average increment
    upper = (clim - bin_incr)[:, None]  # (R, 1) bins above this are filled to the limit
    low = hist < upper
    n_excess = n_excess - low.sum(dim=1) * bin_incr
    hist = hist + low * bin_incr[:, None]
    mid = (hist >= upper) & (hist < clim)
    n_excess = n_excess - (mid * (clim - hist)).sum(dim=1)
    hist = torch.where(mid, clim, hist)

    # what is left, one count per bin, every `step`-th bin below the limit from `index` on
    rows = torch.nonzero(n_excess > 0).flatten()
    if rows.numel() == 0:
        return hist
    h, excess = hist[rows], n_excess[rows]  # (A, nbins), (A,)
    pos = torch.arange(nbins, device=hist.device)
    active = torch.ones_like(excess, dtype=torch.bool)
    before_pass = excess.clone()
    it = 0
    while bool(active.any()):
        index = it % nbins
        under = h < clim  # (A, nbins)
        step = (under.sum(dim=1) // excess.clamp(min=1)).clamp(min=1)  # (A,)
        add = under & (pos >= index) & ((pos - index) % step[:, None] == 0) & active[:, None]
        h = h + add
        excess = excess - add.sum(dim=1)
        active &= excess > 0
        if index == nbins - 1:  # end of a pass: rows that took nothing in it stop
            active &= excess != before_pass
            before_pass = excess.clone()
        it += 1
    hist[rows] = h
    return hist


def equalize_adapthist(
    image: Tensor,
    *,
    kernel_size: int | tuple[int, int] | None = None,
    clip_limit: float = 0.01,
    nbins: int = 256,
) -> Tensor:
    r"""Contrast-limited adaptive histogram equalisation (CLAHE) of each ``(H, W)`` plane.

    Args:
        image: shape ``(..., H, W)``, float, values in [0, 1], non-empty planes. Every plane
            (each channel of each image; colour images are *not* converted to HSV as
            scikit-image does) is equalised on its own.
        kernel_size: tile size ``(kh, kw)`` or one int for both; default one eighth of the
            plane, ``(max(H // 8, 1), max(W // 8, 1))``.
        clip_limit: in [0, 1], the largest bin count as a share of the tile's pixels
            (at least 1 count); 0 (or 1) means no clipping: plain adaptive equalisation.
        nbins: histogram bins over the 14-bit working range, >= 1.

    Returns:
        The equalised image, same shape and dtype, each plane stretched to [0, 1]. A
        constant plane becomes zeros.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not a floating tensor.
        ShapeError: empty planes.
        ValueRangeError: NaN/Inf or values outside [0, 1]; ``clip_limit`` outside [0, 1];
            ``nbins < 1``; ``kernel_size < 1``.

    Notes:
        Each plane is quantised to :math:`L = 2^{14}` levels over its own min..max and
        binned. Tile :math:`t`, :math:`K = k_h k_w` pixels, gets the histogram
        :math:`n^t_b` clipped at :math:`\beta = \max(1, \lfloor \mathrm{clip} \cdot K \rfloor)`
        with the excess redistributed, and the mapping

        .. math:: T_t(b) = \Big\lfloor \tfrac{L - 1}{K} \sum_{j \le b} n^t_j \Big\rfloor.

        A pixel at fractional position :math:`(u, v)` between the centres of tiles
        :math:`t_{00}, t_{01}, t_{10}, t_{11}` becomes

        .. math:: s = (1-u)[(1-v) T_{00} + v T_{01}] + u [(1-v) T_{10} + v T_{11}],

        truncated to a level; finally the plane is stretched to [0, 1].

    Example:
        >>> x = torch.rand(1, 64, 64) * 0.2 + 0.4  # low contrast
        >>> y = equalize_adapthist(x, clip_limit=0.03)
        >>> y.shape, float(y.min()), float(y.max())
        (torch.Size([1, 64, 64]), 0.0, 1.0)

    References:
        Zuiderveld, K. "Contrast limited adaptive histogram equalization." *Graphics Gems IV*,
        Academic Press, 1994, pp. 474-485.
    """
    check_image(image, "image", floating=True)
    clip_limit = check_range(clip_limit, "clip_limit", 0.0, 1.0)
    nbins = check_int(nbins, "nbins", min_value=1)
    h, w = image.shape[-2:]
    kh, kw = (
        (max(h // 8, 1), max(w // 8, 1))
        if kernel_size is None
        else pair(kernel_size, "kernel_size")
    )
    planes = image.reshape(-1, h, w)  # (P, H, W)
    p = planes.shape[0]
    if p == 0:
        return image.clone()
    work = planes if image.dtype in (torch.float32, torch.float64) else planes.float()
    lo, hi = work.reshape(p, -1).aminmax(dim=1)  # (P,) each
    if bool(lo.min() < 0) or bool(hi.max() > 1):
        raise ValueRangeError(
            f"image values must be in [0, 1], got min {lo.min().item():g} and max "
            f"{hi.max().item():g}"
        )
    device = image.device

    # 16-bit quantisation, then stretched to the 14-bit working levels over the plane's range
    # skimage's layout: the plane shifted by half a tile (kh // 2, kw // 2) and mirrored out
    # to (nth + 1) x (ntw + 1) blocks; tile t of the grid is rows kh // 2 + t kh of it
    nth, ntw = math.ceil(h / kh), math.ceil(w / kw)
    pads = (kw // 2, (ntw + 1) * kw - w - kw // 2, kh // 2, (nth + 1) * kh - h - kh // 2)
    if max(pads[:2]) < w and max(pads[2:]) < h:  # one reflection deep: torch's own padding
        padded = F.pad(work, pads, mode="reflect")  # (P, (nth + 1) kh, (ntw + 1) kw)
    else:
        rows = _reflect_index(h, kh // 2, (nth + 1) * kh, device)
        cols = _reflect_index(w, kw // 2, (ntw + 1) * kw, device)
        padded = work.index_select(1, rows).index_select(2, cols)
    q = (padded * 65535).round_()  # (P, (nth + 1) kh, (ntw + 1) kw)
    qlo, qhi = (lo * 65535).round()[:, None, None], (hi * 65535).round()[:, None, None]
    span = (qhi - qlo).double()
    level = ((q - qlo).double() / torch.where(span > 0, span, 1.0) * (_LEVELS - 1)).round_()
    bin_size = 1 + _LEVELS // nbins
    b = level.long().div_(bin_size, rounding_mode="floor")  # bin of each pixel

    padded = b  # (P, (nth + 1) kh, (ntw + 1) kw) bins
    tiles = padded[:, kh // 2 : kh // 2 + nth * kh, kw // 2 : kw // 2 + ntw * kw]
    tiles = tiles.reshape(p, nth, kh, ntw, kw)
    tile_id = torch.arange(p * nth * ntw, device=device).reshape(p, nth, 1, ntw, 1)
    keys = (tiles + tile_id * nbins).reshape(-1)
    hist = torch.bincount(keys, minlength=p * nth * ntw * nbins).reshape(-1, nbins)

    # clip limit beta = max(1, floor(clip * K)); no clipping (beta = K) for clip_limit 0
    k_pix = kh * kw
    clim = max(int(clip_limit * k_pix), 1) if clip_limit > 0 else k_pix
    hist = _clip_histograms(hist, clim)
    # T(b) = floor((L - 1) / K * sum_{j <= b} n_j), capped at L - 1
    maps = (hist.cumsum(dim=1).double() * ((_LEVELS - 1) / k_pix)).clamp_(max=_LEVELS - 1)
    maps = maps.floor_().to(work.dtype).reshape(p, nth, ntw, nbins)
    # block (i, j) blends tiles i - 1, i (rows) and j - 1, j (columns), clamped at the border
    ti = torch.arange(nth + 1, device=device)
    tj = torch.arange(ntw + 1, device=device)
    maps_r = (maps[:, (ti - 1).clamp(min=0)], maps[:, ti.clamp(max=nth - 1)])

    # every block's pixels as one row of indices (P, nth + 1, ntw + 1, kh kw)
    blocks = padded.reshape(p, nth + 1, kh, ntw + 1, kw).permute(0, 1, 3, 2, 4)
    blocks = blocks.reshape(p, nth + 1, ntw + 1, kh * kw)
    c0, c1 = (tj - 1).clamp(min=0), tj.clamp(max=ntw - 1)
    m00 = maps_r[0][:, :, c0].gather(3, blocks)
    m01 = maps_r[0][:, :, c1].gather(3, blocks)
    m10 = maps_r[1][:, :, c0].gather(3, blocks)
    m11 = maps_r[1][:, :, c1].gather(3, blocks)
    # offsets inside a block: u = i / kh down, v = j / kw across
    u = (torch.arange(kh, device=device).to(work.dtype) / kh).repeat_interleave(kw)  # (kh kw,)
    v = (torch.arange(kw, device=device).to(work.dtype) / kw).repeat(kh)  # (kh kw,)
    # s = (1 - u)[(1 - v) T00 + v T01] + u [(1 - v) T10 + v T11], truncated to a level
    top = torch.lerp(m00, m01, v)
    bottom = torch.lerp(m10, m11, v)
    out = torch.lerp(top, bottom, u).floor_()  # (P, nth + 1, ntw + 1, kh kw)
    out = out.reshape(p, nth + 1, ntw + 1, kh, kw).permute(0, 1, 3, 2, 4)
    out = out.reshape(p, (nth + 1) * kh, (ntw + 1) * kw)[:, kh // 2 : kh // 2 + h]
    out = out[:, :, kw // 2 : kw // 2 + w]  # (P, H, W)

    # stretch each plane to [0, 1]; constant planes (span 0) become 0
    o_lo, o_hi = out.reshape(p, -1).aminmax(dim=1)
    o_lo, o_span = o_lo[:, None, None], (o_hi - o_lo)[:, None, None]
    out = torch.where(o_span > 0, (out - o_lo) / torch.where(o_span > 0, o_span, 1.0), 0.0)
    out = torch.where(span > 0, out, 0.0)
    return out.to(image.dtype).reshape(image.shape)
