r"""A Viola-Jones stage prepared for scanning: its table reads and its stumps as NumPy arrays.

A stage reads the integral image of a window at ``(y, x)`` at ``(y + dy, x + dx)`` for a fixed
set of corner offsets; everything here depends on the cascade only, so the scan builds it once
per cascade (:func:`cached_lookups`) and not once per image.

A stump :math:`h_t = [p_t f_t < p_t \tau_t]` reads the feature rounded to float32 (as in
training). The polarity :math:`p_t = \pm 1` is folded into the feature's coefficients (sign
flips are exact), and a float64 number rounds to a float32 below the float64 bound
:math:`b_t = p_t \tau_t` exactly when it is below a float64 cut next to the midpoint between
the two float32 numbers around :math:`b_t` (:func:`float32_cut`), so the stumps compare in
float64 without rounding, with the same verdicts. A stage of at most 16 stumps reads its vote
:math:`\sum_t \alpha_t h_t` from a table indexed by the stumps' bits, filled with the same
sums in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn.features.viola_jones_train import compact_corners

__all__: list[str] = []  # private: used by features._vj_scan and features.viola_jones

_STAGE_KEYS = ("coords", "threshold", "polarity", "alpha")


def signed_area(coords: Tensor) -> Tensor:
    """``sum_k sign_k |R_k|`` per feature ``(F, 4, 4)``: its response to a window of ones."""
    x1, y1, x2, y2 = coords.to(torch.float64).unbind(-1)  # (F, 4)
    sign = torch.tensor([-1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    return ((x2 - x1) * (y2 - y1) * sign).sum(-1)  # (F,)


def stage_margin(f: Tensor, st: dict[str, Any]) -> Tensor:
    """A stage's margin of features ``f`` ``(N, k)`` (its ``k`` stumps): ``(N,)`` float64."""
    h = (st["polarity"] * f < st["polarity"] * st["threshold"]).to(torch.float64)  # (N, k)
    return (h @ st["alpha"] - st["stage_threshold"]) / st["alpha"].sum()


#: float64 numbers from this one up round to float32 infinity (a tie goes to the even 2**128)
_F32_OVERFLOW = 2.0**128 - 2.0**103
#: a stage of at most this many stumps reads its vote from a table of 2**k sums
_TABLE_STUMPS = 16
#: table layouts whose read indices a stage keeps (one per level size and step in use)
_LAYOUTS = 128


def float32_cut(b: np.ndarray) -> np.ndarray:
    """Per float64 bound ``b``: the float64 ``t`` with ``float32(g) < b`` iff ``g < t`` for
    every float64 ``g`` (rounding to nearest, ties to even)."""
    b = np.asarray(b, dtype=np.float64)
    big = np.float64(np.finfo(np.float32).max)
    with np.errstate(over="ignore", invalid="ignore"):
        c = b.astype(np.float32)
        # c: the smallest float32 >= b; q: the float32 just below it
        c = np.where(c.astype(np.float64) < b, np.nextafter(c, np.float32(np.inf)), c)
        q = np.nextafter(c, np.float32(-np.inf))
        # float32(g) <= q iff g is below their midpoint, or at it when q is the even one
        mid = (q.astype(np.float64) + c.astype(np.float64)) / 2
        even = (q.view(np.uint32) & 1) == 0
        t = np.where(even, np.nextafter(mid, np.inf), mid)
    # beyond the float32 range only the infinities are left
    t = np.where(b > big, _F32_OVERFLOW, t)
    t = np.where(b <= -big, np.nextafter(-_F32_OVERFLOW, np.inf), t)
    return np.where(b == -np.inf, -np.inf, t)


def _vote_table(alpha: np.ndarray) -> np.ndarray:
    """``table[code] = sum_t alpha_t [bit t of code]``, summed over ``t`` in order."""
    code = np.arange(1 << alpha.size)
    table = alpha[0] * (code & 1).astype(np.float64)
    for t in range(1, alpha.size):
        table = table + alpha[t] * ((code >> t) & 1).astype(np.float64)
    return table


