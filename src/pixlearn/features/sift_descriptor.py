r"""SIFT orientation assignment and the 4x4x8 descriptor, vectorised over keypoints.

Both steps read the gradient of the Gaussian level a keypoint was found at: its magnitude
and angle ``atan2(dy, dx)`` (rows pointing down) by central differences, computed only at the
pixels the histograms read (far fewer than whole levels hold). Orientation histograms gather
a square around each keypoint (chunks of keypoints sorted by radius, pixels outside a
keypoint's own window weighted 0); descriptors enumerate just the pixels under each rotated
grid. Both are histogrammed with ``scatter_add``, and gathers use ``index_select`` (several
times faster on CPU than advanced indexing).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["describe_keypoints", "orientations"]

_ORI_BINS = 36
_ORI_SIGMA = 1.5  # window sigma, in keypoint scales
_ORI_RADIUS = 3.0 * _ORI_SIGMA
_ORI_PEAK = 0.8
_D = 4  # spatial bins per side
_N = 8  # orientation bins
_HIST_WIDTH = 3.0  # one spatial bin spans 3 keypoint scales
_CLIP = 0.2
_CHUNK = 512
_DESC_CHUNK = 128


def _patch_index(
    levels: Tensor, layer: Tensor, row: Tensor, col: Tensor, radius: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Flat indices into ``levels`` of a ``(2r+1)^2`` square around each (row, col).

    Returns the offsets ``dy, dx`` (``(P,)`` each), the flat indices and an in-image mask,
    each ``(K, P)``. Pixels on or beyond the image's outer ring are masked (no gradient there);
    their indices are clamped inside the ring, so that the neighbours read are valid.
    """
    _, h, w = levels.shape
    off = torch.arange(-radius, radius + 1, device=levels.device)
    dy, dx = torch.meshgrid(off, off, indexing="ij")
    dy, dx = dy.reshape(-1), dx.reshape(-1)  # (P,)
    yy = row[:, None] + dy  # (K, P)
    xx = col[:, None] + dx
    inside = (yy >= 1) & (yy <= h - 2) & (xx >= 1) & (xx <= w - 2)
    flat = (layer[:, None] * h + yy.clamp(1, h - 2)) * w + xx.clamp(1, w - 2)
    return dy, dx, flat, inside


def _gradient_at(levels: Tensor, flat: Tensor) -> tuple[Tensor, Tensor]:
    """Central-difference gradient magnitude and angle ``atan2(dy, dx)`` at flat indices.

    Only the pixels a histogram reads are differentiated, not whole levels.
    """
    w = levels.shape[-1]
    img, idx = levels.reshape(-1), flat.reshape(-1)

    def at(offset: int) -> Tensor:
        # index_select: a plain gather, several times faster than advanced indexing on CPU
        return img.index_select(0, idx + offset).view(flat.shape)

    gx = at(1) - at(-1)
    gy = at(w) - at(-w)
    return torch.hypot(gx, gy), torch.atan2(gy, gx)


def _linear_interval(a: Tensor, b: Tensor, bound: Tensor) -> tuple[Tensor, Tensor]:
    """The interval of ``t`` where ``|a t + b| < bound``, elementwise (``a`` near 0: all t)."""
    tiny = a.abs() < 1e-6
    a_safe = torch.where(tiny, torch.ones_like(a), a)
    t1, t2 = (-bound - b) / a_safe, (bound - b) / a_safe
    big = torch.full_like(t1, math.inf)
    lo = torch.where(tiny, -big, torch.minimum(t1, t2))
    hi = torch.where(tiny, big, torch.maximum(t1, t2))
    return lo, hi


