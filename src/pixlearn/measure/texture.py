"""Texture: grey-level co-occurrence matrices (GLCM) and Haralick's statistics of them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["graycomatrix", "graycoprops"]

_PROPS = (
    "contrast",
    "dissimilarity",
    "homogeneity",
    "energy",
    "correlation",
    "ASM",
    "mean",
    "variance",
    "std",
    "entropy",
)


def _round_half_away(x: float) -> int:
    """Round as C's ``round``: halves go away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def graycomatrix(
    image: Tensor,
    distances: Sequence[int],
    angles: Sequence[float],
    *,
    levels: int = 256,
    symmetric: bool = False,
    normed: bool = False,
) -> Tensor:
    r"""Grey-level co-occurrence matrices: how often level ``i`` sits next to level ``j``.

    Args:
        image: grey levels, integer tensor ``(..., H, W)`` with values in ``[0, levels)``.
        distances: pixel distances of the pairs, integers ``>= 0``.
        angles: directions of the pairs in radians; angle ``a`` at distance ``d`` pairs
            pixel ``(r, c)`` with ``(r + round(d sin a), c + round(d cos a))`` (so ``pi/2``
            looks one row down), as ``skimage.feature.graycomatrix``.
        levels: the number of grey levels, larger than the image's maximum.
        symmetric: count each pair both ways (``P + P^T``).
        normed: divide each matrix by its sum (a zero matrix stays zero).

    Returns:
        ``P`` with ``P[..., i, j, d, a]`` the count of pairs (int64) or their frequency
        (float64 if ``normed``). Leading dimensions are independent images. The counts are a
        permuted view (offsets outermost in memory, one bincount per offset): call
        ``.contiguous()`` before ``.view``.

    Shape:
        ``(..., H, W) -> (..., levels, levels, len(distances), len(angles))``.

    Raises:
        WrongTypeError: a floating or bool image.
        ValueRangeError: negative values, a value ``>= levels``, a negative distance.
        ShapeError: empty ``distances`` or ``angles``.

    Notes:
        :math:`P_{d,\theta}(i, j) = \#\{(p, q) : I(p) = i, I(q) = j, q = p + (d\sin\theta,
        d\cos\theta)\}`, counted with one bincount over the codes :math:`i L + j` of all
        pairs for each offset (both pixels inside the image).

    Example:
        >>> img = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 2], [2, 2, 3, 3]])
        >>> graycomatrix(img, [1], [0.0], levels=4)[..., 0, 0]
        tensor([[2, 2, 1, 0],
                [0, 2, 0, 0],
                [0, 0, 3, 1],
                [0, 0, 0, 1]])

    References:
        Haralick, R. M., Shanmugam, K., Dinstein, I. "Textural features for image
        classification." IEEE Trans. Systems, Man, and Cybernetics SMC-3(6), 1973.
    """
    check_image(image, "image", allow_empty=True)
    if image.is_floating_point() or image.is_complex() or image.dtype == torch.bool:
        raise WrongTypeError(
            f"image must be an integer tensor of grey levels, got {image.dtype} "
            "(quantise it, e.g. (img * 255).round().to(torch.uint8))"
        )
    levels = check_int(levels, "levels", min_value=1)
    dist = [check_int(d, "distances", min_value=0) for d in _as_list(distances, "distances")]
    ang = [float(a) for a in _as_list(angles, "angles")]
    if image.numel():
        lo_t, hi_t = image.aminmax()
        lo, hi = int(lo_t), int(hi_t)
        if lo < 0:
            raise ValueRangeError(f"image must be >= 0, got a minimum of {lo}")
        if hi >= levels:
            raise ValueRangeError(
                f"levels must be larger than the image's maximum value {hi}, got {levels}"
            )
    batch = image.shape[:-2]
    h, w = image.shape[-2:]
    n_img = image.reshape(-1, h, w).shape[0]
    n_off = len(dist) * len(ang)
    # the codes b L^2 + i L + j of all pairs fit in int32 unless the matrices are huge
    small = n_img * levels * levels < 2**31
    img = image.reshape(-1, h, w).to(torch.int32 if small else torch.int64)  # (B, H, W)
    base = torch.arange(n_img, device=img.device, dtype=img.dtype) * (levels * levels)
    first_code = img * levels + base[:, None, None]  # (B, H, W): b L^2 + i L
    # one contiguous row of B L^2 counts per offset (a bincount's output is copied straight
    # in); the result is a permuted view of these rows, laid out (D, A, B, L, L) in memory
    n_bins = n_img * levels * levels
    out = torch.empty(n_off, n_bins, dtype=torch.int64, device=img.device)
    for o, (d, a) in enumerate((d, a) for d in dist for a in ang):
        dr, dc = _round_half_away(math.sin(a) * d), _round_half_away(math.cos(a) * d)
        # the pixels p whose partner p + (dr, dc) is inside the image
        r0, r1 = max(0, -dr), min(h, h - dr)
        c0, c1 = max(0, -dc), min(w, w - dc)
        if r1 <= r0 or c1 <= c0:
            out[o] = 0
            continue
        # one code per pair: b L^2 + i L + j, with i = I(p), j = I(p + (dr, dc))
        code = first_code[:, r0:r1, c0:c1] + img[:, r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        out[o] = torch.bincount(code.reshape(-1), minlength=n_bins)
    p = out.view(len(dist), len(ang), n_img, levels, levels).permute(2, 3, 4, 0, 1)
    p = p.reshape(*batch, levels, levels, len(dist), len(ang))  # a view: splits dim 0 only
    if symmetric:
        p = p + p.transpose(-4, -3)
    if normed:
        p = p.to(torch.float64)
        total = p.sum(dim=(-4, -3), keepdim=True)
        p = p / torch.where(total == 0, torch.ones_like(total), total)
    return p


def _as_list(values: Sequence[float] | Tensor, name: str) -> list:
    seq = values.reshape(-1).tolist() if isinstance(values, Tensor) else list(values)
    if not seq:
        raise ShapeError(f"{name} must hold at least one value, got {describe(values)}")
    return seq


def graycoprops(P: Tensor, prop: str = "contrast") -> Tensor:
    r"""A texture statistic of each co-occurrence matrix.

    Args:
        P: co-occurrence matrices from :func:`graycomatrix`, ``(..., L, L, n_dist, n_angle)``,
            counts or frequencies (each matrix is normalised to sum 1 first).
        prop: ``"contrast"``, ``"dissimilarity"``, ``"homogeneity"``, ``"energy"``,
            ``"correlation"``, ``"ASM"``, ``"mean"``, ``"variance"``, ``"std"`` or
            ``"entropy"``.

    Returns:
        float64 ``(..., n_dist, n_angle)``, equal to ``skimage.feature.graycoprops``.

    Shape:
        ``(..., L, L, D, A) -> (..., D, A)``.

    Raises:
        ValueRangeError: an unknown ``prop``.
        ShapeError: ``P`` not shaped ``(..., L, L, D, A)``.

    Notes:
        With :math:`p(i, j)` the normalised matrix, :math:`\mu_i = \sum i\,p`,
        :math:`\sigma_i^2 = \sum (i - \mu_i)^2 p` (likewise for ``j``):
        contrast :math:`\sum (i - j)^2 p`, dissimilarity :math:`\sum |i - j| p`,
        homogeneity :math:`\sum p / (1 + (i - j)^2)`, ASM :math:`\sum p^2`,
        energy :math:`\sqrt{\mathrm{ASM}}`, correlation
        :math:`\sum (i - \mu_i)(j - \mu_j) p / (\sigma_i \sigma_j)` (1 when a
        :math:`\sigma` is below 1e-15), mean :math:`\mu_i`, variance :math:`\sigma_i^2`,
        std :math:`\sigma_i`, entropy :math:`-\sum p \ln p`.

    Example:
        >>> img = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 2], [2, 2, 3, 3]])
        >>> P = graycomatrix(img, [1], [0.0, math.pi / 2], levels=4)
        >>> graycoprops(P, "contrast")
        tensor([[0.5833, 1.0000]], dtype=torch.float64)

    References:
        Haralick, R. M., Shanmugam, K., Dinstein, I. "Textural features for image
        classification." IEEE Trans. Systems, Man, and Cybernetics SMC-3(6), 1973.
    """
    check_tensor(P, "P")
    check_choice(prop, "prop", _PROPS)
    if P.dim() < 4 or P.shape[-4] != P.shape[-3] or P.shape[-2] == 0 or P.shape[-1] == 0:
        raise ShapeError(
            f"P must be co-occurrence matrices shaped (..., L, L, D, A), got {describe(P)}"
        )
    p = P.to(torch.float64)
    total = p.sum(dim=(-4, -3), keepdim=True)
    p = p / torch.where(total == 0, torch.ones_like(total), total)  # (..., L, L, D, A)
    n = p.shape[-4]
    i = torch.arange(n, dtype=torch.float64, device=p.device)[:, None, None, None]
    j = i.transpose(0, 1)  # (1, L, 1, 1)

    def total_of(x: Tensor) -> Tensor:
        return x.sum(dim=(-4, -3))

    if prop == "contrast":
        return total_of(p * (i - j) ** 2)
    if prop == "dissimilarity":
        return total_of(p * (i - j).abs())
    if prop == "homogeneity":
        return total_of(p / (1 + (i - j) ** 2))
    if prop in ("ASM", "energy"):
        asm = total_of(p * p)
        return asm if prop == "ASM" else asm.sqrt()
    if prop == "entropy":
        return -total_of(torch.where(p > 0, p * torch.log(p.clamp(min=1e-300)), 0.0 * p))
    mean_i = total_of(p * i)  # (..., D, A)
    di = i - mean_i[..., None, None, :, :]  # (..., L, 1, D, A)
    var_i = total_of(p * di**2)
    if prop == "mean":
        return mean_i
    if prop == "variance":
        return var_i
    if prop == "std":
        return var_i.sqrt()
    # correlation
    mean_j = total_of(p * j)
    dj = j - mean_j[..., None, None, :, :]
    std_i, std_j = var_i.sqrt(), total_of(p * dj**2).sqrt()
    cov = total_of(p * di * dj)
    flat = (std_i < 1e-15) | (std_j < 1e-15)
    safe = torch.where(flat, torch.ones_like(std_i), std_i * std_j)
    return torch.where(flat, torch.ones_like(cov), cov / safe)
