"""Equal-width binning exactly as ``numpy.histogram`` does it, in cache-sized blocks (private).

``numpy.histogram(x, bins, range=(lo, hi))`` builds the edges :math:`e_0..e_n` with
``numpy.linspace`` in the data's dtype, guesses each value's bin as
:math:`g = \\min(\\lfloor (x - lo) / (hi - lo) \\cdot n \\rfloor, n - 1)` in that dtype, then
moves the guess by one against the two edges around it (a value on an edge goes right, the last
bin is closed). The helpers here repeat those exact steps on rows ``(P, N)`` of values (one row
per plane, each with its own range), so every bin, hence every count, equals NumPy's.

The correction is written without branches: with :math:`T_0[g] = e_g` and
:math:`T_1[g] = e_{g+1}` (:math:`+\\infty` for the last bin),

.. math:: b = g - 1 + [x \\ge T_0[g]] + [x \\ge T_1[g]],

which equals NumPy's "decrement if :math:`x < e_g`, else increment if :math:`x \\ge e_{g+1}`".

Layout: the tables of all rows lie one after the other, row ``p`` from ``p * (n + 2)``, and
the helpers return :math:`h = b + 1 + p (n + 2)` ("slot" indices: ``h`` and ``h + 1`` stay in
row ``p``'s slot, which the equalisation uses for its interpolation segments). The work is
done in blocks of about :data:`CHUNK` values so that temporaries stay in the cache, with int32
indices.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = ["CHUNK", "bin_counts", "blocks", "linspace_edges"]

# values per block and thread: the few float32/int32 temporaries of a thread's share of a
# block stay in its core's L2 cache (fewer, larger blocks also mean fewer parallel regions)
CHUNK = 1 << 17


def blocks(rows: int, cols: int) -> Iterator[tuple[slice, slice]]:
    """``(row slice, column slice)`` blocks of a ``(rows, cols)`` array, ~``CHUNK`` entries
    per torch thread each.

    Long rows are cut into pieces; short rows are grouped several to a block.

    Example:
        >>> list(blocks(3, 4))
        [(slice(0, 3, None), slice(0, 4, None))]
    """
    size = CHUNK * max(1, torch.get_num_threads())
    if cols >= size:
        for r in range(rows):
            for c0 in range(0, cols, size):
                yield slice(r, r + 1), slice(c0, min(cols, c0 + size))
    else:
        step = max(1, size // max(cols, 1))
        for r0 in range(0, rows, step):
            yield slice(r0, min(rows, r0 + step)), slice(0, cols)


def linspace_edges(lo: Tensor, hi: Tensor, bins: int) -> Tensor:
    """Bin edges ``(P, bins + 1)`` of rows ranging ``lo..hi`` (each ``(P, 1)``), as
    ``numpy.linspace(lo, hi, bins + 1)`` computes them in the dtype of ``lo``.

    Example:
        >>> linspace_edges(torch.zeros(1, 1), torch.ones(1, 1), 4)
        tensor([[0.0000, 0.2500, 0.5000, 0.7500, 1.0000]])
    """
    k = torch.arange(bins + 1, dtype=lo.dtype, device=lo.device)  # (bins + 1,)
    delta = hi - lo  # (P, 1)
    step = delta / bins
    # e_k = k * step + lo; when step underflows to 0, NumPy uses k / bins * delta + lo
    edges = torch.where(step != 0, k * step + lo, k / bins * delta + lo)  # (P, bins + 1)
    edges[:, -1:] = hi
    return edges


def _slot_tables(edges: Tensor) -> tuple[Tensor, Tensor]:
    """The flat correction tables ``T_0``, ``T_1`` (``P * (bins + 2)`` entries, row slots)."""
    rows, bins = edges.shape[0], edges.shape[1] - 1
    t0 = edges.new_full((rows, bins + 2), torch.inf)
    t1 = edges.new_full((rows, bins + 2), torch.inf)
    t0[:, :bins] = edges[:, :-1]  # T_0[g] = e_g
    t1[:, : bins - 1] = edges[:, 1:-1]  # T_1[g] = e_{g+1}; +inf for the last bin (closed)
    return t0.reshape(-1), t1.reshape(-1)


def bin_counts(
    x: Tensor,
    lo: Tensor,
    hi: Tensor,
    bins: int,
    *,
    keep: Tensor | None = None,
    index_out: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-row counts ``(P, bins)`` (int64) and edges ``(P, bins + 1)`` of rows ``x (P, N)``.

    Args:
        x: the values, one row per distribution, each inside its row's ``[lo, hi]`` (clamp
            first, or drop the others with ``keep``, or their bin is undefined).
        lo, hi: each row's range ``(P, 1)``, same dtype as ``x``, ``lo < hi``.
        bins: the number of bins.
        keep: bool ``(P, N)`` or None: only these values are counted.
        index_out: an int32 ``(P, N)`` tensor that receives every value's slot index
            ``h = bin + 1 + p (bins + 2)``, or None.

    Returns:
        ``(counts, edges)``.
    """
    rows, cols = x.shape
    slot = bins + 2
    edges = linspace_edges(lo, hi, bins)  # (P, bins + 1)
    t0, t1 = _slot_tables(edges)  # (P (bins + 2),) each
    span = hi - lo  # (P, 1)
    offsets = (torch.arange(rows, device=x.device, dtype=torch.int32) * slot)[:, None]
    step = span / bins  # (P, 1), as linspace's step
    # e_k = k * step + lo recomputed per value gives the table's edges bit for bit (unless a
    # step underflows to 0, where linspace does otherwise): cheaper than gathering them
    arithmetic = bool((step != 0).all())
    counts = torch.zeros(rows * slot, dtype=torch.int64, device=x.device)
    for rs, cs in blocks(rows, cols):
        xs = x[rs, cs]  # (r, c)
        # NumPy's guess, in the values' dtype: g = min(trunc((x - lo) / (hi - lo) * n), n - 1)
        t = (xs - lo[rs]).div_(span[rs]).mul_(bins)  # (r, c)
        h = t.to(torch.int32).clamp_(max=bins - 1)  # (r, c)
        if arithmetic:
            g = h.to(x.dtype)  # (r, c), small whole numbers
            below = torch.mul(g, step[rs]).add_(lo[rs])  # e_g
            above = g.add_(1).mul_(step[rs]).add_(lo[rs])  # e_{g+1} (T_1 but for the last bin)
        else:
            flat = (h + offsets[rs]).reshape(-1)
            below = t0.index_select(0, flat).view(h.shape)  # T_0[g]
            above = t1.index_select(0, flat).view(h.shape)  # T_1[g]
        # h = g + [x >= T_0[g]] + [x >= T_1[g]] = bin + 1; the comparisons as x - e >= 0
        # (exact: x - e is 0 only for x = e) in the values' dtype, faster than bool tensors
        step_up = torch.sub(xs, below, out=below).ge_(0)  # (r, c) in {0, 1}
        step_up.add_(torch.sub(xs, above, out=above).ge_(0))  # in {0, 1, 2}
        # (the clamp is T_1 = +inf for the last bin: it closes the last bin on the right)
        h.add_(step_up.to(torch.int32)).clamp_(max=bins)
        if rs.stop - rs.start > 1:
            h.add_(offsets[rs])
        elif rs.start:
            h.add_(rs.start * slot)
        if index_out is not None:
            index_out[rs, cs] = h
        # counted block by block over the block's own rows' slots; dropped values land in
        # slot entry 0, which no bin uses
        first, size = rs.start * slot, (rs.stop - rs.start) * slot
        if first:
            h.sub_(first)
        if keep is not None:
            h = torch.where(keep[rs, cs], h, 0)
        block_counts = torch.bincount(h.reshape(-1), minlength=size)
        counts[first : first + size] += block_counts
    return counts.view(rows, slot)[:, 1 : bins + 1], edges
