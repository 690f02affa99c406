"""MNIST and Fashion-MNIST: the IDX file format, its reader and the two data sets.

An IDX file is a big-endian header followed by the raw array::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d
    4 * d       the size of each dimension, big-endian uint32
    ...         the elements, big-endian, C order

so the MNIST training images start with the magic number ``0x00000803`` (uint8, 3 dims:
60000 x 28 x 28) and their labels with ``0x00000801``. Files may be gzip-compressed (``.gz``, as
distributed); the reader recognises gzip from its first bytes, so names need not say.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from pixlearn._core.check import check_choice
from pixlearn._core.errors import DataFormatError
from pixlearn.data.datasets.base import TensorDataset, Transform
from pixlearn.data.datasets.download import download_file

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

# element type code -> big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array in native byte order.

    Args:
        path: the file.

    Returns:
        The array with the shape and element type its header declares.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: a bad magic number, an unknown type code, a truncated or over-long
            body, or a broken gzip stream; the message names the file.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = f.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
        >>> read_idx(f)
        array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {str(path)!r}")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip magic
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise DataFormatError(f"cannot decompress {str(path)!r}: {err}") from err
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise DataFormatError(
            f"{str(path)!r} is not an IDX file: expected the magic 0x0000TTDD, "
            f"got {data[:4].hex() or 'an empty file'}"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise DataFormatError(
            f"{str(path)!r} has the unknown IDX element type 0x{code:02X} "
            f"(expected one of {', '.join(f'0x{c:02X}' for c in _IDX_TYPES)})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{str(path)!r} is truncated inside its IDX header")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataFormatError(
            f"{str(path)!r} is truncated or corrupt: its header declares shape {shape} "
            f"({expected} bytes of data), the file holds {len(data) - header}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native order, writable copy


class MNIST(TensorDataset):
    """The MNIST handwritten digits (LeCun et al.): 28x28 gray, 60000 train / 10000 test.

    The four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each raw or ``.gz``) are looked
    for in ``root`` and in ``root/raw``.

    Args:
        root: the folder holding the files.
        split: ``"train"`` or ``"test"`` (the official split; there is no ``"val"``).
        download: fetch missing files from the official mirrors into ``root`` first (checksums
            verified, see :func:`~pixlearn.data.datasets.download.download_file`).
        transform: applied to each image in ``__getitem__``.

    Raises:
        FileNotFoundError: a file is missing (the message names where it was looked for).
        DataFormatError: a corrupt file, or images and labels that do not match.

    Example:
        >>> import tempfile, pathlib, gzip
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> header = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28])
        >>> _ = (root / "t10k-images-idx3-ubyte.gz").write_bytes(
        ...     gzip.compress(header + bytes(2 * 28 * 28)))
        >>> _ = (root / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 4, 9]))
        >>> ds = MNIST(root, "test")
        >>> len(ds), ds[1][0].shape, ds[1][1]
        (2, torch.Size([1, 28, 28]), 9)

    References:
        LeCun, Y., Bottou, L., Bengio, Y. and Haffner, P. "Gradient-based learning applied to
        document recognition." Proc. IEEE 1998.
    """

    #: mirrors tried in order (base URLs; the file name is appended)
    MIRRORS: tuple[str, ...] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    #: the compressed files and their published MD5 checksums
    FILES: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

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
        if download:
            self.download(root, progress=progress)
        prefix = "train" if split == "train" else "t10k"
        images = read_idx(self._find(root, f"{prefix}-images-idx3-ubyte"))
        labels_path = self._find(root, f"{prefix}-labels-idx1-ubyte")
        labels = read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataFormatError(
                f"{str(labels_path)!r}: expected (N, H, W) images and (N,) labels, "
                f"got {images.shape} and {labels.shape}"
            )
        n_cls = len(self.CLASSES)
        if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_cls):
            raise DataFormatError(
                f"{str(labels_path)!r} holds labels outside 0..{n_cls - 1}: "
                f"[{int(labels.min())}, {int(labels.max())}]"
            )
        self.root = root
        self.split = split
        super().__init__(
            torch.from_numpy(images.astype(np.uint8))[:, None],  # (N, 1, 28, 28)
            torch.from_numpy(labels.astype(np.int64)),
            list(self.CLASSES),
            transform=transform,
        )

    @classmethod
    def _find(cls, root: Path, stem: str) -> Path:
        candidates = [d / f"{stem}{ext}" for d in (root, root / "raw") for ext in ("", ".gz")]
        for path in candidates:
            if path.is_file():
                return path
        raise FileNotFoundError(
            f"{cls.__name__} file {stem!r} not found in {str(root)!r} (looked for "
            f"{', '.join(repr(str(p)) for p in candidates)}); pass download=True to fetch it"
        )

    @classmethod
    def download(cls, root: str | os.PathLike[str], *, progress: bool = True) -> None:
        """Fetch the four ``.gz`` files into ``root`` unless they are there (verified)."""
        root = Path(root)
        for name, md5 in cls.FILES.items():
            stem = name[: -len(".gz")]
            if any((root / f"{stem}{ext}").is_file() for ext in ("", ".gz")):
                continue
            urls = [base + name for base in cls.MIRRORS]
            download_file(urls, root / name, checksum=md5, progress=progress)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al.): Zalando's 28x28 gray clothing images in MNIST's format.

    Same files, layout and arguments as :class:`MNIST`; 10 classes ``"T-shirt/top"`` ..
    ``"Ankle boot"``.

    References:
        Xiao, H., Rasul, K. and Vollgraf, R. "Fashion-MNIST: a novel image dataset for
        benchmarking machine learning algorithms." arXiv:1708.07747, 2017.
    """

    MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    FILES: ClassVar[dict[str, str]] = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    CLASSES = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
