"""Connected components of a binary mask on the CPU, on strips of two rows (NumPy).

A strip is two consecutive rows; in each column of a strip the top and bottom pixels are
4-neighbours. The nodes of the graph are pieces of a strip that are connected inside it:

- 8-connectivity: a maximal run of columns holding a foreground pixel (any two foreground
  pixels of two neighbouring columns of a strip lie in one 2x2 block, so they touch);
- 4-connectivity: a maximal run of columns holding a foreground pixel in which neighbouring
  columns share a row (top-top or bottom-bottom).

Each node is then one interval of columns, numbered by a cumulative sum of the run starts,
so there are half as many levels as rows and fewer nodes than row runs (about 0.6x on random
noise with 4-connectivity, 0.4x with 8). Nodes of consecutive strips are linked where the
bottom row of the upper strip touches the top row of the lower one. Labels must follow the
raster order of each component's first pixel; in a strip, a component whose first pixel is
in the top row comes before every component starting in the bottom row, so tree roots are
ranked by ``(strip, no top pixel, column)``. The union-find is in ``_label_union``. Painting
gives each pixel its column's node label times the mask, by blocks of strips (or, when nodes
are few, by ``np.repeat`` over the constant pieces of each row). Large temporaries are freed
as soon as possible and cumulative sums run by blocks: on a busy allocator fresh memory is
the slowest part of this code.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn.segmentation._label_union import _merge_trees, _sweep_roots

__all__: list[str] = []

# columns per block of strips in cumulative sums and painting: temporaries stay in cache
_BLOCK_PIXELS = 1 << 17


def _count(start: np.ndarray) -> np.ndarray:
    """Cumulative sum ``(S * W,)`` of a bool ``(S, W)`` (int32 when it fits), by blocks of
    rows: a whole-array ``np.cumsum`` would first convert the whole mask to integers."""
    ns, w = start.shape
    out = np.empty(start.size, dtype=np.int32 if start.size < 2**31 else np.int64)
    step = max(1, _BLOCK_PIXELS // w)
    total = 0
    for i in range(0, ns, step):
        block = out[i * w : (i + step) * w]
        np.cumsum(start[i : i + step], out=block)
        block += total
        total = int(block[-1])
    return out


def _links(
    top: np.ndarray,
    bot: np.ndarray,
    col: np.ndarray,
    node_of: np.ndarray,
    connectivity: int,
    half: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Touching node pairs ``(a, b)``: ``a`` in strip ``s + 1``, ``b`` in strip ``s`` (0-based).

    ``top``, ``bot``, ``col``: ``(S, W)`` rows of each strip and their union; ``node_of``:
    ``(S * W,)`` 1-based node of each column; ``half`` is the number of strips per image (no
    link across two images). Nearly every pair appears once.
    """
    w = top.shape[1]
    up, lo = bot[:-1], top[1:]  # (S - 1, W) bottom row of strip s, top row of strip s + 1
    if connectivity == 1:
        touch = up & lo  # straight contact
        link = np.empty_like(touch)
        link[:, 0] = touch[:, 0]
        # two contacts in a row join the same two nodes (a > b is a and not b for bools)
        np.greater(touch[:, 1:], touch[:, :-1], out=link[:, 1:])
        del touch
        link[half - 1 :: half] = False  # strip s + 1 opens a new image
        q = np.flatnonzero(link)  # (E,) flat index of the upper column
        del link
        b = node_of[q]  # (E,)
        q += w
        a = node_of[q]
    else:
        # 8-connectivity: a top pixel of strip s + 1 touches the bottom pixels at c - 1..c + 1
        near = up.copy()  # (S - 1, W) a bottom pixel of strip s at c - 1, c or c + 1
        near[:, 1:] |= up[:, :-1]
        near[:, :-1] |= up[:, 1:]
        full = col[:-1]  # (S - 1, W) a non-empty column of strip s: one node holds c - 1..c + 1
        straight = lo & near
        del near
        straight &= full
        gap = lo > full  # below an empty column the nodes at c - 1 and c + 1 differ
        right = gap.copy()
        gap[:, 1:] &= up[:, :-1]  # node above-left
        gap[:, 0] = False
        right[:, :-1] &= up[:, 1:]  # node above-right
        right[:, -1] = False
        np.greater(right[:, :-1], straight[:, 1:], out=right[:, :-1])  # pair joined at c + 1
        gap |= straight  # one pass for both: upper column c, or c - 1 under an empty column
        np.greater(gap[:, 1:], straight[:, :-1], out=gap[:, 1:])  # pair joined at c - 1
        del straight
        gap[half - 1 :: half] = False
        right[half - 1 :: half] = False
        q = np.flatnonzero(gap)  # (E1,) lower column - W
        del gap
        qr = np.flatnonzero(right)  # (E2,)
        del right
        a = np.empty(q.size + qr.size, dtype=node_of.dtype)  # (E,)
        b = np.empty_like(a)
        q += w
        np.take(node_of, q, out=a[: q.size], mode="clip")
        q -= w
        q -= ~full.reshape(-1)[q]  # upper node at c - 1 below an empty column
        np.take(node_of, q, out=b[: q.size], mode="clip")
        qr += w
        np.take(node_of, qr, out=a[q.size :], mode="clip")
        qr -= w - 1
        np.take(node_of, qr, out=b[q.size :], mode="clip")
    a -= 1
    b -= 1
    return a, b


