"""Morphological reconstruction and the two binary tools built on it: hole filling and
border clearing."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["clear_border", "fill_holes", "reconstruction"]

_Op = Callable[..., Tensor]


def reconstruction(
    seed: Tensor, mask: Tensor, method: str = "dilation", *, footprint: Tensor | None = None
) -> Tensor:
    r"""Geodesic reconstruction of ``seed`` under (dilation) or over (erosion) ``mask``.

    Args:
        seed: the marker image, shape ``(..., H, W)``, float or integer, finite. For
            ``"dilation"`` every value must be ``<= mask``; for ``"erosion"`` ``>= mask``.
        mask: the image that limits the growth, same shape as ``seed``.
        method: ``"dilation"`` (reconstruction by dilation) or ``"erosion"``.
        footprint: the neighbourhood, a symmetric ``3x3`` bool tensor; ``None`` is the
            3x3 square (8-connectivity), ``pixlearn``'s cross (``[[0,1,0],[1,1,1],[0,1,0]]``)
            gives 4-connectivity.

    Returns:
        The reconstruction, same shape as the inputs, in their promoted dtype (scikit-image
        always returns float64; here integer stays integer, so results are exact).

    Shape:
        ``(..., H, W), (..., H, W) -> (..., H, W)``; leading dimensions are independent images.

    Raises:
        ValueRangeError: ``seed`` above ``mask`` (dilation) or below it (erosion), NaN/Inf, an
            unknown ``method``.
        ShapeError: shapes differ, an empty image, a footprint that is not 3x3 and symmetric.

    Notes:
        Reconstruction by dilation is the limit of geodesic dilations
        :math:`\delta^{(1)}_g(f) = (f \oplus B) \wedge g`, iterated until stable:
        :math:`R^\delta_g(f) = \delta^{(\infty)}_g(f)`. Equivalently, :math:`R^\delta_g(f)(p)` is
        the largest value :math:`\min(f(q), \min_{\text{path } q \to p} g)` over all pixels
        :math:`q` and paths joining them. Reconstruction by erosion is the dual (swap
        :math:`\min`/:math:`\max`). Instead of one global step per iteration, each pass sweeps
        the image row by row (down, up) and column by column (right, left), so a value runs
        along the sweep direction in one pass (Vincent's sequential scheme, vectorised along
        each row); passes repeat until nothing changes. Equals
        ``skimage.morphology.reconstruction``.

    Example:
        >>> mask = torch.tensor([[0, 3, 3, 0, 5, 5, 0]]).float()
        >>> seed = torch.tensor([[0, 1, 0, 0, 0, 2, 0]]).float()
        >>> reconstruction(seed, mask)
        tensor([[0., 1., 1., 0., 2., 2., 0.]])

    References:
        Vincent, L. "Morphological grayscale reconstruction in image analysis: applications
        and efficient algorithms." IEEE Trans. Image Processing 2(2), 1993.
    """
    check_image(seed, "seed")
    check_image(mask, "mask")
    check_choice(method, "method", ("dilation", "erosion"))
    if seed.shape != mask.shape:
        raise ShapeError(
            f"seed and mask must have the same shape, got {tuple(seed.shape)} for seed "
            f"and {tuple(mask.shape)} for mask"
        )
    dtype = torch.promote_types(seed.dtype, mask.dtype)
    if dtype == torch.bool:
        dtype = torch.uint8
    rows, cols = _footprint_offsets(footprint)
    s, m = seed.to(dtype), mask.to(dtype)
    dilate = method == "dilation"
    bad = s > m if dilate else s < m
    if bool(bad.any()):
        where = "above" if dilate else "below"
        raise ValueRangeError(
            f"seed must be {'<=' if dilate else '>='} mask for reconstruction by {method}, "
            f"got {int(bad.sum())} pixels of seed {where} the mask"
        )
    return _reconstruct(s, m, rows, cols, dilate=dilate).to(dtype)


def _footprint_offsets(footprint: Tensor | None) -> tuple[list[int], list[int]]:
    """Column offsets seen from the row above, and row offsets seen from the column before."""
    if footprint is None:
        return [-1, 0, 1], [-1, 0, 1]
    check_tensor(footprint, "footprint")
    fp = footprint.bool()
    if fp.shape != (3, 3) or not torch.equal(fp, fp.flip(0, 1)):
        raise ShapeError(f"footprint must be a symmetric 3x3 tensor, got {describe(footprint)}")
    rows = [d for d in (-1, 0, 1) if bool(fp[0, d + 1])]
    cols = [d for d in (-1, 0, 1) if bool(fp[d + 1, 0])]
    return rows, cols


def _reconstruct(
    seed: Tensor, mask: Tensor, rows: list[int], cols: list[int], *, dilate: bool
) -> Tensor:
    """Sweep ``seed`` under ``mask`` (both ``(..., H, W)``, same dtype) until it is stable."""
    shape = seed.shape
    H, W = shape[-2:]
    grow, limit = (torch.maximum, torch.minimum) if dilate else (torch.minimum, torch.maximum)
    info = torch.finfo(seed.dtype) if seed.dtype.is_floating_point else torch.iinfo(seed.dtype)
    # the value outside the image never wins: -inf for a dilation, +inf for an erosion
    outside = float("-inf" if dilate else "inf") if seed.is_floating_point() else None
    if outside is None:
        outside = info.min if dilate else info.max
    # (B, H, W + 2), one padding column each side so shifted rows need no bounds checks
    x = torch.full((*shape[:-2], H, W + 2), outside, dtype=seed.dtype, device=seed.device)
    x = x.reshape(-1, H, W + 2)
    x[..., 1:-1] = seed.reshape(-1, H, W)
    m = mask.reshape(-1, H, W)
    # the same image transposed, (B, W, H + 2), for the column sweeps
    xt = torch.full((x.shape[0], W, H + 2), outside, dtype=seed.dtype, device=seed.device)
    mt = m.transpose(1, 2).contiguous()
    while True:
        before = x[..., 1:-1].clone()
        if rows:
            _sweep(x, m, rows, grow, limit, reverse=False)
            _sweep(x, m, rows, grow, limit, reverse=True)
        xt[..., 1:-1] = x[..., 1:-1].transpose(1, 2)
        if cols:
            _sweep(xt, mt, cols, grow, limit, reverse=False)
            _sweep(xt, mt, cols, grow, limit, reverse=True)
        x[..., 1:-1] = xt[..., 1:-1].transpose(1, 2)
        if torch.equal(before, x[..., 1:-1]):
            return x[..., 1:-1].reshape(shape).clone()


def _sweep(x: Tensor, m: Tensor, offsets: list[int], grow: _Op, limit: _Op, *, reverse: bool):
    """One pass over the rows of ``x (B, n, w + 2)`` (padded) limited by ``m (B, n, w)``.

    Row ``r`` takes, from the already updated row before it, ``grow`` over ``offsets`` of the
    neighbours, clipped by the mask: ``x[r] = grow(x[r], limit(grow_k x[r-1, j+k], m[r]))``.
    """
    n, w = m.shape[1], m.shape[2]
    tmp = torch.empty_like(m[:, 0])  # (B, w)
    order = range(n - 2, -1, -1) if reverse else range(1, n)
    step = 1 if reverse else -1
    for r in order:
        prev = x[:, r + step]  # (B, w + 2), the row processed just before
        shifted = [prev[:, 1 + k : 1 + k + w] for k in offsets]
        if len(shifted) == 1:
            limit(shifted[0], m[:, r], out=tmp)
        else:
            grow(shifted[0], shifted[1], out=tmp)
            for s in shifted[2:]:
                grow(tmp, s, out=tmp)
            limit(tmp, m[:, r], out=tmp)
        row = x[:, r, 1:-1]
        grow(row, tmp, out=row)


def fill_holes(binary: Tensor, *, connectivity: int = 1) -> Tensor:
    r"""Fill the holes of a binary image: background regions that do not reach the border.

    Args:
        binary: shape ``(..., H, W)``, bool (or 0/1 integers).
        connectivity: of the background: 1 (4-neighbours, as SciPy's default) or 2 (8).

    Returns:
        A bool tensor, ``binary`` with its holes set.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: values other than 0/1, a bad ``connectivity``.

    Notes:
        With :math:`X^c` the background and :math:`M` the background pixels on the image
        border, the background reachable from the border is :math:`R^\delta_{X^c}(M)`, and
        :math:`\text{fill}(X) = \left(R^\delta_{X^c}(M)\right)^c`. Equals
        ``scipy.ndimage.binary_fill_holes``.

    Example:
        >>> ring = torch.ones(5, 5, dtype=torch.bool)
        >>> ring[2, 2] = False
        >>> bool(fill_holes(ring).all())
        True

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.7.
    """
    b = _binary(binary, "binary")
    c = check_int(connectivity, "connectivity", min_value=1)
    if c > 2:
        raise ValueRangeError(f"connectivity must be 1 or 2, got {connectivity}")
    background = (~b).to(torch.uint8)  # (..., H, W), 1 on the background
    border = torch.zeros_like(background)
    border[..., [0, -1], :] = 1
    border[..., :, [0, -1]] = 1
    seed = background * border  # background pixels on the border
    rows = [-1, 0, 1] if c == 2 else [0]
    reached = _reconstruct(seed, background, rows, rows, dilate=True)
    return reached == 0


def clear_border(labels: Tensor, *, buffer_size: int = 0, bgval: int = 0) -> Tensor:
    r"""Remove the objects that touch the image border (or a band of ``buffer_size`` pixels).

    Args:
        labels: a label image ``(..., H, W)`` of non-negative integers (0 is background),
            or a bool mask. An object is an 8-connected set of pixels with the same label.
        buffer_size: objects within this many pixels of the border are removed too.
        bgval: the value the removed objects get.

    Returns:
        A copy of ``labels`` (same dtype) with the border objects set to ``bgval``.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: a floating ``labels``.
        ValueRangeError: negative labels, a negative ``buffer_size``.

    Notes:
        With :math:`B` the border band, an object :math:`O` is removed iff
        :math:`O \cap B \neq \emptyset`: the pixels reached from :math:`B` by a path of
        8-neighbours that share one label (a binary reconstruction whose steps are allowed
        only between equal labels). Equals ``skimage.segmentation.clear_border``.

    Example:
        >>> lab = torch.tensor([[1, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]])
        >>> clear_border(lab)
        tensor([[0, 0, 0, 0],
                [0, 0, 2, 0],
                [0, 0, 0, 0]])

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.8.
    """
    check_image(labels, "labels")
    if labels.is_floating_point() or labels.is_complex():
        raise WrongTypeError(f"labels must be integer or bool, got {labels.dtype}")
    if labels.dtype != torch.bool and bool((labels < 0).any()):
        raise ValueRangeError(f"labels must be >= 0, got a minimum of {int(labels.min())}")
    buf = check_int(buffer_size, "buffer_size", min_value=0)
    H, W = labels.shape[-2:]
    lab = labels.reshape(-1, H, W)
    band = torch.zeros(H, W, dtype=torch.bool, device=labels.device)
    band[: buf + 1], band[-(buf + 1) :] = True, True
    band[:, : buf + 1], band[:, -(buf + 1) :] = True, True
    touched = (lab != 0) & band  # (B, H, W), objects seen in the band
    touched = _spread_within_labels(touched, lab)
    out = labels.clone(memory_format=torch.contiguous_format)
    out.view(-1, H, W)[touched] = bgval
    return out


def _spread_within_labels(flag: Tensor, lab: Tensor) -> Tensor:
    """Grow ``flag (B, H, W)`` to the whole 8-connected same-label component of each pixel."""
    # pad with -1 (no pixel has it) so a step out of the image is never between equal labels
    pad = torch.nn.functional.pad(lab.to(torch.int64), (1, 1, 1, 1), value=-1)  # (B, H+2, W+2)
    f = torch.nn.functional.pad(flag, (1, 1, 1, 1))
    H, W = lab.shape[1:]
    while True:
        before = f.clone()
        for dy, dx in ((1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1)):
            # repeated jumps by one offset, each allowed only onto an equal label
            while True:
                src = f[:, 1 - dy : 1 - dy + H, 1 - dx : 1 - dx + W]  # neighbour at -offset
                same = pad[:, 1 - dy : 1 - dy + H, 1 - dx : 1 - dx + W] == pad[:, 1:-1, 1:-1]
                new = src & same & ~f[:, 1:-1, 1:-1]
                if not bool(new.any()):
                    break
                f[:, 1:-1, 1:-1] |= new
        if torch.equal(before, f):
            return f[:, 1:-1, 1:-1]


def _binary(x: Tensor, name: str) -> Tensor:
    """Check a binary image and return it as bool."""
    check_image(x, name)
    if x.dtype == torch.bool:
        return x
    if bool(((x != 0) & (x != 1)).any()):
        raise ValueRangeError(f"{name} must be binary (bool or 0/1), got {describe(x)}")
    return x != 0
