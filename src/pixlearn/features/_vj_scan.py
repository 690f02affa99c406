r"""The Viola-Jones sliding-window scan of pyramid levels, stage by stage.

A window at ``(y, x)`` reads the integral image at ``(y + dy, x + dx)`` for a fixed set of
corner offsets ``(dy, dx)`` per feature (:class:`~pixlearn.features._vj_lookups.Lookups`).
While most windows are still alive (the first, cheap stages), every window is evaluated at
once: on the stride-``step`` grid the entries ``ii[y + dy, x + dx]`` of all windows are one
block of the sub-table ``ii[dy % step :: step, dx % step :: step]``; the sub-tables are copied
once per level into contiguous arrays of one common width
(:class:`~pixlearn.features._vj_tables.Blocks`), so that the block of a band of grid rows is
one contiguous slice, and a feature is a handful of whole-band additions, with no index
arrays, each feature's stump read while its row is in the cache. This dense phase runs in
bands of grid rows, so every temporary stays cache-sized. Once few windows survive, the rest
of the cascade runs on the survivors of all bands together, gathering their entries (flat
index ``base + offset``): many survivors one read of one feature at a time (a gather from the
table shifted by the offset), fewer all features' ``i``-th reads at once, very few all reads
of a stage at once. Every feature's reads are summed in one fixed order on all paths, so which
path evaluates a window changes no bit of its margin. The small levels of a pyramid are
scanned together as one stack of tables (:class:`~pixlearn.features._vj_tables.Stack`): each
level keeps its own table values, so the stack changes no bit either.

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

from collections.abc import Sequence

import numpy as np

from pixlearn.features._vj_lookups import Lookups
from pixlearn.features._vj_tables import Blocks, Stack

__all__: list[str] = []  # private: used by features.viola_jones

#: evaluate every window of a band (dense blocks) while more than this fraction is alive
_DENSE_FRACTION = 0.3
#: windows per band of grid rows in the dense phase (see :func:`scan_level`)
_BAND = 16384
#: surviving windows evaluated together in the sparse phase
_CHUNK = 32768
#: below this many windows the sparse phase gathers all reads of a stage at once
_FEW = 256
#: from this many windows on the sparse phase gathers one read of one feature at a time
_MANY = 1024
#: levels whose integral image has at most this many entries are scanned as one stack
_SMALL = 25000


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
    return scan_levels([level], window, step, lookups, eps_std)[0]


def scan_levels(
    levels: Sequence[np.ndarray],
    window: tuple[int, int],
    step: int,
    lookups: list[Lookups],
    eps_std: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`scan_level` of each level (the same numbers); the small ones (integral images
    of at most :data:`_SMALL` entries) are scanned together as one :class:`Stack`, paying the
    per-stage costs of a scan once for all of them."""
    h, w = window
    out: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros((0, 4)), np.zeros(0))] * len(levels)
    fit = [i for i, lv in enumerate(levels) if lv.shape[0] >= h and lv.shape[1] >= w]
    small = [i for i in fit if (levels[i].shape[0] + 1) * (levels[i].shape[1] + 1) <= _SMALL]
    groups = [[i] for i in fit if i not in small] + ([small] if small else [])
    for group in groups:
        found = _scan_stack([levels[i] for i in group], window, step, lookups, eps_std)
        for i, res in zip(group, found, strict=True):
            out[i] = res
    return out


