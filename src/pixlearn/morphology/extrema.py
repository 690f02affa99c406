"""Regional extrema (by candidate plateaus and run labelling) and their contrast-filtered
versions (h-extrema, by reconstruction)."""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive
from pixlearn._core.errors import ValueRangeError
from pixlearn.morphology._candidates import _candidates_numpy
from pixlearn.morphology._plateaus import _unflagged_numpy, _unflagged_torch
from pixlearn.morphology.reconstruction import _reconstruct

__all__ = ["extended_maxima", "h_maxima", "h_minima", "regional_maxima", "regional_minima"]

_OFFSETS = {1: [0], 2: [-1, 0, 1]}


def _connectivity(connectivity: int) -> int:
    c = check_int(connectivity, "connectivity", min_value=1)
    if c not in _OFFSETS:
        raise ValueRangeError(f"connectivity must be 1 or 2, got {connectivity}")
    return c


def _offsets(connectivity: int) -> list[int]:
    return _OFFSETS[_connectivity(connectivity)]


def _prepare(image: Tensor) -> Tensor:
    check_image(image, "image")
    return image.to(torch.uint8) if image.dtype == torch.bool else image


def _neighbourhood(x: Tensor, connectivity: int, *, maxima: bool) -> Tensor:
    """Max (or min) of ``x (B, H, W)`` over each pixel and its neighbours inside the image
    (the torch version, for other devices; CPU arrays take ``_candidates._spread``)."""
    grow = torch.maximum if maxima else torch.minimum

    def along(a: Tensor, dim: int) -> Tensor:
        """``grow`` of each entry and its two neighbours along ``dim`` (1 or 2), in place on
        a copy: a missing neighbour outside the image changes nothing."""
        out = a.clone()
        lo = (slice(None),) * dim + (slice(None, -1),)
        hi = (slice(None),) * dim + (slice(1, None),)
        grow(out[hi], a[lo], out=out[hi])  # the neighbour before
        grow(out[lo], a[hi], out=out[lo])  # the neighbour after
        return out

    if connectivity == 2:
        return along(along(x, 2), 1)  # the 3x3 square, separable: rows, then columns
    # the cross: the pixel and its neighbours along rows, then those along columns
    out = along(x, 2)
    grow(out[:, 1:], x[:, :-1], out=out[:, 1:])
    grow(out[:, :-1], x[:, 1:], out=out[:, :-1])
    return out


def _worst(dtype: torch.dtype, maxima: bool) -> float | int:
    """The value that loses every comparison: the lowest for maxima, the highest for minima."""
    if dtype.is_floating_point:
        return float("-inf") if maxima else float("inf")
    info = torch.iinfo(dtype)
    return int(info.min if maxima else info.max)


def _regional(image: Tensor, connectivity: int, *, maxima: bool) -> Tensor:
    x = _prepare(image)
    c = _connectivity(connectivity)
    if x.numel() == 0:
        return torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    H, W = x.shape[-2:]
    flat = x.reshape(-1, H, W)
    if flat.device.type == "cpu" and flat.dtype != torch.bfloat16:
        # NumPy on the tensor's memory, in a padded layout (contiguous ufunc calls): the
        # candidates and spoiled pixels as below, then the components holding no spoiled one
        f = flat.detach().contiguous().numpy()
        cand, spoiled = _candidates_numpy(f, c, maxima=maxima)
        # a constant image has no extremum (no outer boundary): all pixels are candidates
        constant = cand[:, 1:-1, 1:-1].all(axis=(1, 2))  # (B,)
        out = _unflagged_numpy(cand, spoiled, c)  # (B, H, W)
        out[constant] = False
        return torch.from_numpy(out).reshape(x.shape)
    # candidates: no strictly better neighbour (dilation == f for maxima)
    cand = _neighbourhood(flat, c, maxima=maxima) == flat  # (B, H, W)
    # two neighbouring candidates have equal values (each is >= the other), so a candidate
    # component lies in one plateau; it is the whole plateau, and a regional extremum, iff no
    # pixel of it has a non-candidate neighbour of the same value ("spoiled"). Non-candidate
    # neighbours of a candidate are never better, so: the best of them equals f.
    others = flat.masked_fill(cand, _worst(flat.dtype, maxima))  # (B, H, W)
    spoiled = cand & (_neighbourhood(others, c, maxima=maxima) == flat)
    # (a candidate equal to the worst value is spoiled too: such a plateau is the image's
    # minimum (maximum), never a maximum (minimum))
    out = _unflagged_torch(cand, spoiled, c)
    out &= ~cand.flatten(1).all(1).view(-1, 1, 1)
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
        :math:`f(q) < t` for every :math:`q \notin P` adjacent to :math:`P`. Computed without
        reconstruction and exact for floats (no :math:`\varepsilon`): the candidates
        :math:`C = \{p : (f \oplus B)(p) = f(p)\}` have no strictly higher neighbour, so two
        neighbouring candidates are equal and a connected component :math:`K` of :math:`C`
        lies in one plateau. :math:`K` is a whole plateau, hence a regional maximum, iff no
        pixel of :math:`K` has a same-valued neighbour outside :math:`C`; with
        :math:`g = f` off :math:`C` and :math:`-\infty` on it, those spoiled pixels are
        :math:`C \cap \{(g \oplus B) = f\}` (on the CPU, 4- and 8-byte values compare each
        pair of neighbours once instead). The components of :math:`C` holding a spoiled
        pixel are found by a few geodesic dilations of the spoiled pixels inside :math:`C`,
        then union-find on the horizontal runs left. Equals
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
        :math:`\text{RMIN}(f) = \text{RMAX}(-f)`, computed directly with erosions (no
        negation, so unsigned images are fine). Equals
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
