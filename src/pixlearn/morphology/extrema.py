"""Regional extrema and their contrast-filtered versions (h-extrema), by reconstruction."""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive
from pixlearn._core.errors import ValueRangeError
from pixlearn.morphology.reconstruction import _reconstruct

__all__ = ["extended_maxima", "h_maxima", "h_minima", "regional_maxima", "regional_minima"]

_OFFSETS = {1: [0], 2: [-1, 0, 1]}


def _offsets(connectivity: int) -> list[int]:
    c = check_int(connectivity, "connectivity", min_value=1)
    if c not in _OFFSETS:
        raise ValueRangeError(f"connectivity must be 1 or 2, got {connectivity}")
    return _OFFSETS[c]


def _prepare(image: Tensor) -> Tensor:
    check_image(image, "image")
    return image.to(torch.uint8) if image.dtype == torch.bool else image


def _has_neighbour(x: Tensor, offsets: list[int], *, higher: bool) -> Tensor:
    """True where a neighbour (inside the image) is strictly higher (or lower) than the pixel."""
    H, W = x.shape[-2:]
    out = torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (
                (dy, dx) == (0, 0)
                or (dy != 0 and dx not in offsets)
                or (dy == 0 and 0 not in offsets)
            ):
                continue
            # the pixel at (y, x) against its neighbour at (y + dy, x + dx)
            ys, yn = slice(max(0, -dy), H - max(0, dy)), slice(max(0, dy), H - max(0, -dy))
            xs, xn = slice(max(0, -dx), W - max(0, dx)), slice(max(0, dx), W - max(0, -dx))
            centre, nb = x[..., ys, xs], x[..., yn, xn]
            out[..., ys, xs] |= nb > centre if higher else nb < centre
    return out


def _regional(image: Tensor, connectivity: int, *, maxima: bool) -> Tensor:
    x = _prepare(image)
    offsets = _offsets(connectivity)
    if x.numel() == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    H, W = x.shape[-2:]
    flat = x.reshape(-1, H, W)
    # seed: the pixels with a strictly better neighbour keep their value, all others get the
    # image's worst value (a plateau at the worst value with no better neighbour is the
    # whole image, which is not an extremum)
    worst = flat.amin(dim=(-2, -1), keepdim=True) if maxima else flat.amax((-2, -1), True)
    better = _has_neighbour(flat, offsets, higher=maxima)
    seed = torch.where(better, flat, worst)  # (B, H, W)
    rec = _reconstruct(seed, flat, offsets, offsets, dilate=maxima)
    # rec(p) == f(p) iff p's plateau reaches a strictly better pixel
    out = rec < flat if maxima else rec > flat
    return out.reshape(x.shape)


def regional_maxima(image: Tensor, *, connectivity: int = 2) -> Tensor:
    r"""The regional maxima: connected plateaus whose outer boundary is strictly lower.

    Args:
        image: shape ``(..., H, W)``, float or integer, finite.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        A bool tensor, True on the pixels of every regional maximum. Pixels outside the image
        do not count (a plateau on the border can be a maximum); a constant image has none.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: NaN/Inf, a bad ``connectivity``.
        ShapeError: an empty image.

    Notes:
        A plateau :math:`P` (connected, :math:`f \equiv t` on it) is a regional maximum iff
        :math:`f(q) < t` for every :math:`q \notin P` adjacent to :math:`P`. Exact for floats
        (no :math:`\varepsilon`): mark the pixels with a strictly higher neighbour,
        :math:`s = f` there and :math:`s = \min f` elsewhere; then
        :math:`R^\delta_f(s)(p) = f(p)` iff the plateau of :math:`p` touches a higher pixel,
        so :math:`\text{RMAX}(f) = \{p : R^\delta_f(s)(p) < f(p)\}`. Equals
        ``skimage.morphology.local_maxima(f, connectivity, allow_borders=True)``.

    Example:
        >>> f = torch.tensor([[0, 2, 2, 0, 1], [0, 2, 2, 0, 0]])
        >>> regional_maxima(f).int()
        tensor([[0, 1, 1, 0, 1],
                [0, 1, 1, 0, 0]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.2.
    """
    return _regional(image, connectivity, maxima=True)


def regional_minima(image: Tensor, *, connectivity: int = 2) -> Tensor:
    r"""The regional minima: connected plateaus whose outer boundary is strictly higher.

    The dual of :func:`regional_maxima` (same arguments, returns and errors).

    Notes:
        :math:`\text{RMIN}(f) = \{p : R^\varepsilon_f(s)(p) > f(p)\}` with :math:`s = f` where a
        neighbour is strictly lower and :math:`\max f` elsewhere. Equals
        ``skimage.morphology.local_minima(f, connectivity, allow_borders=True)``.

    Example:
        >>> f = torch.tensor([[3, 1, 3, 3], [3, 3, 3, 0]])
        >>> regional_minima(f).int()
        tensor([[0, 1, 0, 0],
                [0, 0, 0, 1]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.2.
    """
    return _regional(image, connectivity, maxima=False)


