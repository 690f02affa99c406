r"""Connected-component labelling (4- or 8-connectivity) and small-object removal.

Algorithm (vectorised, no Python loop over pixels):

1. **Runs.** Each row is cut into runs of equal, non-background values; a run is one node.
   Runs are numbered in raster order of their first pixel.
2. **Edges.** Two runs on consecutive rows are joined when a pixel of one touches a pixel of
   the other (straight below for 4-connectivity; also diagonally for 8) and both carry the
   same value. Consecutive duplicate pairs along a row are dropped.
3. **Union-find by hooking and pointer jumping** (Shiloach-Vishkin style): every round, the
   root of the larger-numbered end of each unmerged edge is hooked onto the smaller root
   (a scatter-min), then all paths are compressed by ``parent = parent[parent]``. The roots
   are thus the smallest run of their component, i.e. its first run in raster order.
4. **Numbering.** Roots are numbered 1..n in run order, which is the raster order of each
   component's first pixel: the numbering of ``skimage.measure.label``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError

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


def _edges(rid: Tensor, x: Tensor, fg: Tensor, dx: tuple[slice, slice]) -> tuple[Tensor, Tensor]:
    """Run pairs joined by the pixel pairs ``(y, x)``, ``(y - 1, x + d)`` of one direction.

    ``rid``, ``x``, ``fg``: ``(B, H, W)`` run ids, values, foreground. ``dx`` slices the lower
    row and the upper row to align the neighbour pairs.
    """
    lo_x, up_x = dx
    a = rid[:, 1:, lo_x]  # (B, H - 1, W')  run of the lower pixel
    b = rid[:, :-1, up_x]  # run of the upper neighbour
    ok = fg[:, 1:, lo_x] & fg[:, :-1, up_x] & (x[:, 1:, lo_x] == x[:, :-1, up_x])
    # drop a pair equal to the pair just left of it on the same row (same two runs)
    same = torch.zeros_like(ok)
    same[..., 1:] = (a[..., 1:] == a[..., :-1]) & (b[..., 1:] == b[..., :-1]) & ok[..., :-1]
    keep = ok & ~same
    return a[keep], b[keep]


def _label(image: Tensor, connectivity: int, background: int) -> tuple[Tensor, Tensor]:
    """Label ``(B, H, W)``; return int64 labels and the component count per image ``(B,)``."""
    bsz, h, w = image.shape
    dev = image.device
    fg = image != background  # (B, H, W)
    # a run starts at a foreground pixel whose left neighbour is another value or background
    start = fg.clone()
    start[..., 1:] &= ~(fg[..., :-1] & (image[..., 1:] == image[..., :-1]))
    run_of = torch.cumsum(start.reshape(-1), 0).reshape(bsz, h, w) - 1  # (B, H, W) run id
    n_runs = int(start.sum())
    if n_runs == 0:
        zeros = torch.zeros((bsz,), dtype=torch.int64, device=dev)
        return torch.zeros(image.shape, dtype=torch.int64, device=dev), zeros
    pairs = [_edges(run_of, image, fg, (slice(None), slice(None)))]
    if connectivity == 2:
        pairs.append(_edges(run_of, image, fg, (slice(1, None), slice(None, -1))))
        pairs.append(_edges(run_of, image, fg, (slice(None, -1), slice(1, None))))
    u = torch.cat([p[0] for p in pairs])  # (E,)
    v = torch.cat([p[1] for p in pairs])
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
    # image index of each run, from the image index of its first pixel
    run_img = torch.arange(bsz, device=dev).repeat_interleave(h * w)[start.reshape(-1)]  # (R,)
    counts = torch.bincount(run_img[is_root], minlength=bsz)  # (B,) components per image
    offset = torch.cumsum(counts, 0) - counts  # (B,) labels used by earlier images
    number = torch.cumsum(is_root.long(), 0)  # (R,) 1-based global root rank
    run_label = number[parent] - offset[run_img]  # (R,) 1..n within each image
    out = torch.where(fg, run_label[run_of.clamp(min=0)], 0)  # (B, H, W)
    return out, counts


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
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
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
        labels, _ = _label(x.to(torch.uint8), connectivity, 0)
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
