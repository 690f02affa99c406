"""The built-in ``digits`` set: scikit-learn's 8x8 handwritten digits, upsampled to 32x32.

scikit-learn bundles 1797 gray 8x8 images of the digits 0-9 (values 0..16; the UCI "Optical
Recognition of Handwritten Digits" test set). pixlearn scales them to [0, 1], enlarges them with
its own bilinear :func:`pixlearn.transform.resize` (so a network built for 32x32 inputs such as
LeNet-5 takes them unchanged) and fixes a train/val/test split once and for all.

The split: exact duplicates (equal 8x8 pixel arrays) are removed first, keeping the first
occurrence, so no identical image can sit in two splits (the bundled copy has none today; the
rule keeps the guarantee should that change). The rest is cut per class with seed 0 into
70 % train, 10 % val and 20 % test (:func:`~pixlearn.data.datasets.base.split_indices`): 1258 /
180 / 359 images.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_int
from pixlearn.data.datasets.base import TensorDataset, Transform, split_indices

__all__ = ["DIGITS_SPLIT", "digits", "digits_split_indices"]

#: the fixed (train, val, test) fractions and seed of the digits split
DIGITS_SPLIT: tuple[tuple[float, float, float], int] = ((0.7, 0.1, 0.2), 0)
_SPLITS = ("train", "val", "test", "all")


@functools.lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """The deduplicated 8x8 images (uint8 0..16, read-only) and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # (1797, 8, 8) values 0..16
    labels = bunch.target.astype(np.int64)
    # keep the first occurrence of every distinct 8x8 array
    seen: set[bytes] = set()
    keep = []
    for i, img in enumerate(images):
        key = img.tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(i)
    images, labels = images[keep], labels[keep]
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


@functools.lru_cache(maxsize=4)
def _upsampled(size: int) -> Tensor:
    from pixlearn.transform import resize

    images, _ = _raw()
    x = torch.from_numpy(images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8) in [0, 1]
    if size != 8:
        x = resize(x, size, interpolation="linear")  # (N, 1, size, size)
    return x.clamp_(0.0, 1.0)


def digits_split_indices() -> dict[str, Tensor]:
    """The item numbers (into the deduplicated set) of each split, keyed by split name."""
    _, labels = _raw()
    fractions, seed = DIGITS_SPLIT
    train, val, test = split_indices(torch.from_numpy(labels.copy()), fractions, seed=seed)
    return {"train": train, "val": val, "test": test, "all": torch.arange(labels.shape[0])}


def digits(
    split: str = "train",
    *,
    size: int = 32,
    transform: Transform | None = None,
) -> TensorDataset:
    """scikit-learn's handwritten digits as a pixlearn classification set.

    Args:
        split: ``"train"`` (1258 images), ``"val"`` (180), ``"test"`` (359) or ``"all"`` (1797).
        size: side of the output images; 8 keeps the originals, the default 32 upsamples them
            bilinearly.
        transform: applied to each image in ``__getitem__``.

    Returns:
        A :class:`~pixlearn.data.datasets.base.TensorDataset` of ``(1, size, size)`` float32
        images in [0, 1] with classes ``"0"`` .. ``"9"``.

    Raises:
        ValueRangeError: an unknown ``split``, ``size`` < 1.

    Example:
        >>> train = digits("train")
        >>> image, label = train[0]
        >>> image.shape, image.dtype, train.classes[label] == str(label), len(train)
        (torch.Size([1, 32, 32]), torch.float32, True, 1258)

    References:
        Alpaydin, E. and Kaynak, C. "Optical Recognition of Handwritten Digits." UCI Machine
        Learning Repository, 1998.
    """
    check_choice(split, "split", _SPLITS)
    size = check_int(size, "size", min_value=1)
    idx = digits_split_indices()[split]
    _, labels = _raw()
    images = _upsampled(size)[idx]  # (n, 1, size, size), a copy
    targets = torch.from_numpy(labels[idx.numpy()].copy())
    return TensorDataset(images, targets, [str(d) for d in range(10)], transform=transform)
