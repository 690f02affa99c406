"""Rank filters: the exact median over a window."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, pair
from pixlearn._core.errors import ValueRangeError
from pixlearn.filters.linear import BORDERS, _finish, _pad, _prepare

__all__ = ["median_blur2d"]

_CHUNK = 1 << 22  # window values gathered at once (16 MiB in float32)
_NETWORK_MAX = 49  # windows up to 7x7 run the min/max selection network
_NET_BLOCK = 1 << 15  # output pixels per block of the selection network (cache-sized)


def median_blur2d(
    image: Tensor, size: int | tuple[int, int], *, border: str = "reflect", value: float = 0.0
) -> Tensor:
    r"""Replace each pixel by the median of the ``(h, w)`` window centred on it (exact).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty (a zero-size batch is fine).
        size: ``n`` or ``(h, w)``, each odd and >= 1 (an odd window has one middle value).
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (``value``) or ``"circular"``;
            ``"reflect"`` repeats the mirroring for a window larger than the image.
        value: the fill value for ``"constant"``.

    Returns:
        The filtered image, same shape and dtype. Every output value is one of the window's
        input values (a rank filter creates no new values). Not differentiable in a useful way
        (the gradient goes to the selected pixel).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: an even ``size``, unknown ``border``, NaN/Inf input.

    Notes:
        :math:`g(y, x) = \operatorname{median}\{f(y + i, x + j) : |i| \le h/2, |j| \le w/2\}`.
        A 3x3 window uses the exact sorted-columns rule: with each column sorted into
        (low, mid, high), the median is
        :math:`\operatorname{med}(\max(\text{lows}), \operatorname{med}(\text{mids}),
        \min(\text{highs}))`; larger windows gather the values (in chunks of rows, to bound
        memory) and select the middle one; windows up to 49 values run a pruned min/max
        selection network (below) instead. Equals ``scipy.ndimage.median_filter(f, size,
        mode='mirror')``.

    Example:
        >>> img = torch.zeros(5, 5)
        >>> img[2, 2] = 1.0  # impulse noise is removed
        >>> median_blur2d(img, 3).abs().max().item()
        0.0

    References:
        Tukey, J. W. *Exploratory Data Analysis*, 1977; Paeth, A. W. "Median finding on a
        3x3 grid." Graphics Gems, 1990.
    """
    x, shape, dtype = _prepare(image)
    h, w = pair(size, "size")
    if h % 2 == 0 or w % 2 == 0:
        raise ValueRangeError(f"size must be odd in both axes, got {size!r}")
    check_choice(border, "border", BORDERS)
    if x.shape[0] == 0 or h * w == 1:
        return _finish(x.clone(), shape, dtype)
    xp = _pad(x, (h // 2, h // 2, w // 2, w // 2), border, value)  # (B, H + h - 1, W + w - 1)
    if (h, w) == (3, 3):
        return _finish(_median3x3(xp), shape, dtype)
    if h * w <= _NETWORK_MAX:
        return _finish(_median_network(xp.contiguous(), h, w), shape, dtype)
    B, H, W = x.shape
    windows = xp.unfold(1, h, 1).unfold(2, w, 1)  # (B, H, W, h, w), a view
    rows = max(1, _CHUNK // max(1, B * W * h * w))
    mid = (h * w) // 2
    parts = [
        windows[:, i : i + rows].reshape(B, -1, W, h * w).kthvalue(mid + 1, dim=-1).values
        for i in range(0, H, rows)
    ]  # each (B, rows, W)
    return _finish(torch.cat(parts, dim=1), shape, dtype)


def _median3x3(xp: Tensor) -> Tensor:
    """Exact 3x3 median of ``xp (B, H + 2, W + 2)`` by sorting columns once."""
    n = xp.shape[1] - 2
    a, b, c = xp[:, 0:n], xp[:, 1 : n + 1], xp[:, 2 : n + 2]  # (B, H, W + 2) each
    # sort every vertical triple: lo <= mid <= hi
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    mid = torch.minimum(hi, c)
    hi = torch.maximum(hi, c)
    lo, mid = torch.minimum(lo, mid), torch.maximum(lo, mid)
    m = xp.shape[2] - 2

    def cols(t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return t[..., 0:m], t[..., 1 : m + 1], t[..., 2 : m + 2]

    l0, l1, l2 = cols(lo)
    m0, m1, m2 = cols(mid)
    h0, h1, h2 = cols(hi)
    max_lo = torch.maximum(torch.maximum(l0, l1), l2)
    min_hi = torch.minimum(torch.minimum(h0, h1), h2)
    med_mid = _med3(m0, m1, m2)
    return _med3(max_lo, med_mid, min_hi)  # (B, H, W)


def _med3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Element-wise median of three: max(min(a, b), min(max(a, b), c))."""
    return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))


