r"""Wavelet compression: keep the largest wavelet coefficients, drop the rest.

A natural image is sparse in a wavelet basis: most of its energy sits in the coarse
approximation and in the few detail coefficients that straddle edges. Keeping only the
``keep`` fraction of coefficients with the largest magnitude and inverting the transform gives
an approximation whose error falls quickly with ``keep``: the principle behind JPEG 2000 (which
adds quantisation and entropy coding on top, left out here).

Example:
    >>> img = torch.rand(32, 32, dtype=torch.float64)
    >>> out = wavelet_compress(img, 0.25, level=2)
    >>> out.kept, out.total, out.image.shape
    (256, 1024, torch.Size([32, 32]))

References:
    DeVore, R. A., Jawerth, B., Lucier, B. J. "Image compression through wavelet transform
    coding." IEEE Transactions on Information Theory 38(2), 1992.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_range
from pixlearn.metrics.quality import psnr
from pixlearn.wavelets.dwt import wavedec2, waverec2

__all__ = ["WaveletCompressed", "wavelet_compress"]


@dataclass(frozen=True)
class WaveletCompressed:
    """What :func:`wavelet_compress` returns.

    Attributes:
        image: the reconstruction from the kept coefficients, shaped and typed like the input.
        kept: number of coefficients kept in each ``(H, W)`` plane, ``ceil(keep * total)``.
        total: number of wavelet coefficients of one plane (approximation and all details).
        fraction: ``kept / total``, the fraction actually kept.
        psnr: PSNR in dB of ``image`` against the input (data range 1), one value per plane,
            shape ``(...)`` (``inf`` where nothing was lost).
    """

    image: Tensor
    kept: int
    total: int
    fraction: float
    psnr: Tensor


def _flatten(coeffs: list[Tensor | tuple[Tensor, ...]]) -> tuple[Tensor, list[tuple[int, int]]]:
    """All coefficients of each plane in one row: ``(..., total)``, and the band shapes."""
    bands = [coeffs[0]] + [band for level in coeffs[1:] for band in level]  # type: ignore[misc]
    shapes = [tuple(b.shape[-2:]) for b in bands]
    flat = torch.cat([b.flatten(-2) for b in bands], dim=-1)  # (..., total)
    return flat, shapes  # type: ignore[return-value]


def _unflatten(flat: Tensor, shapes: list[tuple[int, int]]) -> list[Tensor | tuple[Tensor, ...]]:
    """Invert :func:`_flatten`: ``[cA, (cH, cV, cD), ...]`` from the rows of ``flat``."""
    sizes = [h * w for h, w in shapes]
    parts = [
        p.unflatten(-1, s) for p, s in zip(flat.split(sizes, dim=-1), shapes, strict=True)
    ]  # each (..., h, w)
    return [parts[0], *(tuple(parts[i : i + 3]) for i in range(1, len(parts), 3))]


def wavelet_compress(
    image: Tensor,
    keep: float = 0.05,
    *,
    wavelet: str = "db2",
    level: int | None = None,
    mode: str = "periodization",
) -> WaveletCompressed:
    r"""Compress images by keeping the largest-magnitude wavelet coefficients.

    Each ``(H, W)`` plane is decomposed with :func:`pixlearn.wavelets.wavedec2`; of all its
    coefficients (approximation and details together) the ``ceil(keep * total)`` largest in
    magnitude are kept, the others set to zero, and :func:`pixlearn.wavelets.waverec2` gives the
    reconstruction. Ties at the threshold are broken so that exactly that many are kept.

    Args:
        image: images, ``(..., H, W)`` (any leading batch/channel axes), float, values in
            [0, 1] for a meaningful PSNR.
        keep: fraction of coefficients to keep, in (0, 1]; 1 keeps everything (exact
            reconstruction).
        wavelet: a name from :func:`pixlearn.wavelets.wavelist`.
        level: decomposition levels; ``None`` for the deepest allowed (``dwt_max_level``).
        mode: boundary mode, ``"periodization"`` (default: exactly ``H x W`` coefficients for
            even sizes), ``"symmetric"`` or ``"zero"``.

    Returns:
        A :class:`WaveletCompressed`: reconstruction, count and fraction kept, PSNR.

    Raises:
        ValueRangeError: ``keep`` outside (0, 1]; ``level`` deeper than the image allows;
            an unknown ``wavelet`` or ``mode``.
        ShapeError, WrongTypeError: as :func:`pixlearn.wavelets.wavedec2` (non-float, NaN).

    Shape:
        ``image``: ``(..., H, W)``; ``.image`` the same; ``.psnr``: ``(...)``.

    Notes:
        With :math:`c = W x` the wavelet coefficients and :math:`T_k` the set of the :math:`k`
        largest :math:`|c_i|`, the approximation is
        :math:`\hat x = W^{-1} (c \cdot \mathbb 1[i \in T_k])`, :math:`k = \lceil
        \text{keep} \cdot N \rceil`. For an orthogonal wavelet and periodization, :math:`W` is
        orthogonal, so :math:`\|x - \hat x\|^2 = \sum_{i \notin T_k} c_i^2`: the best
        :math:`k`-term approximation in that basis.

    Example:
        >>> img = torch.linspace(0, 1, 64, dtype=torch.float64).outer(torch.ones(64))
        >>> out = wavelet_compress(img, 0.05, wavelet="haar")
        >>> out.kept, round(out.fraction, 4), bool(out.psnr > 30)
        (205, 0.05, True)

    References:
        DeVore, R. A., Jawerth, B., Lucier, B. J. "Image compression through wavelet transform
        coding." IEEE Transactions on Information Theory 38(2), 1992.
    """
    check_image(image, "image", min_dims=2, floating=True)
    keep = check_range(keep, "keep", 0.0, 1.0, low_inclusive=False)
    h, w = image.shape[-2:]
    coeffs = wavedec2(image, wavelet, mode=mode, level=level)
    flat, shapes = _flatten(coeffs)  # (..., total)
    total = flat.shape[-1]
    # k = ceil(keep * N); the 1e-12 guards against keep * N landing just above an integer
    kept = min(total, max(1, math.ceil(keep * total * (1 - 1e-12))))
    if kept < total:
        # the k largest magnitudes of each plane survive, everything else becomes 0
        idx = flat.abs().topk(kept, dim=-1).indices  # (..., k)
        mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(-1, idx, True)  # (..., total)
        flat = flat * mask
    recon = waverec2(_unflatten(flat, shapes), wavelet, mode=mode)
    recon = recon[..., :h, :w]  # an odd size comes back one row/column longer
    quality = psnr(recon, image, data_range=1.0, dim=(-2, -1))  # (...)
    return WaveletCompressed(recon, kept, total, kept / total, quality)
