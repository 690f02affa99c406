r"""The Viola-Jones sliding-window scan of one pyramid level, stage by stage.

A window at ``(y, x)`` reads the integral image at ``(y + dy, x + dx)`` for a fixed set of
corner offsets ``(dy, dx)`` per feature (:class:`~pixlearn.features._vj_lookups.Lookups`).
While most windows are still alive (the first, cheap stages), every window is evaluated at
once: on the stride-``step`` grid the entries ``ii[y + dy, x + dx]`` of all windows are one
block of the sub-table ``ii[dy % step :: step, dx % step :: step]``; the sub-tables are copied
once per level into contiguous arrays of one common width, so that the block of a band of
grid rows is one contiguous slice, and a feature is a handful of whole-band additions, with no
index arrays. This dense phase runs in bands of grid rows, so every temporary stays
cache-sized. Once few windows survive, the rest of the cascade runs on the survivors of all
bands of the level together, gathering their entries (flat index ``base + offset``).
Every feature's reads are summed in one fixed order on both paths, so which path evaluates a
window changes no bit of its margin.

Each window is variance-normalised before its features are read: with the window's mean
:math:`\mu`, standard deviation :math:`\sigma` (from the tables of :math:`I` and
:math:`I^2`) and :math:`A_f` the feature's response to a constant window of ones,

.. math::
    f\big((I - \mu) / \sigma\big) = \big(f(I) - \mu A_f\big) / \sigma.

A stage accepts a window when its margin
:math:`(\sum_t \alpha_t h_t - \theta_s) / \sum_t \alpha_t \geq 0`, with the stumps
:math:`h_t = [p_t f_t < p_t \tau_t]`.
"""

from __future__ import annotations

import numpy as np
import torch

from pixlearn.features._vj_lookups import Lookups

__all__: list[str] = []  # private: used by features.viola_jones

#: evaluate every window of a band (dense blocks) while more than this fraction is alive
_DENSE_FRACTION = 0.3
#: windows per band of grid rows in the dense phase (see :func:`scan_level`)
_BAND = 16384
#: surviving windows evaluated together in the sparse phase
_CHUNK = 8192
#: below this many windows the sparse phase gathers all reads of a stage at once
_FEW = 256
#: torch runs an op on fewer elements than this in the calling thread (its grain size)
_INLINE = 32768


