r"""The tables a Viola-Jones scan reads: integral images of pyramid levels, stacked.

Each level gets its own zero-padded summed-area tables of :math:`I` and :math:`I^2` (the values
of :func:`~pixlearn.features.integral_image`, to the last bit), but several levels may share
one array: level :math:`j` is the block of rows :math:`o_j \ldots` (:math:`o_j` a multiple of
the step) of a table of one common row length, the rest zeros. A window of level :math:`j` at
``(y, x)`` then reads entry ``(o_j + y + dy, x + dx)``, inside its own block, so every window
reads the numbers it would read from its level's own table, while the scan runs once over
all the levels of the stack: a grid row of the stack is a grid row of one level, or a row
that holds no windows (masked out, as the columns past a level's last window are).

The mean and standard deviation of a window come from four corners of each table,

.. math::
    S = D - B - C + A, \qquad \mu = S_I / (hw), \qquad
    \sigma^2 = S_{I^2} / (hw) - \mu^2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__: list[str] = []  # private: used by features._vj_scan

#: up to this step the sub-tables are copied one by one (else by one transposed copy)
_FEW_SUBTABLES = 4
#: torch runs an op on fewer elements than this in the calling thread (its grain size)
_INLINE = 32768


def _integral_into(ii: np.ndarray, x: np.ndarray) -> None:
    """Fill ``ii`` ``(H + 1, W + 1)`` (a view, its first row and column zero) with the
    summed-area table of ``x`` ``(H, W)``: the running sums of
    :func:`~pixlearn.features.integral_image` (down the columns, then along the rows; the same
    table to the last bit), over strips of fewer than :data:`_INLINE` entries, which torch
    sums in this thread: its thread pool, when the cores are busy, waits a scheduler slice
    for every op."""
    ii[1:, 1:] = x
    t = torch.from_numpy(ii)  # the same (strided) memory
    cols = max(1, (_INLINE - 1) // t.shape[0])  # columns per strip
    for c in range(0, t.shape[1], cols):
        t[:, c : c + cols].cumsum_(0)
    rows = max(1, (_INLINE - 1) // t.shape[1])  # rows per strip
    for r in range(0, t.shape[0], rows):
        t[r : r + rows].cumsum_(1)


class Blocks:
    """A table cut into its stride-``step`` sub-tables ``table[p::step, q::step]``, each a
    contiguous ``(rows, width)`` block of one common width (zero-padded, plus a zero row),
    stored one after the other in one flat array, so that ``table[y + dy, x + dx]`` for every
    window corner ``(y, x)`` of a band is one contiguous slice: band position ``r * width + c``
    is grid row ``r0 + r``, column ``c``; where a read starts is
    :meth:`Lookups.block_reads <pixlearn.features._vj_lookups.Lookups.block_reads>`.
    """

    def __init__(self, table: np.ndarray, step: int) -> None:
        self.step = s = step
        self.rows = -(-table.shape[0] // s) + 1
        self.width = -(-table.shape[1] // s)
        if s <= _FEW_SUBTABLES:
            # sub-table (p, q) is table[p::s, q::s], zero-padded
            blocks = np.zeros((s, s, self.rows, self.width))
            for p in range(s):
                for q in range(s):
                    part = table[p::s, q::s]
                    blocks[p, q, : part.shape[0], : part.shape[1]] = part
        else:  # the same by one transposed copy: (p, q, r, c) = table[r * s + p, c * s + q]
            padded = np.zeros((self.rows * s, self.width * s))
            padded[: table.shape[0], : table.shape[1]] = table
            blocks = padded.reshape(self.rows, s, self.width, s).transpose(1, 3, 0, 2)
        self.flat = np.ascontiguousarray(blocks).reshape(-1)


class Stack:
    """Levels ``(H_j, W_j)`` (float64, each at least the window) in one pair of tables.

    Attributes:
        table: ``(R, S)`` the levels' integral images, level ``j`` from row ``step *
            row0[j]`` (``S`` = the widest level's ``W + 1``).
        blocks: the sub-tables of ``table``; ``width`` its grid row length.
        grid: ``(ny_j, nx_j)`` windows of each level; ``row0``: the grid row of each level's
            first windows; ``n_rows``: grid rows with windows (the last level's last + 1).
        mean, std: ``(n_rows * width,)`` of every grid position (std floored at ``eps_std``).
        valid: ``(n_rows * width,)`` bool, the positions that are windows.
    """

    def __init__(
        self,
        levels: Sequence[np.ndarray],
        window: tuple[int, int],
        step: int,
        eps_std: float,
    ) -> None:
        (h, w), s = window, step
        self.grid = [((lv.shape[0] - h) // s + 1, (lv.shape[1] - w) // s + 1) for lv in levels]
        # level j's table rows: its H + 1 rows, rounded up to whole grid rows
        spans = [-(-(lv.shape[0] + 1) // s) for lv in levels]
        self.row0 = np.cumsum([0, *spans[:-1]]).tolist()
        self.n_rows = self.row0[-1] + self.grid[-1][0]
        # room below the last level for the corners of every grid row's position
        n_table = max(self.row0[-1] * s + levels[-1].shape[0] + 1, (self.n_rows - 1) * s + h + 1)
        stride = max(lv.shape[1] for lv in levels) + 1
        self.table = np.zeros((n_table, stride))
        table2 = np.zeros((n_table, stride))
        for lv, r in zip(levels, self.row0, strict=True):
            rows = slice(r * s, r * s + lv.shape[0] + 1)
            _integral_into(self.table[rows, : lv.shape[1] + 1], lv)
            _integral_into(table2[rows, : lv.shape[1] + 1], lv * lv)
        self.blocks = Blocks(self.table, s)
        self.width = width = self.blocks.width
        valid = np.zeros((self.n_rows, width), dtype=bool)
        for (ny, nx), r in zip(self.grid, self.row0, strict=True):
            valid[r : r + ny, :nx] = True
        self.valid = valid.reshape(-1)
        self.mean, self.std = _moments(self.table, table2, window, s, self.n_rows, width)
        np.maximum(self.std, eps_std, out=self.std)

    def split(self, idx: np.ndarray) -> list[np.ndarray]:
        """Grid positions ``idx`` (sorted) as ``(P_j, 2)`` window corners ``(y, x)`` in level
        pixels, one array per level."""
        row, col = idx // self.width, idx % self.width  # (P,) stack grid
        cuts = np.searchsorted(row, self.row0[1:])  # where each level's windows start
        out = []
        for r, c, r0 in zip(np.split(row, cuts), np.split(col, cuts), self.row0, strict=True):
            out.append(np.stack([r - r0, c], -1) * self.blocks.step)
        return out


def _moments(
    ii: np.ndarray, ii2: np.ndarray, window: tuple[int, int], step: int, ny: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (not floored) at every position of ``ny`` grid rows of
    ``width`` from the tables of the image and of its square: ``(ny * width,)`` each (0 where
    the window would leave the table)."""
    (h, w), s = window, step
    nx = min(width, (ii.shape[1] - 1 - w) // s + 1)  # columns whose window is in the table

    def box_sum(t: np.ndarray) -> np.ndarray:
        """Sum of the image over every window: four corners, ``D - B - C + A``."""

        def corner(dy: int, dx: int) -> np.ndarray:
            return t[dy::s, dx::s][:ny, :nx]  # (ny, nx): t[y + dy, x + dx] per window

        return corner(h, w) - corner(0, w) - corner(h, 0) + corner(0, 0)

    mean, std = np.zeros((ny, width)), np.zeros((ny, width))
    # var = E[I^2] - E[I]^2
    m = mean[:, :nx] = box_sum(ii) / (h * w)
    var = box_sum(ii2) / (h * w) - m**2
    np.sqrt(np.maximum(var, 0), out=std[:, :nx])
    return mean.reshape(-1), std.reshape(-1)
