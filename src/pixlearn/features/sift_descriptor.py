r"""SIFT orientation assignment and the 4x4x8 descriptor, vectorised over keypoints.

Both steps read the gradient of the Gaussian level a keypoint was found at: its magnitude
``mag`` and angle ``ang = atan2(dy, dx)`` (rows pointing down), one ``(S, h, w)`` stack per
octave. Patches of all keypoints are gathered at once (a square of the largest radius in a
chunk, with pixels outside each keypoint's own window weighted 0) and histogrammed with
``scatter_add``.
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


def _patch(
    mag: Tensor, ang: Tensor, layer: Tensor, row: Tensor, col: Tensor, radius: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Gather magnitude and angle on a ``(2r+1)^2`` square around each (row, col).

    Returns the offsets ``dy, dx`` (``(P,)`` each), and ``mag``, ``ang`` and an in-image mask,
    each ``(K, P)``. Pixels on or beyond the image's outer ring are masked (no gradient there).
    """
    _, h, w = mag.shape
    off = torch.arange(-radius, radius + 1, device=mag.device)
    dy, dx = torch.meshgrid(off, off, indexing="ij")
    dy, dx = dy.reshape(-1), dx.reshape(-1)  # (P,)
    yy = row[:, None] + dy  # (K, P)
    xx = col[:, None] + dx
    inside = (yy >= 1) & (yy <= h - 2) & (xx >= 1) & (xx <= w - 2)
    flat = (layer[:, None] * h + yy.clamp(0, h - 1)) * w + xx.clamp(0, w - 1)
    return dy, dx, mag.reshape(-1)[flat], ang.reshape(-1)[flat], inside


