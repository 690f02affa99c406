"""The sample convention and the :class:`Transform` base class every augmentation derives from.

A *sample* is a plain ``dict``. Unbatched::

    {"image": (C, H, W) float, "boxes": (N, 4) xyxy, "labels": (N,) int64,
     "masks": (N, H, W) bool, "keypoints": (N, K, 2) (x, y)}

Batched, the image is ``(B, C, H, W)`` and every target is a list of ``B`` such tensors, one per
item (the number of objects differs between items). Only ``"image"`` is required; other keys are
passed through untouched. Coordinates are continuous pixels: the centre of pixel ``(row, col)``
is ``(x, y) = (col + 0.5, row + 0.5)`` and the image spans ``[0, W] x [0, H]``.

Every transform draws its parameters from the ``generator`` given at call time, one independent
draw per batch item, and always the same number of draws whatever is applied, so the same
generator state gives the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError, WrongTypeError

__all__ = [
    "TARGET_KEYS",
    "Batch",
    "Transform",
    "from_batch",
    "rand",
    "select",
    "to_batch",
    "uniform",
]

TARGET_KEYS = ("boxes", "labels", "masks", "keypoints")


@dataclass
class Batch:
    """A sample in batched form, the form transforms work on (internal to the pipeline).

    ``full`` holds the boxes mapped like ``boxes`` but never clipped to the image, so that the
    visible fraction of each box can be measured (:class:`~pixlearn.augment.FilterBoxes`).
    """

    image: Tensor  # (B, C, H, W)
    boxes: list[Tensor] | None
    labels: list[Tensor] | None
    masks: list[Tensor] | None
    keypoints: list[Tensor] | None
    full: list[Tensor] | None
    batched: bool
    extra: dict[str, Any]

    @property
    def size(self) -> int:
        return self.image.shape[0]

    def with_(self, **changes: Any) -> Batch:
        """A copy with some fields replaced (transforms never modify their input)."""
        return replace(self, **changes)


def _as_list(value: Any, key: str, batched: bool, n: int) -> list[Tensor]:
    if not batched:
        return [check_tensor(value, key)]
    if not isinstance(value, (list, tuple)):
        raise WrongTypeError(
            f"{key} of a batched sample must be a list of {n} tensors, got {describe(value)}"
        )
    if len(value) != n:
        raise ShapeError(f"{key} must hold one tensor per batch item ({n}), got {len(value)}")
    for i, v in enumerate(value):
        check_tensor(v, f"{key}[{i}]")
    return list(value)


def _check_item(
    i: int,
    hw: tuple[int, int],
    boxes: Tensor | None,
    labels: Tensor | None,
    masks: Tensor | None,
    keypoints: Tensor | None,
    batched: bool,
) -> None:
    at = f"[{i}]" if batched else ""
    n = None
    if boxes is not None:
        if boxes.dim() != 2 or boxes.shape[1] != 4 or not boxes.is_floating_point():
            raise ShapeError(f"boxes{at} must be a float (N, 4) tensor, got {describe(boxes)}")
        n = boxes.shape[0]
    if labels is not None and (labels.dim() != 1 or (n is not None and labels.shape[0] != n)):
        raise ShapeError(f"labels{at} must be (N,) with N = {n} boxes, got {describe(labels)}")
    if masks is not None:
        ok = masks.dim() == 3 and tuple(masks.shape[1:]) == hw and masks.dtype == torch.bool
        if not ok or (n is not None and masks.shape[0] != n):
            raise ShapeError(
                f"masks{at} must be a bool (N, H, W) tensor with N = {n} boxes and (H, W) = "
                f"{hw}, got {describe(masks)}"
            )
    if keypoints is not None:
        ok = keypoints.dim() == 3 and keypoints.shape[2] == 2 and keypoints.is_floating_point()
        if not ok or (n is not None and keypoints.shape[0] != n):
            raise ShapeError(
                f"keypoints{at} must be a float (N, K, 2) tensor with N = {n} boxes, got "
                f"{describe(keypoints)}"
            )


def to_batch(sample: Mapping[str, Any]) -> Batch:
    """Check a sample dict and turn it into a :class:`Batch` (a batch of one if unbatched).

    Raises:
        WrongTypeError: ``sample`` not a mapping, ``image`` not a float tensor, a target of a
            batched sample not a list.
        ShapeError: ``image`` not ``(C, H, W)``/``(B, C, H, W)``; a target of the wrong shape,
            or whose first dimension is not the number of boxes (the message names the key
            and, for a batch, the item).
    """
    if not isinstance(sample, Mapping) or "image" not in sample:
        raise WrongTypeError(f"sample must be a dict with an 'image' key, got {describe(sample)}")
    image = check_image(sample["image"], "image", min_dims=3, max_dims=4, floating=True)
    batched = image.dim() == 4
    b = image.shape[0] if batched else 1
    targets: dict[str, list[Tensor] | None] = {}
    for key in TARGET_KEYS:
        value = sample.get(key)
        targets[key] = None if value is None else _as_list(value, key, batched, b)
    hw = (image.shape[-2], image.shape[-1])
    for i in range(b):
        items = [None if targets[k] is None else targets[k][i] for k in TARGET_KEYS]  # type: ignore[index]
        _check_item(i, hw, *items, batched=batched)
    boxes = targets["boxes"]
    return Batch(
        image=image if batched else image.unsqueeze(0),
        boxes=boxes,
        labels=targets["labels"],
        masks=targets["masks"],
        keypoints=targets["keypoints"],
        full=None if boxes is None else list(boxes),
        batched=batched,
        extra={k: v for k, v in sample.items() if k != "image" and k not in TARGET_KEYS},
    )


def from_batch(batch: Batch) -> dict[str, Any]:
    """Turn a :class:`Batch` back into a sample dict of the caller's form."""
    out: dict[str, Any] = dict(batch.extra)
    out["image"] = batch.image if batch.batched else batch.image[0]
    for key in TARGET_KEYS:
        value = getattr(batch, key)
        if value is not None:
            out[key] = list(value) if batch.batched else value[0]
    return out


