r"""Histograms of oriented gradients (HOG): dense grids of local gradient-orientation histograms.

The image is cut into cells of ``pixels_per_cell`` pixels; each cell holds a histogram of the
gradient orientations of its pixels (unsigned, in [0, 180) degrees), each vote weighted by the
gradient magnitude. Overlapping blocks of ``cells_per_block`` cells are contrast-normalised, and
the normalised blocks, concatenated, are the descriptor. The conventions are scikit-image's
(``skimage.feature.hog``), so both give the same numbers: centred differences ``[-1, 0, 1]``
with zero gradient on the border rows/columns, hard (non-interpolated) orientation binning,
cell histograms divided by the cell area, and ``eps = 1e-5`` in the block norms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, describe, pair
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["HOG_BLOCK_NORMS", "hog", "hog_cell_histograms", "hog_image", "hog_normalize_blocks"]

#: the block normalisations of :func:`hog`
HOG_BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")

_EPS = 1e-5


def _gradients(x: Tensor) -> tuple[Tensor, Tensor]:
    """Centred differences, 0 on the first and last row (column): ``(..., H, W)`` each."""
    g_row = torch.zeros_like(x)
    g_col = torch.zeros_like(x)
    # g_row(y, x) = f(y + 1, x) - f(y - 1, x), g_col(y, x) = f(y, x + 1) - f(y, x - 1)
    g_row[..., 1:-1, :] = x[..., 2:, :] - x[..., :-2, :]
    g_col[..., :, 1:-1] = x[..., :, 2:] - x[..., :, :-2]
    return g_row, g_col


def hog_cell_histograms(
    image: Tensor,
    orientations: int = 9,
    pixels_per_cell: int | Sequence[int] = (8, 8),
    *,
    multichannel: bool = False,
    transform_sqrt: bool = False,
) -> Tensor:
    r"""The un-normalised cell histograms of HOG (the first stages of :func:`hog`).

    Args:
        image: ``(..., H, W)`` grey, or ``(..., C, H, W)`` with ``multichannel=True``; float,
            finite, at least one cell in size.
        orientations: number of orientation bins over [0, 180) degrees, >= 1.
        pixels_per_cell: ``n`` or ``(h, w)`` pixels per cell, each >= 1.
        multichannel: read dimension -3 as channels and, per pixel, use the gradient of the
            channel with the largest magnitude (the first such channel on ties).
        transform_sqrt: take the square root of the image first (gamma compression); the
            image must then be >= 0.

    Returns:
        float64 histograms, shape ``(..., n_cells_row, n_cells_col, orientations)``, with
        ``n_cells_row = H // h``; pixels beyond the last whole cell are ignored.

    Notes:
        With :math:`g_r, g_c` the centred differences, :math:`m = \sqrt{g_r^2 + g_c^2}` and
        :math:`\theta = \operatorname{atan2}(g_r, g_c) \bmod 180^\circ`, cell :math:`(i, j)`
        and bin :math:`k` (width :math:`\Delta = 180^\circ / n`) hold

        .. math::
            H_{ijk} = \frac{1}{hw} \sum_{p \in \text{cell}(i, j)} m_p\,
            [k\Delta \le \theta_p < (k + 1)\Delta].

    Example:
        >>> ramp = torch.arange(16.0).repeat(16, 1) / 16  # gradient along x: 0 degrees
        >>> h = hog_cell_histograms(ramp, 9, 8)
        >>> h.shape, bool(h[..., 1:].abs().max() == 0)
        (torch.Size([2, 2, 9]), True)
    """
    n_orient = check_int(orientations, "orientations", min_value=1)
    ch, cw = pair(pixels_per_cell, "pixels_per_cell")
    check_image(image, "image", min_dims=3 if multichannel else 2, floating=True, min_size=1)
    if image.shape[-2] < ch or image.shape[-1] < cw:
        raise ShapeError(
            f"image must hold at least one cell of pixels_per_cell=({ch}, {cw}), "
            f"got {describe(image)}"
        )
    x = image
    if transform_sqrt:
        if x.numel() and float(x.min()) < 0:
            raise ValueRangeError(
                f"image must be >= 0 with transform_sqrt=True, got a minimum of {float(x.min())}"
            )
        x = torch.sqrt(x)
    g_row, g_col = _gradients(x)  # (..., [C,] H, W), in the input dtype
    g_row, g_col = g_row.double(), g_col.double()
    mag = torch.hypot(g_row, g_col)
    if multichannel:
        # per pixel, the gradient of the channel with the largest magnitude
        best = mag.argmax(dim=-3, keepdim=True)  # (..., 1, H, W)
        g_row = g_row.gather(-3, best).squeeze(-3)
        g_col = g_col.gather(-3, best).squeeze(-3)
        mag = mag.gather(-3, best).squeeze(-3)  # (..., H, W)
    h, w = mag.shape[-2:]
    nr, nc = h // ch, w // cw
    lead = mag.shape[:-2]
    # theta = atan2(g_r, g_c) * 180 / pi mod 180 (unsigned orientation, degrees)
    theta = torch.fmod(torch.atan2(g_row, g_col) * (180.0 / math.pi), 180.0)
    # the modulo as NumPy takes it (fmod, then + 180 if negative), rounding included
    theta = torch.where(theta < 0, theta + 180.0, theta)
    theta = theta[..., : nr * ch, : nc * cw].contiguous()
    mag = mag[..., : nr * ch, : nc * cw]
    # bin k holds e_k <= theta < e_{k+1}, e_k = k * 180 / n rounded as scikit-image does (in
    # float32); theta == 180 (from -0 mod 180) is in no bin
    step = torch.tensor(180.0 / n_orient, dtype=torch.float32)
    edges = (step * torch.arange(n_orient + 1, dtype=torch.float32)).double().to(theta.device)
    bins = torch.bucketize(theta, edges, right=True) - 1  # (..., H', W')
    rows = torch.arange(nr * ch, device=mag.device)  # (H',)
    cols = torch.arange(nc * cw, device=mag.device)  # (W',)
    valid = bins < n_orient
    mag = torch.where(valid, mag, torch.zeros_like(mag))
    bins = bins.clamp_(max=n_orient - 1)
    # flat index of (cell row, cell col, bin) for every pixel
    cell = ((rows // ch)[:, None] * nc + (cols // cw)[None, :]) * n_orient  # (H', W')
    index = (cell + bins).reshape(*lead, nr * ch * nc * cw)  # (..., H' W')
    mag = mag.reshape(*lead, nr * ch * nc * cw)
    hist = torch.zeros(*lead, nr * nc * n_orient, dtype=torch.float64, device=mag.device)
    hist.scatter_add_(-1, index, mag)
    return hist.reshape(*lead, nr, nc, n_orient) / (ch * cw)


def hog_normalize_blocks(
    hist: Tensor, cells_per_block: int | Sequence[int] = (3, 3), block_norm: str = "L2-Hys"
) -> Tensor:
    r"""Contrast-normalise every block of ``cells_per_block`` cells of a HOG cell grid.

    Args:
        hist: cell histograms ``(..., n_cells_row, n_cells_col, orientations)``, float.
        cells_per_block: ``n`` or ``(bh, bw)`` cells per block, each >= 1.
        block_norm: ``"L1"``, ``"L1-sqrt"``, ``"L2"`` or ``"L2-Hys"``.

    Returns:
        ``(..., n_blocks_row, n_blocks_col, bh, bw, orientations)``, same dtype, with
        ``n_blocks_row = n_cells_row - bh + 1`` (blocks overlap with a stride of one cell).

    Notes:
        With :math:`v` one block's histograms and :math:`\epsilon = 10^{-5}`:
        L1 :math:`v / (\|v\|_1 + \epsilon)`; L1-sqrt :math:`\sqrt{v / (\|v\|_1 + \epsilon)}`;
        L2 :math:`v / \sqrt{\|v\|_2^2 + \epsilon^2}`; L2-Hys: L2, clip at 0.2, L2 again.

    Example:
        >>> blocks = hog_normalize_blocks(torch.ones(4, 4, 9), 2, "L2")
        >>> blocks.shape, round(float(blocks[0, 0].square().sum()), 6)
        (torch.Size([3, 3, 2, 2, 9]), 1.0)
    """
    bh, bw = pair(cells_per_block, "cells_per_block")
    check_choice(block_norm, "block_norm", HOG_BLOCK_NORMS)
    nr, nc = hist.shape[-3], hist.shape[-2]
    if nr < bh or nc < bw:
        raise ShapeError(
            f"image must hold at least one block of cells_per_block=({bh}, {bw}) cells, "
            f"got a grid of {nr}x{nc} cells"
        )
    # (..., nbr, nbc, n, bh, bw) -> (..., nbr, nbc, bh, bw, n)
    v = hist.unfold(-3, bh, 1).unfold(-3, bw, 1).movedim(-3, -1)
    dims = (-3, -2, -1)
    if block_norm in ("L1", "L1-sqrt"):
        # v / (||v||_1 + eps), then the square root for L1-sqrt
        out = v / (v.abs().sum(dims, keepdim=True) + _EPS)
        return out.sqrt() if block_norm == "L1-sqrt" else out
    # v / sqrt(||v||_2^2 + eps^2)
    out = v / torch.sqrt(v.square().sum(dims, keepdim=True) + _EPS**2)
    if block_norm == "L2-Hys":
        # clip at 0.2 (Lowe's hysteresis) and renormalise
        out = out.clamp(max=0.2)
        out = out / torch.sqrt(out.square().sum(dims, keepdim=True) + _EPS**2)
    return out


def hog(
    image: Tensor,
    orientations: int = 9,
    pixels_per_cell: int | Sequence[int] = (8, 8),
    cells_per_block: int | Sequence[int] = (3, 3),
    block_norm: str = "L2-Hys",
    *,
    visualize: bool = False,
    transform_sqrt: bool = False,
    feature_vector: bool = True,
    multichannel: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Histogram of oriented gradients descriptor of an image (or a batch of images).

    Args:
        image: ``(..., H, W)`` grey, or ``(..., C, H, W)`` with ``multichannel=True``; float,
            finite, at least one block of pixels in size.
        orientations: number of orientation bins over [0, 180) degrees, >= 1.
        pixels_per_cell: ``n`` or ``(h, w)`` pixels per cell, each >= 1.
        cells_per_block: ``n`` or ``(bh, bw)`` cells per block, each >= 1.
        block_norm: ``"L1"``, ``"L1-sqrt"``, ``"L2"`` or ``"L2-Hys"`` (see
            :func:`hog_normalize_blocks`).
        visualize: also return :func:`hog_image` of the cell histograms.
        transform_sqrt: square-root (gamma) compression of the image first; needs ``image >= 0``.
        feature_vector: flatten each descriptor to ``(..., D)``; else keep the block layout.
        multichannel: dimension -3 holds channels; per pixel the channel with the largest
            gradient magnitude is used (as scikit-image's ``channel_axis``).

    Returns:
        The descriptor in the image dtype, ``(..., D)`` with
        ``D = n_blocks_row * n_blocks_col * bh * bw * orientations``, or
        ``(..., n_blocks_row, n_blocks_col, bh, bw, orientations)``; with ``visualize`` a pair
        ``(descriptor, hog_image)``.

    Shape:
        ``(..., H, W) -> (..., D)``; a batch ``(B, H, W)`` gives ``(B, D)``.

    Raises:
        ShapeError: fewer than 2 (3 with ``multichannel``) dimensions, an image smaller than
            one block. WrongTypeError: non-floating image or non-integer options.
        ValueRangeError: NaN/Inf, unknown ``block_norm``, negative image with
            ``transform_sqrt``.

    Notes:
        Cell histograms :math:`H_{ijk}` (:func:`hog_cell_histograms`) are grouped in blocks
        :math:`v_{ab} = (H_{ijk})_{a \le i < a + b_h,\, b \le j < b + b_w}` and each block is
        normalised, e.g. L2-Hys:

        .. math::
            v \leftarrow \frac{v}{\sqrt{\|v\|_2^2 + \epsilon^2}}, \quad
            v \leftarrow \min(v, 0.2), \quad
            v \leftarrow \frac{v}{\sqrt{\|v\|_2^2 + \epsilon^2}}.

        Equals ``skimage.feature.hog`` for the same parameters (measured: below 1e-7 in
        float64; cells are summed in float32 there, so about 1e-7 apart). A gradient exactly
        on a bin edge (45 degrees with 4 or 8 bins, frequent in 8-bit images) may fall in
        either bin in scikit-image, whose SIMD ``arctan2`` rounds such angles either way. As
        in scikit-image, and unlike Dalal and Triggs, votes are neither
        interpolated between bins and cells nor weighted by a Gaussian window.

    Example:
        >>> img = torch.rand(2, 32, 48, generator=torch.Generator().manual_seed(0))
        >>> hog(img, 9, (8, 8), (2, 2)).shape  # 3 x 5 blocks of 2 x 2 cells x 9 bins
        torch.Size([2, 540])

    References:
        Dalal, N. and Triggs, B. "Histograms of oriented gradients for human detection."
        CVPR 2005.
    """
    bh, bw = pair(cells_per_block, "cells_per_block")
    check_choice(block_norm, "block_norm", HOG_BLOCK_NORMS)
    hist = hog_cell_histograms(
        image,
        orientations,
        pixels_per_cell,
        multichannel=multichannel,
        transform_sqrt=transform_sqrt,
    )  # (..., nr, nc, n), float64
    blocks = hog_normalize_blocks(hist, (bh, bw), block_norm).to(image.dtype)
    if feature_vector:
        blocks = blocks.reshape(*blocks.shape[:-5], -1) if blocks.numel() else blocks.flatten(-5)
    if visualize:
        size = (image.shape[-2], image.shape[-1])
        return blocks, hog_image(hist.to(image.dtype), pixels_per_cell, size)
    return blocks