def _tree_order(
    top: np.ndarray,
    start: np.ndarray,
    node_of: np.ndarray | None,
    troots: np.ndarray,
    bounds: list[int],
) -> np.ndarray:
    """Rank ``(T,)`` of each tree root in the raster order of its first pixel.

    ``top``: ``(S, W)`` top rows; ``start``: ``(S, W)`` first column of each node;
    ``node_of``: ``(S * W,)`` 1-based node of each column, or ``None``; ``troots``:
    ``(T,)`` sorted tree roots; ``bounds``: ``(S + 1,)`` nodes before each strip. A tree
    root is the only node of its tree in its strip, so comparing tree roots compares
    components.
    """
    ns, w = start.shape
    n_nodes = bounds[-1]
    if node_of is not None and troots.size * 32 < n_nodes:
        # few trees (large objects): binary search of their first columns in node_of
        ids = (troots + 1).astype(node_of.dtype)  # (T,) 1-based, the dtype of node_of
        first = np.searchsorted(node_of, ids)  # (T,)
        ids += 1
        stop = np.searchsorted(node_of, ids)  # (T,) first column of the next node
        del ids
    else:
        firsts = np.flatnonzero(start)  # (R,) flat index of each node's first column
        first = firsts[troots]  # (T,)
        stop = firsts[np.minimum(troots + 1, n_nodes - 1)]  # (T,)
        if troots[-1] == n_nodes - 1:
            stop[-1] = ns * w
        del firsts
    strip = first // w  # (T,)
    np.minimum(stop, (strip + 1) * w, out=stop)  # the node ends within its strip
    # top pixels of columns [first, stop) from a cumulative count over the strips that
    # hold a tree root (sorted, so a new strip is a change of strip)
    new = np.ones(troots.size, dtype=bool)
    np.not_equal(strip[1:], strip[:-1], out=new[1:])
    tops = top[strip[new]]  # (U, W)
    shift = np.cumsum(new, dtype=np.intp)  # (T,) 1 + index of the strip in ``tops``
    del new
    shift -= 1
    shift *= w
    shift -= strip * w  # (T,) from a flat column index to its index in ``tops``
    first += shift  # (T,) the first column, in ``tops``
    stop += shift
    stop -= 1  # (T,) the last column
    del shift
    count = _count(tops)  # (U * W,)
    before = count[first]  # (T,) top pixels up to the first column ...
    before -= tops.reshape(-1)[first]  # ... and left of it
    has_top = count[stop] != before  # (T,)
    del count, tops, before, first, stop
    # key in [0, 2R): strip s owns [2 bounds[s], 2 bounds[s + 1]), top-row nodes first
    strip += ~has_top  # the first node of the next strip, for nodes without a top pixel
    key = np.asarray(bounds)[strip]  # (T,)
    del strip, has_top
    key += troots
    marks = np.zeros(2 * n_nodes, dtype=bool)
    marks[key] = True
    order = np.cumsum(marks, dtype=np.int32 if n_nodes < 2**30 else np.int64)  # (2R,)
    del marks
    rank = order[key]  # (T,)
    rank -= 1
    return rank


