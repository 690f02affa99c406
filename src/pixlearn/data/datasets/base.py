"""The classification data set interface: images in [0, 1], integer labels, class names.

Every classification set in pixlearn is an :class:`ImageDataset`: a ``torch.utils.data.Dataset``
whose item ``i`` is ``(image, label)`` with ``image`` a float32 ``(C, H, W)`` tensor in [0, 1] and
``label`` a Python ``int`` in ``0 .. num_classes - 1``. Besides the items it exposes what a
training engine needs *before* it touches a single image: ``classes`` (the names, index = label),
``num_classes`` and ``targets`` (all labels as one int64 tensor), and ``paths`` where the images
are files. :class:`TensorDataset` holds its images in memory, :class:`DatasetSubset` is a view
on some items of another set (a split), and :func:`stratified_split` cuts a set into seeded,
class-balanced, disjoint parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from pixlearn._core.check import check_int, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = [
    "DatasetSubset",
    "ImageDataset",
    "TensorDataset",
    "split_indices",
    "stratified_split",
]

Transform = Callable[[Tensor], Tensor]


class ImageDataset(Dataset[tuple[Tensor, int]]):
    """Base class of the classification data sets.

    A subclass sets ``classes``, ``targets`` (and ``paths`` if its images are files) in its
    ``__init__`` and implements :meth:`load_image`; ``__getitem__`` applies the optional
    ``transform`` to the loaded image.

    Attributes:
        classes: the class names; ``classes[label]`` names a label.
        targets: every label, int64 tensor of shape ``(N,)``.
        paths: the file of each item, or ``None`` for sets held in memory.
        transform: applied to each ``(C, H, W)`` image in ``__getitem__``, or ``None``.

    Example:
        >>> ds = TensorDataset(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 1, 0]), ["a", "b"])
        >>> image, label = ds[1]
        >>> image.shape, label, ds.num_classes, len(ds)
        (torch.Size([1, 8, 8]), 1, 2, 4)
    """

    classes: list[str]
    targets: Tensor
    paths: list[Path] | None = None
    transform: Transform | None = None

    @property
    def num_classes(self) -> int:
        """The number of classes, ``len(classes)`` (also counting classes with no item)."""
        return len(self.classes)

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def load_image(self, index: int) -> Tensor:
        """The image of item ``index`` as float32 ``(C, H, W)`` in [0, 1], before ``transform``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        n = len(self)
        index = check_int(index, "index")
        if not -n <= index < n:
            raise IndexError(
                f"index must be in [-{n}, {n}) for a data set of {n} items, got {index}"
            )
        index %= n
        image = self.load_image(index)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, classes={self.num_classes})"


class TensorDataset(ImageDataset):
    """A data set held in memory: one ``(N, C, H, W)`` tensor of images and their labels.

    Args:
        images: ``(N, C, H, W)``; uint8 (divided by 255 on access) or floating in [0, 1].
        targets: labels, integer tensor of shape ``(N,)`` with values in ``0 .. len(classes)-1``.
        classes: the class names.
        transform: applied to each image in ``__getitem__``.

    Raises:
        ShapeError: ``images`` is not 4-D or its length differs from ``targets``.
        WrongTypeError: integer images other than uint8, floating ``targets``.
        ValueRangeError: a label outside ``0 .. len(classes) - 1``.

    Example:
        >>> ds = TensorDataset(torch.full((2, 1, 2, 2), 255, dtype=torch.uint8),
        ...                    torch.tensor([0, 0]), ["x"])
        >>> ds[0][0].dtype, float(ds[0][0].max())
        (torch.float32, 1.0)
    """

    def __init__(
        self,
        images: Tensor,
        targets: Tensor,
        classes: Sequence[str],
        *,
        transform: Transform | None = None,
    ) -> None:
        check_tensor(images, "images")
        check_tensor(targets, "targets")
        if images.dim() != 4:
            raise ShapeError(f"images must have shape (N, C, H, W), got {describe(images)}")
        if images.dtype != torch.uint8 and not images.is_floating_point():
            raise WrongTypeError(f"images must be uint8 or floating, got {describe(images)}")
        if targets.is_floating_point() or targets.dim() != 1:
            raise WrongTypeError(f"targets must be a 1-D integer tensor, got {describe(targets)}")
        if targets.shape[0] != images.shape[0]:
            raise ShapeError(
                f"targets must have one label per image ({images.shape[0]}), got {targets.shape[0]}"
            )
        _check_labels(targets, len(classes))
        self.images = images
        self.targets = targets.to(torch.int64)
        self.classes = list(classes)
        self.transform = transform

    def load_image(self, index: int) -> Tensor:
        image = self.images[index]
        if image.dtype == torch.uint8:
            return image.to(torch.float32) / 255.0
        return image.to(torch.float32, copy=True)  # a transform may work in place