def _h_extrema(image: Tensor, h: float, connectivity: int, *, maxima: bool) -> Tensor:
    x = _prepare(image)
    offsets = _offsets(connectivity)
    hv = check_positive(h, "h")
    if x.numel() == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    H, W = x.shape[-2:]
    flat = x.reshape(-1, H, W)
    out = torch.zeros(flat.shape, dtype=torch.bool, device=x.device)
    for i, f in enumerate(flat):  # h is compared with each image's own range
        if hv > float(f.max()) - float(f.min()):
            continue
        if not f.is_floating_point() and hv != int(hv):
            f = f.double()  # a fractional h on integers: work in float64 (as scikit-image)
        sign = -1 if maxima else 1
        if f.is_floating_point():
            # f -+ h, moved a little further so rounding never leaves it closer than h to f
            resolution = 2 * torch.finfo(f.dtype).resolution * f.abs()
            shifted = f + sign * hv + sign * resolution
        else:
            # f -+ h in a wide type, clipped to the dtype's range
            info = torch.iinfo(f.dtype)
            shifted = (f.long() + sign * int(hv)).clamp(info.min, info.max).to(f.dtype)
        rec = _reconstruct(shifted, f, offsets, offsets, dilate=maxima)
        # the residue reaches h exactly on the tops (bottoms) of the domes (basins) of height h
        residue = f.double() - rec.double() if maxima else rec.double() - f.double()
        out[i] = residue >= hv
    return out.reshape(x.shape)


def h_maxima(image: Tensor, h: float, *, connectivity: int = 2) -> Tensor:
    r"""The maxima of dynamic at least ``h``: peaks that rise ``h`` or more above any path
    to a higher peak.

    Args:
        image: shape ``(..., H, W)``, float or integer, finite.
        h: the least height, ``> 0`` (an integer image with a fractional ``h`` is processed
            in float64).
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        A bool tensor, True on the top plateau of every maximum of height ``>= h``; all False
        when ``h`` exceeds the image's range.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: ``h <= 0``, NaN/Inf, a bad ``connectivity``.

    Notes:
        The h-maxima transform :math:`\text{HMAX}_h(f) = R^\delta_f(f - h)` removes every dome
        lower than :math:`h`; the result is :math:`\{p : f(p) - \text{HMAX}_h(f)(p) \ge h\}`
        (for floats the seed is lowered by a further :math:`2\,\text{res}\,|f|` against
        rounding, as scikit-image does). Equals ``skimage.morphology.h_maxima``.

    Example:
        >>> f = torch.tensor([[0, 5, 0, 2, 0]])
        >>> h_maxima(f, 3).int()
        tensor([[0, 1, 0, 0, 0]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.4.
    """
    return _h_extrema(image, h, connectivity, maxima=True)


def h_minima(image: Tensor, h: float, *, connectivity: int = 2) -> Tensor:
    r"""The minima of depth at least ``h``; the dual of :func:`h_maxima` (same arguments).

    Notes:
        :math:`\text{HMIN}_h(f) = R^\varepsilon_f(f + h)`; the result is
        :math:`\{p : \text{HMIN}_h(f)(p) - f(p) \ge h\}`. Equals
        ``skimage.morphology.h_minima``.

    Example:
        >>> f = torch.tensor([[5, 0, 5, 3, 5]])
        >>> h_minima(f, 3).int()
        tensor([[0, 1, 0, 0, 0]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.4.
    """
    return _h_extrema(image, h, connectivity, maxima=False)


def extended_maxima(image: Tensor, h: float, *, connectivity: int = 2) -> Tensor:
    r"""The extended maxima: the regional maxima of the h-maxima transform.

    Args:
        image: shape ``(..., H, W)``, float or integer, finite.
        h: the contrast, ``> 0``.
        connectivity: 1 (4-neighbours) or 2 (8-neighbours).

    Returns:
        A bool tensor, True on the regional maxima of :math:`\text{HMAX}_h(f)`.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: ``h <= 0``, NaN/Inf, a bad ``connectivity``.

    Notes:
        :math:`\text{EMAX}_h(f) = \text{RMAX}\left(R^\delta_f(f - h)\right)` (MATLAB's
        ``imextendedmax``): each dome of height ``>= h`` gives the whole plateau left after
        lowering it by ``h``, where :func:`h_maxima` (scikit-image's definition) marks only the
        pixels whose residue :math:`f - \text{HMAX}_h(f)` reaches ``h``.
        Computed in int64 for integer images (no clipping).

    Example:
        >>> f = torch.tensor([[0, 5, 0, 2, 0]])
        >>> extended_maxima(f, 3).int()
        tensor([[0, 1, 0, 0, 0]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, section 6.3.5.
    """
    x = _prepare(image)
    offsets = _offsets(connectivity)
    hv = check_positive(h, "h")
    if x.numel() == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    f = x if x.is_floating_point() else x.long()
    shifted = f - (hv if f.is_floating_point() or hv != int(hv) else int(hv))
    if shifted.dtype != f.dtype:
        f = f.to(shifted.dtype)
    hmax = _reconstruct(shifted, f, offsets, offsets, dilate=True)  # HMAX_h(f)
    return regional_maxima(hmax, connectivity=connectivity)