def _paint(
    pair: np.ndarray,
    start: np.ndarray,
    lab: np.ndarray,
    bounds: list[int],
    node_of: np.ndarray | None,
) -> np.ndarray:
    """Labels ``(S, 2, W)`` int64: each pixel of ``pair`` (the mask) takes its node's label.

    ``start``: ``(S, W)`` first column of each node; ``lab``: ``(R + 1,)`` label of each
    1-based node, ``lab[0] = 0``; ``bounds``: nodes before each strip; ``node_of``: the
    ``(S * W,)`` 1-based node of each column when kept (few nodes), else ``None``. An empty
    column holds the node before it (or 0); its pixels are background anyway.
    """
    ns, _, w = pair.shape
    if node_of is not None:
        # few nodes (large objects): write constant pieces of the rows with np.repeat; a
        # piece starts at a row start or where the mask changes (a node starts at a pixel
        # whose left neighbour is background: an empty column, or, with 4-connectivity,
        # columns that share no row)
        flat = pair.reshape(ns * 2, w)  # (2S, W) rows
        cut = np.ones((ns * 2, w), dtype=bool)
        np.not_equal(flat[:, 1:], flat[:, :-1], out=cut[:, 1:])
        first = np.flatnonzero(cut)  # (P,) first pixel of each piece
        row = first // w  # (P,)
        value = lab.take(node_of[row // 2 * w + first % w])  # (P,)
        value *= flat.reshape(-1)[first]  # background pieces hold 0
        return np.repeat(value, np.diff(first, append=flat.size)).reshape(ns, 2, w)
    # block by block (the temporaries stay in cache): the node of each column again by a
    # cumulative sum of the starts, its label times the mask
    out = np.empty((ns, 2, w), dtype=np.int64)
    step = max(1, _BLOCK_PIXELS // w)
    nodes = np.empty((step, w), dtype=np.intp)
    for i in range(0, ns, step):
        k = min(step, ns - i)
        np.cumsum(start[i : i + k], out=nodes[:k].reshape(-1))
        nodes[:k] += bounds[i]  # (k, W) 1-based node of each column
        column = np.take(lab, nodes[:k])  # (k, W)
        np.multiply(column[:, None, :], pair[i : i + k], out=out[i : i + k])
    return out


def _label_mask(fg: np.ndarray, connectivity: int) -> tuple[Tensor, Tensor]:
    """Label the foreground of a bool mask ``(B, H, W)``; int64 labels and counts ``(B,)``."""
    bsz, h, w = fg.shape
    if h % 2:  # a background row makes every image a whole number of strips
        padded = np.zeros((bsz, h + 1, w), dtype=bool)
        padded[:, :h] = fg
        fg = padded
    half = fg.shape[1] // 2  # strips per image
    ns = bsz * half
    pair = fg.reshape(ns, 2, w)  # (S, 2, W)
    top, bot = pair[:, 0], pair[:, 1]  # (S, W) views
    col = top | bot  # (S, W) a column of the strip holds foreground
    start = np.empty_like(col)  # (S, W) first column of each node
    start[:, 0] = col[:, 0]
    if connectivity == 1:
        # neighbouring columns join when they share a row: top-top or bottom-bottom
        join = top[:, 1:] & top[:, :-1]
        join |= bot[:, 1:] & bot[:, :-1]
        np.greater(col[:, 1:], join, out=start[:, 1:])  # a > b: a and not b
        del join
    else:
        np.greater(col[:, 1:], col[:, :-1], out=start[:, 1:])
    node_of = _count(start)  # (S*W,) 1-based: node k covers the columns node_of == k + 1
    n_nodes = int(node_of[-1])
    if n_nodes == 0:
        return torch.zeros((bsz, h, w), dtype=torch.int64), torch.zeros(bsz, dtype=torch.int64)
    a, b = _links(top, bot, col, node_of, connectivity, half)  # (E,)
    del col
    # union-find, step 1: a forest where each node hangs from one node of the strip above
    root = np.arange(n_nodes, dtype=node_of.dtype)  # (R,)
    root[a] = b
    bounds = [0, *node_of.reshape(ns, w)[:, -1].tolist()]  # nodes before each strip
    _sweep_roots(root, bounds)
    # links inside one tree are done; keep the others as links between tree roots
    u, v = root[a], root[b]  # (E,)
    del a, b
    keep = u != v
    a, b = u[keep], v[keep]  # (L,)
    del u, v, keep
    if n_nodes * 16 > start.size:  # many nodes: painting recomputes node_of by blocks
        node_of = None
    troots = np.flatnonzero(root == np.arange(n_nodes))  # (T,) one per tree
    rank = _tree_order(top, start, node_of, troots, bounds)  # (T,)
    tree = np.empty(n_nodes, dtype=root.dtype)  # (R,) rank of the tree of each node
    tree[troots] = rank
    np.take(tree, root, out=tree)  # roots first hold their own rank
    del root
    # step 2: links between different trees merge them, smallest rank wins
    rep = _merge_trees(tree[a], tree[b], troots.size)  # (T,)
    del a, b
    is_root = rep == np.arange(troots.size)  # (T,) a component root, in raster order
    lab_tree = np.cumsum(is_root)[rep]  # (T,) 1-based labels over the whole batch
    if bsz > 1:
        image = np.empty(troots.size, dtype=np.intp)  # (T,) image of each tree, by rank
        image[rank] = np.searchsorted(bounds, troots, side="right") - 1
        image //= half
        counts = np.bincount(image[is_root], minlength=bsz)  # (B,)
        lab_tree -= (np.cumsum(counts) - counts)[image]  # restart at 1 in every image
    else:
        counts = np.array([np.count_nonzero(is_root)])
    lab = np.empty(n_nodes + 1, dtype=np.int64)  # (R + 1,) 0: background
    lab[0] = 0
    np.take(lab_tree, tree, out=lab[1:], mode="clip")
    del tree
    out = _paint(pair, start, lab, bounds, node_of)  # (S, 2, W)
    out = out.reshape(bsz, 2 * half, w)[:, :h]
    return torch.from_numpy(np.ascontiguousarray(out)), torch.from_numpy(counts)