def _patch_index(
    mag: Tensor, layer: Tensor, row: Tensor, col: Tensor, radius: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Like :func:`_patch`, but the flat indices into ``mag`` instead of gathered values."""
    _, h, w = mag.shape
    off = torch.arange(-radius, radius + 1, device=mag.device)
    dy, dx = torch.meshgrid(off, off, indexing="ij")
    dy, dx = dy.reshape(-1), dx.reshape(-1)  # (P,)
    yy = row[:, None] + dy  # (K, P)
    xx = col[:, None] + dx
    inside = (yy >= 1) & (yy <= h - 2) & (xx >= 1) & (xx <= w - 2)
    flat = (layer[:, None] * h + yy.clamp(0, h - 1)) * w + xx.clamp(0, w - 1)
    return dy, dx, flat, inside


def orientations(
    mag: Tensor, ang: Tensor, layer: Tensor, row: Tensor, col: Tensor, sig: Tensor
) -> tuple[Tensor, Tensor]:
    r"""Dominant gradient orientations of keypoints (one or more each).

    Args:
        mag: gradient magnitudes of the octave's levels, shape ``(S, h, w)``.
        ang: gradient angles ``atan2(dy, dx)`` in radians, same shape.
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
        >>> mag, ang = torch.ones(1, 32, 32), torch.full((1, 32, 32), 0.5)
        >>> one = torch.tensor([16])
        >>> idx, theta = orientations(mag, ang, one * 0, one, one, torch.tensor([2.0]))
        >>> idx.tolist(), round(float(theta[0]), 1)
        ([0], 0.5)
    """
    k = row.shape[0]
    dev, dt = mag.device, mag.dtype
    idx_all, theta_all = [], []
    radius_k = torch.round(_ORI_RADIUS * sig).long()  # (K,)
    order = torch.argsort(radius_k)
    for start in range(0, k, _CHUNK):
        sel = order[start : start + _CHUNK]
        rad = radius_k[sel]
        r = int(rad.max())
        dy, dx, m, a, inside = _patch(mag, ang, layer[sel], row[sel], col[sel], r)
        # a square window of each keypoint's own radius, Gaussian weighted
        own = (dy.abs()[None] <= rad[:, None]) & (dx.abs()[None] <= rad[:, None])
        s2 = (_ORI_SIGMA * sig[sel]) ** 2  # (k,)
        wgt = torch.exp(-(dy**2 + dx**2).to(dt)[None] / (2 * s2[:, None])) * m
        wgt = wgt * (inside & own)
        # bin = round(36 theta / 2 pi) mod 36
        b = torch.round(a * (_ORI_BINS / (2 * math.pi))).long() % _ORI_BINS
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
        return torch.zeros(0, dtype=torch.long, device=dev), mag.new_zeros(0)
    theta = torch.remainder(torch.cat(theta_all), 2 * math.pi)
    return torch.cat(idx_all), theta


def describe_keypoints(
    mag: Tensor, ang: Tensor, layer: Tensor, y: Tensor, x: Tensor, sig: Tensor, theta: Tensor
) -> Tensor:
    r"""The 128-D SIFT descriptors of oriented keypoints.

    Args:
        mag: gradient magnitudes of the octave's levels, shape ``(S, h, w)``.
        ang: gradient angles ``atan2(dy, dx)``, same shape.
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
        >>> mag, ang = torch.rand(1, 64, 64), torch.rand(1, 64, 64) * 6 - 3
        >>> one = torch.tensor([32])
        >>> d = describe_keypoints(mag, ang, one * 0, one * 1.0, one * 1.0, torch.tensor([2.0]),
        ...                        torch.tensor([0.3]))
        >>> d.shape, round(float(d.norm()), 4), bool(d.max() <= 0.5)
        (torch.Size([1, 128]), 1.0, True)
    """
    k = y.shape[0]
    dev, dt = mag.device, mag.dtype
    out = mag.new_zeros(k, _D * _D * _N)
    if k == 0:
        return out
    width = _HIST_WIDTH * sig  # (K,)
    # the circle that holds the rotated 4x4 grid, plus half a bin for interpolation
    radius_k = torch.round(width * math.sqrt(2) * (_D + 1) * 0.5).long()
    order = torch.argsort(radius_k)
    ri, ci = torch.round(y).long(), torch.round(x).long()
    cos_t, sin_t = torch.cos(theta), torch.sin(theta)
    nb = _D + 2  # spatial bins with a guard bin on each side
    for start in range(0, k, _CHUNK // 2):
        sel = order[start : start + _CHUNK // 2]
        r = int(radius_k[sel].max())
        dy, dx, flat, inside = _patch_index(mag, layer[sel], ri[sel], ci[sel], r)
        # offsets from the sub-pixel centre, rotated into the keypoint frame, in bin widths
        fy = (ri[sel, None] + dy[None]).to(dt) - y[sel, None]  # (k, P)
        fx = (ci[sel, None] + dx[None]).to(dt) - x[sel, None]
        c, s, wd = cos_t[sel, None], sin_t[sel, None], width[sel, None]
        u = (fx * c + fy * s) / wd
        v = (-fx * s + fy * c) / wd
        ok = inside & (v.abs() < _D / 2 + 0.5) & (u.abs() < _D / 2 + 0.5)
        # from here on only the samples that feed some bin: (Q,) vectors
        kk, pp = ok.nonzero(as_tuple=True)
        u, v, flat = u[kk, pp], v[kk, pp], flat[kk, pp]
        rbin = v + _D / 2 - 0.5
        cbin = u + _D / 2 - 0.5
        # Gaussian window of sigma d/2 bins, times the gradient magnitude
        wgt = torch.exp(-(u * u + v * v) / (2 * (_D / 2) ** 2)) * mag.reshape(-1)[flat]
        rel = ang.reshape(-1)[flat] - theta[sel][kk]
        obin = torch.remainder(rel, 2 * math.pi) * (_N / (2 * math.pi))
        r0, c0, o0 = rbin.floor(), cbin.floor(), obin.floor()
        fr, fc, fo = rbin - r0, cbin - c0, obin - o0
        r0 = (r0.long() + 1).clamp(0, nb - 2)
        c0 = (c0.long() + 1).clamp(0, nb - 2)
        o0 = o0.long() % _N
        n = sel.shape[0]
        hist = mag.new_zeros(n * nb * nb * _N)
        first = kk * (nb * nb * _N)
        # trilinear interpolation: each sample feeds its 8 neighbouring bins
        for dr, wr in ((0, 1 - fr), (1, fr)):
            for dc, wc in ((0, 1 - fc), (1, fc)):
                wrc = wgt * wr * wc
                base = first + ((r0 + dr) * nb + (c0 + dc)) * _N
                for do, wo in ((0, 1 - fo), (1, fo)):
                    hist.scatter_add_(0, base + (o0 + do) % _N, wrc * wo)
        hist = hist.reshape(n, nb, nb, _N)[:, 1 : _D + 1, 1 : _D + 1].reshape(n, -1)
        out[sel] = hist
    # normalise, clip at 0.2, normalise again
    out = out / out.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dt).tiny)
    out = out.clamp_max(_CLIP)
    out = out / out.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dt).tiny)
    return out.to(dev)
