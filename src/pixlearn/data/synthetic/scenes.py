"""The engine behind the synthetic detection sets: composing scenes from pasted objects.

Ground-truth conventions (shared by every synthetic scene set):

* A pasted object covers a pixel when its opacity there is at least 1/2; later objects are
  pasted over earlier ones. Instance masks are **occlusion-aware**: they hold the *visible*
  pixels only, so they are disjoint and ``semantic`` is exactly their union
  (``1 + label`` on each mask, 0 elsewhere; where objects overlap the last pasted wins).
* Boxes are the tight boxes of the visible masks in continuous ``xyxy`` (a mask pixel
  ``(r, c)`` spans ``[c, c + 1) x [r, r + 1)``).
* An object is kept only if every object keeps at least 70 % of its own pixels visible and
  the IoU of every pair of (visible) boxes is at most ``overlap``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_int
from pixlearn._core.errors import ValueRangeError, WrongTypeError

__all__ = ["SPLITS", "Stamp", "SyntheticScenes", "to_coco"]

SPLITS = ("train", "val", "test")
# the least fraction of an object's own pixels that must stay visible under later objects
_MIN_VISIBLE = 0.7
# candidate objects drawn per wanted object before a scene gives up
_TRIES_PER_OBJECT = 40
# an object to paste: opacity (h, w), top row, left column, colour (C,), label, source index
Stamp = tuple[Tensor, int, int, Tensor, int, int]


def _item_seed(tag: str, seed: int, split: str, index: int) -> int:
    """A 63-bit seed for one item, mixed from (set, seed, split, index) by NumPy's SeedSequence."""
    words = [seed, SPLITS.index(split), index, zlib.crc32(tag.encode())]
    return int(np.random.SeedSequence(words).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _uniform(g: torch.Generator, lo: float, hi: float, *shape: int) -> Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=g)


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    """A uniform integer in ``[lo, hi]``, both ends included."""
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


class SyntheticScenes:
    """A fixed-size, deterministic data set of generated detection scenes.

    Item ``i`` is drawn by its own generator seeded from ``(kind, seed, split, i)``, so it is
    the same whenever, in whatever order and from whichever instance it is asked for.

    Args:
        n: number of scenes.
        name: the kind of scene (``"digit_scenes"``, ``"shapes"``), part of every item's seed.
        draw: ``draw(generator) -> (image, target)``, the scene renderer.
        class_names: the name of each label.
        size: ``(H, W)`` of every image.
        split: one of :data:`SPLITS`.
        seed: the data set's seed, >= 0.

    Example:
        >>> from pixlearn.data.synthetic import digit_scenes
        >>> ds = digit_scenes(2, size=64, scale=(16, 24), seed=1)
        >>> len(ds), ds.class_names[:3]
        (2, ('0', '1', '2'))
    """

    def __init__(
        self,
        n: int,
        *,
        name: str,
        draw: Callable[[torch.Generator], tuple[Tensor, dict[str, Any]]],
        class_names: Sequence[str],
        size: tuple[int, int],
        split: str,
        seed: int,
    ) -> None:
        self.n, self.name, self._draw = n, name, draw
        self.class_names = tuple(class_names)
        self.size, self.split, self.seed = size, split, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Any]]:
        """Scene ``index``: ``(image (C, H, W) float32 in [0, 1], target)``.

        ``target`` holds ``boxes`` (N, 4) float32 xyxy, ``labels`` (N,) int64, ``masks``
        (N, H, W) bool, ``semantic`` (H, W) int64 (0 background, ``1 + label`` on objects),
        ``image_id`` (the index) and, for digit scenes, ``source`` (N,) int64: the index of each
        pasted digit in scikit-learn's ``load_digits``.
        """
        i = check_int(index, "index")
        j = i + self.n if i < 0 else i
        if not 0 <= j < self.n:
            raise IndexError(f"index {i} is out of range for a data set of {self.n} scenes")
        g = torch.Generator().manual_seed(_item_seed(self.name, self.seed, self.split, j))
        image, target = self._draw(g)
        target["image_id"] = j
        return image, target

    def __iter__(self) -> Iterator[tuple[Tensor, dict[str, Any]]]:
        return (self[i] for i in range(self.n))

    def __repr__(self) -> str:
        h, w = self.size
        return f"{self.name}(n={self.n}, size=({h}, {w}), split={self.split!r}, seed={self.seed})"


def _visible_boxes(owner: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Masks ``(k, H, W)`` and tight xyxy boxes ``(k, 4)`` of the owner map's labels ``0..k-1``."""
    h, w = owner.shape
    masks = owner == torch.arange(k)[:, None, None]  # (k, H, W)
    rows = masks.any(2).to(torch.uint8)  # (k, H)
    cols = masks.any(1).to(torch.uint8)  # (k, W)
    # first occupied row/column (argmax returns the first maximum); pixel r spans [r, r + 1)
    y1, x1 = rows.argmax(1), cols.argmax(1)
    y2, x2 = h - rows.flip(1).argmax(1), w - cols.flip(1).argmax(1)
    return masks, torch.stack([x1, y1, x2, y2], 1).float()  # (k, 4)


def _max_pair_iou(boxes: Tensor) -> float:
    """The largest IoU between two different boxes of ``(k, 4)`` xyxy."""
    if len(boxes) < 2:
        return 0.0
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])  # (k, k, 2)
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(-1)  # (k, k)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(-1)  # (k,)
    # IoU = |A n B| / (|A| + |B| - |A n B|)
    iou = inter / (area[:, None] + area[None, :] - inter)
    return float(iou.fill_diagonal_(0.0).max())