def _line(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """The pixels of the digital segment from ``(r0, c0)`` to ``(r1, c1)`` (Bresenham)."""
    dr, dc = abs(r1 - r0), abs(c1 - c0)
    sr, sc = (1 if r1 > r0 else -1), (1 if c1 > c0 else -1)
    steep = dr > dc
    # walk the long axis one pixel at a time; err decides the steps along the short axis
    a, b, sa, sb, da, db = (r0, c0, sr, sc, dr, dc) if steep else (c0, r0, sc, sr, dc, dr)
    err = 2 * db - da
    out = []
    for _ in range(da):
        out.append((a, b) if steep else (b, a))
        while err >= 0:
            b += sb
            err -= 2 * da
        a += sa
        err += 2 * db
    out.append((r1, c1))
    return out


def _trunc_offsets(centre: Tensor, d: float) -> Tensor:
    """``int(c + d) - c`` and ``int(c - d) - c`` for every centre ``c``: ``(n, 2)`` int64."""
    c = centre.to(torch.float64)
    ends = torch.stack([torch.trunc(c + d), torch.trunc(c - d)], dim=1)  # (n, 2)
    return ends.long() - centre[:, None]


def hog_image(hist: Tensor, pixels_per_cell: int | Sequence[int], size: tuple[int, int]) -> Tensor:
    """Draw HOG cell histograms as a "star" of line segments per cell.

    Args:
        hist: cell histograms ``(..., n_cells_row, n_cells_col, orientations)``, float.
        pixels_per_cell: ``n`` or ``(h, w)``, as used to compute ``hist``.
        size: ``(H, W)`` of the image to draw into.

    Returns:
        ``(..., H, W)`` in the dtype of ``hist``: in every cell, for each bin, a segment
        through the cell centre, perpendicular to the bin's middle orientation (it draws the
        edge, not the gradient), of length ``2 (min(h, w) // 2 - 1)`` and intensity the bin
        value; overlapping segments add. The same picture as scikit-image's
        ``hog(..., visualize=True)``.

    Example:
        >>> hist = torch.zeros(1, 1, 9)
        >>> hist[0, 0, 0] = 1.0  # horizontal gradients: a vertical edge
        >>> img = hog_image(hist, 8, (8, 8))  # a near-vertical segment of 6 pixels
        >>> int((img > 0).sum()), (img > 0).nonzero()[:, 0].tolist()
        (6, [1, 2, 3, 4, 5, 6])
    """
    ch, cw = pair(pixels_per_cell, "pixels_per_cell")
    h, w = size
    nr, nc, n_orient = hist.shape[-3:]
    lead = hist.shape[:-3]
    out = torch.zeros(*lead, h * w, dtype=hist.dtype, device=hist.device)
    radius = min(ch, cw) // 2 - 1
    centre_r = torch.arange(nr, device=hist.device) * ch + ch // 2  # (nr,)
    centre_c = torch.arange(nc, device=hist.device) * cw + cw // 2  # (nc,)
    for o in range(n_orient):
        mid = math.pi * (o + 0.5) / n_orient
        dr, dc = radius * math.sin(mid), radius * math.cos(mid)
        # segment from (r - dc, c + dr) to (r + dc, c - dr), the ends truncated to ints as
        # floats centred at r and c (the rounding of r - dc depends on r: done per centre)
        r0 = _trunc_offsets(centre_r, -dc)  # (nr, 2): offsets of the start and end rows
        c0 = _trunc_offsets(centre_c, dr)  # (nc, 2)
        for rows_off in torch.unique(r0, dim=0).tolist():
            for cols_off in torch.unique(c0, dim=0).tolist():
                pts = _line(rows_off[0], cols_off[0], rows_off[1], cols_off[1])
                offsets = torch.tensor(pts, device=hist.device)  # (P, 2)
                sel_r = (r0 == torch.tensor(rows_off, device=r0.device)).all(1).nonzero()[:, 0]
                sel_c = (c0 == torch.tensor(cols_off, device=c0.device)).all(1).nonzero()[:, 0]
                rr = centre_r[sel_r, None, None] + offsets[None, None, :, 0]  # (r, 1, P)
                cc = centre_c[None, sel_c, None] + offsets[None, None, :, 1]  # (1, c, P)
                index = (rr * w + cc).reshape(-1)  # (r c P,)
                values = hist[..., sel_r[:, None], sel_c[None, :], o]  # (..., r, c)
                values = (
                    values[..., None].expand(*values.shape, len(pts)).reshape(*lead, index.numel())
                )
                out.index_add_(-1, index, values)
    return out.reshape(*lead, h, w)
