"""Which connected components of a binary mask hold a flagged pixel: the labelling step of the
regional extrema, done on horizontal runs without a label image.

Algorithm (vectorised, no Python loop over pixels or runs):

0. **Pre-spreading.** A few geodesic dilations of the flags inside the mask (whole-image bool
   operations, cheap) settle most pixels; what is left to label is the unreached part of the
   mask, and a component of it is dropped iff it touches a reached pixel.
1. **Runs.** Runs (maximal horizontal pieces of True) are cut where the flat positions of the
   True pixels jump or a row starts; the pixel straight above ``q`` is ``q - W``.
2. **Run flags.** A run is flagged when one of its pixels is (the run of a pixel: a binary
   search in the run starts).
3. **Links.** Run ``a`` on flat ``[s_a, e_a]`` touches the runs of the row above that meet
   ``[s_a - W - r, e_a - W + r]`` (``r = 0`` for 4-, ``1`` for 8-connectivity; clipped to
   that row, none for the first row of an image): two binary
   searches in the sorted run ends and starts give the first and the last of them.
4. **Union-find.** Each run first hangs from the first run it touches above (a forest,
   compressed by pointer jumping); the other links join trees, the larger root hooked onto
   the smaller (a scatter-min) until no link joins two roots.
5. **Paint.** A run is kept when its root is not flagged; the pixels of the kept runs are
   set by one scatter (they are few: the extrema).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn.segmentation.label import _compress, _label_torch

__all__: list[str] = []  # private: used by morphology.extrema


def _union_any(n: int, a: np.ndarray, b: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Per node, whether its connected component (edges ``a - b``) holds a flagged node.

    ``a``, ``b``: ``(E,)`` edges with ``b < a``; the first ``n`` edges are ``(a, b) = (k,
    parent0[k])`` for the nodes with a first parent (any forest), the rest are any links;
    ``flag``: ``(R,)`` bool.
    """
    size = flag.size
    parent = np.arange(size)  # (R,)
    parent[a[:n]] = b[:n]  # a forest: every node hangs from a smaller one
    _compress(parent, a[:n])
    # the other edges merge trees: hook the larger root onto the smaller, on the roots involved
    u, v = parent[a[n:]], parent[b[n:]]
    live = u != v
    if live.any():
        u, v = u[live], v[live]
        touched = np.zeros(size, dtype=bool)
        touched[u] = touched[v] = True
        nodes = np.flatnonzero(touched)  # (N,) the roots that links join
        compact = np.empty(size, dtype=np.intp)
        compact[nodes] = np.arange(nodes.size)
        su, sv = compact[u], compact[v]  # (M,)
        p = np.arange(nodes.size)
        while su.size:
            pu, pv = p[su], p[sv]
            keep = pu != pv
            su, sv, pu, pv = su[keep], sv[keep], pu[keep], pv[keep]
            # p[larger root] = the smallest root it is linked to
            np.minimum.at(p, np.maximum(pu, pv), np.minimum(pu, pv))
            _compress(p, np.flatnonzero(p != np.arange(p.size)))
        root = np.arange(size)
        root[nodes] = nodes[p]
        parent = root[parent]
    flagged = np.zeros(size, dtype=bool)  # (R,) per root
    flagged[parent[flag]] = True
    return flagged[parent]


