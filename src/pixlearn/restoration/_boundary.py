"""Padding by index maps, for pads of any width (``torch.nn.functional.pad`` refuses a reflect
pad wider than the image), with NumPy's ``np.pad`` mode names; the colour-axis handling the
denoisers share."""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_int
from pixlearn._core.errors import ShapeError

__all__ = ["PAD_MODES", "channels_first", "pad2d"]

PAD_MODES = ("constant", "edge", "symmetric", "reflect", "wrap")


def _index(n: int, before: int, after: int, mode: str, device: torch.device) -> Tensor:
    """Source index of each position ``-before .. n - 1 + after`` of a padded axis of length n.

    ``reflect`` mirrors about the edge samples (period ``2n - 2``), ``symmetric`` about the
    edges themselves (period ``2n``), ``wrap`` is periodic, ``edge`` repeats the end samples;
    ``constant`` positions outside get ``-1``.
    """
    i = torch.arange(-before, n + after, device=device)  # (before + n + after,)
    if mode == "wrap":
        return i.remainder(n)
    if mode == "edge":
        return i.clamp(0, n - 1)
    if mode == "symmetric":
        m = i.remainder(2 * n)
        return torch.where(m < n, m, 2 * n - 1 - m)
    if mode == "reflect":
        if n == 1:
            return torch.zeros_like(i)
        m = i.remainder(2 * n - 2)
        return torch.where(m < n, m, 2 * n - 2 - m)
    return torch.where((i >= 0) & (i < n), i, -1)  # constant


def pad2d(x: Tensor, pad: int, mode: str, value: float = 0.0) -> Tensor:
    """Pad the last two dims of ``x`` by ``pad`` on every side; ``(..., H, W) -> (..., H+2p,
    W+2p)``. ``value`` fills the ``"constant"`` mode."""
    h, w = x.shape[-2:]
    ri = _index(h, pad, pad, mode, x.device)
    ci = _index(w, pad, pad, mode, x.device)
    if mode != "constant":
        return x[..., ri[:, None], ci[None, :]]
    out = x.new_full((*x.shape[:-2], h + 2 * pad, w + 2 * pad), value)
    out[..., pad : pad + h, pad : pad + w] = x
    return out


def channels_first(x: Tensor, channel_axis: int | None) -> tuple[Tensor, int | None]:
    """Move the colour axis ``channel_axis`` of ``x`` to ``-3``; returns ``(x, axis)``.

    ``axis`` is ``channel_axis`` made non-negative (``None`` when no axis is given, ``x`` then
    unchanged); it must name one of the non-spatial axes (not the last two).
    """
    if channel_axis is None:
        return x, None
    ax = check_int(channel_axis, "channel_axis")
    n = x.dim()
    if not -n <= ax < n or ax % n >= n - 2:
        raise ShapeError(
            f"channel_axis must name a non-spatial axis of image (one of the first {n - 2}), "
            f"got {channel_axis} for {tuple(x.shape)}"
        )
    return x.movedim(ax % n, -3), ax % n  # (..., C, H, W)
