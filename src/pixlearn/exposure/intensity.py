"""Point transforms: intensity stretching, normalisation, centring, standardisation and gamma.

A point transform maps every pixel value through the same function :math:`s = T(r)`, with no
regard to its neighbours. Contrast stretching maps the range a picture actually uses onto the
range a display can show; gamma bends the tone curve; centring and standardisation give a
network inputs of zero mean and unit variance.

Which pixels share the statistics:

* :func:`rescale_intensity` and :func:`normalize` take one range per *image*, the last three
  dims ``(C, H, W)`` (the last two for a 2-D input), so a colour picture keeps its colour
  balance. A batch of gray images must therefore be shaped ``(B, 1, H, W)``.
* :func:`center` and :func:`standardize` take one mean (and std) per *channel*, the last two
  dims ``(H, W)``, as deep-learning pipelines normalise each colour channel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_positive, check_range, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["adjust_gamma", "center", "normalize", "rescale_intensity", "standardize"]


def _image_dims(image: Tensor) -> tuple[int, ...]:
    """The dims one image spans: ``(C, H, W)``, or ``(H, W)`` for a 2-D input."""
    return (-3, -2, -1) if image.dim() >= 3 else (-2, -1)


def _range_pair(value: Any, name: str) -> tuple[float, float]:
    """A finite ``(low, high)`` pair of reals."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ShapeError(f"{name} must be a pair (low, high), got {describe(value)}")
    return check_range(value[0], name), check_range(value[1], name)


def _percentile(flat: Tensor, q: float) -> Tensor:
    """NumPy's default (linear) percentile of each row of ``flat (B, N)``; shape ``(B, 1)``."""
    n = flat.shape[-1]
    # position in the sorted row: q / 100 (n - 1), between order statistics k and k + 1
    pos = q / 100.0 * (n - 1)
    k = int(pos)
    frac = pos - k
    lo = flat.kthvalue(k + 1, dim=-1, keepdim=True).values  # (B, 1)
    if frac == 0.0:
        return lo
    hi = flat.kthvalue(min(k + 2, n), dim=-1, keepdim=True).values  # (B, 1)
    return lo + (hi - lo) * frac


def rescale_intensity(
    image: Tensor,
    in_range: str | tuple[float, float] = "image",
    out_range: tuple[float, float] = (0.0, 1.0),
    *,
    percentiles: tuple[float, float] | None = None,
) -> Tensor:
    r"""Contrast stretching: map ``in_range`` linearly onto ``out_range``, clipping outside.

    Args:
        image: shape ``(..., C, H, W)`` or ``(H, W)``, float, finite, non-empty.
        in_range: ``"image"`` (each image's own min and max, over ``(C, H, W)``) or a pair
            ``(low, high)`` with ``low < high``.
        out_range: the pair ``(low, high)`` the input range maps onto (may be inverted).
        percentiles: ``(p_low, p_high)`` in [0, 100], ``p_low < p_high``: take each image's
            percentiles (NumPy's linear interpolation) as the input range, e.g. ``(2, 98)``
            to ignore 2 % outliers at each end. Needs ``in_range="image"``.

    Returns:
        The stretched image, same shape and dtype. An image whose input range is a single
        value (a constant image) is only clipped to ``out_range``, as scikit-image does.

    Shape:
        ``(..., C, H, W) -> (..., C, H, W)``.

    Raises:
        WrongTypeError: ``image`` not a floating tensor (integer images are refused; divide
            by 255 first).
        ShapeError: empty image, a range that is not a pair.
        ValueRangeError: NaN/Inf, ``in_range`` with ``low >= high``, bad ``percentiles``.

    Notes:
        With :math:`[r_0, r_1]` the input and :math:`[s_0, s_1]` the output range,

        .. math::
            s = s_0 + (s_1 - s_0)\,\frac{\mathrm{clip}(r, r_0, r_1) - r_0}{r_1 - r_0}.

    Example:
        >>> x = torch.tensor([[0.2, 0.4], [0.6, 0.3]])
        >>> rescale_intensity(x)
        tensor([[0.0000, 0.5000],
                [1.0000, 0.2500]])
        >>> rescale_intensity(x, (0.0, 0.5), (0.0, 255.0))
        tensor([[102., 204.],
                [255., 153.]])

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 3.2.
    """
    check_image(image, "image", floating=True)
    o0, o1 = _range_pair(out_range, "out_range")
    dims = _image_dims(image)
    if percentiles is not None:
        p0, p1 = _range_pair(percentiles, "percentiles")
        if not (0.0 <= p0 < p1 <= 100.0):
            raise ValueRangeError(
                f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}"
            )
        if not (isinstance(in_range, str) and in_range == "image"):
            raise ValueRangeError(
                f"in_range must be 'image' when percentiles are given, got {in_range!r}"
            )
    if isinstance(in_range, str):
        if in_range != "image":
            raise ValueRangeError(f"in_range must be 'image' or a pair, got {in_range!r}")
        if image.numel() == 0:
            return image.clone()
        lead = image.shape[: image.dim() - len(dims)]
        flat = image.reshape(*lead, -1)  # (..., N) one row per image
        if percentiles is None:
            lo, hi = flat.aminmax(dim=-1, keepdim=True)  # (..., 1) each
        else:
            lo, hi = _percentile(flat, p0), _percentile(flat, p1)
        lo = lo.reshape(*lead, *(1,) * len(dims))  # broadcasts over (C, H, W)
        hi = hi.reshape(*lead, *(1,) * len(dims))
    else:
        i0, i1 = _range_pair(in_range, "in_range")
        if i0 >= i1:
            raise ValueRangeError(f"in_range must have low < high, got {in_range!r}")
        lo = torch.tensor(i0, dtype=image.dtype, device=image.device)
        hi = torch.tensor(i1, dtype=image.dtype, device=image.device)
    clipped = torch.minimum(torch.maximum(image, lo), hi)
    span = hi - lo
    # s = s0 + (s1 - s0) (clip(r) - r0) / (r1 - r0); a zero span only clips to [s0, s1]
    stretched = (clipped - lo) / torch.where(span > 0, span, 1.0) * (o1 - o0) + o0
    flat_out = clipped.clamp(min(o0, o1), max(o0, o1))
    return torch.where(span > 0, stretched, flat_out)


