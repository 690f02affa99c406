r"""One wavelet filter-bank step along one axis, as polyphase sums of strided views.

The private engine of :mod:`pixlearn.wavelets.dwt`. A 2-D transform level is two passes of
:func:`analysis_step` (along W, then along H on both bands), and its inverse two passes of
:func:`synthesis_step`. Each pass extends the signal once (one concatenation of mirrored or
wrapped edge slices), then accumulates the ``L`` filter taps as fused multiply-adds
(``addcmul_``) over views of it, both bands at once:

* analysis, :math:`c[o] = \sum_i f[L-1-i]\, x_{ext}[2o + i]`: the samples ``2o + i`` are one
  phase (even or odd) of ``x_ext`` shifted by ``i // 2``, so along W the extended signal is
  split into its two phases once and every tap reads contiguous memory; along H every other
  row is a strided view whose rows are contiguous;
* synthesis, :math:`y[2q + r] = \sum_k a[q + K-1-k]\, g_a[2k + r] + d[q + K-1-k]\, g_d[2k + r]`:
  the even and odd outputs are accumulated separately, then interleaved once.

No per-level permutes, no index gathers (except for signals shorter than the filter), and the
arithmetic stays in the input's dtype. Results equal PyWavelets' (``tests/wavelets/test_dwt.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["analysis_step", "synthesis_step"]


def _extend(x: Tensor, left: int, right: int, mode: str, dim: int) -> Tensor:
    """Continue ``x`` by ``left`` and ``right`` samples along ``dim`` (-1 or -2) with ``mode``."""
    n = x.shape[dim]
    if mode == "zero":
        return F.pad(x, (left, right) if dim == -1 else (0, 0, left, right))
    if left <= n and right <= n:
        # one mirror (or one wrap) is enough: glue edge slices on, a single copy of x
        if mode == "symmetric":  # ... x1 x0 | x0 x1 ... xn | xn xn-1 ...
            head = x.narrow(dim, 0, left).flip(dim)
            tail = x.narrow(dim, n - right, right).flip(dim)
        else:  # periodization: ... xn-1 xn | x0 ... xn | x0 x1 ...
            head, tail = x.narrow(dim, n - left, left), x.narrow(dim, 0, right)
        return torch.cat([head, x, tail], dim)
    # short signal, long filter: several mirrors/periods, through an index map
    i = torch.arange(-left, n + right, device=x.device)
    if mode == "symmetric":
        # half-sample mirror, period 2N: index i maps to i mod 2N, folded back into [0, N)
        i = i % (2 * n)
        i = torch.where(i >= n, 2 * n - 1 - i, i)
    else:
        i = i % n
    return x.index_select(dim, i)


def analysis_step(x: Tensor, lo: Tensor, hi: Tensor, mode: str, dim: int) -> Tensor:
    """One DWT step along ``dim`` (-1 or -2), the two bands on a new axis -3.

    ``(..., H, N) -> (..., 2, H, n_out)`` for ``dim=-1`` and ``(..., N, W) -> (..., 2, n_out, W)``
    for ``dim=-2``; band 0 is the low-pass (approximation), band 1 the high-pass (detail).
    """
    n = x.shape[dim]
    length = lo.shape[0]
    if mode == "periodization":
        if n % 2:  # odd length: repeat the last sample once, as PyWavelets does
            x = torch.cat([x, x.narrow(dim, n - 1, 1)], dim)
            n += 1
        n_out = n // 2
        # c[o] = sum_j f[j] x[(2o + 1 - j + L/2) mod N]  (the filter centred on the pair)
        left = length // 2 - 1
    else:
        n_out = (n + length - 1) // 2
        # c[o] = sum_j f[j] x_ext[2o + 1 - j]: the odd samples of the full convolution
        left = length - 2
    right = 2 * (n_out - 1) + length - left - n
    if dim == -1:
        right += (n + left + right) % 2  # an even length, to split into two phases below
    xp = _extend(x, left, max(right, 0), mode, dim)  # (..., N + left + right) along dim
    if dim == -1:
        # deinterleave once into (even, odd) samples, so that every tap below reads
        # contiguous memory: xp[2o + i] = phases[i % 2][o + i // 2]
        phases = xp.unflatten(-1, (-1, 2)).movedim(-1, 0).contiguous()  # (2, ..., H, Np / 2)
    # tap i of the flipped pair: c[o] = sum_i f[L-1-i] xp[2o + i], both bands at once
    taps = torch.stack([lo.flip(0), hi.flip(0)], 1)[:, :, None, None]  # (L, 2, 1, 1)
    used = ((taps != 0).flatten(1).any(1)).tolist()  # biorthogonal banks carry zero taps
    out: Tensor | None = None
    for i in range(length):
        if not used[i]:
            continue
        if dim == -1:
            xs = phases[i % 2].narrow(-1, i // 2, n_out)  # (..., H, Wo)
        else:  # every other row from offset i: a strided view whose rows are contiguous
            xs = xp[..., i : i + 2 * n_out - 1 : 2, :]  # (..., Ho, W)
        xs = xs.unsqueeze(-3)  # (..., 1, H, Wo) or (..., 1, Ho, W)
        out = xs * taps[i] if out is None else out.addcmul_(xs, taps[i])  # (..., 2, ., .)
    assert out is not None  # every bank has a non-zero tap
    return out


def synthesis_step(a: Tensor, d: Tensor, lo: Tensor, hi: Tensor, mode: str, dim: int) -> Tensor:
    """One inverse step along ``dim`` (-1 or -2): ``a``, ``d`` ``(..., n)`` -> ``(..., N)``."""
    n = a.shape[dim]
    half = lo.shape[0] // 2  # K = L/2 taps per polyphase component
    if mode == "periodization":
        # wrap by continuing the coefficients periodically, then keep one period of the
        # fully overlapped output; sample m of the full result lands on (m - K + 1) mod 2n
        pad = half // 2  # ceil((K - 1)/2) coefficients on each side
        a, d = _extend(a, pad, pad, mode, dim), _extend(d, pad, pad, mode, dim)
        start, size = 2 * pad - half + 1, 2 * n
    else:
        # keep the samples where both filters are fully overlapped: 2n - L + 2 of them
        start, size = 0, 2 * (n - half + 1)
    pairs = a.shape[dim] - half + 1
    # upsample and filter, output pair q (even, odd samples):
    # y[2q + r] = sum_k a[q + K-1-k] lo[2k + r] + d[q + K-1-k] hi[2k + r],  r = 0, 1
    if dim == -1:
        # the two phases r on a leading axis, each computed on contiguous rows
        shape = (half, 2) + (1,) * a.dim()  # (K, 2, 1, ..., 1)
        unsqueeze = 0
    else:
        # the two phases r between the rows: (..., M, 2, W), rows stay contiguous
        shape, unsqueeze = (half, 2, 1), -2
    w_lo = lo.reshape(half, 2).reshape(shape)
    w_hi = hi.reshape(half, 2).reshape(shape)
    used_lo = lo.reshape(half, 2).ne(0).any(1).tolist()  # biorthogonal banks carry zero taps
    used_hi = hi.reshape(half, 2).ne(0).any(1).tolist()
    out: Tensor | None = None
    for k in range(half):
        for used, c, w in ((used_lo, a, w_lo), (used_hi, d, w_hi)):
            if not used[k]:
                continue
            # (1, ..., M) along W, (..., M, 1, W) along H; out (2, ..., M) or (..., M, 2, W)
            sc = c.narrow(dim, half - 1 - k, pairs).unsqueeze(unsqueeze)
            out = sc * w[k] if out is None else out.addcmul_(sc, w[k])
    assert out is not None
    # interleave the phases: y[2q + r]
    out = out.movedim(0, -1).flatten(-2) if dim == -1 else out.flatten(-3, -2)
    return out.narrow(dim, start, size)
