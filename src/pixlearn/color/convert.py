r"""Colour models: RGB <-> HSV, RGB <-> CMYK, RGB <-> YCbCr and RGB -> gray.

Every conversion is a per-pixel map along the channel dimension ``-3`` of an image shaped
``(..., 3, H, W)`` with values in [0, 1]: it works on any batch, device and memory layout, and on
the input's floating dtype. The maps are written with plain tensor arithmetic, so autograd
differentiates them wherever they are smooth (everywhere for gray and YCbCr; away from ties of
the largest/smallest channel for HSV and CMYK).

Conventions (documented per function):

- **HSV** as scikit-image: H, S, V all in [0, 1]; hue 0 = red, 1/3 = green, 2/3 = blue; an
  achromatic pixel (R = G = B) has S = 0 and H = 0.
- **CMYK**: the simple subtractive model without ink limits, ``K = 1 - max(R, G, B)``.
- **YCbCr**: full-range JPEG (JFIF) / ITU-R BT.601 on a [0, 1] scale: Y in [0, 1], Cb and Cr
  centred at 0.5 (in [0, 1]).
- **Gray**: ITU-R BT.601 (0.299, 0.587, 0.114) or BT.709 (0.2126, 0.7152, 0.0722) luma weights.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, describe
from pixlearn._core.errors import ShapeError

__all__ = [
    "GRAY_WEIGHTS",
    "cmyk_to_rgb",
    "hsv_to_rgb",
    "rgb_to_cmyk",
    "rgb_to_gray",
    "rgb_to_hsv",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]

#: Luma weights (R, G, B) of the ITU-R recommendations; each triple sums to 1.
GRAY_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "601": (0.299, 0.587, 0.114),
    "709": (0.2126, 0.7152, 0.0722),
}


def _check_color(image: Tensor, name: str, channels: int = 3) -> tuple[Tensor, Tensor, Tensor]:
    """Check a ``(..., channels, H, W)`` float image and return its channels (views)."""
    check_image(image, name, min_dims=3, floating=True, allow_empty=True)
    if image.shape[-3] != channels:
        raise ShapeError(
            f"{name} must have {channels} channels in dim -3, shape (..., {channels}, H, W), "
            f"got {describe(image)}"
        )
    return image.unbind(-3)


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den != 0``, else 0, with finite gradients on both branches."""
    ok = den != 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def rgb_to_hsv(image: Tensor) -> Tensor:
    r"""Convert RGB to HSV (hue, saturation, value), all three in [0, 1].

    Args:
        image: RGB values in [0, 1], shape ``(..., 3, H, W)``, float, finite.

    Returns:
        H, S, V stacked in dim -3, same shape and dtype as ``image``.

    Shape:
        ``(..., 3, H, W) -> (..., 3, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        With :math:`V = \max(R, G, B)`, :math:`m = \min(R, G, B)` and :math:`\Delta = V - m`:

        .. math::
            S = \Delta / V, \qquad
            H = \frac{1}{6}\begin{cases}
                (G - B)/\Delta \bmod 6 & V = R\\
                2 + (B - R)/\Delta & V = G\\
                4 + (R - G)/\Delta & V = B
            \end{cases}

        and :math:`S = H = 0` where :math:`\Delta = 0` (gray pixels), as scikit-image's
        ``rgb2hsv``. The hexagonal hue is continuous across the cases, so the tie-breaking
        order (blue, then green, then red) does not change the result.

    Example:
        >>> rgb = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)  # pure red
        >>> rgb_to_hsv(rgb).flatten().tolist()
        [0.0, 1.0, 1.0]

    References:
        Smith, A. R. "Color gamut transform pairs." SIGGRAPH 1978.
    """
    r, g, b = _check_color(image, "image")
    v = torch.maximum(torch.maximum(r, g), b)  # (..., H, W)
    m = torch.minimum(torch.minimum(r, g), b)
    delta = v - m
    # S = Delta / V (0 for black)
    s = _safe_div(delta, v)
    # the hue sector: which channel is the largest, measured in units of 60 degrees
    h_r = _safe_div(g - b, delta)
    h_g = 2.0 + _safe_div(b - r, delta)
    h_b = 4.0 + _safe_div(r - g, delta)
    h6 = torch.where(b == v, h_b, torch.where(g == v, h_g, h_r))
    # H = (sector / 6) mod 1, and 0 for achromatic pixels
    h = torch.where(delta > 0, torch.remainder(h6 / 6.0, 1.0), torch.zeros_like(h6))
    return torch.stack((h, s, v), dim=-3)