# ---- selection network: the exact median with element-wise min/max only -------------------
#
# 1. Every vertical run of h samples is sorted once (shared by the w windows that contain the
#    column): ranks c_0 <= ... <= c_{h-1}.
# 2. In a window, row i holds rank c_i of its w columns; sorting each row leaves the columns
#    sorted, so T(i, j) is >= (i + 1)(j + 1) - 1 and <= (h - i)(w - j) - 1 other values.
# 3. Only the entries that can still have rank mid = hw // 2 are kept; those below it drop out
#    (L of them), and the median is the value of rank mid - L among the survivors.
# Each stage is Batcher's odd-even merge sort with the wires padded by +inf (comparators that
# touch a pad do nothing) and pruned back from the one wire that is read.


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators ``(a, b)``, ``a < b``, of Batcher's odd-even merge sort of ``n = 2^k`` wires."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    # only pairs inside the same block of 2p wires are compared
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _sort_wires(nodes: list[tuple], wires: list[int | None]) -> list[int | None]:
    """Append the comparators sorting ``wires`` (``None`` = +inf pad) to ``nodes``."""
    n = 1 << max(0, (len(wires) - 1).bit_length())
    wires = wires + [None] * (n - len(wires))
    for a, b in _batcher_pairs(n):
        u, v = wires[a], wires[b]
        if u is None or v is None:
            continue  # +inf only ever sits on the higher wire: nothing moves
        nodes.append(("min", u, v))
        nodes.append(("max", u, v))
        wires[a], wires[b] = len(nodes) - 2, len(nodes) - 1
    return wires


@lru_cache(maxsize=32)
def _median_plan(h: int, w: int) -> tuple[tuple[str, int, int, bool], ...]:
    """The pruned program of the ``(h, w)`` median: steps ``(op, a, b, column_level)``.

    ``op`` is ``"in"`` (window row ``a`` of the padded image, column level), ``"cell"``
    (column-level step ``a`` shifted by ``b`` columns, a view) or ``"min"``/``"max"`` of the
    steps ``a`` and ``b``. Column-level steps span the padded width, the others the output
    width. The last step is the median.
    """
    n, mid = h * w, (h * w) // 2
    nodes: list[tuple[str, int, int]] = [("in", i, 0) for i in range(h)]
    cols = _sort_wires(nodes, list(range(h)))[:h]
    n_col = len(nodes)
    tab = []
    for i in range(h):
        row = []
        for j in range(w):
            nodes.append(("cell", cols[i], j))
            row.append(len(nodes) - 1)
        tab.append(_sort_wires(nodes, row)[:w])
    cand, below = [], 0
    for i in range(h):
        for j in range(w):
            if (h - i) * (w - j) - 1 > n - 1 - mid:
                below += 1  # at least n - mid values are >= it: its rank is below mid
            elif (i + 1) * (j + 1) - 1 <= mid:
                cand.append(tab[i][j])  # otherwise its rank is above mid
    target = _sort_wires(nodes, cand)[mid - below]
    # keep only the steps the target depends on
    need: set[int] = set()
    stack = [target]
    while stack:
        k = stack.pop()
        if k not in need:
            need.add(k)
            op, a, b = nodes[k]
            stack.extend([a, b] if op in ("min", "max") else [a] if op == "cell" else [])
    order = sorted(need)
    ids = {k: t for t, k in enumerate(order)}
    plan = []
    for k in order:
        op, a, b = nodes[k]
        if op in ("min", "max"):
            a, b = ids[a], ids[b]
        elif op == "cell":
            a = ids[a]
        plan.append((op, a, b, k < n_col))
    return tuple(plan)


def _median_network(xp: Tensor, h: int, w: int) -> Tensor:
    """Exact ``(h, w)`` median of the padded ``xp (B, H + h - 1, W + w - 1)`` by the plan.

    Runs over blocks of about ``_NET_BLOCK`` output pixels; every intermediate lives in a
    scratch buffer reused as soon as its last reader has run, so the work stays in cache.
    """
    plan = _median_plan(h, w)
    B, hp, wp = xp.shape
    H, W = hp - h + 1, wp - w + 1
    out = xp.new_empty(B, H, W)
    # the last step reading each buffer (a cell's reads count for its column step)
    last: dict[int, int] = {}
    for t, (op, a, b, _) in enumerate(plan):
        if op in ("min", "max"):
            for k in (a, b):
                last[k] = t
                if plan[k][0] == "cell":
                    last[plan[k][1]] = t
    frees: dict[int, list[int]] = {}
    for k, t in last.items():
        if plan[k][0] in ("min", "max"):
            frees.setdefault(t, []).append(k)
    final = len(plan) - 1
    if H * W >= _NET_BLOCK:
        nb, nr = 1, max(1, _NET_BLOCK // W)
    else:
        nb, nr = max(1, _NET_BLOCK // (H * W)), H
    nb, nr = min(nb, B), min(nr, H)
    pools: dict[bool, list[Tensor]] = {True: [], False: []}  # column level, window level
    for b0 in range(0, B, nb):
        m = min(B, b0 + nb) - b0
        src = xp[b0 : b0 + m]
        for r0 in range(0, H, nr):
            n = min(H, r0 + nr) - r0
            o = out[b0 : b0 + m, r0 : r0 + n]  # (m, n, W)
            vals: list[Tensor] = []
            bases: dict[int, Tensor] = {}
            for t, (op, a, b, col) in enumerate(plan):
                if op == "in":
                    vals.append(src[:, r0 + a : r0 + a + n])  # (m, n, W + w - 1), a view
                    continue
                if op == "cell":
                    vals.append(vals[a][..., b : b + W])  # (m, n, W), a view
                    continue
                if t == final:
                    buf = o
                else:
                    pool = pools[col]
                    bases[t] = pool.pop() if pool else xp.new_empty(nb, nr, wp if col else W)
                    buf = bases[t][:m, :n]
                fn = torch.minimum if op == "min" else torch.maximum
                vals.append(fn(vals[a], vals[b], out=buf))
                for k in frees.get(t, ()):
                    pools[plan[k][3]].append(bases.pop(k))
            if plan[final][0] not in ("min", "max"):
                o.copy_(vals[final])  # a 1-row or 1-column window of one candidate
    return out
