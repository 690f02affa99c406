"""The built-in ``faces`` set: scikit-image's LFW subset of face and non-face patches.

scikit-image bundles ``lfw_subset.npy``: 200 gray 25x25 patches in [0, 1], the first 100 faces
cropped from Labeled Faces in the Wild, the other 100 non-face patches of natural images (the
set its Viola-Jones/Haar-feature example trains on). pixlearn reads the file itself and labels
``non_face`` = 0, ``face`` = 1. The split is fixed: per class, seed 0, 70 % train, 10 % val,
20 % test (140 / 20 / 40 images).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch

from pixlearn._core.check import check_choice
from pixlearn._core.errors import DataFormatError
from pixlearn.data.datasets.base import TensorDataset, Transform, split_indices

__all__ = ["FACE_CLASSES", "faces"]

#: the class names; label 1 is a face
FACE_CLASSES: tuple[str, ...] = ("non_face", "face")
_SPLITS = ("train", "val", "test", "all")


@functools.lru_cache(maxsize=1)
def _load() -> tuple[torch.Tensor, torch.Tensor]:
    ref = resources.files("skimage.data") / "lfw_subset.npy"
    with resources.as_file(ref) as path:
        array = np.load(path, allow_pickle=False)
    if array.shape != (200, 25, 25):
        raise DataFormatError(f"{str(ref)!r}: expected shape (200, 25, 25), got {array.shape}")
    images = torch.from_numpy(array.astype(np.float32))[:, None]  # (200, 1, 25, 25)
    labels = torch.cat([torch.ones(100), torch.zeros(100)]).to(torch.int64)  # faces first
    return images.clamp_(0.0, 1.0), labels


def faces(split: str = "train", *, transform: Transform | None = None) -> TensorDataset:
    """Face / non-face 25x25 patches (scikit-image's LFW subset) as a classification set.

    Args:
        split: ``"train"`` (140), ``"val"`` (20), ``"test"`` (40) or ``"all"`` (200).
        transform: applied to each image in ``__getitem__``.

    Returns:
        A :class:`~pixlearn.data.datasets.base.TensorDataset` of ``(1, 25, 25)`` float32
        patches; classes ``non_face``, ``face``.

    Example:
        >>> ds = faces("val")
        >>> len(ds), ds.classes, ds.targets.bincount().tolist()
        (20, ['non_face', 'face'], [10, 10])

    References:
        Huang, G. B., Ramesh, M., Berg, T. and Learned-Miller, E. "Labeled Faces in the Wild."
        Tech. report 07-49, University of Massachusetts, Amherst, 2007.
    """
    check_choice(split, "split", _SPLITS)
    images, labels = _load()
    if split == "all":
        idx = torch.arange(labels.numel())
    else:
        parts = split_indices(labels, (0.7, 0.1, 0.2), seed=0)
        idx = dict(zip(("train", "val", "test"), parts, strict=True))[split]
    return TensorDataset(images[idx], labels[idx], list(FACE_CLASSES), transform=transform)