def hsv_to_rgb(image: Tensor) -> Tensor:
    r"""Convert HSV (all in [0, 1]) back to RGB.

    Args:
        image: H, S, V stacked in dim -3, shape ``(..., 3, H, W)``, float, finite. Hue is
            periodic (taken modulo 1); S and V are expected in [0, 1].

    Returns:
        RGB, same shape and dtype.

    Shape:
        ``(..., 3, H, W) -> (..., 3, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        The closed form without explicit sectors: for :math:`n = 5, 3, 1` (R, G, B),

        .. math::
            k = (n + 6H) \bmod 6, \qquad
            f(n) = V - V S \max\bigl(0, \min(k, 4 - k, 1)\bigr),

        which equals the six-sector table of ``skimage.color.hsv2rgb``.

    Example:
        >>> hsv = torch.tensor([1 / 3, 1.0, 1.0]).view(3, 1, 1)  # pure green
        >>> hsv_to_rgb(hsv).flatten().tolist()
        [0.0, 1.0, 0.0]

    References:
        Smith, A. R. "Color gamut transform pairs." SIGGRAPH 1978.
    """
    h, s, v = _check_color(image, "image")
    n = torch.tensor([5.0, 3.0, 1.0], dtype=image.dtype, device=image.device).view(3, 1, 1)
    # k = (n + 6 H) mod 6, one per output channel
    k = torch.remainder(n + 6.0 * h.unsqueeze(-3), 6.0)  # (..., 3, H, W)
    # the trapezoid max(0, min(k, 4 - k, 1)) is how much of the chroma each channel loses
    ramp = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
    v, s = v.unsqueeze(-3), s.unsqueeze(-3)  # (..., 1, H, W)
    return v - v * s * ramp


def rgb_to_cmyk(image: Tensor) -> Tensor:
    r"""Convert RGB to CMYK with the simple model :math:`K = 1 - \max(R, G, B)`.

    Args:
        image: RGB values in [0, 1], shape ``(..., 3, H, W)``, float, finite.

    Returns:
        C, M, Y, K stacked in dim -3, shape ``(..., 4, H, W)``, same dtype, each in [0, 1]
        for inputs in [0, 1].

    Shape:
        ``(..., 3, H, W) -> (..., 4, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        The naive subtractive model: black ink replaces the common part of the three
        colour inks (no under-colour removal tuning, no ink limit, no ICC profile):

        .. math::
            K = 1 - \max(R, G, B), \qquad C = \frac{1 - R - K}{1 - K}, \quad
            M = \frac{1 - G - K}{1 - K}, \quad Y = \frac{1 - B - K}{1 - K},

        with :math:`C = M = Y = 0` for black (:math:`K = 1`).

    Example:
        >>> rgb = torch.tensor([1.0, 0.5, 0.0]).view(3, 1, 1)  # orange
        >>> rgb_to_cmyk(rgb).flatten().tolist()
        [0.0, 0.5, 1.0, 0.0]

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 6.2.
    """
    r, g, b = _check_color(image, "image")
    # 1 - K = max(R, G, B)
    one_minus_k = torch.maximum(torch.maximum(r, g), b)  # (..., H, W)
    k = 1.0 - one_minus_k
    # C = (1 - R - K) / (1 - K) = (max - R) / max, and likewise M, Y
    c = _safe_div(one_minus_k - r, one_minus_k)
    m = _safe_div(one_minus_k - g, one_minus_k)
    y = _safe_div(one_minus_k - b, one_minus_k)
    return torch.stack((c, m, y, k), dim=-3)


def cmyk_to_rgb(image: Tensor) -> Tensor:
    r"""Convert CMYK (simple model, see :func:`rgb_to_cmyk`) back to RGB.

    Args:
        image: C, M, Y, K in [0, 1], shape ``(..., 4, H, W)``, float, finite.

    Returns:
        RGB, shape ``(..., 3, H, W)``, same dtype.

    Shape:
        ``(..., 4, H, W) -> (..., 3, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 4 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        .. math::
            R = (1 - C)(1 - K), \quad G = (1 - M)(1 - K), \quad B = (1 - Y)(1 - K).

    Example:
        >>> cmyk = torch.tensor([0.0, 0.5, 1.0, 0.0]).view(4, 1, 1)
        >>> cmyk_to_rgb(cmyk).flatten().tolist()
        [1.0, 0.5, 0.0]

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 6.2.
    """
    check_image(image, "image", min_dims=3, floating=True, allow_empty=True)
    if image.shape[-3] != 4:
        raise ShapeError(
            f"image must have 4 channels (C, M, Y, K) in dim -3, got {describe(image)}"
        )
    cmy, k = image[..., :3, :, :], image[..., 3:, :, :]  # (..., 3, H, W), (..., 1, H, W)
    # R = (1 - C)(1 - K), and likewise G, B
    return (1.0 - cmy) * (1.0 - k)


