"""A grid of first-layer convolution filters: what the network looks for in raw pixels."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_finite, check_int, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError

__all__ = ["filter_grid"]


def filter_grid(
    weight: Tensor | nn.Conv2d,
    *,
    ncols: int | None = None,
    padding: int = 1,
    pad_value: float = 1.0,
) -> Tensor:
    r"""Tile the filters of a convolution into one image, each filter stretched to [0, 1].

    Args:
        weight: the filters, shape ``(C_out, C_in, kH, kW)``, float (or a ``nn.Conv2d``, whose
            ``weight`` is used).
        ncols: tiles per row; ``None`` is ``ceil(sqrt(n_tiles))``.
        padding: pixels of ``pad_value`` between tiles and around the grid.
        pad_value: value of the separating pixels, in [0, 1].

    Returns:
        The grid image, ``(3, H, W)`` for RGB filters (``C_in == 3``), else ``(1, H, W)``,
        in the dtype of ``weight``, detached from autograd.

    Shape:
        With ``n`` tiles, ``r = ceil(n / ncols)`` rows:
        ``H = r (kH + p) + p`` and ``W = ncols (kW + p) + p``. For ``C_in`` 1 or 3 there is one
        tile per filter (``n = C_out``); otherwise each input channel of each filter is its own
        grey tile (``n = C_out C_in``; filter ``o`` fills the row-major tiles
        ``o C_in`` to ``o C_in + C_in - 1``).

    Notes:
        Each filter :math:`w` is shown as :math:`(w - \min w) / (\max w - \min w)`, the min and
        max over all its weights (over all input channels, so an RGB filter keeps its colour
        balance); a constant filter is shown as 0.5. Zeiler and Fergus used such grids to find
        "dead" and aliased first-layer filters of AlexNet and to motivate ZFNet's smaller stride.

    Example:
        >>> grid = filter_grid(torch.randn(6, 1, 5, 5))
        >>> grid.shape, float(grid.min()), float(grid.max())
        (torch.Size([1, 13, 19]), 0.0, 1.0)

    References:
        Zeiler, M. D., Fergus, R. "Visualizing and understanding convolutional networks."
        ECCV 2014.
    """
    if isinstance(weight, nn.Conv2d):
        weight = weight.weight
    check_tensor(weight, "weight")
    if weight.dim() != 4 or not weight.is_floating_point() or weight.numel() == 0:
        raise ShapeError(
            "weight must be a non-empty float tensor of shape (C_out, C_in, kH, kW), "
            f"got {describe(weight)}"
        )
    check_finite(weight, "weight")
    pad = check_int(padding, "padding", min_value=0)
    fill = check_range(pad_value, "pad_value", 0.0, 1.0)
    w = weight.detach()
    c_out, c_in, kh, kw = w.shape
    # per-filter min-max stretch: (w - min) / (max - min), constant filters -> 0.5
    flat = w.reshape(c_out, -1)  # (C_out, C_in kH kW)
    lo = flat.amin(dim=1).view(-1, 1, 1, 1)
    hi = flat.amax(dim=1).view(-1, 1, 1, 1)
    span = hi - lo
    tiles = torch.where(span > 0, (w - lo) / span.clamp_min(torch.finfo(w.dtype).tiny), 0.5)
    if c_in not in (1, 3):
        tiles = tiles.reshape(c_out * c_in, 1, kh, kw)  # one grey tile per (filter, channel)
    n, c = tiles.shape[:2]
    cols = math.ceil(math.sqrt(n)) if ncols is None else check_int(ncols, "ncols", min_value=1)
    rows = math.ceil(n / cols)
    grid = torch.full(
        (c, rows * (kh + pad) + pad, cols * (kw + pad) + pad), fill, dtype=w.dtype, device=w.device
    )
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = pad + r * (kh + pad), pad + q * (kw + pad)
        grid[:, top : top + kh, left : left + kw] = tiles[i]
    return grid
