r"""Attribute filters on the max-tree: area, bounding-box, diameter and height openings/closings.

A connected operator never moves a contour: it only removes whole connected components of the
level sets. Measure an attribute on every node of the max-tree (its area, the extent of its
bounding box, its height above the level where it merges), delete the nodes whose attribute
is below a threshold, and read the image back: each removed node takes the level of its
nearest kept ancestor (the *direct* rule). For an increasing attribute (a component never
measures more than one that contains it) this is the attribute opening, the supremum of the
binary attribute openings of all level sets; applied to the inverted image it gives the
attribute closing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_positive
from pixlearn.morphology.max_tree import _build, _connectivity, _to_numpy

__all__ = [
    "ATTRIBUTES",
    "area_closing",
    "area_opening",
    "attribute_filter",
    "diameter_closing",
    "diameter_opening",
]

#: The attributes :func:`attribute_filter` measures (all increasing).
ATTRIBUTES = ("area", "bbox", "diameter", "height")


def attribute_filter(
    image: Tensor,
    attribute: str,
    threshold: float,
    *,
    connectivity: int = 1,
    mode: str = "opening",
) -> Tensor:
    r"""Remove the components of the level sets whose attribute is below ``threshold``.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty; leading
            dimensions are independent images (one tree each).
        attribute: what is measured on each component :math:`C` of a level set
            (a max-tree node):

            * ``"area"``: the number of pixels :math:`|C|`;
            * ``"bbox"``: the area of its bounding box, :math:`h_C \, w_C` (rows and columns
              spanned);
            * ``"diameter"``: the longer side of the bounding box, :math:`\max(h_C, w_C)`
              (scikit-image's "maximal extension");
            * ``"height"``: how far it rises above where it merges,
              :math:`\max_C f - \text{level}(\text{parent}(C))` (the dynamic of its peak).
        threshold: nodes with ``attribute < threshold`` are removed; > 0.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).
        mode: ``"opening"`` (filters bright components, max-tree) or ``"closing"`` (dark
            components: the opening of the inverted image, inverted back).

    Returns:
        The filtered image, same shape, dtype and device.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ShapeError: fewer than 2 dimensions, an empty image.
        ValueRangeError: NaN/Inf, ``threshold <= 0``, an unknown ``attribute`` or ``mode``, a
            ``connectivity`` other than 1 or 2.

    Notes:
        With :math:`X_t(f) = \{f \ge t\}` and :math:`\Gamma_\lambda(X)` the union of the
        connected components of :math:`X` whose attribute is :math:`\ge \lambda`, the opening is
        :math:`\gamma_\lambda(f)(p) = \max\{t : p \in \Gamma_\lambda(X_t(f))\}`. On the tree,
        node :math:`n` is kept iff :math:`A(n) \ge \lambda`, and
        :math:`\gamma_\lambda(f)(p) = \text{level}(\text{nearest kept ancestor of } p)`; here
        the nearest kept ancestor is found for all nodes at once by pointer jumping. The root
        (the whole image) is always kept, so a threshold larger than the image flattens it to
        its minimum (scikit-image writes 0 there instead).

    Example:
        >>> img = torch.tensor([[0, 5, 0, 3, 3, 3]], dtype=torch.uint8)
        >>> attribute_filter(img, "area", 2)
        tensor([[0, 0, 0, 3, 3, 3]], dtype=torch.uint8)

    References:
        Breen, E. J., Jones, R. "Attribute openings, thinnings, and granulometries." Computer
        Vision and Image Understanding 64(3), 1996. Salembier, P., Oliveras, A., Garrido, L.
        "Antiextensive connected operators for image and sequence processing." IEEE Trans.
        Image Processing 7(4), 1998.
    """
    return _attribute_filter(image, attribute, threshold, "threshold", connectivity, mode)


def _attribute_filter(
    image: Tensor, attribute: str, threshold: float, name: str, connectivity: int, mode: str
) -> Tensor:
    """:func:`attribute_filter`, with the threshold's name for the error message."""
    check_image(image, "image")
    check_choice(attribute, "attribute", ATTRIBUTES)
    lam = check_positive(threshold, name)
    conn = _connectivity(connectivity)
    check_choice(mode, "mode", ("opening", "closing"))
    H, W = image.shape[-2:]
    out = image.detach().clone(memory_format=torch.contiguous_format)
    values = _to_numpy(image.reshape(-1, H, W))  # (B, H, W)
    flat_out = out.view(-1, H, W)
    for b in range(values.shape[0]):
        v = values[b]
        if mode == "closing":
            v = _invert(v)
        res = _filter(v, attribute, lam, conn)
        if mode == "closing":
            res = _invert(res)
        flat_out[b] = torch.from_numpy(res).to(device=image.device, dtype=image.dtype)
    return out


