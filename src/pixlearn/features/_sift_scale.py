r"""SIFT's Gaussian scale space and its DoG extrema, computed strip by strip.

On a CPU the cost of a large image pipeline is mostly memory, not arithmetic: every fresh
multi-megabyte temporary is new memory the operating system has to map (page faults), and it
falls out of the cache before the next operation reads it. So an octave's Gaussian levels are
written into one buffer allocated once, and both the separable blur and the 3x3x3 extremum test
run over strips of rows (with the halo each needs) small enough to stay in cache; the
difference-of-Gaussians is never stored, only formed strip by strip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn.filters import gaussian_kernel1d

__all__ = ["blur_into", "dog_extrema", "upsample2"]

# elements per strip: about 256 KB of float32, so a strip and its temporaries stay in L2
_STRIP_ELEMENTS = 65536


def upsample2(image: Tensor) -> Tensor:
    """Double an ``(H, W)`` image by linear interpolation with half-pixel centres.

    Output pixel ``u`` samples the input at ``(u + 0.5) / 2 - 0.5`` (edges replicated), as
    :func:`pixlearn.transform.resize` with ``interpolation="linear", antialias=False``.

    Example:
        >>> upsample2(torch.tensor([[0.0, 4.0]]))
        tensor([[0., 1., 3., 4.],
                [0., 1., 3., 4.]])
    """
    up = F.interpolate(image[None, None], scale_factor=2.0, mode="bilinear", align_corners=False)
    return up[0, 0]  # (2H, 2W)


def _reflect_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Source index of each sample of an axis of length ``n`` extended by ``pad`` each side.

    Mirror without repeating the edge sample (period ``2 (n - 1)``), as SciPy's ``"mirror"``.
    """
    j = torch.arange(-pad, n + pad, device=device)  # (n + 2 pad,)
    if n == 1:
        return j.clamp(0, 0)
    period = 2 * (n - 1)
    m = j % period
    return torch.where(m < n, m, period - m)


def blur_into(src: Tensor, sigma: float, out: Tensor) -> Tensor:
    r"""Gaussian blur of ``src (H, W)`` written into ``out (H, W)``, by strips of rows.

    Equals :func:`pixlearn.filters.gaussian_blur2d` (``truncate=4``, ``border="reflect"``):
    each strip gathers its rows plus the kernel radius above and below (mirrored at the
    image border), convolves along y with one fused multiply-add per tap, mirrors the columns
    and convolves along x straight into ``out``.

    Notes:
        :math:`(f * G_\sigma)(y, x) = \sum_j g_j \sum_i g_i f(y + i, x + j)`, with
        :math:`g` the normalised sampled Gaussian of radius :math:`\lfloor 4\sigma + 0.5
        \rfloor`.

    Example:
        >>> out = blur_into(torch.full((9, 9), 0.5), 1.5, torch.empty(9, 9))
        >>> bool(torch.allclose(out, torch.full((9, 9), 0.5)))
        True
    """
    h, w = src.shape
    taps = gaussian_kernel1d(sigma, dtype=src.dtype, device=src.device).tolist()
    rad = len(taps) // 2
    rows = _reflect_index(h, rad, src.device)  # (h + 2 rad,)
    cols = _reflect_index(w, rad, src.device)  # (w + 2 rad,)
    step = max(1, _STRIP_ELEMENTS // (w + 2 * rad))
    for r0 in range(0, h, step):
        n = min(step, h - r0)
        block = src.index_select(0, rows[r0 : r0 + n + 2 * rad])  # (n + 2 rad, w)
        # along y: tmp(y) = sum_i g_i block(y + i)
        tmp = block[0:n] * taps[0]  # (n, w)
        for i in range(1, len(taps)):
            tmp.add_(block[i : i + n], alpha=taps[i])
        ext = tmp.index_select(1, cols)  # (n, w + 2 rad), columns mirrored
        # along x: out(x) = sum_j g_j ext(x + j)
        dst = out[r0 : r0 + n]  # (n, w) view
        torch.mul(ext[:, 0:w], taps[0], out=dst)
        for j in range(1, len(taps)):
            dst.add_(ext[:, j : j + w], alpha=taps[j])
    return out


def dog_extrema(levels: Tensor, threshold: float, border: int) -> tuple[Tensor, Tensor, Tensor]:
    r"""Strict-or-equal 3x3x3 extrema of the DoG of an octave's Gaussian levels.

    Args:
        levels: the Gaussian levels :math:`L_0 .. L_{S+2}`, shape ``(S + 3, h, w)``.
        threshold: a candidate's value must exceed it in magnitude.
        border: rows and columns this close to the edge are not searched.

    Returns:
        ``(s, y, x)`` int64 of the candidates, sorted by ``(s, y, x)``; ``s`` indexes the DoG
        layers :math:`D_s = L_{s+1} - L_s` and runs over ``1 .. S`` (each has a layer above
        and below).

    Notes:
        A maximum satisfies :math:`D_s(y, x) \ge \max` of its 3x3x3 neighbourhood and
        :math:`D_s(y, x) > t` (a minimum: :math:`\le \min` and :math:`< -t`). The 3x3x3
        maximum is separable: over the three layers, then three columns, then three rows.

    Example:
        >>> lv = torch.zeros(4, 16, 16)
        >>> lv[2:, 8, 8] = 1.0  # D_1 has a peak at (8, 8)
        >>> [t.tolist() for t in dog_extrema(lv, 0.1, 5)]
        [[1], [8], [8]]
    """
    n_lev, h, w = levels.shape
    b = border
    ys, xs, ss = [], [], []
    step = max(1, _STRIP_ELEMENTS // (w * n_lev))
    for r0 in range(b, h - b, step):
        n = min(step, h - b - r0)
        g = levels[:, r0 - 1 : r0 + n + 1]  # (S + 3, n + 2, w) view
        d = g[1:] - g[:-1]  # (S + 2, n + 2, w) DoG of the strip and its halo
        mid = d[1:-1, 1:-1, b : w - b]  # (S, n, w - 2b)
        # 3x3x3 maximum: over layers s - 1, s, s + 1, then columns, then rows
        mx = torch.maximum(torch.maximum(d[:-2], d[1:-1]), d[2:])  # (S, n + 2, w)
        mx = torch.maximum(
            torch.maximum(mx[..., b - 1 : w - b - 1], mx[..., b : w - b]),
            mx[..., b + 1 : w - b + 1],
        )
        mx = torch.maximum(torch.maximum(mx[:, :-2], mx[:, 1:-1]), mx[:, 2:])  # (S, n, w - 2b)
        mn = torch.minimum(torch.minimum(d[:-2], d[1:-1]), d[2:])
        mn = torch.minimum(
            torch.minimum(mn[..., b - 1 : w - b - 1], mn[..., b : w - b]),
            mn[..., b + 1 : w - b + 1],
        )
        mn = torch.minimum(torch.minimum(mn[:, :-2], mn[:, 1:-1]), mn[:, 2:])
        cand = ((mid >= mx) & (mid > threshold)) | ((mid <= mn) & (mid < -threshold))
        s, y, x = cand.nonzero(as_tuple=True)  # (m,) each
        ss.append(s + 1)
        ys.append(y + r0)
        xs.append(x + b)
    if not ss:
        empty = torch.zeros(0, dtype=torch.long, device=levels.device)
        return empty, empty, empty
    s, y, x = torch.cat(ss), torch.cat(ys), torch.cat(xs)
    # strips come row-block first: reorder to (s, y, x) as a whole-octave scan would give
    order = torch.argsort((s * h + y) * w + x)
    return s[order], y[order], x[order]
