"""Geometric augmentations: flips, quarter turns, rotation, resized crop and perspective.

Each moves the image, its masks, boxes and keypoints together by one 3x3 matrix per item
(:mod:`pixlearn.augment.geometry`). Flips and quarter turns are exact (:func:`torch.flip`,
:func:`torch.rot90`); the others resample the image bilinearly and the masks with the nearest
neighbour, filling with 0 outside the input. Boxes become the box around their mapped corners,
clipped to the image; none is removed here (see :class:`~pixlearn.augment.FilterBoxes`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_interval, check_range, pair
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.augment.base import Batch, Transform, rand, select, uniform
from pixlearn.augment.geometry import (
    flip_matrix,
    homography,
    map_targets,
    rot90_matrix,
    rotation_matrix,
    scale_translate_matrix,
    warp_batch,
)

__all__ = [
    "HorizontalFlip",
    "Perspective",
    "RandomResizedCrop",
    "Rotate",
    "Rotate90",
    "VerticalFlip",
]


class _Flip(Transform):
    _axis = 0  # 0: x (horizontal flip), 1: y (vertical flip)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        if not bool(apply.any()):
            return batch
        dim = -1 if self._axis == 0 else -2
        image = select(apply, batch.image.flip(dim), batch.image)  # (B, C, H, W)
        size = batch.image.shape[dim]
        out = map_targets(
            batch, flip_matrix(apply.cpu(), size, self._axis), batch.image.shape[-2:], apply.cpu()
        )
        if batch.masks is not None:
            on = apply.tolist()
            out = out.with_(
                masks=[m.flip(dim) if a else m for m, a in zip(batch.masks, on, strict=True)]
            )
        return out.with_(image=image)


class HorizontalFlip(_Flip):
    """Mirror left-right with probability ``p``: ``x' = W - x``, as ``torch.flip(image, [-1])``.

    Args:
        p: probability per item.

    Example:
        >>> img = torch.rand(3, 4, 5)
        >>> out = HorizontalFlip()({"image": img, "boxes": torch.tensor([[0.0, 0, 2, 1]])})
        >>> torch.equal(out["image"], img.flip(-1)), out["boxes"].tolist()
        (True, [[3.0, 0.0, 5.0, 1.0]])
    """

    _axis = 0


class VerticalFlip(_Flip):
    """Mirror top-bottom with probability ``p``: ``y' = H - y``, as ``torch.flip(image, [-2])``.

    Args:
        p: probability per item.

    Example:
        >>> img = torch.rand(1, 4, 5)
        >>> torch.equal(VerticalFlip()({"image": img})["image"], img.flip(-2))
        True
    """

    _axis = 1


class Rotate90(Transform):
    """Rotate by a random number of quarter turns, exactly as :func:`torch.rot90` on ``(H, W)``.

    Args:
        turns: the counter-clockwise quarter turns to choose from, uniformly (each 0..3).
        p: probability per item.

    A batch of non-square images cannot hold items of both orientations, so there one draw
    (decision and turn) is shared by the whole batch; the turns are per item for square images.

    Example:
        >>> img = torch.rand(2, 3, 4)
        >>> out = Rotate90(turns=(1,))({"image": img})["image"]
        >>> torch.equal(out, torch.rot90(img, 1, dims=(-2, -1)))
        True
    """

    def __init__(self, *, turns: Sequence[int] = (1, 2, 3), p: float = 1.0) -> None:
        super().__init__(p=p)
        if (
            not isinstance(turns, Sequence)
            or not turns
            or any(t not in (0, 1, 2, 3) for t in turns)
        ):
            raise ValueRangeError(f"turns must be a non-empty sequence of 0..3, got {turns!r}")
        self.turns = tuple(int(t) for t in turns)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        h, w = batch.image.shape[-2:]
        u = rand(batch.size, generator, torch.device("cpu"))  # (B,) chooses the turn
        k = self.turns_of(u).where(apply.cpu(), torch.zeros((), dtype=torch.long))  # (B,)
        if h != w and batch.size > 1:
            if bool((apply != apply[0]).any()):
                raise ShapeError(
                    "image: Rotate90 of a batch of non-square images needs one decision for "
                    "every item (it cannot be used inside OneOf for such a batch)"
                )
            k = k[:1].expand(batch.size)  # one shared turn
        if not bool((k > 0).any()):
            return batch
        out_hw = (w, h) if bool((k % 2).any()) else (h, w)
        image = batch.image.new_empty(batch.size, batch.image.shape[1], *out_hw)
        for turn in range(4):
            idx = (k == turn).nonzero().flatten().to(batch.image.device)
            if idx.numel():
                image[idx] = torch.rot90(batch.image[idx], turn, dims=(-2, -1))
        out = map_targets(batch, rot90_matrix(k, (h, w)), out_hw, k > 0)
        if batch.masks is not None:
            turned = [
                torch.rot90(m, int(t), dims=(-2, -1)) for m, t in zip(batch.masks, k, strict=True)
            ]
            out = out.with_(masks=turned)
        return out.with_(image=image)

    def turns_of(self, u: Tensor) -> Tensor:
        """The turn chosen by the uniforms ``u (B,)``: ``turns[floor(u * len(turns))]``."""
        table = torch.tensor(self.turns, dtype=torch.long)
        return table[(u * len(self.turns)).long().clamp(max=len(self.turns) - 1)]


class Rotate(Transform):
    """Rotate about the image centre by an angle drawn from ``U[degrees]`` (counter-clockwise).

    Args:
        degrees: ``(lo, hi)`` in degrees, or ``d`` for ``(-d, d)``; ``lo <= hi``.
        p: probability per item.

    The output keeps the input size; corners rotated out are lost, uncovered areas are 0.

    Example:
        >>> s = {"image": torch.rand(1, 8, 8), "boxes": torch.tensor([[2.0, 2, 4, 4]])}
        >>> out = Rotate(degrees=(90, 90))(s)
        >>> out["boxes"].round().tolist()
        [[2.0, 4.0, 4.0, 6.0]]
    """

    def __init__(self, degrees: float | tuple[float, float], *, p: float = 1.0) -> None:
        super().__init__(p=p)
        if not isinstance(degrees, (tuple, list)):
            d = check_range(degrees, "degrees", 0.0)
            degrees = (-d, d)
        self.degrees = check_interval(degrees, "degrees")

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        angle = uniform(*self.degrees, batch.size, generator, torch.device("cpu"))  # (B,)
        if not bool(apply.any()):
            return batch
        hw = tuple(batch.image.shape[-2:])
        m = rotation_matrix(angle * apply.cpu(), hw)  # (B, 3, 3), identity where not applied
        return warp_batch(batch, m, hw, apply)


class RandomResizedCrop(Transform):
    r"""Crop a random part of the image and resize it to ``size`` (scale and aspect jitter).

    Args:
        size: output ``(h, w)`` or ``n``.
        scale: ``(lo, hi)`` range of the crop's area as a fraction of the image's, in (0, 1].
        ratio: ``(lo, hi)`` range of the crop's aspect ratio ``w / h``, > 0.
        p: probability per item; an item not cropped is resized whole to ``size``.

    The crop's area fraction :math:`s \sim U[scale]` and :math:`\log r \sim U[\log ratio]`
    give :math:`w = \sqrt{s A r}`, :math:`h = \sqrt{s A / r}` (clamped to the image), placed
    uniformly. The resize is bilinear without anti-aliasing.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> RandomResizedCrop(4)({"image": torch.rand(3, 16, 16)}, generator=g)["image"].shape
        torch.Size([3, 4, 4])

    References:
        Szegedy, C. et al. "Going deeper with convolutions." CVPR 2015 (the crop augmentation).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.size = pair(size, "size")
        self.scale = check_interval(scale, "scale", 0.0, 1.0, low_inclusive=False)
        self.ratio = check_interval(ratio, "ratio", 0.0, low_inclusive=False)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        cpu, n = torch.device("cpu"), batch.size
        h, w = batch.image.shape[-2:]
        s = uniform(*self.scale, n, generator, cpu)  # (B,)
        r = torch.exp(uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), n, generator, cpu))
        # w = sqrt(s A r), h = sqrt(s A / r), at most the image
        cw = torch.sqrt(s * h * w * r).clamp(max=w)
        ch = torch.sqrt(s * h * w / r).clamp(max=h)
        x0 = rand(n, generator, cpu) * (w - cw)
        y0 = rand(n, generator, cpu) * (h - ch)
        on = apply.cpu()
        cw, ch = torch.where(on, cw, float(w)), torch.where(on, ch, float(h))
        x0, y0 = x0 * on, y0 * on
        oh, ow = self.size
        # x' = (x - x0) ow / cw, y' = (y - y0) oh / ch
        sx, sy = ow / cw, oh / ch
        m = scale_translate_matrix(sx, sy, -x0 * sx, -y0 * sy)
        if not bool(apply.any()) and (oh, ow) == (h, w):
            return batch
        return warp_batch(batch, m, (oh, ow), apply)


class Perspective(Transform):
    """A random perspective: each image corner moves inwards by up to ``distortion`` / 2 of
    the image size, and the homography taking the corners there warps the sample.

    Args:
        distortion: strength in ``[0, 1]``.
        p: probability per item.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = Perspective(0.3)({"image": torch.rand(1, 8, 8)}, generator=g)
        >>> out["image"].shape
        torch.Size([1, 8, 8])
    """

    def __init__(self, distortion: float = 0.5, *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.distortion = check_range(distortion, "distortion", 0.0, 1.0)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        h, w = batch.image.shape[-2:]
        n = batch.size
        d = rand(8 * n, generator, torch.device("cpu")).view(n, 4, 2) * self.distortion / 2
        if not bool(apply.any()):
            return batch
        src = torch.tensor([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]], dtype=torch.float64)
        inward = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
        # each corner moves inwards by d * (W, H), only for the items transformed
        dst = src + inward * d * torch.tensor([w, h]) * apply.cpu().view(-1, 1, 1)  # (B, 4, 2)
        m = homography(src.expand(n, 4, 2), dst)  # (B, 3, 3)
        return warp_batch(batch, m, (h, w), apply)