def area_opening(image: Tensor, area_threshold: int = 64, *, connectivity: int = 1) -> Tensor:
    r"""Remove the bright components of the level sets smaller than ``area_threshold`` pixels.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty.
        area_threshold: the smallest area kept, > 0; 1 is the identity.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        The opened image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`attribute_filter`; ``area_threshold <= 0`` is a ValueRangeError.

    Notes:
        :math:`\gamma^a_\lambda(f)(p) = \max\{t : |C_t(p)| \ge \lambda\}` where
        :math:`C_t(p)` is the component of :math:`\{f \ge t\}` holding :math:`p`.
        Anti-extensive, increasing, idempotent, and :math:`\ge` the opening by any connected
        footprint of at least :math:`\lambda` pixels. Equals
        ``skimage.morphology.area_opening``.

    Example:
        >>> img = torch.zeros(5, 5)
        >>> img[1, 1] = 1.0  # a one-pixel peak goes ...
        >>> img[2:4, 2:4] = 0.5  # ... a 2x2 plateau stays
        >>> area_opening(img, 4).sum().item()
        2.0

    References:
        Vincent, L. "Morphological area openings and closings for grey-scale images." Shape in
        Picture, NATO ASI Series F 126, Springer 1994.
    """
    return _attribute_filter(
        image, "area", area_threshold, "area_threshold", connectivity, "opening"
    )


def area_closing(image: Tensor, area_threshold: int = 64, *, connectivity: int = 1) -> Tensor:
    r"""Fill the dark components of the level sets smaller than ``area_threshold`` pixels.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty.
        area_threshold: the smallest dark area kept, > 0.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        The closed image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        The dual of :func:`area_opening`: :math:`\varphi^a_\lambda(f) =
        -\gamma^a_\lambda(-f)` (for unsigned integers the inversion is
        :math:`\max - f`). Extensive, increasing, idempotent. Equals
        ``skimage.morphology.area_closing``.

    Example:
        >>> img = torch.ones(4, 4, dtype=torch.uint8)
        >>> img[1, 1] = 0  # a one-pixel hole
        >>> int(area_closing(img, 2).min())
        1

    References:
        Vincent, L. "Morphological area openings and closings for grey-scale images." Shape in
        Picture, NATO ASI Series F 126, Springer 1994.
    """
    return _attribute_filter(
        image, "area", area_threshold, "area_threshold", connectivity, "closing"
    )


def diameter_opening(
    image: Tensor, diameter_threshold: int = 8, *, connectivity: int = 1
) -> Tensor:
    r"""Remove the bright components whose bounding box is shorter than ``diameter_threshold``
    on both sides.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty.
        diameter_threshold: the smallest kept longer side of the bounding box, > 0.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        The opened image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        :func:`attribute_filter` with ``attribute="diameter"``,
        :math:`D(C) = \max(h_C, w_C)`. Thin long structures survive (unlike the area
        opening, which removes them when they are small in area). Equals
        ``skimage.morphology.diameter_opening``.

    Example:
        >>> img = torch.zeros(3, 7)
        >>> img[1, 1:6] = 1.0  # a 1x5 line: diameter 5
        >>> bool(diameter_opening(img, 5).equal(img)), diameter_opening(img, 6).sum().item()
        (True, 0.0)

    References:
        Walter, T., Klein, J.-C. "Automatic detection of microaneurysms in color fundus
        images of the human eye." Medical Image Analysis 11(6), 2007.
    """
    return _attribute_filter(
        image, "diameter", diameter_threshold, "diameter_threshold", connectivity, "opening"
    )


def diameter_closing(
    image: Tensor, diameter_threshold: int = 8, *, connectivity: int = 1
) -> Tensor:
    r"""Fill the dark components whose bounding box is shorter than ``diameter_threshold``.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty.
        diameter_threshold: the smallest kept longer side of a dark component, > 0.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        The closed image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        The dual of :func:`diameter_opening`. Equals ``skimage.morphology.diameter_closing``.

    Example:
        >>> img = torch.ones(5, 5)
        >>> img[2, 1:3] = 0.0  # a 1x2 dark line
        >>> diameter_closing(img, 3).min().item()
        1.0

    References:
        Walter, T., Klein, J.-C. "Automatic detection of microaneurysms in color fundus
        images of the human eye." Medical Image Analysis 11(6), 2007.
    """
    return _attribute_filter(
        image, "diameter", diameter_threshold, "diameter_threshold", connectivity, "closing"
    )


