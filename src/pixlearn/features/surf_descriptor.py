r"""SURF orientation assignment and the Haar-wavelet descriptor, vectorised over keypoints.

Both steps read Haar wavelet responses, box filters evaluated with four look-ups each in an
integral image (:func:`pixlearn.features.integral_image`), at sample points spaced by the
keypoint scale :math:`s`. The wavelets are axis-aligned and their responses are rotated into
the keypoint frame afterwards, as Bay et al. describe; so no image patch is ever resampled.

A Haar wavelet of side :math:`2h` (whole pixels) centred on a point :math:`p` covers the pixels
``c .. c + 2h - 1`` with ``c = floor(p + 1) - h`` along each axis (its centre ``c + h - 0.5`` is
within half a pixel of ``p``). Its x response is the sum over the right half minus the left
half, its y response the bottom half minus the top half (rows point down).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["haar_wavelets", "surf_descriptors", "surf_orientations"]

_ORI_RADIUS = 6  # orientation samples within 6 s of the keypoint ...
_ORI_SIGMA = 2.0  # ... weighted by a Gaussian of sigma 2 s
_ORI_WINDOW = math.pi / 3  # the sliding orientation window
_DESC_SIGMA = 3.3  # descriptor weights: a Gaussian of sigma 3.3 s
_GRID = 20  # the descriptor window is 20 s wide: 4 x 4 sub-regions of 5 x 5 samples
_SUB = 5
_CHUNK = 512


def haar_wavelets(ii: Tensor, x: Tensor, y: Tensor, half: Tensor) -> tuple[Tensor, Tensor]:
    r"""Haar wavelet responses ``(dx, dy)`` at points, from an integral image.

    Args:
        ii: a zero-padded integral image, shape ``(H + 1, W + 1)`` (see
            :func:`pixlearn.features.integral_image`).
        x: columns of the wavelet centres, float, any shape.
        y: rows of the wavelet centres, float, same shape.
        half: half the wavelet side :math:`h` in pixels, int64 >= 1, broadcastable to ``x``.

    Returns:
        ``(dx, dy)``, each the shape of ``x``, dtype of ``ii``: right minus left half and
        bottom minus top half of the :math:`2h \times 2h` square. Squares are clipped to the
        image (pixels outside count as 0), so pad the image first where that matters.

    Notes:
        With :math:`I_{ab}` the table at row corner :math:`c_y + a h` and column corner
        :math:`c_x + b h` (:math:`a, b \in \{0, 1, 2\}`), eight look-ups give both responses:
        :math:`d_x = I_{22} - I_{02} - 2 I_{21} + 2 I_{01} + I_{20} - I_{00}` and
        :math:`d_y = I_{22} - 2 I_{12} + I_{02} - I_{20} + 2 I_{10} - I_{00}`.

    Example:
        >>> from pixlearn.features import integral_image
        >>> ramp = torch.arange(8.0).repeat(8, 1)  # grows by 1 per column
        >>> dx, dy = haar_wavelets(integral_image(ramp), torch.tensor([3.5]),
        ...                        torch.tensor([3.5]), torch.tensor([2]))
        >>> float(dx[0]), float(dy[0])  # 2 columns apart, over a 4 x 2 half: 4 * 2 * 2
        (16.0, 0.0)
    """
    hp, wp = ii.shape[-2] - 1, ii.shape[-1] - 1
    cy = torch.floor(y + 1).long() - half  # top row of the square
    cx = torch.floor(x + 1).long() - half  # left column
    flat = ii.reshape(-1)
    stride = wp + 1

    def corner(a: int, b: int) -> Tensor:
        r = (cy + a * half).clamp(0, hp)
        c = (cx + b * half).clamp(0, wp)
        return flat[r * stride + c]

    i00, i01, i02 = corner(0, 0), corner(0, 1), corner(0, 2)
    i10, i12 = corner(1, 0), corner(1, 2)
    i20, i21, i22 = corner(2, 0), corner(2, 1), corner(2, 2)
    # right half - left half, bottom half - top half (D - B - C + A for each box)
    dx = i22 - i02 - 2 * i21 + 2 * i01 + i20 - i00
    dy = i22 - 2 * i12 + i02 - i20 + 2 * i10 - i00
    return dx, dy


def _orientation_grid(device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """Offsets (in units of s) of the samples within radius 6 and their Gaussian weights."""
    r = torch.arange(-_ORI_RADIUS, _ORI_RADIUS + 1, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(r, r, indexing="ij")
    keep = gx**2 + gy**2 <= _ORI_RADIUS**2
    gx, gy = gx[keep], gy[keep]  # (P,) with P = 113
    wgt = torch.exp(-(gx**2 + gy**2) / (2 * _ORI_SIGMA**2))
    return gx, gy, wgt


def surf_orientations(ii: Tensor, x: Tensor, y: Tensor, s: Tensor) -> Tensor:
    r"""The dominant orientation of each keypoint from Haar wavelet responses.

    Args:
        ii: a zero-padded integral image, shape ``(H + 1, W + 1)``.
        x: keypoint columns in the table's image, ``(K,)``.
        y: keypoint rows, ``(K,)``.
        s: keypoint scales :math:`s`, ``(K,)``.

    Returns:
        The orientations :math:`\theta` in radians, ``[-pi, pi]``, as ``atan2(dy, dx)`` with rows
        pointing down (clockwise on screen); 0 where a neighbourhood has no gradient. dtype of
        ``ii``.

    Notes:
        Haar responses of side :math:`4s` are taken at the points :math:`(x + i s, y + j s)`,
        :math:`i^2 + j^2 \le 36`, and weighted by :math:`e^{-(i^2 + j^2) / (2 \cdot 2^2)}`
        (a Gaussian of :math:`\sigma = 2s`). Each response is a point
        :math:`(d_x, d_y)` at angle :math:`\phi = \operatorname{atan2}(d_y, d_x)`; a window
        of :math:`\pi / 3` slides around the circle and the longest sum
        :math:`(\sum d_x, \sum d_y)` over the points inside gives
        :math:`\theta = \operatorname{atan2}(\sum d_y, \sum d_x)`. The window is tried at
        every start where its content changes (each sample's own angle, with cumulative sums
        over the sorted angles), so the maximum is exact.

    Example:
        >>> from pixlearn.features import integral_image
        >>> yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        >>> ii = integral_image(yy)  # brightness grows downwards
        >>> t = surf_orientations(ii, torch.tensor([32.0]), torch.tensor([32.0]),
        ...                       torch.tensor([2.0]))
        >>> round(float(torch.rad2deg(t[0])))
        90
    """
    k, dev, dt = x.shape[0], ii.device, ii.dtype
    out = ii.new_zeros(k)
    if k == 0:
        return out
    gx, gy, wgt = _orientation_grid(dev, dt)
    half = torch.round(2 * s).long().clamp_min(1)  # side 4s
    for start in range(0, k, _CHUNK):
        sl = slice(start, start + _CHUNK)
        sk = s[sl, None]
        dx, dy = haar_wavelets(
            ii, x[sl, None] + gx * sk, y[sl, None] + gy * sk, half[sl, None]
        )  # (k, P) each
        dx, dy = dx * wgt, dy * wgt
        phi = torch.atan2(dy, dx)  # (k, P)
        # the window starting at sample q holds the p with phi_q <= phi_p < phi_q + pi / 3
        # (mod 2 pi): sort the angles, repeat them one turn later, and sum by cumulative sums
        phi, order = phi.sort(1)
        dx, dy = dx.gather(1, order), dy.gather(1, order)
        phi2 = torch.cat([phi, phi + 2 * math.pi], 1)  # (k, 2P), sorted
        zero = dx.new_zeros(dx.shape[0], 1)
        cx = torch.cat([zero, dx, dx], 1).cumsum(1)  # (k, 2P + 1)
        cy = torch.cat([zero, dy, dy], 1).cumsum(1)
        lo = torch.searchsorted(phi2, phi)  # first sample of each window, (k, P)
        hi = torch.searchsorted(phi2, phi + _ORI_WINDOW)  # one past its last
        sx = cx.gather(1, hi) - cx.gather(1, lo)  # (k, P) window sums
        sy = cy.gather(1, hi) - cy.gather(1, lo)
        best = (sx * sx + sy * sy).argmax(1, keepdim=True)  # (k, 1)
        out[sl] = torch.atan2(sy.gather(1, best), sx.gather(1, best))[:, 0]
    return out


def surf_descriptors(
    ii: Tensor, x: Tensor, y: Tensor, s: Tensor, theta: Tensor, *, extended: bool = False
) -> Tensor:
    r"""SURF descriptors of oriented keypoints: 4 x 4 sub-regions of Haar wavelet sums.

    Args:
        ii: a zero-padded integral image, shape ``(H + 1, W + 1)``.
        x: keypoint columns in the table's image, ``(K,)``.
        y: keypoint rows, ``(K,)``.
        s: keypoint scales :math:`s`, ``(K,)``.
        theta: orientations in radians (``atan2(dy, dx)`` convention), ``(K,)``.
        extended: 128-D descriptors (sums split by the sign of the other response) instead
            of 64-D.

    Returns:
        Descriptors ``(K, 64)`` (or ``(K, 128)``), unit L2 norm (zero where a window has no
        gradient), dtype of ``ii``, ordered (sub-region row, sub-region column, entry).

    Notes:
        The window of side :math:`20s` is centred on the keypoint and turned by
        :math:`\theta`; its :math:`20 \times 20` samples sit at the frame offsets
        :math:`(u, v) = ((i - 9.5) s, (j - 9.5) s)`, i.e. at the image points
        :math:`(x + u\cos\theta - v\sin\theta,\ y + u\sin\theta + v\cos\theta)`. There the Haar
        responses of side :math:`2s` are rotated into the frame,
        :math:`d_x' = d_x\cos\theta + d_y\sin\theta`, :math:`d_y' = -d_x\sin\theta +
        d_y\cos\theta`, and weighted by a Gaussian of :math:`\sigma = 3.3s` about the
        keypoint. Each 5 x 5 sub-region contributes
        :math:`(\sum d_x', \sum d_y', \sum |d_x'|, \sum |d_y'|)`; the extended form sums
        :math:`d_x', |d_x'|` separately for :math:`d_y' < 0` and :math:`d_y' \ge 0` (and
        :math:`d_y', |d_y'|` by the sign of :math:`d_x'`). The vector is normalised to unit
        length, which makes it invariant to contrast (a gain), while the wavelets ignore an
        offset.

    Example:
        >>> from pixlearn.features import integral_image
        >>> ii = integral_image(torch.rand(64, 64))
        >>> one = torch.tensor([32.0])
        >>> d = surf_descriptors(ii, one, one, torch.tensor([1.6]), torch.tensor([0.3]))
        >>> d.shape, round(float(d.norm()), 4)
        (torch.Size([1, 64]), 1.0)
    """
    k, dev, dt = x.shape[0], ii.device, ii.dtype
    n_sub = _GRID // _SUB
    per = 8 if extended else 4
    out = ii.new_zeros(k, n_sub * n_sub * per)
    if k == 0:
        return out
    g = torch.arange(_GRID, device=dev, dtype=dt) - (_GRID - 1) / 2  # (20,) in units of s
    gv, gu = torch.meshgrid(g, g, indexing="ij")
    gu, gv = gu.reshape(-1), gv.reshape(-1)  # (400,) row-major over (v, u)
    # the Gaussian of sigma 3.3 s, the same for every keypoint in units of s
    wgt = torch.exp(-(gu**2 + gv**2) / (2 * _DESC_SIGMA**2))  # (400,)
    half = torch.round(s).long().clamp_min(1)  # side 2s
    for start in range(0, k, _CHUNK):
        sl = slice(start, start + _CHUNK)
        c, sn, sk = torch.cos(theta[sl, None]), torch.sin(theta[sl, None]), s[sl, None]
        u, v = gu * sk, gv * sk  # (k, 400) frame offsets in pixels
        px = x[sl, None] + u * c - v * sn
        py = y[sl, None] + u * sn + v * c
        dx, dy = haar_wavelets(ii, px, py, half[sl, None])  # (k, 400) each
        # responses in the keypoint frame, Gaussian weighted
        rx = (dx * c + dy * sn) * wgt
        ry = (-dx * sn + dy * c) * wgt
        if extended:
            neg_y, neg_x = (ry < 0).to(dt), (rx < 0).to(dt)
            parts = [
                rx * neg_y,
                rx * (1 - neg_y),
                rx.abs() * neg_y,
                rx.abs() * (1 - neg_y),
                ry * neg_x,
                ry * (1 - neg_x),
                ry.abs() * neg_x,
                ry.abs() * (1 - neg_x),
            ]
        else:
            parts = [rx, ry, rx.abs(), ry.abs()]
        feat = torch.stack(parts, -1)  # (k, 400, per)
        # (k, v-bin, v in bin, u-bin, u in bin, per) -> sums over the 5 x 5 samples
        feat = feat.reshape(-1, n_sub, _SUB, n_sub, _SUB, per).sum((2, 4))
        out[sl] = feat.reshape(feat.shape[0], -1)
    return out / out.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dt).tiny)
