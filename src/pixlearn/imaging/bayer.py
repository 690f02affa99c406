"""The Bayer colour filter array: one colour sample per pixel, twice as many green as red or blue.

A single-sensor camera puts a 2x2 tile of colour filters over its pixels, so each pixel measures
one colour; green is sampled twice as densely as red and blue because the eye is most sensitive
to it. :func:`bayer_mosaic` simulates the sensor, :func:`demosaic` interpolates the two missing
colours of every pixel back (bilinear demosaicing).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int
from pixlearn._core.errors import ShapeError

__all__ = ["BAYER_PATTERNS", "bayer_mask", "bayer_mosaic", "demosaic"]

#: The 2x2 tiles, read row by row: "RGGB" puts red at (0, 0), green at (0, 1) and (1, 0), blue at
#: (1, 1). OpenCV names the same tiles after the second row (RGGB is its ``COLOR_BayerBG2RGB``).
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")

_CHANNEL = {"R": 0, "G": 1, "B": 2}


def bayer_mask(height: int, width: int, *, pattern: str = "RGGB") -> Tensor:
    """One-hot colour filter array: ``mask[c, i, j]`` is True where pixel ``(i, j)`` samples ``c``.

    Args:
        height: number of rows, >= 0.
        width: number of columns, >= 0.
        pattern: the 2x2 tile, one of ``BAYER_PATTERNS``.

    Returns:
        The mask, shape ``(3, height, width)``, bool, channels in R, G, B order.

    Example:
        >>> bayer_mask(2, 2)[1].int()  # green: twice as many samples as red or blue
        tensor([[0, 1],
                [1, 0]], dtype=torch.int32)
    """
    h = check_int(height, "height", min_value=0)
    w = check_int(width, "width", min_value=0)
    check_choice(pattern, "pattern", BAYER_PATTERNS)
    return _mask(h, w, pattern, torch.bool, None)


def _mask(h: int, w: int, pattern: str, dtype: torch.dtype, device: torch.device | None) -> Tensor:
    mask = torch.zeros(3, h, w, dtype=dtype, device=device)  # (3, H, W)
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)  # position of this filter in the 2x2 tile
        mask[_CHANNEL[colour], dy::2, dx::2] = 1
    return mask


def bayer_mosaic(rgb: Tensor, *, pattern: str = "RGGB") -> Tensor:
    r"""Sample an RGB image through a Bayer colour filter array, as a single-sensor camera does.

    Args:
        rgb: colour image, shape ``(..., 3, H, W)``, float, channels R, G, B.
        pattern: the 2x2 tile, one of ``"RGGB"``, ``"BGGR"``, ``"GRBG"``, ``"GBRG"`` (read row
            by row from the top-left pixel).

    Returns:
        The raw sensor image, shape ``(..., H, W)``, same dtype.

    Shape:
        ``(..., 3, H, W) -> (..., H, W)``.

    Notes:
        :math:`\mathrm{raw}(i, j) = \sum_c m_c(i, j)\, I_c(i, j)` with :math:`m` the one-hot
        mask of :func:`bayer_mask`; a 2x2 tile holds one red, two green and one blue sample.

    Example:
        >>> rgb = torch.stack([torch.full((2, 2), v) for v in (0.9, 0.5, 0.1)])
        >>> bayer_mosaic(rgb)
        tensor([[0.9000, 0.5000],
                [0.5000, 0.1000]])

    References:
        Bayer, B. E. "Color imaging array." US patent 3,971,065 (1976).
    """
    check_image(rgb, "rgb", min_dims=3, floating=True)
    if rgb.shape[-3] != 3:
        raise ShapeError(
            f"rgb must have 3 channels (R, G, B) at dim -3, got shape {tuple(rgb.shape)}"
        )
    check_choice(pattern, "pattern", BAYER_PATTERNS)
    h, w = rgb.shape[-2:]
    mask = _mask(h, w, pattern, rgb.dtype, rgb.device)  # (3, H, W)
    # raw = sum_c m_c * I_c
    return (rgb * mask).sum(dim=-3)  # (..., H, W)


# Bilinear interpolation as a convolution of the zero-filled samples of one colour:
# red and blue sit on a lattice of step 2 in both axes (tent 1-2-1 in y times 1-2-1 in x),
# green on a quincunx lattice (the 4 nearest neighbours).
_KERNEL_RB = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
_KERNEL_G = [[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]


def demosaic(raw: Tensor, *, pattern: str = "RGGB") -> Tensor:
    r"""Bilinear demosaicing: fill in the two missing colours of every pixel of a Bayer image.

    Args:
        raw: raw sensor image, shape ``(..., H, W)``, float, ``H, W >= 2``.
        pattern: the 2x2 tile the image was taken with, see :func:`bayer_mosaic`.

    Returns:
        The colour image, shape ``(..., 3, H, W)``, same dtype, channels R, G, B. At each pixel
        the colour it sampled is kept exactly.

    Shape:
        ``(..., H, W) -> (..., 3, H, W)``.

    Notes:
        For colour :math:`c` with mask :math:`m_c` and kernel :math:`k_c` (the 3x3 tent for red
        and blue, the 4-neighbour cross for green), normalised convolution

        .. math::
            \hat I_c = \frac{k_c * (m_c\,\mathrm{raw})}{k_c * m_c}

        is the average of the nearest samples of that colour: two or four neighbours for red
        and blue, four for green. In the interior :math:`k_c * m_c = 4` everywhere, which is the
        classic bilinear demosaicing; at the border the denominator renormalises over the
        samples that exist (zero padding), so a constant colour is reproduced exactly.

    Example:
        >>> rgb = torch.tensor([0.9, 0.5, 0.1])[:, None, None].expand(3, 4, 4)
        >>> torch.allclose(demosaic(bayer_mosaic(rgb)), rgb)
        True

    References:
        Gunturk, B. K. et al. "Demosaicking: color filter array interpolation."
        IEEE Signal Processing Magazine 22 (2005).
    """
    check_image(raw, "raw", min_dims=2, floating=True, min_size=2)
    check_choice(pattern, "pattern", BAYER_PATTERNS)
    h, w = raw.shape[-2:]
    batch = raw.shape[:-2]
    dtype, device = raw.dtype, raw.device
    mask = _mask(h, w, pattern, dtype, device)  # (3, H, W)
    kernel = torch.tensor([_KERNEL_RB, _KERNEL_G, _KERNEL_RB], dtype=dtype, device=device)
    kernel = kernel[:, None]  # (3, 1, 3, 3): one kernel per colour, depthwise
    flat = raw.reshape(math.prod(batch), 1, h, w)  # (N, 1, H, W)
    sparse = flat * mask  # (N, 3, H, W): zero where a colour was not sampled
    num = F.conv2d(sparse, kernel, padding=1, groups=3)  # (N, 3, H, W)
    den = F.conv2d(mask[None], kernel, padding=1, groups=3)  # (1, 3, H, W), > 0 for H, W >= 2
    # I_c = (k_c * m_c raw) / (k_c * m_c), and the sample itself where colour c was sampled
    out = torch.where(mask.bool(), flat, num / den)  # (N, 3, H, W)
    return out.reshape(*batch, 3, h, w)