def rand(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``n`` uniform draws in ``[0, 1)`` (float64) from ``generator``, moved to ``device``.

    The draw happens on the generator's own device (the CPU for ``None``), so a CPU generator
    drives a GPU pipeline reproducibly; pass a CUDA generator to keep everything on the GPU.
    """
    gdev = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(n, generator=generator, dtype=torch.float64, device=gdev).to(device)


def uniform(
    low: float, high: float, n: int, generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """``n`` draws from ``U[low, high)`` (float64) on ``device``."""
    # x = low + (high - low) u, u ~ U[0, 1)
    return low + (high - low) * rand(n, generator, device)  # (n,)


class Transform:
    """Base class: a transform with an application probability ``p``, drawn per batch item.

    Subclasses implement ``_run(batch, generator, apply)``: draw their parameters (always, for
    every item, so the random stream does not depend on what is applied) and apply them where
    the bool ``apply (B,)`` is True.

    Args:
        p: probability of applying the transform to each item, in ``[0, 1]``. ``p=0`` returns
            the sample unchanged, ``p=1`` always applies.
    """

    def __init__(self, *, p: float = 1.0) -> None:
        self.p = check_range(p, "p", 0.0, 1.0)

    def __call__(
        self, sample: Mapping[str, Any], *, generator: torch.Generator | None = None
    ) -> dict[str, Any]:
        """Apply to a sample dict (see the module docstring); returns a new dict."""
        return from_batch(self.run(to_batch(sample), generator))

    def run(
        self, batch: Batch, generator: torch.Generator | None, only: Tensor | None = None
    ) -> Batch:
        """Apply to a checked :class:`Batch`; ``only (B,)`` bool restricts it to some items."""
        # one uniform per item decides whether the item is transformed: u < p
        apply = rand(batch.size, generator, batch.image.device) < self.p  # (B,)
        if only is not None:
            apply &= only
        return self._run(batch, generator, apply)

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({opts})"


def select(apply: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per item: ``new`` where ``apply (B,)`` else ``old``, for ``(B, ...)`` tensors."""
    return torch.where(apply.view(-1, *([1] * (new.dim() - 1))), new, old)