class Lookups:
    """One stage, level-independent: each feature's reads of the table (corner offsets and
    coefficients, in increasing offset order) and the stumps' constants.

    The raw feature ``f`` of a window at ``(y, x)`` is ``p_f sum_i c_i ii[y + dy_i, x + dx_i]``
    over its reads, always summed in the same order (whole grids or gathered windows, the
    result is the same to the last bit).
    """

    def __init__(self, st: dict[str, Any]) -> None:
        coords = st["coords"]  # (k, 4, 4)
        width = int(coords[..., [0, 2]].max()) + 1  # any stride wider than the window
        offsets, coef = compact_corners(coords, width)  # (k, n) each, increasing offsets
        self.k = coords.shape[0]
        # the polarity p_f folded into the coefficients and the area: p_f f(I) is exact
        polarity = st["polarity"].numpy()  # (k,) +-1
        coef = coef.numpy() * polarity[:, None]  # (k, n), 0 after a feature's last read
        # per feature: its reads (dy, dx, coefficient)
        self.terms: list[list[tuple[int, int, float]]] = [
            [(o // width, o % width, c) for o, c in zip(oo, cc, strict=True) if c]
            for oo, cc in zip(offsets.tolist(), coef.tolist(), strict=True)
        ]
        # the same as arrays for gathered windows, read i of every feature (padding reads
        # are in the window, with coefficient 0)
        read = offsets.numpy().T  # (n, k)
        self.dy_read, self.dx_read = read // width, read % width  # (n, k) each
        self.coef = np.ascontiguousarray(coef.T[:, :, None])  # (n, k, 1)
        self.area = (signed_area(coords).numpy() * polarity)[:, None]  # (k, 1)
        self.cut = float32_cut((st["polarity"] * st["threshold"]).numpy())[:, None]  # (k, 1)
        self.alpha = st["alpha"].numpy()[:, None]  # (k, 1)
        self.theta = float(st["stage_threshold"])
        self.alpha_sum = self.alpha.sum()
        self.table = _vote_table(self.alpha[:, 0]) if self.k <= _TABLE_STUMPS else None
        bits = np.uint8 if self.k <= 8 else np.uint16
        self.bits = (1 << np.arange(self.k)).astype(bits)[:, None]  # (k, 1) 2**t
        # the reads as flat indices into the scan's tables, per table layout (see below)
        self._flat: dict[tuple[int, ...], list[list[tuple[int, float]]]] = {}

    def _cached(self, key: tuple[int, ...], index: Any) -> list[list[tuple[int, float]]]:
        found = self._flat.get(key)
        if found is None:
            if len(self._flat) >= _LAYOUTS:  # many image sizes: forget the older layouts
                self._flat.clear()
            found = [[(index(dy, dx), c) for dy, dx, c in terms] for terms in self.terms]
            self._flat[key] = found
        return found

    def flat_reads(self, stride: int) -> list[list[tuple[int, float]]]:
        """Per feature, its reads ``(offset, coefficient)`` in order, ``offset = dy * stride
        + dx`` in a row-major table of row length ``stride``."""
        return self._cached((stride,), lambda dy, dx: dy * stride + dx)

    def block_reads(self, step: int, rows: int, width: int) -> list[list[tuple[int, float]]]:
        """Per feature, its reads ``(start, coefficient)`` in order in a table cut into its
        ``step * step`` sub-tables ``table[p::step, q::step]``, each ``(rows, width)``, stored
        one after the other (``p`` major): ``table[y + dy, x + dx]`` of the window at grid
        row ``r``, column ``c`` is entry ``start + r * width + c``."""

        def index(dy: int, dx: int) -> int:
            sub = (dy % step) * step + dx % step
            return sub * rows * width + dy // step * width + dx // step

        return self._cached((step, rows, width), index)

    def margin(self, raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Stage margins ``(P,)`` of raw features ``(k, P)`` (polarity folded in) of windows
        of ``mean``, ``std``; ``raw`` is overwritten."""
        # p f((I - m) / s) = (p f(I) - m p A_f) / s; h_t = [float32(p f) < p tau]
        raw -= self.area * mean
        raw /= std
        h = raw < self.cut  # (k, P)
        if self.table is not None:
            # the stumps' bits as an integer code (distinct powers of two: their sum)
            code = (h.view(np.uint8) * self.bits).sum(0, dtype=self.bits.dtype)  # (P,)
            votes = self.table[code]
        else:
            votes = self.alpha * h  # (k, P) alpha_t h_t
            # sum over t in order: a reduction along the first axis adds row after row,
            # except for a single column, which NumPy sums pairwise; a running sum keeps it
            votes = votes.sum(0) if votes.shape[1] != 1 else np.cumsum(votes, 0)[-1]  # (P,)
        return (votes - self.theta) / self.alpha_sum

    # the same margin one feature at a time (a row of raw features still in the cache)
    def new_votes(self, n: int) -> np.ndarray:
        """The vote accumulator of ``n`` windows for :meth:`add_vote`: the stumps' code bits
        (a vote table) or the running vote sum."""
        return np.zeros(n, dtype=self.bits.dtype) if self.table is not None else np.empty(n)

    def add_vote(
        self, t: int, raw: np.ndarray, mean: np.ndarray, std: np.ndarray, votes: np.ndarray
    ) -> None:
        """Add stump ``t``'s vote on its raw feature ``(n,)`` (overwritten) to ``votes``,
        with :meth:`margin`'s operations (the same bits), stumps in order from ``t = 0``."""
        raw -= self.area[t, 0] * mean
        raw /= std
        h = raw < self.cut[t, 0]  # (n,)
        if self.table is not None:
            votes |= np.left_shift(h.view(np.uint8), t, dtype=votes.dtype)  # bit t
        elif t == 0:
            np.multiply(h, self.alpha[0, 0], out=votes)
        else:
            # the running sum over t in order, as margin's sum along the first axis
            votes += h * self.alpha[t, 0]

    def finish(self, votes: np.ndarray) -> np.ndarray:
        """Stage margins ``(n,)`` from the votes of all stumps (:meth:`add_vote`)."""
        if self.table is not None:
            votes = self.table[votes]
        return (votes - self.theta) / self.alpha_sum


def _fingerprint(stages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the lookups depend on: each stage's tensors (by identity, with their in-place
    version counters) and its threshold."""
    return [
        (*((st[key], st[key]._version) for key in _STAGE_KEYS), st["stage_threshold"])
        for st in stages
    ]


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for sa, sb in zip(a, b, strict=True):
        if sa[-1] != sb[-1]:
            return False
        for (ta, va), (tb, vb) in zip(sa[:-1], sb[:-1], strict=True):
            if ta is not tb or va != vb:
                return False
    return True


def cached_lookups(owner: Any) -> list[Lookups]:
    """The :class:`Lookups` of ``owner.stages``, rebuilt only when the stages changed (a new
    list, a stage added or replaced, a tensor swapped or modified in place)."""
    key = _fingerprint(owner.stages)
    cache = getattr(owner, "_lookup_cache", None)
    if cache is None or not _same(cache[0], key):
        cache = (key, [Lookups(st) for st in owner.stages])
        owner._lookup_cache = cache
    return cache[1]