def rgb_to_gray(image: Tensor, *, standard: str = "601") -> Tensor:
    r"""Luma: the weighted sum of R, G and B with the ITU-R weights.

    Args:
        image: RGB, shape ``(..., 3, H, W)``, float, finite.
        standard: ``"601"`` (ITU-R BT.601, SDTV and JPEG; OpenCV's ``COLOR_RGB2GRAY``) or
            ``"709"`` (ITU-R BT.709, HDTV). scikit-image's ``rgb2gray`` uses weights close to
            709 (0.2125, 0.7154, 0.0721), which differ from the standard's by at most 2e-4.

    Returns:
        Gray values, shape ``(..., 1, H, W)`` (the channel dim is kept), same dtype.

    Shape:
        ``(..., 3, H, W) -> (..., 1, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``, an unknown ``standard``.

    Notes:
        .. math::
            Y'_{601} = 0.299 R + 0.587 G + 0.114 B, \qquad
            Y'_{709} = 0.2126 R + 0.7152 G + 0.0722 B.

        The weights sum to 1, so a gray pixel (R = G = B) keeps its value. They follow the
        eye's sensitivity: green looks brightest, blue darkest.

    Example:
        >>> rgb = torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1)
        >>> rgb_to_gray(rgb).shape, rgb_to_gray(rgb).item()
        (torch.Size([1, 1, 1]), 0.587)

    References:
        ITU-R Recommendation BT.601-7 (2011) and BT.709-6 (2015).
    """
    check_choice(standard, "standard", GRAY_WEIGHTS)
    r, g, b = _check_color(image, "image")
    wr, wg, wb = GRAY_WEIGHTS[standard]
    # Y' = w_R R + w_G G + w_B B
    return (wr * r + wg * g + wb * b).unsqueeze(-3)  # (..., 1, H, W)


# BT.601 luma weights used by JPEG's YCbCr
_KR, _KG, _KB = GRAY_WEIGHTS["601"]


def rgb_to_ycbcr(image: Tensor) -> Tensor:
    r"""Convert RGB to full-range YCbCr (JPEG / BT.601) on a [0, 1] scale.

    Args:
        image: RGB in [0, 1], shape ``(..., 3, H, W)``, float, finite.

    Returns:
        Y, Cb, Cr stacked in dim -3, same shape and dtype; Y in [0, 1] and Cb, Cr in [0, 1]
        centred at 0.5 (gray pixels have Cb = Cr = 0.5).

    Shape:
        ``(..., 3, H, W) -> (..., 3, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        With the BT.601 weights :math:`K_R = 0.299, K_B = 0.114`:

        .. math::
            Y = K_R R + (1 - K_R - K_B) G + K_B B, \quad
            C_b = \frac{1}{2} + \frac{B - Y}{2 (1 - K_B)}, \quad
            C_r = \frac{1}{2} + \frac{R - Y}{2 (1 - K_R)}.

        This is JFIF's full range (multiply by 255 for 8-bit JPEG). scikit-image's
        ``rgb2ycbcr`` is the *studio* range of the same matrix:
        :math:`Y_{sk} = 16 + 219 Y`, :math:`C_{sk} = 128 + 224 (C - 1/2)`.

    Example:
        >>> gray = torch.full((3, 1, 1), 0.25)
        >>> rgb_to_ycbcr(gray).flatten().tolist()
        [0.25, 0.5, 0.5]

    References:
        Hamilton, E. "JPEG File Interchange Format, version 1.02." C-Cube Microsystems, 1992;
        ITU-R Recommendation BT.601-7 (2011).
    """
    r, g, b = _check_color(image, "image")
    y = _KR * r + _KG * g + _KB * b
    # Cb = 1/2 + (B - Y) / (2 (1 - K_B)),  Cr = 1/2 + (R - Y) / (2 (1 - K_R))
    cb = 0.5 + (b - y) / (2.0 * (1.0 - _KB))
    cr = 0.5 + (r - y) / (2.0 * (1.0 - _KR))
    return torch.stack((y, cb, cr), dim=-3)


def ycbcr_to_rgb(image: Tensor) -> Tensor:
    r"""Convert full-range YCbCr (JPEG / BT.601, [0, 1] scale) back to RGB.

    Args:
        image: Y, Cb, Cr stacked in dim -3 as :func:`rgb_to_ycbcr` returns them, shape
            ``(..., 3, H, W)``, float, finite.

    Returns:
        RGB, same shape and dtype (not clipped: a YCbCr triple outside the RGB cube gives
        values outside [0, 1]).

    Shape:
        ``(..., 3, H, W) -> (..., 3, H, W)``.

    Raises:
        WrongTypeError: ``image`` is not a floating tensor.
        ShapeError: fewer than 3 dims, or not 3 channels in dim -3.
        ValueRangeError: NaN/Inf in ``image``.

    Notes:
        The exact inverse of :func:`rgb_to_ycbcr`:

        .. math::
            R = Y + 2 (1 - K_R)(C_r - \tfrac12), \quad
            B = Y + 2 (1 - K_B)(C_b - \tfrac12), \quad
            G = \frac{Y - K_R R - K_B B}{1 - K_R - K_B}.

    Example:
        >>> ycc = torch.tensor([0.299, 0.5 - 0.299 / 1.772, 1.0]).view(3, 1, 1)  # pure red
        >>> [round(v, 6) for v in ycbcr_to_rgb(ycc).flatten().tolist()]
        [1.0, 0.0, 0.0]

    References:
        Hamilton, E. "JPEG File Interchange Format, version 1.02." C-Cube Microsystems, 1992.
    """
    y, cb, cr = _check_color(image, "image")
    r = y + 2.0 * (1.0 - _KR) * (cr - 0.5)
    b = y + 2.0 * (1.0 - _KB) * (cb - 0.5)
    # Y = K_R R + K_G G + K_B B solved for G
    g = (y - _KR * r - _KB * b) / _KG
    return torch.stack((r, g, b), dim=-3)
