"""Pipelines: :class:`Compose` (in order), :class:`OneOf` (one of several per item), and
:class:`FilterBoxes`, the step that drops boxes (with their labels, masks and keypoints) that
fell out of the image."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_positive, check_range, describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.augment.base import Batch, Transform, rand

__all__ = ["Compose", "FilterBoxes", "OneOf"]


def _check_transforms(transforms: Sequence[Transform], name: str) -> list[Transform]:
    if not isinstance(transforms, Sequence):
        raise WrongTypeError(f"{name} must be a sequence of transforms, got {describe(transforms)}")
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise WrongTypeError(f"{name}[{i}] must be a Transform, got {describe(t)}")
    return list(transforms)


class Compose(Transform):
    """Apply ``transforms`` one after the other (the whole pipeline with probability ``p``).

    Args:
        transforms: the steps, in order.
        p: probability per item of running the pipeline at all.

    Example:
        >>> from pixlearn.augment import Brightness, HorizontalFlip
        >>> pipe = Compose([HorizontalFlip(p=0.5), Brightness((-0.1, 0.1))])
        >>> sample = {"image": torch.rand(3, 8, 8), "boxes": torch.zeros(0, 4)}
        >>> a = pipe(sample, generator=torch.Generator().manual_seed(1))
        >>> b = pipe(sample, generator=torch.Generator().manual_seed(1))
        >>> torch.equal(a["image"], b["image"]), a["boxes"].shape
        (True, torch.Size([0, 4]))
    """

    def __init__(self, transforms: Sequence[Transform], *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.transforms = _check_transforms(transforms, "transforms")

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        for t in self.transforms:
            batch = t.run(batch, generator, apply)
        return batch


class OneOf(Transform):
    """Apply one of ``transforms`` per item, chosen with probabilities ``weights``.

    Args:
        transforms: the candidates.
        weights: relative weights (>= 0, not all 0); equal by default.
        p: probability per item of applying any.

    Every candidate draws its parameters for every item (the random stream does not depend on
    the choice) and is applied to the items that chose it.

    Example:
        >>> from pixlearn.augment import HorizontalFlip, VerticalFlip
        >>> pick = OneOf([HorizontalFlip(), VerticalFlip()])
        >>> img = torch.rand(1, 4, 4)
        >>> out = pick({"image": img}, generator=torch.Generator().manual_seed(0))["image"]
        >>> torch.equal(out, img.flip(-1)) or torch.equal(out, img.flip(-2))
        True
    """

    def __init__(
        self,
        transforms: Sequence[Transform],
        *,
        weights: Sequence[float] | None = None,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.transforms = _check_transforms(transforms, "transforms")
        if not self.transforms:
            raise ValueRangeError("transforms must hold at least one transform, got none")
        if weights is None:
            weights = [1.0] * len(self.transforms)
        if len(weights) != len(self.transforms):
            raise ValueRangeError(
                f"weights must have one entry per transform ({len(self.transforms)}), "
                f"got {len(weights)}"
            )
        w = [check_positive(v, f"weights[{i}]", strict=False) for i, v in enumerate(weights)]
        if sum(w) <= 0:
            raise ValueRangeError(f"weights must not all be 0, got {list(weights)!r}")
        self.weights = [v / sum(w) for v in w]

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        u = rand(batch.size, generator, apply.device)  # (B,) chooses the candidate
        # candidate i takes u in [c_{i-1}, c_i), c the cumulative weights
        edges = torch.tensor(self.weights, dtype=torch.float64).cumsum(0).to(apply.device)
        choice = torch.searchsorted(edges, u, right=True).clamp(max=len(self.transforms) - 1)
        for i, t in enumerate(self.transforms):
            batch = t.run(batch, generator, apply & (choice == i))
        return batch


class FilterBoxes(Transform):
    """Drop the boxes that fell (mostly) out of the image, with their labels, masks, keypoints.

    A box is kept when its (clipped) area is > 0 and >= ``min_area``, and its visible fraction,
    the clipped area over the area of the same box mapped without clipping, is
    >= ``min_visibility`` (the unclipped box is tracked through the pipeline from its entry).

    Args:
        min_area: least area in pixels^2, >= 0.
        min_visibility: least visible fraction, in ``[0, 1]``.

    Example:
        >>> boxes = torch.tensor([[0.0, 0, 4, 4], [8, 8, 8, 8]])
        >>> s = {"image": torch.rand(1, 8, 8), "boxes": boxes, "labels": torch.tensor([1, 2])}
        >>> FilterBoxes(min_area=1.0)(s)["labels"].tolist()
        [1]
    """

    def __init__(self, *, min_area: float = 1.0, min_visibility: float = 0.0) -> None:
        super().__init__(p=1.0)
        self.min_area = check_positive(min_area, "min_area", strict=False)
        self.min_visibility = check_range(min_visibility, "min_visibility", 0.0, 1.0)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        if batch.boxes is None or batch.full is None:
            return batch
        keeps = []
        for i, (b, f) in enumerate(zip(batch.boxes, batch.full, strict=True)):
            area = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)  # (N,)
            full = (f[:, 2] - f[:, 0]).clamp(min=0) * (f[:, 3] - f[:, 1]).clamp(min=0)
            keep = (area > 0) & (area >= self.min_area) & (area >= self.min_visibility * full)
            keeps.append(keep | ~apply[i].to(keep.device))

        def pick(items: list[Tensor] | None) -> list[Tensor] | None:
            if items is None:
                return None
            return [x[k.to(x.device)] for x, k in zip(items, keeps, strict=True)]

        return batch.with_(
            boxes=pick(batch.boxes),
            full=pick(batch.full),
            labels=pick(batch.labels),
            masks=pick(batch.masks),
            keypoints=pick(batch.keypoints),
        )