class DatasetSubset(ImageDataset):
    """The items ``indices`` of another :class:`ImageDataset` (a split), with its classes.

    Unlike ``torch.utils.data.Subset`` it keeps ``classes``, ``targets`` and ``paths``, so a split
    is itself an :class:`ImageDataset`. ``transform`` is applied after the parent's own.

    Args:
        dataset: the parent set.
        indices: item numbers of the parent, in the order the subset lists them.
        transform: applied to each image in ``__getitem__``.

    Example:
        >>> ds = TensorDataset(torch.rand(5, 1, 4, 4), torch.tensor([0, 1, 0, 1, 1]), ["a", "b"])
        >>> sub = DatasetSubset(ds, [1, 3])
        >>> sub.targets.tolist(), sub.classes, torch.equal(sub[0][0], ds[1][0])
        ([1, 1], ['a', 'b'], True)
    """

    def __init__(
        self,
        dataset: ImageDataset,
        indices: Sequence[int] | Tensor,
        *,
        transform: Transform | None = None,
    ) -> None:
        if not isinstance(dataset, ImageDataset):
            raise WrongTypeError(f"dataset must be an ImageDataset, got {describe(dataset)}")
        idx = torch.as_tensor(indices, dtype=torch.int64).reshape(-1)
        n = len(dataset)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueRangeError(
                f"indices must be in [0, {n}) for a parent of {n} items, "
                f"got values in [{int(idx.min())}, {int(idx.max())}]"
            )
        self.dataset = dataset
        self.indices = idx
        self.classes = dataset.classes
        self.targets = dataset.targets[idx]
        parent_paths = dataset.paths
        self.paths = None if parent_paths is None else [parent_paths[i] for i in idx.tolist()]
        self.transform = transform

    def load_image(self, index: int) -> Tensor:
        image, _ = self.dataset[int(self.indices[index])]
        return image


def _check_labels(targets: Tensor, num_classes: int) -> None:
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ValueRangeError(
            f"targets must be in [0, {num_classes}) for {num_classes} classes, "
            f"got values in [{int(targets.min())}, {int(targets.max())}]"
        )


def split_indices(
    targets: Tensor,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    *,
    seed: int = 0,
) -> list[Tensor]:
    r"""Cut ``0 .. N-1`` into disjoint, class-stratified parts of the given sizes.

    Each class is shuffled with a ``torch.Generator`` seeded by ``seed`` and cut in order:
    part :math:`k` receives :math:`\mathrm{round}(n_c \sum_{j \le k} f_j) -
    \mathrm{round}(n_c \sum_{j < k} f_j)` items of a class of :math:`n_c` items, so every class
    keeps the proportions and the parts cover the class exactly. The result depends only on
    ``targets``, ``fractions`` and ``seed`` (same split on every machine).

    Args:
        targets: labels, integer tensor ``(N,)``.
        fractions: the part sizes, each in [0, 1], summing to 1.
        seed: seed of the shuffle.

    Returns:
        One sorted int64 index tensor per fraction; together they are a partition of ``0..N-1``.

    Raises:
        ValueRangeError: a fraction outside [0, 1] or fractions that do not sum to 1.

    Example:
        >>> parts = split_indices(torch.tensor([0] * 10 + [1] * 10), (0.5, 0.5), seed=1)
        >>> [len(p) for p in parts], sorted(torch.cat(parts).tolist()) == list(range(20))
        ([10, 10], True)
    """
    check_tensor(targets, "targets")
    if targets.is_floating_point() or targets.dim() != 1:
        raise WrongTypeError(f"targets must be a 1-D integer tensor, got {describe(targets)}")
    fr = [check_range(f, "fractions", 0.0, 1.0) for f in fractions]
    if not fr or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueRangeError(f"fractions must sum to 1, got {list(fractions)!r}")
    seed = check_int(seed, "seed")
    gen = torch.Generator().manual_seed(seed)
    cum = torch.tensor([0.0, *fr], dtype=torch.float64).cumsum(0)  # (K + 1,)
    parts: list[list[Tensor]] = [[] for _ in fr]
    targets = targets.cpu()
    for c in torch.unique(targets).tolist():
        members = torch.nonzero(targets == c).flatten()  # (n_c,) ascending
        members = members[torch.randperm(members.numel(), generator=gen)]
        # cut points round(n_c * cumulative fraction): they cover the class exactly
        cuts = torch.round(cum * members.numel()).to(torch.int64).tolist()
        for k in range(len(fr)):
            parts[k].append(members[cuts[k] : cuts[k + 1]])
    return [
        torch.sort(torch.cat(p)).values if p else torch.zeros(0, dtype=torch.int64) for p in parts
    ]


def stratified_split(
    dataset: ImageDataset,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    *,
    seed: int = 0,
) -> list[DatasetSubset]:
    """Split a data set into disjoint class-stratified :class:`DatasetSubset` parts.

    Args:
        dataset: the set to split.
        fractions: the part sizes, summing to 1 (default train/val/test 70/10/20).
        seed: seed of the shuffle (see :func:`split_indices`).

    Returns:
        One subset per fraction.

    Example:
        >>> ds = TensorDataset(torch.rand(10, 1, 2, 2), torch.arange(10) % 2, ["even", "odd"])
        >>> train, test = stratified_split(ds, (0.6, 0.4))
        >>> len(train), len(test), train.classes
        (6, 4, ['even', 'odd'])
    """
    return [
        DatasetSubset(dataset, idx) for idx in split_indices(dataset.targets, fractions, seed=seed)
    ]
