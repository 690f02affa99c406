r"""Connected-component labelling (4- or 8-connectivity) and small-object removal.

Algorithm (vectorised, no Python loop over pixels or runs):

1. **Nodes.** Each row of an integer image is cut into runs of equal, non-background values;
   a run is one node. A bool mask is cut into strips of two rows instead, and a node is a
   run of columns of a strip that is connected inside the strip (for 8-connectivity any run
   of non-empty columns, for 4-connectivity one in which neighbouring columns share a row):
   half as many levels and fewer nodes than row runs (``_label_mask``). Nodes are numbered
   by a cumulative sum of their starts, in raster order.
2. **Links.** Two nodes of consecutive rows (strips) are joined when a pixel of one touches a
   pixel of the other (straight above for 4-connectivity, also diagonally for 8) and both
   carry the same value; only the first of several contacts in a row between the same two
   nodes is kept.
3. **Union-find.** Each node first hangs from one node it touches on the level above (a
   forest), resolved level by level: ``root = root[parent]`` on one slice per level, as the
   level above is final. The remaining links join trees: the larger root of each link is
   hooked onto a smaller one and paths are compressed, until no link joins two roots
   (Shiloach-Vishkin style hooking), so every component ends at its smallest tree root.
4. **Numbering.** Components are numbered 1..n in the raster order of their first pixel,
   the numbering of ``skimage.measure.label``: tree roots are ranked by ``(level, column)``,
   and within a strip a tree whose first pixel is on the top row comes before one that
   starts on the bottom row.

CPU tensors are labelled with NumPy array operations on the tensor's memory (shared, not
copied), which are several times faster than torch's for gathers and ``nonzero`` on one core;
temporaries are freed early or worked through in cache-sized blocks, since fresh memory is
slow to touch. Tensors on other devices take a torch version (row runs found by binary
search of the row above, hooking on all edges).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.segmentation._label_mask import _label_mask
from pixlearn.segmentation._label_union import _merge_trees, _sweep_roots

__all__ = ["label", "remove_small_objects"]


def _check_discrete(image: Tensor, name: str) -> Tensor:
    """Check an integer or bool image ``(..., H, W)`` (float images are refused)."""
    check_image(image, name, finite=False, allow_empty=True)
    if image.is_floating_point() or image.is_complex():
        raise WrongTypeError(
            f"{name} must be a bool or integer tensor (a binary mask or a label image), got "
            f"{image.dtype}; threshold a float image first, e.g. image > threshold_otsu(image)"
        )
    return image


def _check_connectivity(connectivity: int) -> int:
    if isinstance(connectivity, bool) or connectivity not in (1, 2):
        raise ValueRangeError(
            f"connectivity must be 1 (4-neighbours) or 2 (8-neighbours), got "
            f"{describe(connectivity)}"
        )
    return int(connectivity)


def _run_edges(
    first: Tensor, last: Tensor, row: Tensor, width: int, height: int, reach: int
) -> tuple[Tensor, Tensor]:
    """Pairs ``(a, b)`` of runs, ``b`` on the row above ``a``, whose pixels touch.

    ``first``, ``last``: ``(R,)`` flat index of the first and last pixel of each run (sorted,
    disjoint); ``row``: ``(R,)`` global row (image * H + y). ``reach`` is 0 (4-connectivity)
    or 1 (8). Run ``a`` on columns ``[c0, c1]`` touches the runs of the row above that meet
    the columns ``[c0 - reach, c1 + reach]``: two binary searches give that range of runs.
    """
    top = row * width  # (R,) flat index of the row's first pixel
    up = top - width  # the row above
    lo = up + (first - top - reach).clamp(min=0)  # (R,) window on the row above
    hi = up + (last - top + reach).clamp(max=width - 1)
    # runs with last >= lo and first <= hi: indices [start, stop)
    start = torch.searchsorted(last, lo)  # (R,)
    stop = torch.searchsorted(first, hi, right=True)
    count = torch.where(row % height == 0, 0, stop - start)  # (R,) no row above at y = 0
    a = torch.repeat_interleave(torch.arange(len(first), device=first.device), count)  # (E,)
    # b runs from start[a] upwards: position within a's group + start[a]
    offset = torch.cumsum(count, 0) - count  # (R,) first edge of each run
    b = torch.arange(len(a), device=first.device) + torch.repeat_interleave(start - offset, count)
    return a, b


def _label_torch(image: Tensor, connectivity: int, background: int) -> tuple[Tensor, Tensor]:
    """Any device: runs, their edges by binary search, hooking on all edges (torch ops)."""
    if image.dtype == torch.bool:
        image = image.to(torch.uint8)
    bsz, h, w = image.shape
    dev = image.device
    flat = image.reshape(-1)  # (B * H * W,)
    # segments: maximal pieces of a row with one value; each row starts a new segment
    new = torch.ones((bsz * h, w), dtype=torch.bool, device=dev)  # (B * H, W)
    new[:, 1:] = image.reshape(bsz * h, w)[:, 1:] != image.reshape(bsz * h, w)[:, :-1]
    seg_first = torch.nonzero(new.reshape(-1)).squeeze(1)  # (S,) flat index, raster order
    seg_len = torch.diff(seg_first, append=seg_first.new_tensor([flat.numel()]))  # (S,)
    seg_val = flat[seg_first]  # (S,)
    is_run = seg_val != background  # (S,) the runs are the foreground segments
    first = seg_first[is_run]  # (R,)
    n_runs = first.numel()
    if n_runs == 0:
        zeros = torch.zeros((bsz,), dtype=torch.int64, device=dev)
        return torch.zeros(image.shape, dtype=torch.int64, device=dev), zeros
    last = first + seg_len[is_run] - 1  # (R,)
    row = torch.div(first, w, rounding_mode="floor")  # (R,) global row index
    u, v = _run_edges(first, last, row, w, h, connectivity - 1)  # (E,) v above u, v < u
    if image.dtype != torch.uint8 or int(seg_val.max()) > 1 or background not in (0, 1):
        same = seg_val[is_run]
        keep = same[u] == same[v]  # only runs of equal value join
        u, v = u[keep], v[keep]
    parent = torch.arange(n_runs, device=dev)  # (R,)
    while u.numel() > 0:
        pu, pv = parent[u], parent[v]  # roots: parent is fully compressed here
        live = pu != pv
        u, v, pu, pv = u[live], v[live], pu[live], pv[live]
        if u.numel() == 0:
            break
        # hook: parent[max root] = min over the roots it is joined to
        parent.scatter_reduce_(0, torch.maximum(pu, pv), torch.minimum(pu, pv), "amin")
        # pointer jumping until every run points at its root
        while True:
            grand = parent[parent]
            if torch.equal(grand, parent):
                break
            parent = grand
    is_root = parent == torch.arange(n_runs, device=dev)  # (R,)
    run_img = torch.div(row, h, rounding_mode="floor")  # (R,) image of each run
    counts = torch.bincount(run_img[is_root], minlength=bsz)  # (B,) components per image
    offset = torch.cumsum(counts, 0) - counts  # (B,) labels used by earlier images
    number = torch.cumsum(is_root.long(), 0)  # (R,) 1-based global root rank
    run_label = number[parent] - offset[run_img]  # (R,) 1..n within each image
    seg_label = torch.zeros_like(seg_first)  # (S,) 0 on background segments
    seg_label[is_run] = run_label
    out = torch.repeat_interleave(seg_label, seg_len, output_size=flat.numel())  # (B*H*W,)
    return out.reshape(bsz, h, w), counts


def _new_pairs(link: np.ndarray, start_low: np.ndarray, start_up: np.ndarray) -> np.ndarray:
    """Indices ``q`` of the links that join a new pair of runs (not the pair linked at q - 1)."""
    new = link.copy()
    new[1:] &= ~link[:-1] | start_low[1:] | start_up[1:]
    return np.flatnonzero(new)


def _label_numpy(image: np.ndarray, connectivity: int, background: int) -> tuple[Tensor, Tensor]:
    """Label an integer image ``(B, H, W)`` on the CPU by row runs (values compared).

    Returns int64 labels and the count per image ``(B,)``.
    """
    bsz, h, w = image.shape
    n = image.size
    val = image.reshape(-1)  # (P,) flat pixels, P = B * H * W
    fg = val != background  # (P,)
    # pixel q and q + 1 in one run: both foreground, one value, same row
    joined = fg[1:] & fg[:-1]  # (P - 1,)
    joined &= val[1:] == val[:-1]
    joined[w - 1 :: w] = False  # q is the last pixel of a row
    start = fg.copy()  # (P,) first pixel of each run
    start[1:] &= ~joined
    run_of = np.cumsum(start, dtype=np.int32 if n < 2**31 else np.int64)  # (P,) 1-based run
    n_runs = int(run_of[-1])
    if n_runs == 0:
        return torch.zeros(image.shape, dtype=torch.int64), torch.zeros(bsz, dtype=torch.int64)
    top = None  # (P,) first rows of images 1..B-1: no link to the image before
    if bsz > 1:
        top = np.zeros((bsz, h, w), dtype=bool)
        top[1:, 0] = True
        top = top.reshape(-1)

    def runs(q: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
        """Runs (0-based, intp) of the lower pixels ``q + shift`` and the upper pixels ``q``."""
        return run_of[q + shift].astype(np.intp) - 1, run_of[q].astype(np.intp) - 1

    # straight links: index q pairs the lower pixel q + W with the upper pixel q
    link = fg[w:] & fg[:-w]  # (P - W,)
    link &= val[w:] == val[:-w]
    if top is not None:
        link &= ~top[w:]
    a, b = runs(_new_pairs(link, start[w:], start[:-w]), w)  # (E,) a below, b above
    # union-find, step 1: each run hangs from the smallest run it touches above
    head = np.ones(a.size, dtype=bool)  # the first (smallest) link of each run a
    np.not_equal(a[1:], a[:-1], out=head[1:])
    parent = np.arange(n_runs)  # (R,)
    if connectivity == 2 and w > 1 and bsz * h > 1:
        # with 8-neighbours two runs also touch diagonally, only at run ends: the last pixel
        # of the lower run below-left of the first pixel of the upper one, or mirrored
        end = fg.copy()  # (P,) last pixel of each run
        end[:-1] &= ~joined
        right = end[w - 1 :] & start[: n - w + 1]  # lower q + W - 1, upper q (up-right)
        left = start[w + 1 :] & end[: n - w - 1]  # lower q + W + 1, upper q (up-left)
        right &= val[w - 1 :] == val[: n - w + 1]
        left &= val[w + 1 :] == val[: n - w - 1]
        right[::w] = False  # the lower pixel is in the last column
        left[w - 1 :: w] = False  # the lower pixel is in the first column
        if top is not None:
            right &= ~top[w - 1 :]
            left &= ~top[w + 1 :]
        ar, br = runs(np.flatnonzero(right), w - 1)
        al, bl = runs(np.flatnonzero(left), w + 1)
        # above a run, an up-left neighbour comes before the straight ones, up-right after
        parent[ar] = br
        parent[a[head]] = b[head]
        parent[al] = bl
        a, b = np.concatenate([a, ar, al]), np.concatenate([b, br, bl])
    else:
        parent[a[head]] = b[head]
    # parents lie on the row above: resolve the forest row by row
    _sweep_roots(parent, [0, *run_of.reshape(bsz * h, w)[:, -1].tolist()])
    # step 2: links between different trees merge them (smallest root wins)
    parent = _merge_trees(parent[a], parent[b], n_runs)[parent]
    # numbering: roots 1..n in run order (raster order of first pixels), per image
    is_root = parent == np.arange(n_runs)  # (R,)
    lab = np.zeros(n_runs + 1, dtype=np.int64)  # (R + 1,) label of each run, 0: background
    if bsz == 1:
        counts = np.array([np.count_nonzero(is_root)])
        lab[1:] = np.cumsum(is_root)[parent]
    else:
        upto = run_of.reshape(bsz, -1)[:, -1].astype(np.intp)  # (B,) runs up to each image
        run_img = np.repeat(np.arange(bsz), np.diff(upto, prepend=0))  # (R,)
        counts = np.bincount(run_img[is_root], minlength=bsz)  # (B,)
        lab[1:] = np.cumsum(is_root)[parent] - (np.cumsum(counts) - counts)[run_img]
    if n_runs * 16 < n:
        # few runs: write whole segments (runs and background gaps) at once
        bg_start = ~fg  # background pixels after a foreground one or at a row start
        bg_start[1:] &= fg[:-1]
        bg_start[::w] = ~fg[::w]
        seg = np.flatnonzero(start | bg_start)  # (S,) first pixel of each segment
        out = np.repeat(lab[run_of[seg] * fg[seg]], np.diff(seg, append=n))
    else:
        np.multiply(run_of, fg, out=run_of)  # 0 on the background
        out = np.take(lab, run_of.astype(np.intp))
    return torch.from_numpy(out.reshape(image.shape)), torch.from_numpy(counts)


def _label(image: Tensor, connectivity: int, background: int) -> tuple[Tensor, Tensor]:
    """Label ``(B, H, W)``; return int64 labels and the component count per image ``(B,)``."""
    if image.device.type == "cpu" and image.numel():
        arr = image.contiguous().numpy()
        if arr.dtype == np.bool_ and background in (0, 1):
            # a mask: strips of two rows (fewer nodes than row runs)
            return _label_mask(arr if background == 0 else ~arr, connectivity)
        return _label_numpy(arr, connectivity, background)
    return _label_torch(image, connectivity, background)


def label(
    image: Tensor,
    *,
    connectivity: int = 1,
    background: int = 0,
    return_num: bool = False,
) -> Tensor | tuple[Tensor, int | Tensor]:
    r"""Label the connected components of a binary or integer image.

    Pixels equal to ``background`` get label 0. Two neighbouring pixels belong to the same
    component when they carry the same value, so in an integer image different values are
    different components. Components are numbered 1..n in raster order of their first pixel,
    exactly as ``skimage.measure.label``.

    Args:
        image: bool or integer image, shape ``(..., H, W)``; leading dimensions are a batch,
            each ``(H, W)`` slice is labelled on its own (numbering restarts at 1). Float
            images are refused: threshold them first.
        connectivity: 1 for 4-neighbours (edges), 2 for 8-neighbours (edges and corners).
        background: the value treated as background (``False`` counts as 0 for bool images).
        return_num: also return the number of components.

    Returns:
        int64 labels, same shape; with ``return_num``, also the count: an ``int`` for one
        ``(H, W)`` image, an int64 tensor of shape ``(...)`` for a batch.

    Shape:
        ``(..., H, W)`` -> ``(..., H, W)``.

    Notes:
        Two foreground pixels :math:`p, q` are connected when there is a path
        :math:`p = p_0, p_1, \dots, p_k = q` of pixels with equal values in which consecutive
        pixels are :math:`N_4`- (``connectivity=1``) or :math:`N_8`-neighbours
        (``connectivity=2``); the components are the classes of this equivalence relation.

    Example:
        >>> m = torch.tensor([[1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=torch.bool)
        >>> label(m, return_num=True)[1], label(m, connectivity=2, return_num=True)[1]
        (4, 1)

    References:
        Rosenfeld, A., Pfaltz, J. L. "Sequential operations in digital picture processing."
        JACM 13(4), 1966. Shiloach, Y., Vishkin, U. "An O(log n) parallel connectivity
        algorithm." J. Algorithms 3(1), 1982.
    """
    _check_discrete(image, "image")
    connectivity = _check_connectivity(connectivity)
    background = check_int(background, "background")
    x = image.reshape(math.prod(image.shape[:-2]), *image.shape[-2:])  # (B, H, W)
    out, counts = _label(x, connectivity, background)
    out = out.reshape(image.shape)
    if not return_num:
        return out
    num: int | Tensor = int(counts.sum()) if image.dim() == 2 else counts.reshape(image.shape[:-2])
    return out, num


def remove_small_objects(image: Tensor, min_size: int, *, connectivity: int = 1) -> Tensor:
    r"""Remove the connected components with fewer than ``min_size`` pixels.

    Args:
        image: a bool mask (components found with :func:`label` at ``connectivity``) or a
            non-negative integer label image (each label value is one object, taken as is,
            as scikit-image does), shape ``(..., H, W)``; each ``(H, W)`` slice on its own.
        min_size: objects with strictly fewer pixels are set to 0 / ``False``.
        connectivity: 1 or 2, used for bool masks only.

    Returns:
        A new tensor, same shape and dtype, with the small objects removed.

    Shape:
        ``(..., H, W)`` -> ``(..., H, W)``.

    Notes:
        :math:`O = \{ C_i : |C_i| \geq s \}`, the union of the components of size at least
        :math:`s`. Equals ``skimage.morphology.remove_small_objects(ar, max_size=s - 1)``
        (scikit-image >= 0.26 removes sizes ``<= max_size``; its deprecated ``min_size=s``
        keyword is mapped onto ``max_size=s`` there and so also removes objects of exactly
        ``s`` pixels, unlike this function and the scikit-image releases before 0.26).

    Example:
        >>> m = torch.zeros(4, 6, dtype=torch.bool)
        >>> m[0, 0] = True
        >>> m[2:4, 2:5] = True
        >>> remove_small_objects(m, 2).sum().item()
        6

    References:
        Soille, P. "Morphological Image Analysis", 2nd ed., Springer 2003.
    """
    _check_discrete(image, "image")
    min_size = check_int(min_size, "min_size", min_value=0)
    connectivity = _check_connectivity(connectivity)
    x = image.reshape(math.prod(image.shape[:-2]), *image.shape[-2:])  # (B, H, W)
    if image.dtype == torch.bool:
        labels, _ = _label(x, connectivity, 0)
    else:
        if x.numel() and int(x.min()) < 0:
            raise ValueRangeError("image (a label image) must not have negative values")
        labels = x.long()
    if x.numel() == 0 or min_size == 0:
        return image.clone()
    # per-image label sizes: offset each image's labels into its own range
    n = int(labels.max()) + 1
    key = labels + n * torch.arange(x.shape[0], device=x.device)[:, None, None]  # (B, H, W)
    sizes = torch.bincount(key.reshape(-1), minlength=n * x.shape[0])  # (B * n,)
    small = (sizes < min_size)[key]  # (B, H, W)
    out = x.clone()
    out[small] = 0
    return out.reshape(image.shape)
