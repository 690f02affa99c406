"""Correlation of HOG block grids with stacks of filters, by one matrix product and shifted sums.

Used by the deformable part model to score its root and part filters at every position of
every pyramid level.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["block_correlate"]


def block_correlate(grid: Tensor, filters: Tensor) -> Tensor:
    r"""Correlate block grids ``(B, P, Q, D)`` with filters ``(n, kh, kw, D)``: ``(B, n, R, C)``.

    One matrix product gives every block's dot product with every filter block; shifted sums
    of its slices then assemble :math:`\sum_{a, c} \langle G_{i + a, j + c}, F_{a, c}\rangle`
    (exact, and several times faster than a float64 ``conv2d`` on the CPU). Batches are cut
    in chunks of bounded memory.
    """
    b, p, q, d = grid.shape
    n, kh, kw, _ = filters.shape
    r, c = p - kh + 1, q - kw + 1
    w = filters.to(grid).permute(3, 1, 2, 0).reshape(d, kh * kw * n)  # (D, kh kw n)
    out = grid.new_empty(b, r, c, n)
    step = max(1, (1 << 22) // max(p * q * kh * kw * n, 1))
    for s in range(0, b, step):
        # y[., i, j, a, c, k] = <G_ij, F_k,ac>
        y = (grid[s : s + step].reshape(-1, d) @ w).reshape(-1, p, q, kh, kw, n)
        acc = y[:, :r, :c, 0, 0].clone()  # (b', R, C, n)
        for a in range(kh):
            for e in range(kw):
                if a or e:
                    acc += y[:, a : a + r, e : e + c, a, e]
        out[s : s + step] = acc
    return out.permute(0, 3, 1, 2)  # (B, n, R, C)
