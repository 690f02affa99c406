r"""The 8x8 block DCT of JPEG: an orthonormal DCT-II applied to every block at once."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, describe
from pixlearn._core.errors import ShapeError

__all__ = ["blockwise_dct", "blockwise_idct", "dct_matrix"]


def dct_matrix(
    n: int = 8, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> Tensor:
    r"""The orthonormal DCT-II matrix :math:`D` (``D @ x`` is the DCT of a length-``n`` signal).

    Args:
        n: the transform length, >= 1.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``D``, shape ``(n, n)``, with :math:`D D^T = I`.

    Notes:
        .. math::
            D_{kx} = c_k \cos\frac{(2x + 1) k \pi}{2n}, \qquad
            c_0 = \sqrt{1/n},\; c_{k>0} = \sqrt{2/n},

        equal to ``scipy.fft.dct(..., norm="ortho")``.

    Example:
        >>> d = dct_matrix(8)
        >>> bool(torch.allclose(d @ d.T, torch.eye(8, dtype=torch.float64)))
        True

    References:
        Ahmed, N., Natarajan, T., Rao, K. R. "Discrete cosine transform."
        IEEE Trans. Computers C-23(1), 1974.
    """
    n = check_int(n, "n", min_value=1)
    k = torch.arange(n, dtype=torch.float64)[:, None]  # (n, 1) frequency
    x = torch.arange(n, dtype=torch.float64)[None, :]  # (1, n) sample
    # D_kx = c_k cos((2x + 1) k pi / (2n))
    d = torch.cos((2 * x + 1) * k * math.pi / (2 * n)) * math.sqrt(2.0 / n)
    d[0] = math.sqrt(1.0 / n)
    return d.to(dtype=dtype, device=device)


def _blocks(image: Tensor, block: int) -> Tensor:
    h, w = image.shape[-2:]
    if h % block or w % block:
        raise ShapeError(
            f"image must have height and width divisible by {block}, got {describe(image)}"
        )
    lead = image.shape[:-2]
    x = image.reshape(*lead, h // block, block, w // block, block)
    return x.transpose(-3, -2)  # (..., H/b, W/b, b, b)


def _unblocks(blocks: Tensor) -> Tensor:
    *lead, nh, nw, b, _ = blocks.shape
    return blocks.transpose(-3, -2).reshape(*lead, nh * b, nw * b)


def blockwise_dct(image: Tensor, *, block: int = 8) -> Tensor:
    r"""DCT-II (orthonormal) of every non-overlapping ``block x block`` tile, all at once.

    Args:
        image: shape ``(..., H, W)``, float, ``H`` and ``W`` multiples of ``block``.
        block: tile size, 8 in JPEG.

    Returns:
        The coefficients laid out like the image (tile ``(i, j)`` holds its own DCT), same
        shape and dtype; coefficient ``(0, 0)`` of a tile is ``block`` times its mean.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        Each tile :math:`B` maps to :math:`D B D^T` (:func:`dct_matrix`): two batched matrix
        products over all tiles. :func:`blockwise_idct` applies :math:`D^T C D`, the exact
        inverse since :math:`D` is orthogonal.

    Example:
        >>> c = blockwise_dct(torch.ones(8, 16))
        >>> c[0, 0].item(), c[0, 8].item(), float(c.abs().sum() - 16)
        (8.0, 8.0, 0.0)

    References:
        Wallace, G. K. "The JPEG still picture compression standard." Comm. ACM 34(4), 1991.
    """
    check_image(image, "image", floating=True)
    block = check_int(block, "block", min_value=1)
    d = dct_matrix(block, dtype=image.dtype, device=image.device)
    return _unblocks(d @ _blocks(image, block) @ d.T)  # (..., H/b, W/b, b, b) per tile


def blockwise_idct(coefficients: Tensor, *, block: int = 8) -> Tensor:
    r"""Inverse of :func:`blockwise_dct`: :math:`D^T C D` on every tile.

    Args:
        coefficients: shape ``(..., H, W)``, float, ``H`` and ``W`` multiples of ``block``.
        block: tile size.

    Returns:
        The image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Example:
        >>> x = torch.rand(2, 16, 24, dtype=torch.float64)
        >>> bool(torch.allclose(blockwise_idct(blockwise_dct(x)), x))
        True

    References:
        Wallace, G. K. Comm. ACM 34(4), 1991.
    """
    check_image(coefficients, "coefficients", floating=True)
    block = check_int(block, "block", min_value=1)
    d = dct_matrix(block, dtype=coefficients.dtype, device=coefficients.device)
    return _unblocks(d.T @ _blocks(coefficients, block) @ d)
