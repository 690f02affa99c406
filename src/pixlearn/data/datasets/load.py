"""Data-set spec strings: what a user types after ``data=`` turned into an :class:`ImageDataset`.

======================  ==========================================================================
spec                    data set
======================  ==========================================================================
``digits``              scikit-learn's digits at 32x32 (:func:`~.digits.digits`)
``textures``            patches of scikit-image's texture photographs (:func:`~.textures.textures`)
``faces``               scikit-image's LFW face / non-face patches (:func:`~.faces.faces`)
``folder:/path``        an image folder ``root/<class>/*`` (:func:`~.folder.folder_split`);
                        an existing directory path alone means the same
``mnist:/root``         MNIST IDX files in ``root`` (:class:`~.idx.MNIST`)
``fashion-mnist:/root`` Fashion-MNIST IDX files in ``root`` (:class:`~.idx.FashionMNIST`)
``cifar10:/root``       CIFAR-10 python batches in ``root`` (:class:`~.cifar.CIFAR10`)
``cifar100:/root``      CIFAR-100 python batches in ``root`` (:class:`~.cifar.CIFAR100`)
======================  ==========================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixlearn._core.check import describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.data.datasets.base import ImageDataset

__all__ = ["DATASET_SPECS", "load_dataset"]

#: the spec forms :func:`load_dataset` accepts
DATASET_SPECS: tuple[str, ...] = (
    "digits",
    "textures",
    "faces",
    "folder:/path",
    "mnist:/root",
    "fashion-mnist:/root",
    "cifar10:/root",
    "cifar100:/root",
)


def _unknown(spec: str) -> ValueRangeError:
    return ValueRangeError(
        f"data must be one of {', '.join(DATASET_SPECS)} (or an existing folder), got {spec!r}"
    )


def load_dataset(spec: str, split: str = "train", **kw: Any) -> ImageDataset:
    """Resolve a data-set spec string and return one split of it.

    Args:
        spec: one of the forms in the module table, e.g. ``"digits"``, ``"folder:/data/pets"``,
            ``"cifar10:~/data/cifar"``; ``~`` is expanded.
        split: ``"train"``, ``"val"`` or ``"test"`` (MNIST and CIFAR have no ``"val"``: their
            official train/test split is kept).
        **kw: passed to the loader, e.g. ``download=True`` for MNIST/CIFAR, ``transform=``,
            ``seed=`` and ``fractions=`` for a folder without split subfolders.

    Returns:
        The split as an :class:`~pixlearn.data.datasets.base.ImageDataset`.

    Raises:
        ValueRangeError: an unknown spec (the message lists the valid ones) or split.
        FileNotFoundError: the path of a path spec does not exist.

    Example:
        >>> ds = load_dataset("digits", "test")
        >>> len(ds), ds.num_classes
        (359, 10)
    """
    if not isinstance(spec, str):
        raise WrongTypeError(f"data must be a spec string, got {describe(spec)}")
    name, sep, rest = spec.partition(":")
    key = name.strip().lower()
    if not sep:
        if key == "digits":
            from pixlearn.data.datasets.digits import digits

            return digits(split, **kw)
        if key == "textures":
            from pixlearn.data.datasets.textures import textures

            return textures(split, **kw)
        if key == "faces":
            from pixlearn.data.datasets.faces import faces

            return faces(split, **kw)
        if spec and Path(spec).expanduser().is_dir():
            key, rest = "folder", spec
        else:
            raise _unknown(spec)
    if key in ("mnist", "fashion-mnist", "fashion_mnist", "fashionmnist", "cifar10", "cifar100"):
        root = Path(rest).expanduser()
        if not rest:
            raise _unknown(spec)
        if key == "mnist":
            from pixlearn.data.datasets.idx import MNIST

            return MNIST(root, split, **kw)
        if key.startswith("fashion"):
            from pixlearn.data.datasets.idx import FashionMNIST

            return FashionMNIST(root, split, **kw)
        from pixlearn.data.datasets.cifar import CIFAR10, CIFAR100

        return (CIFAR10 if key == "cifar10" else CIFAR100)(root, split, **kw)
    if key == "folder":
        if not rest:
            raise _unknown(spec)
        from pixlearn.data.datasets.folder import folder_split

        return folder_split(Path(rest).expanduser(), split, **kw)
    # "C:\\data" on Windows, or a path holding a colon
    if Path(spec).expanduser().is_dir():
        from pixlearn.data.datasets.folder import folder_split

        return folder_split(Path(spec).expanduser(), split, **kw)
    raise _unknown(spec)
