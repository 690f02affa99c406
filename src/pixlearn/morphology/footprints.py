"""Flat structuring elements (footprints): boolean masks of the neighbourhood an operator sees.

Each footprint is a 2-D ``torch.bool`` tensor whose centre is the element at ``(h // 2, w // 2)``.
``disk``, ``square``, ``rectangle``, ``diamond`` and ``ellipse`` equal the
``skimage.morphology`` footprints of the same name element for element; ``line`` is a digital
straight segment through the centre (as MATLAB's ``strel('line', len, deg)``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_range
from pixlearn._core.errors import ValueRangeError

__all__ = ["diamond", "disk", "ellipse", "line", "rectangle", "square"]


def _offsets(radius: int, device: torch.device | str | None) -> Tensor:
    return torch.arange(-radius, radius + 1, device=device)


def disk(
    radius: int, *, strict_radius: bool = True, device: torch.device | str | None = None
) -> Tensor:
    r"""A digital disk: the pixels within Euclidean distance ``radius`` of the centre.

    Args:
        radius: the radius in pixels, an int >= 0.
        strict_radius: if ``False``, use ``radius + 0.5`` (a rounder disk with no lone pixel
            at each end of the axes), as scikit-image's option of the same name.
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(2 * radius + 1, 2 * radius + 1)``.

    Notes:
        :math:`B = \{(i, j) : i^2 + j^2 \le r^2\}` for integer offsets :math:`i, j`.

    Example:
        >>> disk(1).int()
        tensor([[0, 1, 0],
                [1, 1, 1],
                [0, 1, 0]], dtype=torch.int32)

    References:
        Soille, P. *Morphological Image Analysis*, 2nd ed., Springer 2003, ch. 2.
    """
    r = check_int(radius, "radius", min_value=0)
    d = _offsets(r, device)
    limit = r + 0.5 if not strict_radius else r
    # i^2 + j^2 <= r^2 (exact in integers; limit^2 is a quarter-integer when not strict)
    return d[:, None] ** 2 + d[None, :] ** 2 <= limit**2  # (2r + 1, 2r + 1)


def square(width: int, *, device: torch.device | str | None = None) -> Tensor:
    """A ``width x width`` square of ones.

    Args:
        width: the side in pixels, an int >= 1 (even widths are allowed; see
            :mod:`pixlearn.morphology.operators` for where the centre of an even footprint is).
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(width, width)``, all ``True``.

    Example:
        >>> square(2)
        tensor([[True, True],
                [True, True]])
    """
    w = check_int(width, "width", min_value=1)
    return torch.ones(w, w, dtype=torch.bool, device=device)


def rectangle(nrows: int, ncols: int, *, device: torch.device | str | None = None) -> Tensor:
    """An ``nrows x ncols`` rectangle of ones (scikit-image's ``footprint_rectangle``).

    Args:
        nrows: height in pixels, an int >= 1.
        ncols: width in pixels, an int >= 1.
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(nrows, ncols)``, all ``True``.

    Example:
        >>> rectangle(1, 3)
        tensor([[True, True, True]])
    """
    h = check_int(nrows, "nrows", min_value=1)
    w = check_int(ncols, "ncols", min_value=1)
    return torch.ones(h, w, dtype=torch.bool, device=device)


def diamond(radius: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""A diamond: the pixels within city-block distance ``radius`` of the centre.

    Args:
        radius: an int >= 0.
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(2 * radius + 1, 2 * radius + 1)``.

    Notes:
        :math:`B = \{(i, j) : |i| + |j| \le r\}`; ``diamond(1) == disk(1)`` (the 4-neighbourhood).

    Example:
        >>> diamond(2).int().sum().item()
        13
    """
    r = check_int(radius, "radius", min_value=0)
    d = _offsets(r, device).abs()
    return d[:, None] + d[None, :] <= r


def ellipse(width: int, height: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""An ellipse, with scikit-image's ``ellipse(width, height)`` semantics.

    ``width`` and ``height`` are the *half*-extents (like radii) along columns and rows: the
    footprint is ``(2 * height + 1, 2 * width + 1)`` and holds the offsets strictly inside the
    ellipse of semi-axes ``width + 1`` and ``height + 1``.

    Args:
        width: horizontal half-extent, an int >= 0.
        height: vertical half-extent, an int >= 0.
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(2 * height + 1, 2 * width + 1)``.

    Notes:
        :math:`B = \{(i, j) : (i / (h + 1))^2 + (j / (w + 1))^2 < 1\}`, evaluated in float64
        in the same order as scikit-image, so the boundary pixels agree exactly.

    Example:
        >>> ellipse(2, 1).int()
        tensor([[1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1]], dtype=torch.int32)
    """
    w = check_int(width, "width", min_value=0)
    h = check_int(height, "height", min_value=0)
    i = _offsets(h, device).double()
    j = _offsets(w, device).double()
    # (i / (h + 1))^2 + (j / (w + 1))^2 < 1
    return (i[:, None] / (h + 1)) ** 2 + (j[None, :] / (w + 1)) ** 2 < 1


def line(length: int, angle: float, *, device: torch.device | str | None = None) -> Tensor:
    r"""A digital straight segment of ``length`` pixels through the centre, at ``angle`` degrees.

    The angle is measured counter-clockwise from the column axis as the image is displayed
    (row 0 at the top), so ``angle=0`` is horizontal and ``angle=90`` vertical. The segment's
    ends are at the offsets ``(dy, dx) = round(L (-sin t, cos t))`` with ``L = (length - 1) / 2``
    (rounding half away from zero); in between, every step along the major axis gets the
    rounded position along the minor one, so the line is 8-connected and symmetric about its
    centre.

    Args:
        length: the number of pixels of a horizontal or vertical line, an odd int >= 1.
        angle: the direction in degrees, a finite number (any value; taken modulo 180).
        device: where the footprint is created.

    Returns:
        A bool tensor of shape ``(2 * |dy| + 1, 2 * |dx| + 1)`` holding
        ``max(2 |dy|, 2 |dx|) + 1`` pixels.

    Raises:
        ValueRangeError: an even ``length``.

    Notes:
        With :math:`n = \max(|d_y|, |d_x|)`, the pixels are :math:`(\mathrm{round}(t\,d_y/n),
        \mathrm{round}(t\,d_x/n))` for :math:`t = -n, \dots, n`.

    Example:
        >>> line(3, 45).int()
        tensor([[0, 0, 1],
                [0, 1, 0],
                [1, 0, 0]], dtype=torch.int32)
    """
    n_pix = check_int(length, "length", min_value=1)
    if n_pix % 2 == 0:
        raise ValueRangeError(f"length must be odd (a line needs a centre pixel), got {length}")
    theta = math.radians(check_range(angle, "angle"))
    half = (n_pix - 1) / 2
    dy = _round_half_away(-half * math.sin(theta))
    dx = _round_half_away(half * math.cos(theta))
    n = max(abs(dy), abs(dx))
    out = torch.zeros(2 * abs(dy) + 1, 2 * abs(dx) + 1, dtype=torch.bool, device=device)
    if n == 0:
        out[0, 0] = True
        return out
    t = torch.arange(-n, n + 1, dtype=torch.float64)
    # positions along the segment: round(t * d / n), half away from zero (odd-symmetric)
    rows = _round_tensor(t * dy / n) + abs(dy)
    cols = _round_tensor(t * dx / n) + abs(dx)
    out[rows.to(out.device), cols.to(out.device)] = True
    return out


def _round_half_away(v: float) -> int:
    # snap values within rounding noise of an integer (sin(180 deg) is 1.2e-16, not 0)
    v = round(v, 9)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _round_tensor(v: Tensor) -> Tensor:
    v = torch.round(v * 1e9) / 1e9
    return (torch.sign(v) * torch.floor(v.abs() + 0.5)).long()
