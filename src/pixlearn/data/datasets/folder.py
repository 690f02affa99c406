"""Image folders: one sub-folder per class, ``root/<class>/**/<image>``.

The class names are the sub-folder names, sorted, and a label is the index of its folder's name.
Files are found recursively inside each class folder, in sorted order, keeping those whose
extension :func:`pixlearn.io.read_image` decodes (:data:`IMAGE_EXTENSIONS`); hidden files and
folders (starting with ``.``) are skipped. Images are read lazily in ``__getitem__``, so building
the set is cheap and a corrupt file only fails when its item is accessed, with an
:class:`~pixlearn._core.errors.ImageFileError` naming the file
(:func:`~pixlearn.data.datasets.check.check_dataset` reads them all and lists the bad ones).

:func:`folder_split` turns a folder into splits: ``root/train``, ``root/val``, ``root/test`` when
those sub-folders exist (one class list shared by all of them), else a seeded stratified split.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from pixlearn._core.check import check_choice
from pixlearn._core.errors import ValueRangeError
from pixlearn.data.datasets.base import DatasetSubset, ImageDataset, Transform, split_indices
from pixlearn.io import read_image

__all__ = ["IMAGE_EXTENSIONS", "ImageFolder", "folder_split"]

#: file extensions an ImageFolder picks up (lower case); PNG, JPEG and TIFF, plus what Pillow reads
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
)
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def find_classes(root: Path) -> list[str]:
    """The sorted names of the visible sub-folders of ``root``."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p))


class ImageFolder(ImageDataset):
    """A classification set read from ``root/<class>/**/<image>`` files.

    Args:
        root: the folder holding one sub-folder per class.
        mode: channel conversion for every image (``"rgb"``, ``"gray"``, ``"rgba"`` as in
            :func:`pixlearn.io.read_image`), or ``None`` to keep each file's channels.
        classes: the class names to use (a label is an index into this list); folders not in
            it are ignored and names with no folder become empty classes. Default: every
            sub-folder, sorted.
        extensions: the file extensions to pick up.
        transform: applied to each image in ``__getitem__``.

    Raises:
        FileNotFoundError: ``root`` does not exist or is not a folder.
        ValueRangeError: ``root`` has no class sub-folder.
        pixlearn._core.errors.ImageFileError: (on access) a corrupt or unreadable image; the
            message names its path.

    Example:
        >>> import tempfile, pathlib
        >>> from pixlearn.io import write_image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("cat", "dog"):
        ...     (root / name).mkdir()
        ...     write_image(root / name / "a.png", torch.rand(3, 4, 4))
        >>> ds = ImageFolder(root)
        >>> ds.classes, len(ds), ds[1][0].shape, ds[1][1]
        (['cat', 'dog'], 2, torch.Size([3, 4, 4]), 1)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        mode: str | None = "rgb",
        classes: Sequence[str] | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        transform: Transform | None = None,
    ) -> None:
        if mode is not None:
            check_choice(mode, "mode", ("gray", "rgb", "rgba"))
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"image folder not found: {str(root)!r}")
        names = find_classes(root) if classes is None else list(classes)
        if not names:
            raise ValueRangeError(
                f"the image folder {str(root)!r} has no class sub-folders; expected "
                "root/<class>/<image files>"
            )
        exts = {e.lower() for e in extensions}
        paths: list[Path] = []
        labels: list[int] = []
        for label, name in enumerate(names):
            folder = root / name
            if not folder.is_dir():
                continue  # an empty class: it keeps its label, with no items
            files = sorted(
                p
                for p in folder.rglob("*")
                if p.is_file()
                and p.suffix.lower() in exts
                and all(_visible(q) for q in p.relative_to(folder).parents if q != Path("."))
                and _visible(p)
            )
            paths += files
            labels += [label] * len(files)
        self.root = root
        self.mode = mode
        self.classes = names
        self.paths = paths
        self.targets = torch.tensor(labels, dtype=torch.int64)
        self.transform = transform

    def load_image(self, index: int) -> Tensor:
        assert self.paths is not None
        return read_image(self.paths[index], mode=self.mode, dtype=torch.float32)


def folder_split(
    root: str | os.PathLike[str],
    split: str = "train",
    *,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    seed: int = 0,
    **kw: object,
) -> ImageDataset:
    """One split of an image folder.

    With ``root/train``, ``root/val`` or ``root/test`` present, the split is that sub-folder
    read as an :class:`ImageFolder` whose classes are the sorted union of the class folders of
    every split folder (so a label means the same class in every split). Without them, ``root``
    itself is the whole set and is cut by :func:`~pixlearn.data.datasets.base.split_indices`
    with ``fractions`` (train, val, test) and ``seed``.

    Args:
        root: the image folder.
        split: ``"train"``, ``"val"`` or ``"test"``.
        fractions: train/val/test fractions when ``root`` has no split folders.
        seed: seed of that split.
        **kw: passed to :class:`ImageFolder` (``mode``, ``transform``, ...).

    Returns:
        The split.

    Raises:
        FileNotFoundError: ``root`` is missing, or it has split folders but not ``split``.

    Example:
        >>> import tempfile, pathlib
        >>> from pixlearn.io import write_image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for i in range(10):
        ...     (root / f"c{i % 2}").mkdir(exist_ok=True)
        ...     write_image(root / f"c{i % 2}" / f"{i}.png", torch.rand(1, 4, 4))
        >>> [len(folder_split(root, s, fractions=(0.6, 0.2, 0.2))) for s in SPLIT_NAMES]
        [6, 2, 2]
    """
    check_choice(split, "split", SPLIT_NAMES)
    if len(fractions) != len(SPLIT_NAMES):
        raise ValueRangeError(f"fractions must be (train, val, test), got {list(fractions)!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {str(root)!r}")
    present = [s for s in SPLIT_NAMES if (root / s).is_dir()]
    if present:
        if split not in present:
            raise FileNotFoundError(
                f"the image folder {str(root)!r} has split folders {present} but no {split!r}"
            )
        classes = sorted({c for s in present for c in find_classes(root / s)})
        return ImageFolder(root / split, classes=classes, **kw)  # type: ignore[arg-type]
    full = ImageFolder(root, **kw)  # type: ignore[arg-type]
    parts = dict(zip(SPLIT_NAMES, split_indices(full.targets, fractions, seed=seed), strict=False))
    return DatasetSubset(full, parts[split])