def _describe_chunk(
    levels: Tensor,
    layer: Tensor,
    ri: Tensor,
    ci: Tensor,
    y: Tensor,
    x: Tensor,
    theta: Tensor,
    width: Tensor,
    radius: Tensor,
) -> Tensor:
    """Raw (unnormalised) 4x4x8 histograms of ``n`` keypoints, ``(n, 128)``.

    The samples are enumerated row by row: for a fixed row offset the rotated coordinates
    ``u``, ``v`` are linear in the column, so ``|u|, |v| < d/2 + 1/2`` is an interval of columns
    and only those pixels are generated (not the whole square around the keypoint), also kept
    within each keypoint's ``radius`` and inside the image's inner ring. Along a row ``u`` and
    ``v`` grow by a constant step, so each sample costs one multiply-add per coordinate.
    """
    _, h, w = levels.shape
    dev, dt = levels.device, levels.dtype
    n, r = ri.shape[0], int(radius.max())
    span = 2 * r + 1
    cos_t, sin_t = torch.cos(theta)[:, None], torch.sin(theta)[:, None]  # (n, 1)
    dyr = torch.arange(-r, r + 1, device=dev)  # (T,)
    yy = ri[:, None] + dyr[None]  # (n, T) the row read
    fy = yy.to(dt) - y[:, None]  # (n, T) row offset from the sub-pixel centre
    # u wd = fx c + fy s and v wd = -fx s + fy c, with fx = ci + dx - x
    lim = ((_D / 2 + 0.5) * width)[:, None]  # (n, 1)
    lo_u, hi_u = _linear_interval(cos_t, fy * sin_t, lim)
    lo_v, hi_v = _linear_interval(-sin_t, fy * cos_t, lim)
    shift = (x - ci.to(dt))[:, None]  # dx = fx + x - ci
    lo = (torch.maximum(lo_u, lo_v) + shift).clamp(-span, span)
    hi = (torch.minimum(hi_u, hi_v) + shift).clamp(-span, span)
    rad = radius[:, None]
    dx_lo = torch.maximum(torch.maximum(lo.ceil().long(), -rad), 1 - ci[:, None])  # (n, T)
    dx_hi = torch.minimum(torch.minimum(hi.floor().long(), rad), w - 2 - ci[:, None])
    row_ok = (dyr.abs()[None] <= rad) & (yy >= 1) & (yy <= h - 2)
    count = torch.where(row_ok, (dx_hi - dx_lo + 1).clamp_min(0), 0).reshape(-1)  # (n T,)
    # per (keypoint, row): u, v and the flat pixel index at the row's first sample, the steps
    fx0 = (ci[:, None] + dx_lo).to(dt) - x[:, None]  # (n, T)
    cw, sw = cos_t / width[:, None], sin_t / width[:, None]  # (n, 1) steps of u, -v per column
    u0, v0 = fx0 * cw + fy * sw, fy * cw - fx0 * sw  # (n, T)
    flat0 = (layer[:, None] * h + yy) * w + ci[:, None] + dx_lo  # (n, T)
    # one entry per sample: its (keypoint, row) cell, then its position p along the row
    cell = torch.repeat_interleave(torch.arange(n * span, device=dev), count)  # (Q,)
    first = torch.cumsum(count, 0) - count
    p = torch.arange(cell.shape[0], device=dev) - first.index_select(0, cell)  # (Q,)
    pf = p.to(dt)

    def per_sample(t: Tensor) -> Tensor:
        return t.expand(n, span).reshape(-1).index_select(0, cell)  # (Q,)

    u = torch.addcmul(per_sample(u0), pf, per_sample(cw))
    v = torch.addcmul(per_sample(v0), pf, per_sample(sw), value=-1)
    mag, ang = _gradient_at(levels, per_sample(flat0) + p)  # (Q,) each
    # Gaussian window of sigma d/2 bins, times the gradient magnitude
    wgt = torch.exp((u * u + v * v) * (-1 / (2 * (_D / 2) ** 2))) * mag
    obin = torch.remainder(ang - per_sample(theta[:, None]), 2 * math.pi) * (_N / (2 * math.pi))
    rbin, cbin = v + (_D / 2 - 0.5), u + (_D / 2 - 0.5)
    r0, c0, o0 = rbin.floor(), cbin.floor(), obin.floor()
    fr, fc, fo = rbin - r0, cbin - c0, obin - o0
    # bins with guards: 2 spatial bins each side (a sample on the grid's edge, up to rounding,
    # only feeds guards), and orientation slots 8, 9 that fold back onto 0, 1 (no wrapping)
    nb, no = _D + 4, _N + 2
    koff = torch.arange(n, device=dev, dtype=dt)[:, None] * (nb * nb * no)  # (n, 1)
    idx = (per_sample(koff) + (r0 + 2) * (nb * no) + (c0 + 2) * no + o0).long()  # (Q,)
    size = n * nb * nb * no
    hist = levels.new_zeros(size + nb * no + no + 1)
    # trilinear interpolation: each sample feeds its 8 neighbouring bins, (1 - f) and f
    wr1 = wgt * fr
    for dr, wr in ((0, wgt - wr1), (nb * no, wr1)):
        wc1 = wr * fc
        for dc, wc in ((0, wr - wc1), (no, wc1)):
            wo1 = wc * fo
            for do, wo in ((0, wc - wo1), (1, wo1)):
                # a view shifted by the bin offset takes the same indices
                hist[dr + dc + do :].scatter_add_(0, idx, wo)
    hist = hist[:size].view(n, nb, nb, no)
    hist[..., :2] += hist[..., _N:]
    return hist[:, 2 : 2 + _D, 2 : 2 + _D, :_N].reshape(n, -1)


