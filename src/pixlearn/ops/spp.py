"""Spatial pyramid pooling (SPP-net): a fixed-length summary of a feature map of any size.

The map is pooled as a whole (level 1), in 2 x 2 quarters (level 2), in 4 x 4 sixteenths
(level 4), ...; the pooled values of all levels are concatenated into one vector whose length
depends only on the channels and the levels, not on the map's height and width, so a network
with fully connected layers can take images of any size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_choice, check_image, check_int
from pixlearn._core.errors import ShapeError

__all__ = ["SpatialPyramidPool", "spatial_pyramid_pool"]


def spatial_pyramid_pool(
    features: Tensor, levels: Sequence[int] = (1, 2, 4), *, mode: str = "max"
) -> Tensor:
    r"""Pool a feature map over an ``n x n`` grid for every ``n`` in ``levels`` and concatenate.

    Args:
        features: feature maps, shape ``(..., C, H, W)``, float, finite, with
            ``H, W >= max(levels)`` so that every bin holds a distinct window.
        levels: the grid sizes ``n`` (each >= 1), in the order they are concatenated.
        mode: ``"max"`` (as in SPP-net) or ``"avg"`` pooling within each bin.

    Returns:
        ``(..., C * sum(n^2))``: for each level in turn, its ``(C, n, n)`` grid flattened
        (channel-major), dtype of ``features``.

    Shape:
        ``(..., C, H, W)`` -> ``(..., C * sum(n ** 2 for n in levels))``.

    Notes:
        For an ``a x a`` map and an ``n x n`` level, SPP-net pools windows of size
        :math:`\lceil a / n \rceil` with stride :math:`\lfloor a / n \rfloor`: bin :math:`i`
        covers :math:`[i \lfloor a/n \rfloor, i \lfloor a/n \rfloor + \lceil a/n \rceil)`
        (rows and columns each by their own size). The windows may overlap, and when
        :math:`a` is not a multiple of :math:`n` the last few cells may be left out (e.g.
        :math:`a = 7, n = 4`: windows of 2 at stride 1 cover cells 0..4).

    Example:
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> spatial_pyramid_pool(x, (1, 2))
        tensor([[15.,  5.,  7., 13., 15.]])

    References:
        He, K., Zhang, X., Ren, S., Sun, J. "Spatial Pyramid Pooling in Deep Convolutional
        Networks for Visual Recognition." ECCV 2014 / TPAMI 2015.
    """
    check_image(features, "features", min_dims=3, floating=True)
    check_choice(mode, "mode", ("max", "avg"))
    if isinstance(levels, int) or len(levels) == 0:
        raise ShapeError(f"levels must be a non-empty sequence of ints, got {levels!r}")
    ns = [check_int(n, "levels", min_value=1) for n in levels]
    *lead, c, h, w = features.shape
    if min(h, w) < max(ns):
        raise ShapeError(
            f"features must be at least {max(ns)}x{max(ns)} (the finest level of levels="
            f"{tuple(ns)}), got {h}x{w}"
        )
    x = features.reshape(-1, c, h, w)  # (N, C, H, W)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    parts = []
    for n in ns:
        # window ceil(a / n), stride floor(a / n); the first n windows are the bins
        size = (math.ceil(h / n), math.ceil(w / n))
        stride = (h // n, w // n)
        pooled = pool(x, size, stride)[..., :n, :n]  # (N, C, n, n)
        parts.append(pooled.flatten(1))  # (N, C * n * n)
    return torch.cat(parts, 1).reshape(*lead, -1)


class SpatialPyramidPool(nn.Module):
    """Module form of :func:`spatial_pyramid_pool`; holds the levels and the mode.

    Example:
        >>> spp = SpatialPyramidPool((1, 2, 4))
        >>> spp(torch.rand(2, 8, 13, 17)).shape
        torch.Size([2, 168])
    """

    def __init__(self, levels: Sequence[int] = (1, 2, 4), *, mode: str = "max") -> None:
        super().__init__()
        self.levels = tuple(check_int(n, "levels", min_value=1) for n in levels)
        self.mode = check_choice(mode, "mode", ("max", "avg"))

    def forward(self, features: Tensor) -> Tensor:
        return spatial_pyramid_pool(features, self.levels, mode=self.mode)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, mode={self.mode!r}"
