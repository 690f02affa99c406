"""Dense local descriptors: one descriptor per patch of a regular grid, as bag-of-words and
Fisher-vector pipelines use them (no keypoint detection)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_positive, describe
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.filters import gaussian_derivative2d

__all__ = ["DESCRIPTOR_KINDS", "dense_descriptors", "dense_grid_size"]

#: the descriptor kinds :func:`dense_descriptors` computes
DESCRIPTOR_KINDS: tuple[str, ...] = ("sift", "raw")


def dense_grid_size(height: int, width: int, *, patch: int = 8, step: int = 4) -> tuple[int, int]:
    """The number of grid rows and columns :func:`dense_descriptors` uses on an image.

    Args:
        height: image height, >= ``patch``.
        width: image width, >= ``patch``.
        patch: side of the square patch.
        step: grid spacing in pixels.

    Returns:
        ``(rows, cols)`` with ``rows = (height - patch) // step + 1`` (likewise ``cols``).

    Example:
        >>> dense_grid_size(32, 40, patch=8, step=4)
        (7, 9)
    """
    return (height - patch) // step + 1, (width - patch) // step + 1


def dense_descriptors(
    images: Tensor,
    *,
    patch: int = 8,
    step: int = 4,
    kind: str = "sift",
    cells: int = 4,
    bins: int = 8,
    sigma: float = 1.0,
    clip: float = 0.2,
) -> Tensor:
    r"""Describe every ``patch`` x ``patch`` window of a regular grid with one vector.

    Args:
        images: shape ``(..., C, H, W)``, float, finite; channels are averaged to gray. ``H`` and
            ``W`` must be at least ``patch``.
        patch: side of the square patch in pixels; for ``"sift"`` a multiple of ``cells``.
        step: grid spacing in pixels (``step < patch`` gives overlapping patches).
        kind: ``"sift"``: a SIFT-like histogram of gradient orientations, ``cells`` x ``cells``
            spatial cells of ``bins`` orientations each (4x4x8 = 128-D by default);
            ``"raw"``: the patch's pixels, minus their mean and divided by their standard
            deviation (``patch**2``-D).
        cells: spatial cells per patch side (``"sift"`` only).
        bins: orientation bins over :math:`[0, 2\pi)` (``"sift"`` only).
        sigma: scale of the Gaussian derivative filters giving the gradient (``"sift"`` only).
        clip: SIFT's clipping of normalised entries before renormalising (``"sift"`` only);
            ``1.0`` disables it.

    Returns:
        The descriptors, shape ``(..., L, D)`` with ``L = rows * cols`` grid positions in
        row-major order (:func:`dense_grid_size`) and ``D = cells * cells * bins`` (``"sift"``,
        ordered cell row, cell column, orientation) or ``patch * patch`` (``"raw"``). A flat
        patch gives the zero vector (for ``"sift"``: gradient magnitudes up to 100 machine
        epsilons of the dtype count as zero, they are the filters' rounding noise).

    Shape:
        ``(..., C, H, W) -> (..., L, D)``.

    Raises:
        ShapeError: fewer than 3 dimensions, an image smaller than ``patch``, a ``patch`` that
            ``cells`` does not divide.
        ValueRangeError: NaN/Inf, a non-positive option, an unknown ``kind``.
        WrongTypeError: integer images.

    Notes:
        For ``"sift"`` the gradient :math:`(g_x, g_y)` of the Gaussian-smoothed image gives each
        pixel a magnitude :math:`m = \sqrt{g_x^2 + g_y^2}` and an angle
        :math:`\theta = \operatorname{atan2}(g_y, g_x)`; :math:`m` is shared between the two
        orientation bins nearest :math:`\theta` by linear interpolation. Each cell sums its
        pixels' votes; the patch vector :math:`v` is normalised
        :math:`v \leftarrow v / \lVert v \rVert_2`, clipped at ``clip`` and normalised again
        (Lowe 2004). Unlike keypoint SIFT there is no rotation to a dominant orientation, no
        Gaussian window and no trilinear spatial interpolation (the dense variant of Bosch et
        al. 2007, as in the bag-of-words papers). Everything is computed at once: orientation
        maps, a box sum per cell (``avg_pool2d``), and ``Tensor.unfold`` views with a stride of one
        cell gathering the ``cells x cells`` cell sums of every patch.

    Example:
        >>> d = dense_descriptors(torch.rand(2, 1, 32, 32))
        >>> d.shape  # 7 x 7 grid positions, 4 x 4 cells x 8 orientations
        torch.Size([2, 49, 128])
        >>> dense_descriptors(torch.rand(1, 16, 16), kind="raw", step=8).shape
        torch.Size([4, 64])

    References:
        Lowe, D. G. "Distinctive image features from scale-invariant keypoints." IJCV 60(2),
        2004. Bosch, A., Zisserman, A. and Munoz, X. "Image classification using random forests
        and ferns." ICCV 2007.
    """
    check_image(images, "images", min_dims=3, floating=True)
    patch = check_int(patch, "patch", min_value=1)
    step = check_int(step, "step", min_value=1)
    check_choice(kind, "kind", DESCRIPTOR_KINDS)
    cells = check_int(cells, "cells", min_value=1)
    bins = check_int(bins, "bins", min_value=1)
    sigma = check_positive(sigma, "sigma")
    clip = check_positive(clip, "clip")
    *lead, _, H, W = images.shape
    if min(H, W) < patch:
        raise ShapeError(
            f"images must be at least patch x patch = {patch}x{patch}, got {describe(images)}"
        )
    if kind == "sift" and patch % cells:
        raise ShapeError(f"patch must be a multiple of cells = {cells} for 'sift', got {patch}")
    gray = images.mean(dim=-3).reshape(-1, 1, H, W)  # (B, 1, H, W)
    if kind == "raw":
        out = _raw(gray, patch, step)
    else:
        out = _sift(gray, patch, step, cells, bins, sigma, clip)
    return out.reshape(*lead, out.shape[-2], out.shape[-1])


def _raw(gray: Tensor, patch: int, step: int) -> Tensor:
    """Zero-mean, unit-variance pixels of every patch: ``(B, 1, H, W) -> (B, L, patch**2)``."""
    B = gray.shape[0]
    win = gray[:, 0].unfold(1, patch, step).unfold(2, patch, step)  # (B, ny, nx, P, P) view
    v = win.reshape(B, win.shape[1] * win.shape[2], patch * patch)  # (B, L, P*P)
    v = v - v.mean(dim=-1, keepdim=True)
    std = v.pow(2).mean(dim=-1, keepdim=True).sqrt()
    # a flat patch (std = 0) stays the zero vector instead of 0 / 0
    return v / torch.where(std > _tiny(v), std, torch.ones_like(std))


def _sift(
    gray: Tensor, patch: int, step: int, cells: int, bins: int, sigma: float, clip: float
) -> Tensor:
    """Dense SIFT-like histograms: ``(B, 1, H, W) -> (B, L, cells * cells * bins)``."""
    B, _, H, W = gray.shape
    gy = gaussian_derivative2d(gray, sigma, (1, 0))  # (B, 1, H, W)
    gx = gaussian_derivative2d(gray, sigma, (0, 1))
    mag = torch.sqrt(gx * gx + gy * gy)
    # rounding noise of the filters on a flat region is not an orientation: drop it
    mag = torch.where(mag > 100 * torch.finfo(mag.dtype).eps, mag, torch.zeros_like(mag))
    # theta in [0, 2 pi) measured in bins: position b = theta / (2 pi / bins)
    theta = torch.atan2(gy, gx).remainder(2 * math.pi)
    pos = theta * (bins / (2 * math.pi))
    low = pos.floor()
    frac = pos - low  # share going to the next bin up
    low_i = low.long().remainder(bins)
    high_i = (low_i + 1).remainder(bins)
    votes = torch.zeros(B, bins, H, W, dtype=gray.dtype, device=gray.device)  # (B, bins, H, W)
    votes.scatter_add_(1, low_i, mag * (1 - frac))
    votes.scatter_add_(1, high_i, mag * frac)
    c = patch // cells
    # sum of the votes in every c x c cell, anchored at its top-left pixel: (B, bins, H-c+1, W-c+1)
    cell_sums = F.avg_pool2d(votes, kernel_size=c, stride=1) * (c * c)
    # the cells of one patch lie c apart: windows spanning c * (cells - 1) + 1 anchors, every
    # c-th of them (Tensor.unfold makes strided views, nothing is copied until the reshape)
    span = c * (cells - 1) + 1
    win = cell_sums.unfold(2, span, step).unfold(3, span, step)  # (B, bins, ny, nx, span, span)
    win = win[..., ::c, ::c]  # (B, bins, ny, nx, cells, cells)
    L = win.shape[2] * win.shape[3]
    v = win.permute(0, 2, 3, 4, 5, 1).reshape(B, L, cells * cells * bins)  # (B, L, D)
    # v / ||v||, clip large entries (lighting saturation), then v / ||v|| again
    v = _unit(v)
    if clip < 1.0:
        v = _unit(v.clamp(max=clip))
    return v


def _tiny(x: Tensor) -> float:
    return float(torch.finfo(x.dtype).tiny) ** 0.5


def _unit(v: Tensor) -> Tensor:
    n = v.norm(dim=-1, keepdim=True)
    return v / torch.where(n > _tiny(v), n, torch.ones_like(n))


def _describe_images(
    images: Tensor | Sequence[Tensor],
    name: str,
    descriptor: str | Callable[[Tensor], Tensor],
    *,
    patch: int,
    step: int,
) -> list[Tensor]:
    """Descriptors of a batch ``(N, C, H, W)`` or a sequence of ``(C, H, W)`` images.

    Helper of the encoders (bag of words, Fisher vectors): returns chunks ``(n, L, D)``, one for
    a batch tensor, one per image for a sequence (images may then differ in size). ``descriptor``
    is a :data:`DESCRIPTOR_KINDS` name or a callable ``(n, C, H, W) -> (n, L, D)``.
    """
    if isinstance(images, Tensor):
        check_image(images, name, min_dims=4, max_dims=4, floating=True, allow_empty=True)
        batches = [images] if images.shape[0] else []
    elif isinstance(images, Sequence) and not isinstance(images, str):
        batches = []
        for i, im in enumerate(images):
            check_image(im, f"{name}[{i}]", min_dims=3, max_dims=3, floating=True)
            batches.append(im[None])
    else:
        raise WrongTypeError(
            f"{name} must be a (N, C, H, W) tensor or a sequence of (C, H, W) tensors, "
            f"got {describe(images)}"
        )
    out = []
    for b in batches:
        if callable(descriptor):
            d = descriptor(b)
            if not isinstance(d, Tensor) or d.dim() != 3 or d.shape[0] != b.shape[0]:
                raise ShapeError(
                    f"descriptor must return (n, L, D) for n images, got {describe(d)} "
                    f"for {b.shape[0]} images"
                )
        else:
            d = dense_descriptors(b, patch=patch, step=step, kind=descriptor)
        out.append(d)
    if len({d.shape[-1] for d in out}) > 1:
        raise ShapeError(f"descriptor gave vectors of different lengths on the {name}")
    return out
