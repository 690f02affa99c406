"""Marker-based watershed: flooding a relief from markers, as Meyer's priority-queue flooding."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.morphology.reconstruction import _reconstruct

__all__ = ["watershed"]

_OFFSETS = {
    1: [(-1, 0), (0, -1), (0, 1), (1, 0)],
    2: [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
}


def watershed(
    image: Tensor,
    markers: Tensor | None = None,
    mask: Tensor | None = None,
    *,
    connectivity: int = 1,
    watershed_line: bool = False,
) -> Tensor:
    r"""Flood the relief ``image`` from labelled ``markers``; every basin takes its marker's label.

    Args:
        image: the relief (often a gradient magnitude), shape ``(H, W)`` or a batch
            ``(B, H, W)`` flooded item by item; float, integer or bool, finite.
        markers: int64 (any integer dtype) labels of the same shape, 0 = unlabelled; ``None``
            labels the regional minima of ``image`` (with ``connectivity``) and uses those.
        mask: bool, same shape; only pixels where it is True are flooded (others get 0).
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).
        watershed_line: leave a one-pixel line of 0 between basins of different labels.

    Returns:
        int64 labels, same shape as ``image``; 0 outside ``mask``, on watershed lines and where
        no marker can flood.

    Shape:
        ``(H, W) -> (H, W)``, ``(B, H, W) -> (B, H, W)``.

    Raises:
        ShapeError: ``markers``/``mask`` shape differs from ``image``, an empty image, more than
            3 dimensions.
        ValueRangeError: negative markers, a non-binary ``mask``, NaN/Inf, a bad
            ``connectivity``.
        WrongTypeError: floating ``markers``.

    Notes:
        Meyer's flooding pops pixels from a priority queue keyed by their value, the oldest
        first among equal keys (markers enter first, keyed by their own value); a pixel
        takes the label of the neighbour that pushed it first. The level at which a pixel
        is reached is its minimax (bottleneck) path cost from the markers,
        :math:`\lambda(p) = \min_{\pi: M \to p} \max_{q \in \pi} f(q)`, which is the
        reconstruction by erosion of :math:`f|_M` over :math:`f`. With a strict order of the
        pixels, the pixels reached at one level all share the label of the pixel :math:`r`
        with :math:`f(r) = \lambda` (the level's root), and :math:`r` takes the label of its
        lowest-level neighbour. So: (1) rank the pixels, (2) reconstruct :math:`\lambda`
        (vectorised sweeps), (3) point each pixel to its parent (its level's root, or for a
        root its lowest-level neighbour), (4) jump pointers down to the markers. No
        per-pixel Python loop; equals ``skimage.segmentation.watershed`` on inputs without
        plateaus, with and without ``mask`` and ``watershed_line``.

        With ``watershed_line``, a pixel is a line pixel iff, when it is popped, a
        neighbour that still counts (a marker, or a pixel popped before it that is not a
        line pixel) carries another label; line pixels still pass their label on (the rule
        of scikit-image). A marker can be flagged so too: it keeps its label but no longer
        counts for later pixels.

        Tie rule on plateaus (equal values): pixels are ranked by value, then by their
        geodesic distance, inside the plateau, to the plateau's lower border (the pixels with
        a strictly lower neighbour, and the markers), then by row-major index. A plateau
        between two markers is thus split half-way, as scikit-image's first-in-first-out
        rule does in most cases, though not always pixel for pixel; markers of equal value
        are ordered the same way.

    Example:
        >>> f = torch.tensor([[0.0, 1.0, 3.0, 2.0, 0.5]])
        >>> m = torch.tensor([[1, 0, 0, 0, 2]])
        >>> watershed(f, m)
        tensor([[1, 1, 1, 2, 2]])
        >>> watershed(f, m, watershed_line=True)
        tensor([[1, 1, 0, 2, 2]])

    References:
        Meyer, F. "Topographic distance and watershed lines." Signal Processing 38(1), 1994.
        Beucher, S. and Meyer, F. "The morphological approach to segmentation: the watershed
        transformation." In *Mathematical Morphology in Image Processing*, 1993.
    """
    check_image(image, "image", max_dims=3)
    if image.is_complex():
        raise WrongTypeError(f"image must be real, got {image.dtype}")
    conn = check_int(connectivity, "connectivity", min_value=1)
    if conn not in _OFFSETS:
        raise ValueRangeError(f"connectivity must be 1 or 2, got {connectivity}")
    f = image.to(torch.uint8) if image.dtype == torch.bool else image
    msk = _mask(mask, image)  # None: no mask
    if markers is None:
        from pixlearn.morphology.extrema import regional_minima
        from pixlearn.segmentation import label

        minima = regional_minima(f, connectivity=conn)
        mk = label(minima if msk is None else minima & msk, connectivity=conn)
    else:
        mk = _markers(markers, image)
    if msk is not None:
        mk = mk * msk  # markers outside the mask are dropped
    H, W = image.shape[-2:]
    items = zip(f.reshape(-1, H, W), mk.reshape(-1, H, W), strict=True)
    out = [
        _flood(fi, None if msk is None else msk.reshape(-1, H, W)[i], mi, conn, watershed_line)
        for i, (fi, mi) in enumerate(items)
    ]
    # one item: its labels as they are (stacking would copy them)
    return (out[0] if len(out) == 1 else torch.stack(out)).reshape(image.shape)


def _mask(mask: Tensor | None, image: Tensor) -> Tensor | None:
    if mask is None:
        return None
    check_tensor(mask, "mask")
    if mask.shape != image.shape:
        raise ShapeError(
            f"mask must have the shape of image {tuple(image.shape)}, got {describe(mask)}"
        )
    if mask.dtype != torch.bool and bool(((mask != 0) & (mask != 1)).any()):
        raise ValueRangeError(f"mask must be binary (bool or 0/1), got {describe(mask)}")
    return mask != 0


def _markers(markers: Tensor, image: Tensor) -> Tensor:
    check_tensor(markers, "markers")
    if markers.is_floating_point() or markers.is_complex():
        raise WrongTypeError(f"markers must be an integer (label) tensor, got {markers.dtype}")
    if markers.shape != image.shape:
        raise ShapeError(
            f"markers must have the shape of image {tuple(image.shape)}, got {describe(markers)}"
        )
    mk = markers.to(torch.int64)
    if bool((mk < 0).any()):
        raise ValueRangeError(f"markers must be >= 0, got a minimum of {int(mk.min())}")
    return mk


def _shift(x: Tensor, dy: int, dx: int, fill: float | int) -> Tensor:
    """``out[i, j] = x[i + dy, j + dx]``, ``fill`` where that falls outside ``x (H, W)``."""
    H, W = x.shape
    out = torch.full_like(x, fill)
    out[max(0, -dy) : H - max(0, dy), max(0, -dx) : W - max(0, dx)] = x[
        max(0, dy) : H - max(0, -dy), max(0, dx) : W - max(0, -dx)
    ]
    return out


def _has_plateau(f: Tensor, mask: Tensor | None, conn: int) -> bool:
    """Whether two neighbours inside ``mask`` are equal (``f (H, W)``; views, no shifted copies)."""
    H, W = f.shape
    # equality is symmetric: the first half of the offsets sees every equal pair once
    for dy, dx in _OFFSETS[conn][: len(_OFFSETS[conn]) // 2]:
        # the pixel (i, j) against (i + dy, j + dx), both inside the image
        a = (slice(max(0, -dy), H - max(0, dy)), slice(max(0, -dx), W - max(0, dx)))
        b = (slice(max(0, dy), H - max(0, -dy)), slice(max(0, dx), W - max(0, -dx)))
        eq = f[a] == f[b]
        if mask is not None:
            eq &= mask[a] & mask[b]
        if bool(eq.any()):
            return True
    return False


def _plateau_distance(f: Tensor, mask: Tensor, seeds: Tensor, conn: int) -> Tensor:
    """Geodesic distance inside each plateau of ``f`` to its lower border (or a marker).

    The lower border: in-mask pixels with a strictly lower in-mask neighbour, and ``seeds``.
    Pixels of a plateau without a lower border (a regional minimum) get 0.
    """
    big = f.numel() + 1
    lower = seeds.clone()
    equal = []
    for dy, dx in _OFFSETS[conn]:
        nb = _shift(f, dy, dx, 0)
        inside = _shift(mask, dy, dx, False)
        lower |= inside & (nb < f)
        equal.append((dy, dx, inside & (nb == f)))
    dist = torch.where(lower & mask, 0, big)  # (H, W) int64
    while True:
        new = dist
        for dy, dx, eq in equal:
            # d(p) = min(d(p), d(q) + 1) over neighbours q on the same plateau
            new = torch.minimum(new, torch.where(eq, _shift(dist, dy, dx, big) + 1, big))
        if torch.equal(new, dist):
            break
        dist = new
    return torch.where(dist >= big, 0, dist)


def _order(f: Any, pd: Any) -> Any:
    """Pixel indices ``(N,)`` sorted by value ``f (N,)``, then ``pd (N,)`` (or None), then index.

    NumPy arrays (the CPU) or tensors. NumPy's unstable quicksort is about 3x faster than a
    stable sort on float64; only the runs of equal values are then re-sorted by index.
    """
    if isinstance(f, Tensor):
        order = torch.argsort(pd, stable=True) if pd is not None else None
        if order is None:
            return torch.argsort(f, stable=True)
        return order[torch.argsort(f[order], stable=True)]
    if pd is not None:  # plateaus: two stable passes, the last key last
        order = np.argsort(pd, kind="stable")
        return order[np.argsort(f[order], kind="stable")]
    order = np.argsort(f)  # (N,) int64, equal values in any order
    ranked = f[order]
    tie = ranked[1:] == ranked[:-1]  # (N - 1,), position k ties with k + 1
    if tie.any():
        # a run id per sorted position; re-sort the tied positions by (run, index)
        run = np.concatenate(([0], np.cumsum(~tie)))  # (N,)
        tied = np.zeros(len(f), dtype=bool)
        tied[:-1] |= tie
        tied[1:] |= tie
        at = np.flatnonzero(tied)
        # runs are contiguous, so sorting by run keeps each run on its own positions
        packed = np.sort(run[at] * len(f) + order[at])  # (T,) int64, run * N + index
        order[at] = packed % len(f)
    return order


def _flood(f: Tensor, mask: Tensor | None, markers: Tensor, conn: int, line: bool) -> Tensor:
    """Watershed of one ``(H, W)`` image (see :func:`watershed`, Notes, for the four steps).

    On the CPU the steps run on NumPy arrays (a call costs about 1 us there, several in
    torch), with int32 indices and reused buffers; elsewhere on tensors.
    """
    H, W = f.shape
    N = H * W
    seeds = markers > 0
    # (1) a strict order: value, then distance to the plateau's lower border, then index
    pd = None
    if _has_plateau(f, mask, conn):
        full = torch.ones_like(seeds) if mask is None else mask
        pd = _plateau_distance(f, full, seeds, conn).flatten()  # (N,)
    cpu = f.device.type == "cpu"
    if cpu:  # NumPy views of the same memory (bfloat16, unknown to NumPy: exactly to float32)
        fv = (f.float() if f.dtype == torch.bfloat16 else f).contiguous().numpy().reshape(-1)
        order = _order(fv, None if pd is None else pd.numpy()).astype(np.int32)  # (N,)
        rank = np.empty(N, dtype=np.int32)
        rank[order] = np.arange(N, dtype=np.int32)
        sd, msk = seeds.numpy(), None if mask is None else mask.numpy()
        lib: Any = np
    else:
        order = _order(f.flatten(), pd).to(torch.int32)  # (N,)
        rank = torch.empty(N, dtype=torch.int32, device=f.device)
        rank[order] = torch.arange(N, dtype=torch.int32, device=f.device)
        sd, msk, lib = seeds, mask, torch
    # flood keys: the int32 ranks, and above every pixel outside the mask (a wall)
    big = N + 1
    key = rank.reshape(H, W) if msk is None else lib.where(msk, rank.reshape(H, W), big)
    start = lib.where(sd, key, big)
    # (2) flood level = reconstruction by erosion of the markers' keys under the key image
    offs = [0] if conn == 1 else [-1, 0, 1]
    to_t = torch.from_numpy if cpu else (lambda x: x)
    level_t = _reconstruct(to_t(start), to_t(key), offs, offs, dilate=False)  # (H, W) int32
    level = level_t.numpy() if cpu else level_t
    # (3) parents: a level's root r (key(r) = level(r)) -> the root of its lowest-level
    # neighbour's level; any other pixel -> its level's root, order[level]
    padded = lib.full((H + 2, W + 2), big, dtype=level.dtype)
    if not cpu:
        padded = padded.to(level.device)
    padded[1:-1, 1:-1] = level
    best = lib.full_like(level, big)  # (H, W) lowest level among the neighbours
    for dy, dx in _OFFSETS[conn]:
        lib.minimum(best, padded[1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W], out=best)
    reached = level < big
    via = lib.where(level == key, best, level).clip(max=N - 1)  # the level to follow
    parent = order[via.reshape(-1)]  # (N,) int32
    # markers and unreached pixels point at themselves
    fixed = (sd | ~reached).reshape(-1)
    parent[fixed] = lib.arange(N, dtype=parent.dtype, **({} if cpu else {"device": f.device}))[
        fixed
    ]
    # (4) pointer jumping until every pixel points at a marker (or at itself, unreached)
    nxt = lib.empty_like(parent)
    while True:
        if cpu:
            np.take(parent, parent, out=nxt)
        else:
            torch.index_select(parent, 0, parent, out=nxt)
        if bool((nxt == parent).all()):
            break
        parent, nxt = nxt, parent
    if cpu:
        labels = torch.from_numpy(markers.numpy().reshape(-1)[parent].reshape(H, W))
    else:
        labels = markers.flatten()[parent].view(H, W)
    if line:
        labels = _lines(labels, level_t, seeds, to_t(reached), conn)
    return labels


def _lines(labels: Tensor, level: Tensor, seeds: Tensor, reached: Tensor, conn: int) -> Tensor:
    """Set to 0 the flooded pixels that, when popped, see a neighbour with another label.

    scikit-image's rule: a pixel popped from the queue is a line pixel iff a neighbour that
    still counts (a marker, or a pixel popped before it that is not a line pixel) carries
    another label; line pixels still pass their label on, so the labels are those of the
    line-free flooding and only this decision is sequential. Pixels with other labels are
    popped in level order, so the decisions are resolved in vectorised rounds, lowest
    levels first (a decision waits only for those of lower neighbours). Markers may be
    flagged too (they then stop counting for later pixels) but keep their labels.
    """
    big = level.numel() + 1
    after, before = [], []  # per offset: a counting marker popped later / a pixel popped before
    for dy, dx in _OFFSETS[conn]:
        nb_level = _shift(level, dy, dx, big)
        other = reached & (_shift(labels, dy, dx, 0) != labels) & (_shift(labels, dy, dx, 0) != 0)
        before.append((dy, dx, other & (nb_level < level)))
        after.append(other & (nb_level > level) & _shift(seeds, dy, dx, False))
    # state: 0 undecided, 1 line pixel, 2 not a line pixel
    sure = torch.zeros_like(seeds)
    for a in after:
        sure |= a
    candidate = sure.clone()
    for _, _, b in before:
        candidate |= b
    state = torch.where(sure, 1, torch.where(candidate, 0, 2))
    while bool((state == 0).any()):
        any_kept, all_lines = torch.zeros_like(seeds), torch.ones_like(seeds)
        for dy, dx, b in before:
            s = _shift(state, dy, dx, 2)
            any_kept |= b & (s == 2)
            all_lines &= ~b | (s == 1)
        new = torch.where((state == 0) & any_kept, 1, state)
        new = torch.where((new == 0) & all_lines, 2, new)
        if torch.equal(new, state):  # cannot happen: levels strictly order the decisions
            raise RuntimeError("watershed lines did not resolve")
        state = new
    return torch.where((state == 1) & ~seeds, 0, labels)
