r"""The swirl: a non-linear warp whose rotation angle decays with the distance from a centre.

Backward mapping as every warp here: each output pixel looks up the input at the inversely
swirled point, interpolated by :func:`pixlearn.transform.sample`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_positive, check_range
from pixlearn._core.errors import ShapeError
from pixlearn.transform.interpolation import sample
from pixlearn.transform.warps import _grid

__all__ = ["swirl"]


def swirl(
    image: Tensor,
    *,
    center: Sequence[float] | None = None,
    strength: float = 1.0,
    radius: float = 100.0,
    rotation: float = 0.0,
    interpolation: str = "linear",
    border: str = "reflect",
    value: float = 0.0,
) -> Tensor:
    r"""The swirl: a rotation whose angle decays with the distance from a centre.

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        center: the swirl centre ``(x, y)``; default ``(W / 2, H / 2)`` (scikit-image's).
        strength: the rotation at the centre, in radians.
        radius: the extent in pixels: the swirl angle falls to about 1/1000 of ``strength``
            at this distance; > 0.
        rotation: an extra rotation of the whole image, in radians.
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"lanczos3"``.
        border: ``"constant"``, ``"replicate"`` or ``"reflect"`` (the default, as
            scikit-image's ``mode='reflect'``).
        value: the constant outside the image.

    Returns:
        The swirled images, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError, ShapeError, ValueRangeError: as
            :func:`pixlearn.transform.affine_warp`; ``radius`` <= 0, non-finite ``strength``,
            ``rotation`` or ``center``.

    Notes:
        The inverse map of ``skimage.transform.swirl``: in polar coordinates
        :math:`(\rho, \phi)` about the centre, output :math:`(\rho, \phi)` shows the input at
        :math:`(\rho, \phi + \theta)` with

        .. math::
            \theta = \text{rotation} + \text{strength}\;
            e^{-\rho / r'}, \qquad r' = \frac{\ln 2}{5}\,\text{radius}.

    Example:
        >>> img = torch.rand(8, 8)
        >>> bool(torch.allclose(swirl(img, strength=0.0), img))
        True

    References:
        van der Walt, S. et al. "scikit-image: image processing in Python." PeerJ 2014
        (``skimage.transform.swirl``).
    """
    check_image(image, "image", floating=True)
    strength = check_range(strength, "strength")
    radius = check_positive(radius, "radius")
    rotation = check_range(rotation, "rotation")
    h, w = image.shape[-2:]
    if center is None:
        x0, y0 = w / 2, h / 2
    else:
        if len(center) != 2:
            raise ShapeError(f"center must be a pair (x, y), got {center!r}")
        x0, y0 = check_range(center[0], "center"), check_range(center[1], "center")
    y, x = _grid((h, w), torch.float64, image.device)
    dx, dy = x - x0, y - y0  # (1, W), (H, 1)
    rho = torch.sqrt(dx**2 + dy**2)  # (H, W)
    # theta = rotation + strength exp(-rho / r') + phi, r' = radius ln 2 / 5
    theta = rotation + strength * torch.exp(-rho / (radius / 5 * math.log(2))) + torch.atan2(dy, dx)
    src_x = x0 + rho * torch.cos(theta)
    src_y = y0 + rho * torch.sin(theta)
    return sample(image, src_y, src_x, interpolation=interpolation, border=border, value=value)
