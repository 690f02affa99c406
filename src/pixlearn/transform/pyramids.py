"""Multiresolution pyramids: the Gaussian pyramid (blur, then subsample) and the Laplacian
pyramid of band-pass differences, which reconstructs the image exactly."""

from __future__ import annotations

import itertools
import math

from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_range, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.filters.linear import BORDERS, gaussian_blur2d
from pixlearn.transform.resize import resize

__all__ = [
    "gaussian_pyramid",
    "laplacian_pyramid",
    "pyramid_max_levels",
    "reconstruct_laplacian_pyramid",
]


def pyramid_max_levels(height: int, width: int, *, downscale: float = 2) -> int:
    """How many levels a pyramid of a ``height x width`` image can have, the original included.

    Each level is ``ceil(previous / downscale)`` pixels along each axis; the last possible
    level is the first that is 1x1.

    Args:
        height: image height, >= 1.
        width: image width, >= 1.
        downscale: the size ratio of consecutive levels, > 1.

    Returns:
        The largest valid ``levels``.

    Example:
        >>> pyramid_max_levels(512, 512), pyramid_max_levels(5, 3), pyramid_max_levels(1, 1)
        (10, 4, 1)
    """
    h = check_int(height, "height", min_value=1)
    w = check_int(width, "width", min_value=1)
    d = check_range(downscale, "downscale", 1.0, low_inclusive=False)
    n = 1
    while h > 1 or w > 1:
        h, w = math.ceil(h / d), math.ceil(w / d)
        n += 1
    return n


def gaussian_pyramid(
    image: Tensor,
    levels: int,
    *,
    sigma: float | None = None,
    downscale: float = 2,
    border: str = "reflect",
) -> list[Tensor]:
    r"""The Gaussian pyramid: each level is the previous one blurred and shrunk.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        levels: the number of levels returned, the original included, from 1 to
            :func:`pyramid_max_levels` (the level that reaches 1x1).
        sigma: the anti-aliasing blur before each shrink; ``None``: ``2 * downscale / 6``
            (scikit-image's choice: the kernel's 3-sigma half-width covers ``downscale``).
        downscale: the size ratio between consecutive levels, > 1 (need not be an integer).
        border: how the blur extends the image (``"reflect"`` mirrors without repeating
            the edge pixel).

    Returns:
        ``levels`` tensors; level ``k`` has shape ``(..., h_k, w_k)`` with
        ``h_k = ceil(h_{k-1} / downscale)``. Level 0 is a copy of ``image``.

    Shape:
        ``(..., H, W) -> [(..., H, W), (..., ceil(H/d), ceil(W/d)), ...]``.

    Raises:
        ValueRangeError: ``levels`` < 1 or deeper than the image allows, ``downscale`` <= 1,
            ``sigma`` <= 0, NaN input. WrongTypeError: integer image, non-integer ``levels``.

    Notes:
        .. math::
            G_0 = f, \qquad G_{k+1} = \operatorname{S}_{\downarrow d}\big(G_k * g_\sigma\big),

        where :math:`\operatorname{S}_{\downarrow d}` samples the blurred level at the
        centres :math:`c_i = (i + \tfrac12)\,d' - \tfrac12` (:math:`d' = h_k / h_{k+1}`) by
        linear interpolation (:func:`~pixlearn.transform.resize` without further
        anti-aliasing). For ``downscale=2`` and an even side this is the mean of each pixel
        pair. Equals ``skimage.transform.pyramid_gaussian(f, downscale=d, sigma=sigma)``.

    Example:
        >>> pyr = gaussian_pyramid(torch.rand(1, 65, 64), 3)
        >>> [tuple(p.shape) for p in pyr]
        [(1, 65, 64), (1, 33, 32), (1, 17, 16)]

    References:
        Burt, P. J., Adelson, E. H. "The Laplacian pyramid as a compact image code." IEEE
        Trans. Communications 31(4), 1983.
    """
    check_image(image, "image", floating=True)
    n, s, d = _check_options(image, levels, sigma, downscale, border)
    pyramid = [image.clone()]
    for _ in range(n - 1):
        prev = pyramid[-1]
        h, w = prev.shape[-2:]
        size = (math.ceil(h / d), math.ceil(w / d))
        # G_{k+1} = S(G_k * g_sigma): blur against aliasing, then resample on the coarser grid
        smooth = gaussian_blur2d(prev, s, border=border)
        pyramid.append(resize(smooth, size, interpolation="linear", antialias=False))
    return pyramid