def _integral(x: np.ndarray) -> np.ndarray:
    """The zero-padded summed-area table ``(H + 1, W + 1)`` of ``x``, float64: the running
    sums of :func:`~pixlearn.features.integral_image` (down the columns, then along the rows;
    the same table to the last bit), taken over strips of fewer than :data:`_INLINE` entries,
    which torch sums in this thread: its thread pool, when the cores are busy, waits a
    scheduler slice for every op."""
    ii = np.zeros((x.shape[0] + 1, x.shape[1] + 1))
    ii[1:, 1:] = x
    t = torch.from_numpy(ii)
    cols = max(1, (_INLINE - 1) // t.shape[0])  # columns per strip
    for c in range(0, t.shape[1], cols):
        t[:, c : c + cols].cumsum_(0)
    rows = max(1, (_INLINE - 1) // t.shape[1])  # rows per strip
    for r in range(0, t.shape[0], rows):
        t[r : r + rows].cumsum_(1)
    return ii


class _Blocks:
    """A table cut into its stride-``step`` sub-tables ``table[p::step, q::step]``, each a
    contiguous ``(rows, width)`` array of one common width (zero-padded, plus a zero row), so
    that ``table[y + dy, x + dx]`` for every window corner ``(y, x)`` of a band is one
    contiguous slice: band position ``r * width + c`` is grid row ``r0 + r``, column ``c``
    (columns ``c >= nx`` are not windows)."""

    def __init__(self, table: np.ndarray, step: int) -> None:
        self.table, self.step = table, step
        self.rows = -(-table.shape[0] // step) + 1
        self.width = -(-table.shape[1] // step)
        self.sub: dict[tuple[int, int], np.ndarray] = {}
        self.reads: dict[int, list[list[tuple[np.ndarray, int, float]]]] = {}

    def locate(self, dy: int, dx: int) -> tuple[np.ndarray, int]:
        """The flat sub-table holding ``table[y + dy, x + dx]`` and the index there of grid
        row 0, column 0 (grid row ``r`` starts ``r * width`` further)."""
        s = self.step
        key = (dy % s, dx % s)
        sub = self.sub.get(key)
        if sub is None:
            part = self.table[key[0] :: s, key[1] :: s]
            sub = np.zeros((self.rows, self.width))
            sub[: part.shape[0], : part.shape[1]] = part
            sub = self.sub[key] = sub.reshape(-1)
        return sub, dy // s * self.width + dx // s

    def __call__(self, dy: int, dx: int, r0: int, ny: int) -> np.ndarray:
        """The ``(ny * width,)`` slice of grid rows ``r0 .. r0 + ny - 1``."""
        sub, start = self.locate(dy, dx)
        start += r0 * self.width
        return sub[start : start + ny * self.width]

    def features(self, lk: Lookups) -> list[list[tuple[np.ndarray, int, float]]]:
        """Per feature of a stage: ``(sub-table, start, coefficient)`` of each read (worked
        out once per level)."""
        found = self.reads.get(id(lk))
        if found is None:
            found = [[(*self.locate(dy, dx), c) for dy, dx, c in terms] for terms in lk.terms]
            self.reads[id(lk)] = found
        return found


def scan_level(
    level: np.ndarray, window: tuple[int, int], step: int, lookups: list[Lookups], eps_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of one grey level ``(H, W)`` (float64) that every stage accepts.

    Args:
        level: the pyramid level, ``(H, W)`` float64 (smaller than the window: no windows).
        window: ``(h, w)``; step: the stride in pixels; lookups: the cascade's stages;
        eps_std: the floor of each window's standard deviation.

    Returns:
        ``boxes`` ``(P, 4)`` float64 ``xyxy`` in level pixels and their ``(P,)`` margins (the
        smallest stage margin of each window), in grid order (row by row).
    """
    h, w = window
    if level.shape[0] < h or level.shape[1] < w:
        return np.zeros((0, 4)), np.zeros(0)
    ny, nx = (level.shape[0] - h) // step + 1, (level.shape[1] - w) // step + 1
    ii = _integral(level)  # (H + 1, W + 1)
    blocks, blocks2 = _Blocks(ii, step), _Blocks(_integral(level * level), step)
    rows = max(1, _BAND // blocks.width)  # grid rows per band
    # windows that left the dense phase, by the stage they have to pass next:
    # (grid index, mean, std, margin so far)
    pending: dict[int, list[tuple[np.ndarray, ...]]] = {}
    for r0 in range(0, ny, rows):
        s, found = _dense_band(
            blocks, blocks2, r0, min(rows, ny - r0), nx, window, lookups, eps_std
        )
        pending.setdefault(s, []).append(found)
    idx, margin = _sparse(ii.reshape(-1), ii.shape[1], pending, nx, step, lookups)
    order = np.argsort(idx, kind="stable")  # grid order
    idx, margin = idx[order], margin[order]
    yy, xx = idx // nx * step, idx % nx * step  # (P,) level pixels
    boxes = np.stack([xx, yy, xx + w, yy + h], -1).astype(np.float64)  # (P, 4)
    return boxes, margin


def _dense_band(
    blocks: _Blocks,
    blocks2: _Blocks,
    r0: int,
    ny: int,
    nx: int,
    window: tuple[int, int],
    lookups: list[Lookups],
    eps_std: float,
) -> tuple[int, tuple[np.ndarray, ...]]:
    """The first stages on every window of grid rows ``r0 .. r0 + ny - 1``, while most of
    them pass: the next stage to run and the survivors (grid index, mean, std, margin)."""
    h, w = window
    width = blocks.width
    n = ny * width  # band positions, ny * nx of them windows

    def box_sum(b: _Blocks) -> np.ndarray:
        """Sum of the image over every window: four corners, ``D - B - C + A``."""
        return b(h, w, r0, ny) - b(0, w, r0, ny) - b(h, 0, r0, ny) + b(0, 0, r0, ny)

    # window mean and std from the two tables: var = E[I^2] - E[I]^2
    mean = box_sum(blocks) / (h * w)  # (n,)
    var = box_sum(blocks2) / (h * w) - mean**2
    std = np.maximum(np.sqrt(np.maximum(var, 0)), eps_std)
    margin = np.full(n, np.inf)
    alive = np.ones((ny, width), dtype=bool)
    alive[:, nx:] = False  # past the last window of a row
    alive = alive.reshape(-1)
    s = 0
    tmp = np.empty(n)
    shift = r0 * width  # band offset in every sub-table
    while s < len(lookups) and np.count_nonzero(alive) > _DENSE_FRACTION * ny * nx:
        lk = lookups[s]
        raw = np.empty((lk.k, n))  # (k, n)
        for out, reads in zip(raw, blocks.features(lk), strict=True):
            # raw_f = sum_i c_i ii[y + dy_i, x + dx_i], in the reads' order (0 without reads)
            if not reads:
                out.fill(0.0)
            for i, (sub, start, c) in enumerate(reads):
                v = sub[start + shift : start + shift + n]
                if i == 0:
                    np.multiply(v, c, out=out)
                elif c == 1:
                    out += v
                elif c == -1:
                    out -= v
                else:
                    out += np.multiply(v, c, out=tmp)
        m = lk.margin(raw, mean, std)  # (n,)
        np.minimum(margin, m, out=margin)
        alive &= m >= 0
        s += 1
    keep = np.flatnonzero(alive)  # (P,) band positions
    grid = (r0 + keep // width) * nx + keep % width
    return s, (grid, mean[keep], std[keep], margin[keep])


def _sparse(
    flat: np.ndarray,
    stride: int,
    pending: dict[int, list[tuple[np.ndarray, ...]]],
    nx: int,
    step: int,
    lookups: list[Lookups],
) -> tuple[np.ndarray, np.ndarray]:
    """The remaining stages on the windows left by the dense phase, gathering the table
    entries of the survivors only, :data:`_CHUNK` windows at a time (cache-sized
    temporaries): their grid indices and margins (in no particular order)."""
    start = {
        s: [np.concatenate(a) for a in zip(*parts, strict=True)] for s, parts in pending.items()
    }
    found_idx, found_margin = [], []
    for s0, (idx, mean, std, margin) in start.items():
        for c0 in range(0, idx.size, _CHUNK):
            sl = slice(c0, c0 + _CHUNK)
            i, m = _sparse_chunk(
                flat, stride, idx[sl], mean[sl], std[sl], margin[sl], nx, step, lookups[s0:]
            )
            found_idx.append(i)
            found_margin.append(m)
    if not found_idx:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(found_idx), np.concatenate(found_margin)


def _sparse_chunk(
    flat: np.ndarray,
    stride: int,
    idx: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    margin: np.ndarray,
    nx: int,
    step: int,
    lookups: list[Lookups],
) -> tuple[np.ndarray, np.ndarray]:
    """``lookups`` on the windows of grid indices ``idx``: the survivors and their margins."""
    base = idx // nx * step * stride + idx % nx * step  # (P,) table index of each corner
    for lk in lookups:
        if idx.size == 0:
            break
        off = lk.dy_read * stride + lk.dx_read  # (n, k) flat offset of each read
        # raw[f] = sum_i coef[i, f] ii[base + off[i, f]], the reads of each feature summed in
        # order; no BLAS (its thread pool, woken for every small product, stalls badly on
        # busy cores)
        if idx.size < _FEW:
            # few windows: every read of every window in one gather (n, k, P), summed along
            # the first axis (row after row; a single column NumPy would sum pairwise)
            terms = np.take(flat, off[:, :, None] + base)
            terms *= lk.coef
            raw = terms.sum(0) if idx.size > 1 else np.cumsum(terms, 0)[-1]  # (k, P)
        else:
            # many: one read of every feature at a time, (k, P) temporaries
            raw = np.take(flat, off[0][:, None] + base)  # (k, P)
            raw *= lk.coef[0]
            for o, coef in zip(off[1:], lk.coef[1:], strict=True):
                t = np.take(flat, o[:, None] + base)  # (k, P)
                t *= coef
                raw += t
        m = lk.margin(raw, mean, std)  # (P,)
        ok = m >= 0
        idx, base, mean, std = idx[ok], base[ok], mean[ok], std[ok]
        margin = np.minimum(margin[ok], m[ok])
    return idx, margin