def orientations(
    levels: Tensor, layer: Tensor, row: Tensor, col: Tensor, sig: Tensor
) -> tuple[Tensor, Tensor]:
    r"""Dominant gradient orientations of keypoints (one or more each).

    Args:
        levels: the octave's Gaussian levels, shape ``(L, h, w)``.
        layer: the level of each keypoint, int64 ``(K,)``.
        row: integer row of each keypoint, int64 ``(K,)``.
        col: integer column, int64 ``(K,)``.
        sig: the keypoint scale in octave pixels, ``(K,)``.

    Returns:
        ``(index, theta)``: for every orientation found, the index of its keypoint (int64) and
        the angle in radians, ``[0, 2 pi)``, in the ``atan2(dy, dx)`` convention.

    Notes:
        A 36-bin histogram of :math:`\theta` over a square of radius :math:`4.5\sigma`, each
        pixel weighted by :math:`m\,e^{-(\Delta x^2 + \Delta y^2) / (2 (1.5\sigma)^2)}`, is
        smoothed with :math:`[1, 4, 6, 4, 1] / 16` (circularly). Each local maximum of at
        least 0.8 of the highest gives an orientation, placed by the vertex of the parabola
        through it and its two neighbours: :math:`b + \tfrac12 (h_{b-1} - h_{b+1}) /
        (h_{b-1} - 2 h_b + h_{b+1})`.

    Example:
        >>> y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
        >>> ramp = (x * math.cos(0.5) + y * math.sin(0.5))[None]  # gradient angle 0.5
        >>> one = torch.tensor([16])
        >>> idx, theta = orientations(ramp, one * 0, one, one, torch.tensor([2.0]))
        >>> idx.tolist(), round(float(theta[0]), 1)
        ([0], 0.5)
    """
    k = row.shape[0]
    dev, dt = levels.device, levels.dtype
    idx_all, theta_all = [], []
    radius_k = torch.round(_ORI_RADIUS * sig).long()  # (K,)
    order = torch.argsort(radius_k)
    for start in range(0, k, _CHUNK):
        sel = order[start : start + _CHUNK]
        rad = radius_k[sel]
        r = int(rad.max())
        dy, dx, flat, inside = _patch_index(levels, layer[sel], row[sel], col[sel], r)
        m, a = _gradient_at(levels, flat)  # (k, P) each
        # a square window of each keypoint's own radius, Gaussian weighted
        own = (dy.abs()[None] <= rad[:, None]) & (dx.abs()[None] <= rad[:, None])
        s2 = (_ORI_SIGMA * sig[sel]) ** 2  # (k,)
        wgt = torch.exp(-(dy**2 + dx**2).to(dt)[None] / (2 * s2[:, None])) * m
        wgt = wgt * (inside & own)
        # bin = round(36 theta / 2 pi) mod 36; theta in [-pi, pi] gives -18 .. 18 before the mod
        b = torch.round(a * (_ORI_BINS / (2 * math.pi)))
        b = torch.where(b < 0, b + _ORI_BINS, b).long()
        n = sel.shape[0]
        hist = torch.zeros(n, _ORI_BINS, dtype=dt, device=dev)
        hist.scatter_add_(1, b, wgt)  # (k, 36)
        # circular smoothing with [1, 4, 6, 4, 1] / 16
        hist = (
            6 * hist
            + 4 * (hist.roll(1, 1) + hist.roll(-1, 1))
            + (hist.roll(2, 1) + hist.roll(-2, 1))
        ) / 16
        left, right = hist.roll(1, 1), hist.roll(-1, 1)
        peak = (hist > left) & (hist > right)
        peak &= hist >= _ORI_PEAK * hist.max(1, keepdim=True).values
        kk, bb = peak.nonzero(as_tuple=True)
        lv, cv, rv = left[kk, bb], hist[kk, bb], right[kk, bb]
        # parabolic interpolation of the peak position
        frac = 0.5 * (lv - rv) / (lv - 2 * cv + rv)
        pos = torch.remainder(bb.to(dt) + frac, _ORI_BINS)
        idx_all.append(sel[kk])
        theta_all.append(pos * (2 * math.pi / _ORI_BINS))
    if not idx_all:
        return torch.zeros(0, dtype=torch.long, device=dev), levels.new_zeros(0)
    theta = torch.remainder(torch.cat(theta_all), 2 * math.pi)
    return torch.cat(idx_all), theta