def _invert(v: np.ndarray) -> np.ndarray:
    """An exact order-reversing bijection of the dtype (as ``skimage.util.invert``)."""
    if v.dtype.kind == "u":
        return np.iinfo(v.dtype).max - v
    if v.dtype.kind == "i":
        return ~v  # -1 - v, no overflow at the minimum
    return -v


def _filter(v: np.ndarray, attribute: str, lam: float, conn: int) -> np.ndarray:
    """The direct-rule attribute opening of one ``(H, W)`` array."""
    flat = v.reshape(-1)
    parent, _ = _build(v, conn)
    attr = _measure(flat, parent, v.shape, attribute)
    n = flat.size
    idx = np.arange(n)
    # a canonical pixel names its node; every other pixel belongs to its parent's node
    canonical = (flat[parent] != flat) | (parent == idx)
    node = np.where(canonical, idx, parent)
    # removed nodes step to their parent node; kept nodes (and the root) stay
    keep = canonical & ((attr >= lam) | (parent == idx))
    target = np.where(keep, idx, parent)
    while True:  # pointer jumping: O(log depth) rounds to the nearest kept ancestor
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    return flat[target[node]].reshape(v.shape)


def _measure(flat: np.ndarray, parent: np.ndarray, shape: tuple[int, ...], attribute: str):
    """The attribute of every node, stored at its canonical pixel (other entries unused)."""
    if attribute == "area":
        (area,) = _accumulate(parent, [np.ones(flat.size, np.int64)], [np.add])
        return area
    if attribute == "height":
        (peak,) = _accumulate(parent, [flat.astype(np.float64)], [np.maximum])
        # how far the node's highest pixel rises above its parent's level (root: max - min)
        return peak - flat[parent].astype(np.float64)
    rows, cols = np.divmod(np.arange(flat.size), shape[1])
    r0, r1, c0, c1 = _accumulate(
        parent, [rows, rows, cols, cols], [np.minimum, np.maximum, np.minimum, np.maximum]
    )
    h, w = r1 - r0 + 1, c1 - c0 + 1
    return h * w if attribute == "bbox" else np.maximum(h, w)


def _accumulate(parent: np.ndarray, fields: list[np.ndarray], ops: list[np.ufunc]):
    """Fold each field up the pixel tree (children into parents) with its ufunc.

    Pixels are grouped by depth (found by pointer jumping); the deepest group is folded into
    its parents first, so a node has all its descendants when its own group is folded. A tree
    with very many levels (noise: about one level per few pixels) is folded instead by one
    sequential pass over the pixels from the deepest to the root.
    """
    n = parent.size
    idx = np.arange(n)
    # list ranking: dist[p] = number of steps from p to jump[p]; doubling until jump is root
    dist = (parent != idx).astype(np.int64)
    jump = parent.copy()
    while True:
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        dist += dist[jump]
        jump = nxt
    by_depth = np.argsort(dist, kind="stable")
    ends = np.cumsum(np.bincount(dist))  # by_depth[ends[d-1]:ends[d]] has depth d
    out = [f.copy() for f in fields]
    if 64 * len(ends) > n:  # a vectorised step per level would cost more than a loop
        return [_fold_sequential(parent, by_depth, f, op) for f, op in zip(out, ops, strict=True)]
    for d in range(len(ends) - 1, 0, -1):
        group = by_depth[ends[d - 1] : ends[d]]
        up = parent[group]
        for f, op in zip(out, ops, strict=True):
            op.at(f, up, f[group])
    return out


def _fold_sequential(
    parent: np.ndarray, by_depth: np.ndarray, field: np.ndarray, op: np.ufunc
) -> np.ndarray:
    """``field[parent[p]] = op(field[parent[p]], field[p])`` for the pixels, deepest first."""
    par = parent.tolist()
    f = field.tolist()
    seq = by_depth[::-1].tolist()
    # one loop per operation, written out: a function call per pixel would double the cost
    if op is np.add:
        for p in seq:
            q = par[p]
            if q != p:
                f[q] += f[p]
    elif op is np.minimum:
        for p in seq:
            if f[p] < f[par[p]]:
                f[par[p]] = f[p]
    else:
        for p in seq:
            if f[p] > f[par[p]]:
                f[par[p]] = f[p]
    return np.asarray(f, dtype=field.dtype)