def _compose(
    canvas: Tensor,
    propose: Callable[[], Stamp],
    count: int,
    low: int,
    overlap: float,
    count_name: str,
) -> dict[str, Tensor]:
    """Paste up to ``count`` proposed objects onto ``canvas`` (in place), keeping the rules.

    A proposal is rejected when it would leave an object less than ``_MIN_VISIBLE`` visible or
    two visible boxes with IoU above ``overlap``; after ``_TRIES_PER_OBJECT * count`` proposals
    fewer than ``low`` objects is an error naming ``count_name``.
    """
    _, h, w = canvas.shape
    owner = torch.full((h, w), -1, dtype=torch.int64)  # which object each pixel shows
    full_area: list[int] = []
    labels: list[int] = []
    sources: list[int] = []
    for _ in range(_TRIES_PER_OBJECT * count):
        if len(labels) == count:
            break
        alpha, y0, x0, colour, label, source = propose()
        ph, pw = alpha.shape
        inside = alpha >= 0.5  # (ph, pw) the object covers a pixel where it is half opaque
        area = int(inside.sum())
        if area == 0:
            continue
        k = len(labels) + 1
        trial = owner.clone()
        trial[y0 : y0 + ph, x0 : x0 + pw][inside] = k - 1
        visible = torch.bincount(trial.flatten() + 1, minlength=k + 1)[1:]  # (k,) pixels shown
        if bool((visible < _MIN_VISIBLE * torch.tensor([*full_area, area])).any()):
            continue
        _, boxes = _visible_boxes(trial, k)
        if _max_pair_iou(boxes) > overlap:
            continue
        owner = trial
        full_area.append(area)
        labels.append(label)
        sources.append(source)
        # alpha compositing ("over"): I <- a c + (1 - a) I
        region = canvas[:, y0 : y0 + ph, x0 : x0 + pw]  # (C, ph, pw) view
        region.mul_(1 - alpha).add_(alpha * colour[:, None, None])
    if len(labels) < low:
        raise ValueRangeError(
            f"{count_name}: could only place {len(labels)} of {count} objects in a {h}x{w} "
            "image within the overlap limit; lower the count or scale, raise overlap, or "
            "enlarge size"
        )
    masks, boxes = _visible_boxes(owner, len(labels))
    label_t = torch.tensor(labels, dtype=torch.int64)
    # semantic: 0 on the background, 1 + label of the visible object elsewhere
    semantic = (
        torch.where(owner >= 0, (label_t + 1)[owner.clamp_min(0)], 0) if labels else owner + 1
    )
    return {
        "boxes": boxes,
        "labels": label_t,
        "masks": masks,
        "semantic": semantic,
        "source": torch.tensor(sources, dtype=torch.int64),
    }


def to_coco(dataset: Any) -> dict[str, Any]:
    """The COCO-style ground truth of a scene data set, for evaluators and format writers.

    Args:
        dataset: a :class:`SyntheticScenes` (or any sequence of ``(image, target)`` with
            ``class_names`` and targets holding ``boxes``, ``labels``, ``masks``, ``image_id``).

    Returns:
        A dict with ``images`` (``id``, ``width``, ``height``, ``file_name``), ``annotations``
        (``id`` from 1, ``image_id``, ``category_id`` = label, ``bbox`` ``[x, y, w, h]``,
        ``area`` = number of mask pixels, ``segmentation`` as compressed RLE with a ``str``
        ``counts``, ``iscrowd`` 0) and ``categories`` (``id`` = label, ``name``); it is
        JSON-serialisable and loads in ``pycocotools.coco.COCO``.

    Example:
        >>> from pixlearn.data.synthetic import digit_scenes
        >>> coco = to_coco(digit_scenes(2, size=64, scale=(16, 24), digits_per_image=1))
        >>> len(coco["images"]), len(coco["annotations"]), coco["categories"][3]["name"]
        (2, 2, '3')
    """
    if not hasattr(dataset, "class_names") or not hasattr(dataset, "__getitem__"):
        raise WrongTypeError(
            f"dataset must be a scene data set with class_names, got {type(dataset).__name__}"
        )
    from pycocotools import mask as mask_utils  # RLE encoding, a runtime utility

    tag = f"{getattr(dataset, 'name', 'scene')}_{getattr(dataset, 'split', 'all')}"
    images, annotations = [], []
    for i in range(len(dataset)):
        image, target = dataset[i]
        h, w = image.shape[-2:]
        image_id = int(target.get("image_id", i))
        images.append({"id": image_id, "width": w, "height": h, "file_name": f"{tag}_{i:06d}.png"})
        masks = target["masks"]
        if len(masks) == 0:
            continue
        rles = mask_utils.encode(np.asfortranarray(masks.permute(1, 2, 0).numpy().astype(np.uint8)))
        areas = masks.flatten(1).sum(1).tolist()
        for box, label, rle, area in zip(
            target["boxes"].tolist(), target["labels"].tolist(), rles, areas, strict=True
        ):
            x1, y1, x2, y2 = box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": float(area),
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                    "iscrowd": 0,
                }
            )
    categories = [{"id": k, "name": name} for k, name in enumerate(dataset.class_names)]
    return {"images": images, "annotations": annotations, "categories": categories}
