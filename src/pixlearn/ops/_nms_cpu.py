"""The CPU sweep of greedy non-maximum suppression: blocks of boxes settled at once, in NumPy.

On the CPU a NumPy call costs a fraction of a torch call on a few thousand values, and greedy
NMS is a sequence of small steps, so :func:`pixlearn.ops.nms` runs this sweep on the CPU and a
vectorised pair search on other devices (same result).
"""

from __future__ import annotations

import numpy as np

__all__ = ["greedy_blocked"]

_BLOCK_PAIRS = 131072  # block size x boxes left: the pair work of one step of the sweep
_UPPER = np.triu(np.ones((64, 64), dtype=bool), 1)  # j < i: box j may suppress box i


def _suppression(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...], t: float) -> np.ndarray:
    """``(P, Q)`` bool: ``IoU(a_p, b_q) > t`` for columns ``(x1, y1, x2, y2, area[, group])``.

    Boxes of different groups (with the 6th column) never suppress each other. IoU is
    ``inter / (area_a + area_b - inter)``; 0/0 (two zero-area boxes) is NaN, which suppresses
    nothing. Only the width is clamped at 0: where the heights do not overlap the
    "intersection" is <= 0, and so is the ratio, which is not above ``t >= 0`` either.
    In-place steps on contiguous columns: this is the hot loop.
    """
    ax1, ay1, ax2, ay2, aa = (c[:, None] for c in a[:5])  # (P, 1) each
    bx1, by1, bx2, by2, ba = b[:5]  # (Q,) each
    inter = np.minimum(ax2, bx2)  # (P, Q)
    inter -= np.maximum(ax1, bx1)
    np.maximum(inter, 0, out=inter)  # overlap width
    inter *= np.minimum(ay2, by2) - np.maximum(ay1, by1)
    union = aa + ba
    union -= inter
    over = np.divide(inter, union, out=inter) > t  # 0/0 warnings: silenced by the caller
    if len(a) > 5:
        over &= a[5][:, None] == b[5]
    return over


def _take(columns: list[np.ndarray], idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """The entries ``idx`` (increasing) of each column: a view when they are a contiguous run."""
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx):
        return tuple(c[idx[0] : idx[-1] + 1] for c in columns)
    return tuple(c[idx] for c in columns)


def greedy_blocked(ranked: np.ndarray, groups: np.ndarray | None, t: float) -> np.ndarray:
    """Greedy NMS of boxes already sorted by decreasing score; returns the kept ranks.

    The sweep takes the best 16-64 boxes still in play (fewer while many are left, so that
    the survivors prune the rest early), settles which of them survive among themselves, then
    lets the survivors suppress every later box at once. Inside a block the greedy rule
    ``keep[i] = not any(keep[j] and S[j, i] for j < i)`` (``S[j, i]``: box ``j`` suppresses box
    ``i``) is a triangular system with one solution; iterating ``keep <- (keep @ S == 0)`` from
    all-True reaches it (entry ``i`` is final after ``i + 1`` rounds, and in practice after a
    few). A few NumPy calls per block instead of per kept box: the loop overhead that dominated
    small inputs is gone, the pair work stays ``O(N K)``.
    """
    x1, y1, x2, y2 = (np.ascontiguousarray(ranked[:, k]) for k in range(4))
    columns = [x1, y1, x2, y2, (x2 - x1) * (y2 - y1)]  # (R,) each
    if groups is not None:
        columns.append(groups)
    alive = np.arange(len(ranked))  # ranks still in play
    keep = []
    with np.errstate(invalid="ignore", divide="ignore"):
        while alive.size:
            size = min(64, max(16, _BLOCK_PAIRS // len(alive)))  # smaller while many are left
            block, rest = alive[:size], alive[size:]
            cb = _take(columns, block)
            b = len(block)
            s = (_suppression(cb, cb, t) & _UPPER[:b, :b]).astype(np.float32)  # (B, B)
            k = np.ones(b, dtype=np.float32)  # (B,) 1 = kept
            while True:
                k_next = (k @ s == 0).astype(np.float32)
                if not (k_next != k).any():
                    break
                k = k_next
            kept = block[k > 0]
            keep.append(kept)
            over = _suppression(_take(columns, kept), _take(columns, rest), t)  # (K, R)
            alive = rest[~over.any(0)]
    return np.concatenate(keep).astype(np.int64)