def describe_keypoints(
    levels: Tensor, layer: Tensor, y: Tensor, x: Tensor, sig: Tensor, theta: Tensor
) -> Tensor:
    r"""The 128-D SIFT descriptors of oriented keypoints.

    Args:
        levels: the octave's Gaussian levels, shape ``(L, h, w)``.
        layer: the level of each keypoint, int64 ``(K,)``.
        y: sub-pixel row of each keypoint in octave pixels, ``(K,)``.
        x: sub-pixel column, ``(K,)``.
        sig: the keypoint scale in octave pixels, ``(K,)``.
        theta: the keypoint orientation in radians (``atan2(dy, dx)`` convention), ``(K,)``.

    Returns:
        Descriptors, shape ``(K, 128)``, unit L2 norm (zero where a patch has no gradient),
        ordered (row bin, column bin, orientation bin).

    Notes:
        Offsets from the keypoint are rotated into its frame and measured in spatial bins of
        width :math:`3\sigma`:
        :math:`u = (\Delta x\cos\theta + \Delta y\sin\theta) / 3\sigma`,
        :math:`v = (-\Delta x\sin\theta + \Delta y\cos\theta) / 3\sigma`. Each sample adds
        :math:`m\,e^{-(u^2 + v^2) / (2 (d/2)^2)}` to the 4x4 spatial and 8 orientation bins
        around :math:`(v + 1.5,\ u + 1.5,\ 8 (\phi - \theta) / 2\pi)` with trilinear weights
        :math:`(1 - |\delta_r|)(1 - |\delta_c|)(1 - |\delta_o|)`. The vector is normalised, its
        entries clipped at 0.2 (less weight to large gradient magnitudes, which change with
        non-linear illumination) and normalised again.

    Example:
        >>> levels = torch.rand(1, 64, 64)
        >>> one = torch.tensor([32])
        >>> d = describe_keypoints(levels, one * 0, one * 1.0, one * 1.0, torch.tensor([2.0]),
        ...                        torch.tensor([0.3]))
        >>> d.shape, round(float(d.norm()), 4), bool(d.max() <= 0.5)
        (torch.Size([1, 128]), 1.0, True)
    """
    k = y.shape[0]
    dev, dt = levels.device, levels.dtype
    out = levels.new_zeros(k, _D * _D * _N)
    if k == 0:
        return out
    width = _HIST_WIDTH * sig  # (K,)
    # the circle that holds the rotated 4x4 grid, plus half a bin for interpolation
    radius_k = torch.round(width * math.sqrt(2) * (_D + 1) * 0.5).long()
    order = torch.argsort(radius_k)
    ri, ci = torch.round(y).long(), torch.round(x).long()
    for start in range(0, k, _DESC_CHUNK):
        sel = order[start : start + _DESC_CHUNK]
        args = (t.index_select(0, sel) for t in (layer, ri, ci, y, x, theta, width, radius_k))
        out[sel] = _describe_chunk(levels, *args)
    # normalise, clip at 0.2, normalise again
    out = out / out.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dt).tiny)
    out = out.clamp_max(_CLIP)
    out = out / out.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dt).tiny)
    return out.to(dev)
