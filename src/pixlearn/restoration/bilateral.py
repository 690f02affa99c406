"""The bilateral filter: a Gaussian blur whose weights also fall with the difference in value.

A Gaussian blur averages across edges. The bilateral filter (Tomasi and Manduchi 1998) multiplies
each neighbour's spatial weight by a second Gaussian of its difference in grey level (or colour)
from the centre pixel, so neighbours on the other side of an edge hardly count: flat regions are
smoothed, edges are kept. The result is a normalised, non-linear weighted mean.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_positive, describe
from pixlearn._core.errors import ValueRangeError
from pixlearn.restoration._boundary import PAD_MODES, channels_first, pad2d

__all__ = ["denoise_bilateral"]


def _norm(diff: Tensor) -> Tensor:
    """Euclidean norm over dim 1, with a zero (not NaN) gradient where it is 0."""
    sq = diff.square().sum(1, keepdim=True)
    pos = sq > 0
    return torch.where(pos, torch.where(pos, sq, 1.0).sqrt(), 0.0)


def denoise_bilateral(
    image: Tensor,
    win_size: int | None = None,
    sigma_color: float | None = None,
    sigma_spatial: float = 1,
    *,
    bins: int | None = 10000,
    mode: str = "constant",
    cval: float = 0,
    channel_axis: int | None = None,
) -> Tensor:
    r"""Edge-preserving smoothing by the bilateral filter.

    Args:
        image: the image, shape ``(..., H, W)``, float, finite. Every ``(H, W)`` plane is an
            image of its own unless ``channel_axis`` couples them.
        win_size: the side of the square window, an integer >= 1 (the window spans
            ``(win_size - 1) // 2`` pixels each side). ``None``:
            ``max(5, 2 * ceil(3 * sigma_spatial) + 1)``.
        sigma_color: :math:`\sigma_r > 0`, the standard deviation of the range (grey-level)
            Gaussian. ``None``: the standard deviation of each image.
        sigma_spatial: :math:`\sigma_s > 0`, the standard deviation of the spatial Gaussian,
            in pixels.
        bins: the range weight is tabulated on ``bins`` levels of the colour distance between
            0 and the image's maximum, as scikit-image does (the distance is truncated down to
            its level); ``None``: the exact Gaussian of the distance (differentiable).
        mode: the values outside the image: ``"constant"`` (``cval``), ``"edge"``,
            ``"symmetric"``, ``"reflect"`` or ``"wrap"`` (``np.pad``'s meanings).
        cval: the outside value for ``mode="constant"``.
        channel_axis: ``None``: planes are independent. An axis (e.g. ``-3``): the channels
            along it are one colour image; the colour distance is then the Euclidean distance
            over the :math:`C` channels divided by :math:`C` (scikit-image's convention).

    Returns:
        The filtered image, same shape and dtype (float16/bfloat16 computed in float32). An
        image with a single value is returned unchanged.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``win_size``/``bins`` not integers.
        ShapeError: fewer than 2 dims, an empty image, a bad ``channel_axis``.
        ValueRangeError: NaN/Inf in ``image``, non-positive sigmas, ``win_size < 1``,
            ``bins < 1``, an unknown ``mode``.

    Notes:
        With :math:`N(p)` the window around :math:`p`,

        .. math::
            \hat u(p) = \frac{\sum_{q \in N(p)} g_s(\|p - q\|)\, g_r(\delta(p, q))\, f(q)}
            {\sum_{q \in N(p)} g_s(\|p - q\|)\, g_r(\delta(p, q))},\qquad
            g_\sigma(x) = e^{-x^2 / (2\sigma^2)},

        :math:`\delta(p, q) = \|f(p) - f(q)\|_2 / C`. With ``bins`` the range weight is
        :math:`g_r(\lfloor \delta B / M \rfloor M / B)`, :math:`M` the image's maximum (its
        maximum minus its minimum when that is negative). Equals
        ``skimage.restoration.denoise_bilateral`` for non-negative images in its colour
        weights, bins and boundary modes; its spatial weights differ (scikit-image 0.26
        builds its spatial table on a ``(win_size + 1)^2`` grid and reads it with a stride of
        ``win_size``, which scrambles the Gaussian), so the two agree when the spatial
        Gaussian is flat over the window.

    Example:
        >>> step = torch.zeros(8, 8, dtype=torch.float64)
        >>> step[:, 4:] = 1.0
        >>> out = denoise_bilateral(step, sigma_color=0.1, sigma_spatial=2.0)
        >>> bool((out - step).abs().max() < 1e-6)  # the edge survives
        True

    References:
        Tomasi, C., Manduchi, R. "Bilateral filtering for gray and color images." ICCV 1998.
    """
    check_image(image, "image", floating=True)
    ss = check_positive(sigma_spatial, "sigma_spatial")
    sc = None if sigma_color is None else check_positive(sigma_color, "sigma_color")
    if win_size is None:
        win = max(5, 2 * math.ceil(3 * ss) + 1)
    else:
        win = check_int(win_size, "win_size", min_value=1)
    nb = None if bins is None else check_int(bins, "bins", min_value=1)
    check_choice(mode, "mode", PAD_MODES)
    if not math.isfinite(float(cval)):
        raise ValueRangeError(f"cval must be finite, got {describe(cval)}")
    x = image.float() if image.dtype in (torch.float16, torch.bfloat16) else image
    x, ax = channels_first(x, channel_axis)  # (..., C, H, W) when channel_axis is given
    lead, c = (x.shape[:-2], 1) if ax is None else (x.shape[:-3], x.shape[-3])
    h, w = x.shape[-2:]
    if x.numel() == 0:
        return image.clone()
    f = x.reshape(-1, c, h, w)  # (B, C, H, W)
    hi = f.amax((1, 2, 3), keepdim=True)  # (B, 1, 1, 1) per image
    lo = f.amin((1, 2, 3), keepdim=True)
    # the range of the colour-distance table: the maximum, shifted when values go negative
    top = hi - lo.clamp_max(0.0)
    sigma_r = f.std((1, 2, 3), correction=0, keepdim=True) if sc is None else sc
    ext = (win - 1) // 2
    padded = pad2d(f, ext, mode, float(cval))  # (B, C, H + 2 ext, W + 2 ext)
    num = torch.zeros_like(f)
    den = torch.zeros_like(f[:, :1])
    for kr in range(-ext, ext + 1):
        for kc in range(-ext, ext + 1):
            # spatial weight g_s(|p - q|), one number per offset
            gs = math.exp(-0.5 * (kr * kr + kc * kc) / (ss * ss))
            q = padded[..., ext + kr : ext + kr + h, ext + kc : ext + kc + w]  # (B, C, H, W)
            # delta(p, q) = |f(p) - f(q)| / C, the colour distance
            dist = (f - q).abs() if c == 1 else _norm(f - q) / c  # (B, 1, H, W)
            if nb is not None:
                # truncated to the table's level: floor(delta B / M) M / B, at most level B-1
                level = torch.floor(dist * (nb / top)).clamp_max(nb - 1)
                dist = level * (top / nb)
            weight = gs * torch.exp(-0.5 * (dist / sigma_r).square())  # (B, 1, H, W)
            num = num + weight * q
            den = den + weight
    out = num / den
    # an image with one value only is returned as it is (scikit-image's rule)
    out = torch.where(hi == lo, f, out)
    out = out.reshape(*lead, *((c,) if ax is not None else ()), h, w)
    if ax is not None:
        out = out.movedim(-3, ax)
    return out.to(image.dtype)
