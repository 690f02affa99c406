"""CIFAR-10 and CIFAR-100: the "python version" batch files, their reader and the data sets.

Each batch file is a Python pickle of a dict with bytes keys: ``b"data"``, a ``(N, 3072)`` uint8
array whose rows are the red, green and blue 32x32 planes one after the other (so a row reshapes
to ``(3, 32, 32)`` directly), and the labels: ``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` and
``b"coarse_labels"`` (CIFAR-100). The class names are in ``batches.meta`` (``b"label_names"``)
or ``meta`` (``b"fine_label_names"``, ``b"coarse_label_names"``).

Unpickling can run arbitrary code, so the reader uses a restricted unpickler that only rebuilds
NumPy arrays and plain containers: a tampered file fails to load instead of running anything.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixlearn._core.check import check_choice
from pixlearn._core.errors import DataFormatError
from pixlearn.data.datasets.base import TensorDataset, Transform
from pixlearn.data.datasets.download import download_file

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_batch"]

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except those needed to rebuild NumPy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")


def _unpickle(path: Path) -> dict[bytes, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch file not found: {str(path)!r}")
    try:
        with open(path, "rb") as fh:
            obj = _ArrayUnpickler(fh, encoding="bytes").load()
    except Exception as err:  # pickle raises many kinds on garbage; name the file
        raise DataFormatError(
            f"cannot read the CIFAR batch {str(path)!r} (corrupt, truncated or not a "
            f"CIFAR python batch): {err}"
        ) from err
    if not isinstance(obj, dict):
        raise DataFormatError(f"{str(path)!r}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def read_cifar_batch(
    path: str | os.PathLike[str], *, label_key: str = "labels"
) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR python batch into images and labels.

    Args:
        path: the batch file (``data_batch_1``, ``test_batch``, ``train``, ...).
        label_key: ``"labels"`` (CIFAR-10), ``"fine_labels"`` or ``"coarse_labels"``
            (CIFAR-100).

    Returns:
        ``(images, labels)``: uint8 ``(N, 3, 32, 32)`` and int64 ``(N,)``.

    Raises:
        FileNotFoundError: no such file.
        DataFormatError: not a CIFAR batch, a missing key, rows that are not 3072 bytes, or a
            label count that differs from the image count; the message names the file.

    Example:
        >>> import pickle, tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "data_batch_1"
        >>> batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 5]}
        >>> _ = f.write_bytes(pickle.dumps(batch))
        >>> images, labels = read_cifar_batch(f)
        >>> images.shape, labels.tolist()
        ((2, 3, 32, 32), [3, 5])
    """
    path = Path(path)
    batch = _unpickle(path)
    key = label_key.encode()
    if b"data" not in batch or key not in batch:
        raise DataFormatError(
            f"{str(path)!r} lacks b'data' or b'{label_key}' "
            f"(keys: {sorted(k.decode(errors='replace') for k in batch if isinstance(k, bytes))})"
        )
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[key], dtype=np.int64).reshape(-1)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataFormatError(
            f"{str(path)!r}: b'data' must be uint8 of shape (N, 3072), "
            f"got {data.dtype} {data.shape}"
        )
    if labels.shape[0] != data.shape[0]:
        raise DataFormatError(f"{str(path)!r}: {data.shape[0]} images but {labels.shape[0]} labels")
    # each row is R plane, G plane, B plane, each 32 rows of 32: (N, 3, 32, 32) directly
    return data.reshape(-1, 3, 32, 32), labels


class CIFAR10(TensorDataset):
    """CIFAR-10 (Krizhevsky 2009): 32x32 colour images of 10 classes, 50000 train / 10000 test.

    ``root`` holds the extracted ``cifar-10-batches-py`` folder (or is that folder).

    Args:
        root: the data folder.
        split: ``"train"`` (``data_batch_1`` .. ``5``) or ``"test"`` (``test_batch``).
        download: fetch and extract the official archive (MD5 verified) if it is missing.
        transform: applied to each image in ``__getitem__``.

    Raises:
        FileNotFoundError: a batch is missing. DataFormatError: a corrupt batch, a label out
            of range.

    References:
        Krizhevsky, A. "Learning multiple layers of features from tiny images." Tech. report,
        University of Toronto, 2009.
    """

    URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    MD5 = "c58f30108f718f92721af3b95e74349a"
    FOLDER = "cifar-10-batches-py"
    TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
    TEST = ("test_batch",)
    META = ("batches.meta", "label_names")
    LABEL_KEY = "labels"
    CLASSES: tuple[str, ...] = (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    )

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        download: bool = False,
        transform: Transform | None = None,
        progress: bool = True,
    ) -> None:
        check_choice(split, "split", ("train", "test"))
        root = Path(root)
        folder = root if root.name == self.FOLDER else root / self.FOLDER
        if download and not all((folder / f).is_file() for f in self.TRAIN + self.TEST):
            self.download(root, progress=progress)
        parts = [read_cifar_batch(folder / f, label_key=self.LABEL_KEY) for f in self._files(split)]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        classes = self._classes(folder)
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DataFormatError(
                f"the {split} batches in {str(folder)!r} hold labels outside 0..{len(classes) - 1}"
            )
        self.root, self.split = root, split
        super().__init__(torch.from_numpy(images), torch.from_numpy(labels), classes,
                         transform=transform)  # fmt: skip

    def _files(self, split: str) -> tuple[str, ...]:
        return self.TRAIN if split == "train" else self.TEST

    def _classes(self, folder: Path) -> list[str]:
        """Class names from the meta file when present, else the published list."""
        meta_file, key = self.META
        if (folder / meta_file).is_file():
            meta = _unpickle(folder / meta_file)
            names = meta.get(key.encode())
            if names is not None:
                return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        return list(self.CLASSES)

    @classmethod
    def download(cls, root: str | os.PathLike[str], *, progress: bool = True) -> None:
        """Fetch the official ``.tar.gz`` into ``root`` (MD5 verified) and extract it there."""
        root = Path(root)
        archive = download_file(
            cls.URL, root / cls.URL.rsplit("/", 1)[-1], checksum=cls.MD5, progress=progress
        )
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():  # refuse absolute paths and ".." escapes
                target = (root / member.name).resolve()
                if not target.is_relative_to(root.resolve()) or member.issym() or member.islnk():
                    raise DataFormatError(f"{str(archive)!r} has an unsafe member {member.name!r}")
            # the "data" filter (Python >= 3.12, backported) re-checks every member itself
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(root, **safe)


class CIFAR100(CIFAR10):
    """CIFAR-100 (Krizhevsky 2009): 32x32 colour images, 100 fine classes in 20 superclasses.

    ``root`` holds the extracted ``cifar-100-python`` folder (files ``train``, ``test``,
    ``meta``). Arguments as :class:`CIFAR10`, plus ``label``.

    Args:
        root: the data folder.
        split: ``"train"`` (50000) or ``"test"`` (10000).
        label: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        download: fetch and extract the official archive if it is missing.
        transform: applied to each image.
    """

    URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
    FOLDER = "cifar-100-python"
    TRAIN = ("train",)
    TEST = ("test",)

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        label: str = "fine",
        download: bool = False,
        transform: Transform | None = None,
        progress: bool = True,
    ) -> None:
        check_choice(label, "label", ("fine", "coarse"))
        self.LABEL_KEY = f"{label}_labels"
        self.META = ("meta", f"{label}_label_names")
        n = 100 if label == "fine" else 20
        self.CLASSES = tuple(f"class_{i:0{len(str(n - 1))}d}" for i in range(n))
        super().__init__(root, split, download=download, transform=transform, progress=progress)