def _unflagged_numpy(
    mask: np.ndarray, flag: np.ndarray, connectivity: int, *, steps: int = 4
) -> np.ndarray:
    """``mask``, ``flag``: ``(B, H, W)`` bool, ``flag`` inside ``mask``; returns the pixels of
    ``mask`` whose component holds no pixel of ``flag``.

    A few geodesic dilations of ``flag`` inside ``mask`` first (cheap whole-image bool
    operations) leave far fewer runs to label; a component of the pixels not reached is
    dropped iff it touches a reached one.
    """
    bsz, h, w = mask.shape
    # reached: (B, H + 2, W + 2), False outside the image
    buf = np.zeros((bsz, h + 2, w + 2), dtype=bool)
    reached = buf[:, 1:-1, 1:-1]  # (B, H, W) view
    reached[...] = flag
    rows = np.empty((bsz, h + 2, w), dtype=bool)
    grown = np.empty((bsz, h, w), dtype=bool)

    def grow() -> None:
        """grown = the 3x3 square (or cross) dilation of reached (the centre included)."""
        if connectivity == 2:
            np.logical_or(buf[:, :, :-2], buf[:, :, 1:-1], out=rows)  # (B, H + 2, W)
            rows[...] |= buf[:, :, 2:]
            np.logical_or(rows[:, :-2], rows[:, 1:-1], out=grown)  # (B, H, W)
            grown[...] |= rows[:, 2:]
        else:
            np.logical_or(buf[:, :-2, 1:-1], buf[:, 2:, 1:-1], out=grown)
            grown[...] |= buf[:, 1:-1, :-2]
            grown[...] |= buf[:, 1:-1, 2:]
            grown[...] |= reached

    for _ in range(steps):
        grow()
        np.logical_and(grown, mask, out=reached)  # grown holds reached: flag is in mask
    # not reached, and touching (not reached, next to a reached pixel)
    clean = np.greater(mask, reached).reshape(-1)  # (N,) N = B * H * W
    grow()
    touch = np.logical_and(grown.reshape(-1), clean)  # (N,)
    # runs [s, e]: breaks in the flat positions of the clean pixels, or a new row
    idx = np.flatnonzero(clean)  # (P,)
    if idx.size == 0:
        return np.zeros(mask.shape, dtype=bool)
    brk = np.flatnonzero(np.diff(idx) != 1)  # (R' - 1,) ends of the runs of the flat image
    # and a run also ends at the end of a row that the next row continues
    lines = clean.reshape(-1, w)  # (B * H, W)
    wrap = np.flatnonzero(lines[:-1, -1] & lines[1:, 0])  # (k,) rows whose last pixel ends a run
    if wrap.size:  # (not a break of the flat positions: both sets are disjoint)
        brk = np.sort(np.concatenate([brk, np.searchsorted(idx, (wrap + 1) * w - 1)]))
    s = idx[np.concatenate([[0], brk + 1])]  # (R,) first pixel
    e = idx[np.concatenate([brk, [idx.size - 1]])]  # (R,) last pixel
    # the run of each touching pixel: the last run starting at or before it
    run_flag = np.zeros(s.size, dtype=bool)  # (R,)
    run_flag[np.searchsorted(s, np.flatnonzero(touch), side="right") - 1] = True
    # links with the row above: the runs meeting [s - W - r, e - W + r] (r = 0: 4-,
    # 1: 8-connectivity), clipped to that row, are first..last
    r = connectivity - 1
    up = (s // w - 1) * w  # (R,) flat start of the row above
    first = np.searchsorted(e, np.maximum(s - w - r, up))  # (R,) first run ending >= lo
    last = np.searchsorted(s, np.minimum(e - w + r, up + w - 1), side="right") - 1
    last[s // w % h == 0] = -1  # the first row of an image has no row above
    count = last - first + 1  # (R,) runs above, <= 0 for none
    ids = np.arange(s.size)
    one = count >= 1
    two = count >= 2
    # the first run above makes a forest; the last and those in between are links
    more = np.maximum(count - 2, 0)  # (R,) runs strictly between first and last
    between = np.repeat(ids, more)  # (M,)
    offset = np.cumsum(more) - more  # (R,) first of them for each run
    above = np.arange(between.size) + np.repeat(first + 1 - offset, more)  # (M,)
    a = np.concatenate([ids[one], ids[two], between])
    b = np.concatenate([first[one], last[two], above])
    keep = ~_union_any(int(one.sum()), a, b, run_flag)  # (R,)
    # paint the kept runs (few pixels: the extrema): pixel k of run j is s_j + k
    ks, length = s[keep], e[keep] - s[keep] + 1  # (K,)
    done = np.cumsum(length) - length  # (K,) pixels in the kept runs before run j
    out = np.zeros(mask.shape, dtype=bool)  # (B, H, W)
    out.reshape(-1)[np.arange(int(length.sum())) + np.repeat(ks - done, length)] = True
    return out


def _unflagged_torch(mask: Tensor, flag: Tensor, connectivity: int) -> Tensor:
    """Any device: label ``mask`` (torch runs labelling), then drop the flagged labels."""
    labels, counts = _label_torch(mask, connectivity, 0)  # (B, H, W), numbered per image
    bsz = mask.shape[0]
    # one label range per image: label + offset of the image
    offset = torch.cumsum(counts, 0) - counts  # (B,)
    key = torch.where(labels > 0, labels + offset.view(bsz, 1, 1), 0)  # (B, H, W)
    bad = torch.zeros(int(counts.sum()) + 1, dtype=torch.bool, device=mask.device)
    bad[key[flag]] = True
    bad[0] = True  # outside the mask
    return ~bad[key]
