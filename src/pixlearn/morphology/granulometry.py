r"""Granulometry: the size distribution of bright structures, read from openings of growing size.

Sieve the image through openings by larger and larger footprints and weigh what remains. The
volume (sum of grey values) left after the opening of size :math:`r` falls as :math:`r` grows;
how much it falls between two sizes is how much of the image is made of structures of that size.
That drop, the negative discrete derivative of the volume curve, is the *pattern spectrum*.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.morphology.footprints import diamond, disk, square
from pixlearn.morphology.operators import opening

__all__ = ["Granulometry", "granulometry"]

_FOOTPRINTS = {
    "disk": disk,
    "diamond": diamond,
    "square": lambda r, device=None: square(2 * r + 1, device=device),
}


class Granulometry(NamedTuple):
    """The result of :func:`granulometry`.

    Attributes:
        radii: ``(K,)`` int64, the footprint radii, increasing.
        volumes: ``(..., K)`` float64, ``volumes[..., i]`` the sum of the image opened by the
            footprint of radius ``radii[i]``.
        spectrum: ``(..., K - 1)`` float64, the pattern spectrum
            ``volumes[..., i] - volumes[..., i + 1]``: the volume of the structures that fit the
            footprint of radius ``radii[i]`` but not that of ``radii[i + 1]`` (divided by its sum
            when ``normalize=True``).
    """

    radii: Tensor
    volumes: Tensor
    spectrum: Tensor


def granulometry(
    image: Tensor,
    radii: Sequence[int] | Tensor,
    *,
    footprint: str = "disk",
    normalize: bool = False,
) -> Granulometry:
    r"""The volumes of openings of increasing size and the pattern spectrum they give.

    Args:
        image: shape ``(..., H, W)``, bool, integer or float (finite), not empty; leading
            dimensions are independent images.
        radii: at least two strictly increasing integers >= 0 (radius 0 is the identity).
        footprint: the shape opened with: ``"disk"`` (:func:`~pixlearn.morphology.disk`),
            ``"diamond"`` or ``"square"`` (side ``2 r + 1``).
        normalize: divide the spectrum by its sum (so it sums to 1; an image with no volume
            removed between the first and last radius keeps an all-zero spectrum).

    Returns:
        A :class:`Granulometry` ``(radii, volumes, spectrum)``, float64 on the image's device.

    Shape:
        ``(..., H, W) -> radii (K,), volumes (..., K), spectrum (..., K - 1)``.

    Raises:
        ShapeError: ``image`` with fewer than 2 dimensions or empty; ``radii`` not 1-D or with
            fewer than 2 entries.
        ValueRangeError: NaN/Inf, a negative or non-increasing ``radii``, an unknown
            ``footprint``.

    Notes:
        With :math:`\gamma_r` the opening by the footprint :math:`B_r` and
        :math:`V(r) = \sum_p \gamma_r f(p)`, the pattern spectrum is
        :math:`PS(r_i) = V(r_i) - V(r_{i+1})`. When every footprint is open with respect to
        the smaller ones (:math:`B_s = B_s \circ B_r` for :math:`r \le s`), the openings form
        a granulometry, :math:`\gamma_s \gamma_r = \gamma_{\max(r, s)}`, so :math:`V` is
        non-increasing and :math:`PS \ge 0`. Squares and diamonds are such a family
        (:math:`B_s = B_r \oplus B_{s-r}`); digital disks are not (a disk of radius 5 is not
        a union of disks of radius 4), so with ``"disk"`` the curve can rise slightly and the
        spectrum can hold small negative entries. Objects of the footprint's own shape and
        size :math:`R` survive :math:`\gamma_R` whole and vanish under :math:`\gamma_{R+1}`,
        so the spectrum peaks at :math:`R` (and for squares/diamonds is a spike there). Each
        opening is computed directly (no decomposition), so the volumes are exact.

    Example:
        >>> img = torch.zeros(20, 20, dtype=torch.bool)
        >>> img[3:6, 3:6] = True  # a 3x3 square: square radius 1
        >>> img[8:15, 8:15] = True  # a 7x7 square: square radius 3
        >>> g = granulometry(img, [0, 1, 2, 3, 4], footprint="square")
        >>> g.spectrum.tolist()
        [0.0, 9.0, 0.0, 49.0]

    References:
        Matheron, G. *Random Sets and Integral Geometry*, Wiley 1975. Maragos, P. "Pattern
        spectrum and multiscale shape representation." IEEE Trans. PAMI 11(7), 1989.
    """
    check_image(image, "image")
    r = _radii(radii)
    make = _FOOTPRINTS[check_choice(footprint, "footprint", tuple(_FOOTPRINTS))]
    x = image
    vols = []
    for radius in r.tolist():
        opened = x if radius == 0 else opening(x, make(radius, device=x.device))
        # V(r) = sum_p gamma_r f(p), in float64 so integer images sum exactly
        vols.append(opened.to(torch.float64).sum(dim=(-2, -1)))
    volumes = torch.stack(vols, dim=-1)  # (..., K)
    # PS(r_i) = V(r_i) - V(r_{i+1})
    spectrum = volumes[..., :-1] - volumes[..., 1:]  # (..., K - 1)
    if normalize:
        total = spectrum.sum(dim=-1, keepdim=True)
        spectrum = torch.where(total > 0, spectrum / total.clamp_min(1e-300), spectrum)
    return Granulometry(radii=r.to(image.device), volumes=volumes, spectrum=spectrum)


def _radii(radii: Sequence[int] | Tensor) -> Tensor:
    """Check the radii: 1-D, at least two, integers >= 0, strictly increasing."""
    if isinstance(radii, Tensor):
        if radii.dim() != 1:
            raise ShapeError(f"radii must be 1-D, got {describe(radii)}")
        values = [check_int(v, "radii", min_value=0) for v in radii.tolist()]
    elif isinstance(radii, (Sequence, range)):
        values = [check_int(v, "radii", min_value=0) for v in radii]
    else:
        raise WrongTypeError(f"radii must be a sequence of integers, got {describe(radii)}")
    if len(values) < 2:
        raise ShapeError(f"radii must hold at least 2 radii, got {len(values)}")
    steps = [b - a for a, b in pairwise(values)]
    if min(steps) <= 0:
        raise ValueRangeError(f"radii must be strictly increasing, got {values}")
    return torch.tensor(values, dtype=torch.int64)
