"""Photometric augmentations: brightness, contrast, gamma, hue and saturation.

They change the image values only (boxes, masks and keypoints pass through unchanged), draw one
parameter per batch item, and clip the result to ``[0, 1]``, the range of a float image.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_interval, check_range
from pixlearn._core.errors import ShapeError
from pixlearn.augment.base import Batch, Transform, select, uniform

__all__ = ["Brightness", "Contrast", "Gamma", "HueSaturation", "PointTransform"]


def _interval(
    value: float | tuple[float, float],
    name: str,
    low: float | None,
    centre: float,
    high: float | None = None,
) -> tuple[float, float]:
    """``(lo, hi)`` as given, or ``centre -+ d`` for a single number ``d``, within bounds."""
    if isinstance(value, (tuple, list)):
        return check_interval(value, name, low, high)
    d = check_range(value, name, 0.0)
    return check_interval((centre - d, centre + d), name, low, high)


class PointTransform(Transform):
    """Base of the value transforms: draw one parameter per item, change, clip to [0, 1]."""

    _range: tuple[float, float]

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image  # (B, C, H, W)
        v = uniform(*self._range, batch.size, generator, image.device).to(image.dtype)  # (B,)
        if not bool(apply.any()):
            return batch
        out = self.transform(image, v.view(-1, 1, 1, 1)).clamp(0.0, 1.0)
        return batch.with_(image=select(apply, out, image))

    def transform(self, image: Tensor, v: Tensor) -> Tensor:
        """The change for the parameters ``v (B, 1, 1, 1)``, before clipping."""
        raise NotImplementedError


class Brightness(PointTransform):
    """Add ``b ~ U[delta]`` to every value: ``y = clip(x + b, 0, 1)``.

    Args:
        delta: ``(lo, hi)``, or ``d`` for ``(-d, d)``.
        p: probability per item.

    Example:
        >>> out = Brightness((0.25, 0.25))({"image": torch.full((1, 2, 2), 0.5)})["image"]
        >>> out.flatten().tolist()
        [0.75, 0.75, 0.75, 0.75]
    """

    def __init__(self, delta: float | tuple[float, float] = 0.2, *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.delta = self._range = _interval(delta, "delta", None, 0.0)

    def transform(self, image: Tensor, v: Tensor) -> Tensor:
        # y = x + b
        return image + v


class Contrast(PointTransform):
    r"""Scale the deviation from the item's mean by ``c ~ U[factor]``.

    Args:
        factor: ``(lo, hi)`` with ``lo >= 0``, or ``d`` for ``(1 - d, 1 + d)``.
        p: probability per item.

    Notes:
        :math:`y = \mathrm{clip}(\mu + c\,(x - \mu), 0, 1)`, :math:`\mu` the mean of the item
        over all its channels and pixels (``c = 0`` gives a flat image, ``c = 1`` the input).

    Example:
        >>> img = torch.tensor([[[0.25, 0.75]]])
        >>> Contrast((2.0, 2.0))({"image": img})["image"].tolist()
        [[[0.0, 1.0]]]
    """

    def __init__(self, factor: float | tuple[float, float] = 0.2, *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.factor = self._range = _interval(factor, "factor", 0.0, 1.0)

    def transform(self, image: Tensor, v: Tensor) -> Tensor:
        mu = image.mean(dim=(-3, -2, -1), keepdim=True)  # (B, 1, 1, 1)
        # y = mu + c (x - mu)
        return mu + v * (image - mu)


class Gamma(PointTransform):
    r"""Power law with :math:`\gamma \sim U[gamma]`: :math:`y = x^\gamma` (< 1 brightens).

    Args:
        gamma: ``(lo, hi)`` with ``lo > 0``.
        p: probability per item.

    Notes:
        The input is clipped to ``[0, 1]`` first, so the power stays real.

    Example:
        >>> Gamma((2.0, 2.0))({"image": torch.full((1, 1, 1), 0.5)})["image"].item()
        0.25
    """

    def __init__(self, gamma: tuple[float, float] = (0.7, 1.5), *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.gamma = self._range = check_interval(gamma, "gamma", 0.0, low_inclusive=False)

    def transform(self, image: Tensor, v: Tensor) -> Tensor:
        # y = x^gamma
        return image.clamp(0.0, 1.0) ** v


def _rgb_to_hsv(rgb: Tensor) -> Tensor:
    """RGB ``(B, 3, H, W)`` in [0, 1] to HSV with the hue in [0, 1) (hexcone model)."""
    r, g, b = rgb.unbind(-3)
    v = rgb.amax(dim=-3)  # (B, H, W)
    c = v - rgb.amin(dim=-3)  # chroma
    safe = torch.where(c > 0, c, torch.ones_like(c))
    # hue sector by the largest component: (g - b)/c, 2 + (b - r)/c, 4 + (r - g)/c, over 6
    h = torch.where(
        v == r, ((g - b) / safe) % 6, torch.where(v == g, 2 + (b - r) / safe, 4 + (r - g) / safe)
    )
    h = torch.where(c > 0, h / 6.0, torch.zeros_like(h))
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], dim=-3)


def _hsv_to_rgb(hsv: Tensor) -> Tensor:
    """Inverse of :func:`_rgb_to_hsv`: ``f(n) = V - V S max(0, min(k, 4 - k, 1))``,
    ``k = (n + 6 H) mod 6`` for ``n = 5, 3, 1`` (R, G, B)."""
    h, s, v = (t.unsqueeze(-3) for t in hsv.unbind(-3))  # (B, 1, H, W) each
    n = torch.tensor([5.0, 3.0, 1.0], dtype=hsv.dtype, device=hsv.device).view(3, 1, 1)
    k = (n + 6.0 * h) % 6.0  # (B, 3, H, W)
    return v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


class HueSaturation(Transform):
    r"""Rotate the hue by ``dh ~ U[hue]`` (fraction of the colour circle) and scale the
    saturation by ``f ~ U[saturation]``, in HSV; RGB images ``(..., 3, H, W)`` only.

    Args:
        hue: ``(lo, hi)`` within ``[-0.5, 0.5]``, or ``d`` for ``(-d, d)``.
        saturation: ``(lo, hi)`` with ``lo >= 0``, or ``d`` for ``(1 - d, 1 + d)``.
        p: probability per item.

    Notes:
        :math:`H' = (H + dh) \bmod 1`, :math:`S' = \mathrm{clip}(f S, 0, 1)`, :math:`V' = V`;
        the input is clipped to ``[0, 1]`` first, so the result stays in ``[0, 1]``.

    Example:
        >>> red = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
        >>> out = HueSaturation(hue=(1 / 3, 1 / 3), saturation=(1, 1))({"image": red})
        >>> out["image"].flatten().tolist()  # red turned a third of the circle: green
        [0.0, 1.0, 0.0]

    References:
        Smith, A. R. "Color gamut transform pairs." SIGGRAPH 1978.
    """

    def __init__(
        self,
        hue: float | tuple[float, float] = 0.05,
        saturation: float | tuple[float, float] = 0.2,
        *,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.hue = _interval(hue, "hue", -0.5, 0.0, 0.5)
        self.saturation = _interval(saturation, "saturation", 0.0, 1.0)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image
        dev = image.device
        dh = uniform(*self.hue, batch.size, generator, dev).to(image.dtype).view(-1, 1, 1)
        f = uniform(*self.saturation, batch.size, generator, dev).to(image.dtype).view(-1, 1, 1)
        if image.shape[-3] != 3:
            raise ShapeError(
                f"image must have 3 (RGB) channels for HueSaturation, got {tuple(image.shape)}"
            )
        if not bool(apply.any()):
            return batch
        h, s, v = _rgb_to_hsv(image.clamp(0.0, 1.0)).unbind(-3)  # (B, H, W) each
        # H' = (H + dh) mod 1, S' = clip(f S, 0, 1)
        hsv = torch.stack([(h + dh) % 1.0, (s * f).clamp(0.0, 1.0), v], dim=-3)
        out = _hsv_to_rgb(hsv).clamp(0.0, 1.0)
        return batch.with_(image=select(apply, out, image))