def _scan_stack(
    levels: list[np.ndarray],
    window: tuple[int, int],
    step: int,
    lookups: list[Lookups],
    eps_std: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The accepted windows of the levels of one stack: per level, boxes and margins."""
    h, w = window
    st = Stack(levels, window, step, eps_std)
    width = st.width
    rows = max(1, _BAND // width)  # grid rows per band
    # windows that left the dense phase, by the stage they have to pass next:
    # (grid index, mean, std, margin so far)
    pending: dict[int, list[tuple[np.ndarray, ...]]] = {}
    for r0 in range(0, st.n_rows, rows):
        band = slice(r0 * width, min(r0 + rows, st.n_rows) * width)
        s, found = _dense_band(st.blocks, st.mean[band], st.std[band], st.valid[band], r0, lookups)
        pending.setdefault(s, []).append(found)
    idx, margin = _sparse(st.table.reshape(-1), st.table.shape[1], pending, width, step, lookups)
    order = np.argsort(idx, kind="stable")  # grid order
    idx, margin = idx[order], margin[order]
    corners = st.split(idx)  # per level (P_j, 2)
    margins = np.split(margin, np.cumsum([len(c) for c in corners])[:-1])
    out = []
    for yx, m in zip(corners, margins, strict=True):
        yy, xx = yx[:, 0], yx[:, 1]  # (P_j,) level pixels
        boxes = np.stack([xx, yy, xx + w, yy + h], -1).astype(np.float64)  # (P_j, 4)
        out.append((boxes, m))
    return out


def _dense_band(
    blocks: Blocks,
    mean: np.ndarray,
    std: np.ndarray,
    valid: np.ndarray,
    r0: int,
    lookups: list[Lookups],
) -> tuple[int, tuple[np.ndarray, ...]]:
    """The first stages on every position of the band of grid rows from ``r0`` (their means,
    stds and whether they are windows, ``(n,)`` each), while most of the windows pass: the
    next stage to run and the survivors (grid index, mean, std, margin)."""
    n = valid.size  # band positions
    margin = np.full(n, np.inf)
    alive = valid.copy()
    n_windows = np.count_nonzero(valid)
    s = 0
    out, tmp = np.empty(n), np.empty(n)  # one raw feature, a product
    shift = r0 * blocks.width  # band offset in every sub-table
    flat = blocks.flat
    while s < len(lookups) and np.count_nonzero(alive) > _DENSE_FRACTION * n_windows:
        lk = lookups[s]
        votes = lk.new_votes(n)
        for t, reads in enumerate(lk.block_reads(blocks.step, blocks.rows, blocks.width)):
            # raw_f = sum_i c_i ii[y + dy_i, x + dx_i], in the reads' order (0 without reads)
            if not reads:
                out.fill(0.0)
            for i, (start, c) in enumerate(reads):
                v = flat[start + shift : start + shift + n]
                if i == 0:
                    np.multiply(v, c, out=out)
                elif c == 1:
                    out += v
                elif c == -1:
                    out -= v
                else:
                    out += np.multiply(v, c, out=tmp)
            # its stump's vote while the row is in the cache
            lk.add_vote(t, out, mean, std, votes)
        m = lk.finish(votes)  # (n,)
        np.minimum(margin, m, out=margin)
        alive &= m >= 0
        s += 1
    keep = np.flatnonzero(alive)  # (P,) band positions
    return s, (shift + keep, mean[keep], std[keep], margin[keep])


def _sparse(
    flat: np.ndarray,
    stride: int,
    pending: dict[int, list[tuple[np.ndarray, ...]]],
    width: int,
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
                flat, stride, idx[sl], mean[sl], std[sl], margin[sl], width, step, lookups[s0:]
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
    width: int,
    step: int,
    lookups: list[Lookups],
) -> tuple[np.ndarray, np.ndarray]:
    """``lookups`` on the windows of grid indices ``idx`` (grid rows of ``width``): the
    survivors and their margins."""
    # grid index r * width + c: the window at (r * step, c * step) of the table
    base = idx // width * step * stride + idx % width * step  # (P,) table index of each corner
    for lk in lookups:
        if idx.size == 0:
            break
        # raw[f] = sum_i coef[i, f] ii[base + off[i, f]], the reads of each feature summed in
        # order; no BLAS (its thread pool, woken for every small product, stalls badly on
        # busy cores)
        if idx.size >= _MANY:
            # many windows: one read of one feature at a time, as in the dense phase, each a
            # gather from the table shifted by the read's offset (no index arithmetic, no
            # padding reads)
            raw = _by_feature(flat, base, lk.flat_reads(stride))  # (k, P)
        elif idx.size < _FEW:
            # few windows: every read of every window in one gather (n, k, P), summed along
            # the first axis (row after row; a single column NumPy would sum pairwise)
            off = lk.dy_read * stride + lk.dx_read  # (n, k) flat offset of each read
            terms = np.take(flat, off[:, :, None] + base)
            terms *= lk.coef
            raw = terms.sum(0) if idx.size > 1 else np.cumsum(terms, 0)[-1]  # (k, P)
        else:
            # one read of every feature at a time, (k, P) temporaries
            off = lk.dy_read * stride + lk.dx_read  # (n, k) flat offset of each read
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


def _by_feature(
    flat: np.ndarray, base: np.ndarray, reads: list[list[tuple[int, float]]]
) -> np.ndarray:
    """Raw features ``(k, P)`` of the windows at table indices ``base`` ``(P,)``, reading
    ``flat[base + offset]`` for each ``(offset, coefficient)`` of each feature's ``reads``
    and summing them in order, with the dense phase's operations (the same bits)."""
    raw = np.empty((len(reads), base.size))  # (k, P)
    tmp = np.empty(base.size)
    for out, terms in zip(raw, reads, strict=True):
        if not terms:
            out.fill(0.0)
        for i, (o, c) in enumerate(terms):
            # flat[o:][base] = flat[base + o]; "clip" writes straight into the output
            v = flat[o:].take(base, out=out if i == 0 else tmp, mode="clip")
            if i == 0:
                if c != 1:
                    v *= c
            elif c == 1:
                out += v
            elif c == -1:
                out -= v
            else:
                v *= c
                out += v
    return raw
