"""Morphological reconstruction and the two binary tools built on it: hole filling and
border clearing."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["clear_border", "fill_holes", "reconstruction"]


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
        the image row by row (down, up) and column by column (right, left, on the transposed
        image), so a value runs along the sweep direction in one pass (Vincent's sequential
        scheme, vectorised along each row); passes repeat until nothing changes. A row is
        recomputed only when the row before it changed since it last looked (values only
        grow), so later passes cost only the region still changing. Equals
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
    """Sweep ``seed`` under ``mask`` (both ``(..., H, W)``, same dtype) until it is stable.

    CPU tensors are swept as NumPy arrays (a row operation costs about 1 us there, several
    in torch); other devices run the same code on tensors.
    """
    shape = seed.shape
    H, W = shape[-2:]
    on_cpu = seed.device.type == "cpu" and seed.dtype != torch.bfloat16
    lib = np if on_cpu else torch
    s = seed.reshape(-1, H, W)
    m = mask.reshape(-1, H, W)
    if on_cpu:
        s, m = s.contiguous().numpy(), m.contiguous().numpy()  # read only
    # the value outside the image never wins: -inf for a dilation, +inf for an erosion
    if seed.is_floating_point():
        outside: float | int = float("-inf" if dilate else "inf")
    else:
        info = torch.iinfo(seed.dtype)
        outside = info.min if dilate else info.max
    B = s.shape[0]
    # (B, H, W + 2), one padding column each side so shifted rows need no bounds checks
    x = _full(lib, (B, H, W + 2), outside, s)
    x[:, :, 1:-1] = s
    # the same image transposed, (B, W, H + 2), for the column sweeps
    xt = _full(lib, (B, W, H + 2), outside, s)
    mt = m.swapaxes(1, 2).copy() if on_cpu else m.transpose(1, 2).contiguous()
    sweeper = _Sweeper(lib, dilate)
    # which rows (columns) changed since their neighbours last looked at them: all at first
    dirty, dirty_t = [True] * H, [True] * W
    first = True
    while True:
        # down and up along the columns: vertical (and diagonal) steps
        changed = sweeper.sweep(x, m, rows, dirty) if rows else None  # (B, W) or None
        if first:
            xt[:, :, 1:-1] = x[:, :, 1:-1].swapaxes(1, 2)
        elif changed is not None:
            _copy_lines(lib, xt, x, changed, dirty_t)
        # right and left along the rows, on the transposed image
        changed_t = sweeper.sweep(xt, mt, cols, dirty_t) if cols else None  # (B, H) or None
        if changed_t is not None:
            _copy_lines(lib, x, xt, changed_t, dirty)
        elif changed is None:
            break  # a whole pass without a change: stable
        first = False
    out = x[:, :, 1:-1].reshape(shape)
    return torch.from_numpy(out.copy()) if on_cpu else out.clone()


def _full(lib: Any, shape: tuple[int, ...], value: float | int, like: Any) -> Any:
    """A new array of ``shape`` filled with ``value``, of the dtype (and device) of ``like``."""
    if lib is np:
        return np.full(shape, value, dtype=like.dtype)
    return torch.full(shape, value, dtype=like.dtype, device=like.device)


def _copy_lines(lib: Any, dst: Any, src: Any, changed: Any, dirty: list[bool]) -> None:
    """Copy the lines ``changed (B, n)`` of ``src (B, m, n + 2)`` into ``dst (B, n, m + 2)``
    (its transpose) and mark them dirty there."""
    idx = lib.nonzero(changed.any(0))[0] if lib is np else torch.nonzero(changed.any(0))[:, 0]
    for k in idx.tolist():
        dirty[k] = True
    if 2 * len(idx) > dst.shape[1]:
        dst[:, :, 1:-1] = src[:, :, 1:-1].swapaxes(1, 2)  # most lines: one whole transpose
    else:
        dst[:, idx, 1:-1] = src[:, :, 1 + idx].swapaxes(1, 2)  # dst[:, k] = src[:, :, 1 + k]


class _Sweeper:
    """Down and up sweeps over the rows of a padded image, skipping clean rows."""

    def __init__(self, lib: Any, dilate: bool) -> None:
        self.lib = lib
        if lib is np:
            self.grow, self.limit = (np.maximum, np.minimum) if dilate else (np.minimum, np.maximum)
            self.better = np.greater if dilate else np.less
        else:
            self.grow, self.limit = (
                (torch.maximum, torch.minimum) if dilate else (torch.minimum, torch.maximum)
            )
            self.better = torch.gt if dilate else torch.lt

    def sweep(self, x: Any, m: Any, offsets: list[int], dirty: list[bool]) -> Any:
        """Down then up over the rows of ``x (B, n, w + 2)`` limited by ``m (B, n, w)``.

        Row ``r`` takes, from the row processed just before it, ``grow`` over ``offsets`` of
        the neighbours, clipped by the mask: ``x[r] = grow(x[r], limit(grow_k x[r-1, j+k],
        m[r]))``. A row is recomputed only when the row before it changed since (``dirty``,
        one flag per direction: the values only grow, so an unchanged neighbour gives
        nothing new); on return ``dirty`` holds the rows whose last change the row below
        has not seen. Returns the columns that changed ``(B, w)``, or None.
        """
        B, n, w = m.shape
        lib = self.lib
        tmp = lib.empty((B, w), dtype=m.dtype) if lib is np else torch.empty_like(m[:, 0])
        gain = lib.empty((B, w), dtype=bool) if lib is np else torch.empty_like(tmp).bool()
        changed = None
        down = list(dirty)  # the rows whose change the sweep down still has to pass on
        up = list(dirty)
        dirty[:] = [False] * n
        for order, step, todo in (
            (range(1, n), -1, down),
            (range(n - 2, -1, -1), 1, up),
        ):
            for r in order:
                if not todo[r + step]:
                    continue
                todo[r + step] = False
                prev = x[:, r + step]  # (B, w + 2), the row processed just before
                if len(offsets) == 1:
                    self.limit(prev[:, 1 : 1 + w], m[:, r], out=tmp)
                else:
                    a, b = offsets[0], offsets[1]
                    self.grow(prev[:, 1 + a : 1 + a + w], prev[:, 1 + b : 1 + b + w], out=tmp)
                    for k in offsets[2:]:
                        self.grow(tmp, prev[:, 1 + k : 1 + k + w], out=tmp)
                    self.limit(tmp, m[:, r], out=tmp)
                row = x[:, r, 1:-1]
                self.better(tmp, row, out=gain)
                if not gain.any():
                    continue
                self.grow(row, tmp, out=row)
                down[r] = up[r] = True
                # a change on the way up is seen by the row above, not yet by the one below
                dirty[r] = todo is up
                if changed is None:
                    changed = gain.copy() if lib is np else gain.clone()
                else:
                    changed |= gain
        return changed


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
