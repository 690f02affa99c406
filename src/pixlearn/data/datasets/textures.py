"""The built-in ``textures`` set: patches of scikit-image's three texture photographs.

scikit-image bundles three 512x512 gray texture photographs, ``brick``, ``grass`` and
``gravel`` (loaded here with :func:`pixlearn.data.sample`). Each is cut into non-overlapping
``patch_size`` x ``patch_size`` tiles (256 per class at the default 32), so no pixel is shared by
two items; the tiles are split per class with seed 0 into 70 % train, 10 % val and 20 % test
(179 / 26 / 51 per class at 32x32). A small texture-classification problem that needs no
download: intensity alone does not separate the classes, local structure does.
"""

from __future__ import annotations

import functools

import torch

from pixlearn._core.check import check_choice, check_int
from pixlearn._core.errors import ValueRangeError
from pixlearn.data.datasets.base import TensorDataset, Transform, split_indices

__all__ = ["TEXTURE_CLASSES", "textures"]

#: the class names, each a scikit-image sample photograph
TEXTURE_CLASSES: tuple[str, ...] = ("brick", "grass", "gravel")
_SPLITS = ("train", "val", "test", "all")


@functools.lru_cache(maxsize=4)
def _tiles(patch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from pixlearn.data.samples import sample

    images, labels = [], []
    for label, name in enumerate(TEXTURE_CLASSES):
        photo = sample(name)  # (1, 512, 512) in [0, 1]
        _, h, w = photo.shape
        rows, cols = h // patch_size, w // patch_size
        p = patch_size
        # (1, rows*p, cols*p) -> (rows, cols, 1, p, p): tile (i, j) is photo[:, i*p:(i+1)*p, j*p:]
        tiles = photo[:, : rows * p, : cols * p].reshape(1, rows, p, cols, p)
        tiles = tiles.permute(1, 3, 0, 2, 4).reshape(rows * cols, 1, p, p)  # (n, 1, p, p)
        images.append(tiles)
        labels.append(torch.full((rows * cols,), label, dtype=torch.int64))
    return torch.cat(images), torch.cat(labels)


def textures(
    split: str = "train",
    *,
    patch_size: int = 32,
    transform: Transform | None = None,
) -> TensorDataset:
    """Texture patches of brick, grass and gravel as a classification set.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        patch_size: side of the square tiles, 8 .. 256.
        transform: applied to each image in ``__getitem__``.

    Returns:
        A :class:`~pixlearn.data.datasets.base.TensorDataset` of ``(1, p, p)`` float32 tiles in
        [0, 1]; classes ``brick``, ``grass``, ``gravel``.

    Raises:
        ValueRangeError: an unknown split, ``patch_size`` outside 8 .. 256.

    Example:
        >>> ds = textures("test")
        >>> len(ds), ds.classes, ds[0][0].shape
        (153, ['brick', 'grass', 'gravel'], torch.Size([1, 32, 32]))
    """
    check_choice(split, "split", _SPLITS)
    patch_size = check_int(patch_size, "patch_size", min_value=8)
    if patch_size > 256:
        raise ValueRangeError(f"patch_size must be <= 256 (two tiles per side), got {patch_size}")
    images, labels = _tiles(patch_size)
    if split == "all":
        idx = torch.arange(labels.numel())
    else:
        parts = split_indices(labels, (0.7, 0.1, 0.2), seed=0)
        idx = dict(zip(("train", "val", "test"), parts, strict=True))[split]
    return TensorDataset(images[idx], labels[idx], list(TEXTURE_CLASSES), transform=transform)