def normalize(image: Tensor) -> Tensor:
    r"""Stretch each image to [0, 1]: its minimum becomes 0 and its maximum 1.

    Args:
        image: shape ``(..., C, H, W)`` or ``(H, W)``, float, finite, non-empty. One range per
            image, over ``(C, H, W)``.

    Returns:
        Same shape and dtype. A constant image becomes all zeros.

    Notes:
        .. math:: s = \frac{r - \min r}{\max r - \min r}.

    Example:
        >>> normalize(torch.tensor([[2.0, 4.0], [6.0, 3.0]]))
        tensor([[0.0000, 0.5000],
                [1.0000, 0.2500]])
    """
    check_image(image, "image", floating=True)
    if image.numel() == 0:
        return image.clone()
    dims = _image_dims(image)
    lo = image.amin(dim=dims, keepdim=True)
    span = image.amax(dim=dims, keepdim=True) - lo
    # (r - min) / (max - min); 0 where max == min
    return torch.where(span > 0, (image - lo) / torch.where(span > 0, span, 1.0), 0.0)


def center(image: Tensor) -> Tensor:
    r"""Subtract each channel's mean, so every ``(H, W)`` plane has zero mean.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.

    Returns:
        Same shape and dtype, :math:`r - \bar r_c` with :math:`\bar r_c` the mean of the plane.

    Example:
        >>> center(torch.tensor([[[1.0, 3.0]], [[10.0, 20.0]]]))
        tensor([[[-1.,  1.]],
        <BLANKLINE>
                [[-5.,  5.]]])
    """
    check_image(image, "image", floating=True)
    return image - image.mean(dim=(-2, -1), keepdim=True)


def standardize(image: Tensor, *, eps: float = 1e-8) -> Tensor:
    r"""Zero mean and unit standard deviation per channel (per ``(H, W)`` plane).

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        eps: added to the variance, so a constant plane becomes zeros instead of NaN.

    Returns:
        Same shape and dtype.

    Notes:
        With the plane's mean :math:`\mu` and population variance :math:`\sigma^2`,

        .. math:: z = \frac{r - \mu}{\sqrt{\sigma^2 + \varepsilon}}.

    Example:
        >>> z = standardize(torch.rand(2, 3, 16, 16))
        >>> z.mean().abs().item() < 1e-6, abs(z.std(correction=0).item() - 1) < 1e-4
        (True, True)
    """
    check_image(image, "image", floating=True)
    eps = check_positive(eps, "eps", strict=False)
    if image.numel() == 0:
        return image.clone()
    var, mean = torch.var_mean(image, dim=(-2, -1), correction=0, keepdim=True)
    # z = (r - mu) / sqrt(sigma^2 + eps)
    return (image - mean) * torch.rsqrt(var + eps)


def adjust_gamma(image: Tensor, gamma: float, gain: float = 1.0) -> Tensor:
    r"""Gamma (power-law) correction: :math:`s = \mathrm{gain} \cdot r^{\gamma}`.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-negative (values in [0, 1] stay in
            [0, gain]), non-empty.
        gamma: the exponent, > 0. Below 1 brightens dark tones, above 1 darkens them.
        gain: the multiplier, > 0.

    Returns:
        Same shape and dtype; differentiable in ``image`` (for positive values).

    Raises:
        ValueRangeError: ``gamma`` or ``gain`` not > 0, a negative or NaN pixel.

    Notes:
        .. math:: s = c\, r^{\gamma}.

    Example:
        >>> adjust_gamma(torch.tensor([[0.25, 1.0]]), 0.5, gain=2.0)
        tensor([[1., 2.]])

    References:
        Poynton, C. *Digital Video and HD: Algorithms and Interfaces*, 2nd ed., ch. 27.
    """
    check_image(image, "image", floating=True)
    gamma = check_positive(gamma, "gamma")
    gain = check_positive(gain, "gain")
    if image.numel() and bool(image.detach().amin() < 0):
        raise ValueRangeError(
            f"image must be non-negative for a gamma correction, got a minimum of "
            f"{image.detach().amin().item():g}"
        )
    # s = c r^gamma
    return image.pow(gamma) * gain