def laplacian_pyramid(
    image: Tensor,
    levels: int,
    *,
    sigma: float | None = None,
    downscale: float = 2,
    border: str = "reflect",
) -> list[Tensor]:
    r"""The Laplacian pyramid: what each Gaussian level adds to the expanded coarser one.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        levels: the number of levels, from 1 to :func:`pyramid_max_levels`.
        sigma: the blur of the underlying :func:`gaussian_pyramid`.
        downscale: the size ratio between consecutive levels, > 1.
        border: the blur's border mode.

    Returns:
        ``levels`` tensors with the shapes of the Gaussian pyramid: ``levels - 1`` band-pass
        differences (detail, mean near 0), then the coarsest Gaussian level (the residual
        low-pass). :func:`reconstruct_laplacian_pyramid` inverts it exactly.

    Shape:
        As :func:`gaussian_pyramid`.

    Raises:
        As :func:`gaussian_pyramid`.

    Notes:
        With :math:`G_k` the Gaussian pyramid and :math:`E` the expansion of a level to the
        next finer grid (linear interpolation at the same centres as the reduction),

        .. math::
            L_k = G_k - E(G_{k+1}) \quad (k < K - 1), \qquad L_{K-1} = G_{K-1}.

        Whatever :math:`E` is, :math:`G_k = L_k + E(G_{k+1})` recovers every level from the
        top down, so the code is exact (up to one rounding per level). Each :math:`L_k` is a
        band of frequencies, approximately a difference of Gaussians, hence the name.

    Example:
        >>> x = torch.rand(1, 37, 50, dtype=torch.float64)
        >>> pyr = laplacian_pyramid(x, 4)
        >>> bool((reconstruct_laplacian_pyramid(pyr) - x).abs().max() < 1e-12)
        True

    References:
        Burt, P. J., Adelson, E. H. "The Laplacian pyramid as a compact image code." IEEE
        Trans. Communications 31(4), 1983.
    """
    gauss = gaussian_pyramid(image, levels, sigma=sigma, downscale=downscale, border=border)
    bands = [fine - _expand(coarse, fine.shape[-2:]) for fine, coarse in itertools.pairwise(gauss)]
    return [*bands, gauss[-1]]


def reconstruct_laplacian_pyramid(pyramid: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    r"""Invert :func:`laplacian_pyramid`: expand from the coarsest level and add each band.

    Args:
        pyramid: the levels, finest first, as :func:`laplacian_pyramid` returns them; each
            level's spatial size must be ``ceil`` of the previous one over a common factor
            (any shapes are accepted as long as the leading dims agree and each level is no
            larger than the one before).

    Returns:
        The image, shape and dtype of ``pyramid[0]``.

    Shape:
        ``[(..., H, W), (..., h_1, w_1), ...] -> (..., H, W)``.

    Raises:
        ShapeError: an empty pyramid, levels whose leading dims differ or that grow.
        WrongTypeError: a level that is not a floating tensor.

    Notes:
        :math:`G_{K-1} = L_{K-1}`, then :math:`G_k = L_k + E(G_{k+1})` down to :math:`G_0`.

    Example:
        >>> x = torch.rand(2, 3, 16, 16)
        >>> y = reconstruct_laplacian_pyramid(laplacian_pyramid(x, 3))
        >>> bool((y - x).abs().max() < 1e-6)
        True
    """
    if not isinstance(pyramid, (list, tuple)) or len(pyramid) == 0:
        raise ShapeError(f"pyramid must be a non-empty list of tensors, got {describe(pyramid)}")
    for k, level in enumerate(pyramid):
        check_image(level, f"pyramid[{k}]", floating=True)
        if k and (
            level.shape[:-2] != pyramid[0].shape[:-2]
            or level.shape[-2] > pyramid[k - 1].shape[-2]
            or level.shape[-1] > pyramid[k - 1].shape[-1]
        ):
            raise ShapeError(
                f"pyramid[{k}] must have the leading dims of pyramid[0] "
                f"{tuple(pyramid[0].shape[:-2])} and be no larger than pyramid[{k - 1}] "
                f"{tuple(pyramid[k - 1].shape)}, got {describe(level)}"
            )
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        # G_k = L_k + E(G_{k+1})
        image = band + _expand(image, band.shape[-2:])
    return image.clone() if len(pyramid) == 1 else image


def _expand(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Linear interpolation onto the finer grid of ``size`` (the inverse of the reduction's
    sampling, up to the detail the reduction removed)."""
    return resize(image, tuple(size), interpolation="linear", antialias=False)


def _check_options(
    image: Tensor, levels: int, sigma: float | None, downscale: float, border: str
) -> tuple[int, float, float]:
    """Check the shared options; returns ``(levels, sigma, downscale)``."""
    if isinstance(levels, float):
        raise WrongTypeError(f"levels must be an integer, got {levels!r}")
    n = check_int(levels, "levels", min_value=1)
    d = check_range(downscale, "downscale", 1.0, low_inclusive=False)
    s = 2.0 * d / 6.0 if sigma is None else check_range(sigma, "sigma", 0.0, low_inclusive=False)
    check_choice(border, "border", BORDERS)
    h, w = image.shape[-2:]
    most = pyramid_max_levels(h, w, downscale=d)
    if n > most:
        raise ValueRangeError(
            f"levels must be <= {most} for a {h}x{w} image with downscale {d:g} "
            f"(level {most - 1} is already 1x1), got {n}"
        )
    return n, s, d
