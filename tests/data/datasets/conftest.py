"""Write small files in the real MNIST (IDX) and CIFAR (python pickle) formats for the tests."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: 0x0000, type 0x08, ndim, big-endian dims, data."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_mnist(
    root: Path, split: str, images: np.ndarray, labels: np.ndarray, *, gz: bool
) -> None:
    prefix = "train" if split == "train" else "t10k"
    for stem, arr in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        data = idx_bytes(arr)
        if gz:
            (root / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (root / stem).write_bytes(data)


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) HWC uint8 -> the (N, 3072) rows of a CIFAR batch: R, G, B planes."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), -1)


def write_cifar_batch(
    path: Path, images_hwc: np.ndarray, labels: list[int], key: bytes = b"labels", extra=None
) -> None:
    batch = {b"batch_label": b"test batch", b"data": cifar_rows(images_hwc), key: labels}
    batch.update(extra or {})
    path.write_bytes(pickle.dumps(batch, protocol=2))


class Writers:
    """The writers, handed to tests by the ``writers`` fixture (tests cannot import siblings)."""

    idx_bytes = staticmethod(idx_bytes)
    write_mnist = staticmethod(write_mnist)
    cifar_rows = staticmethod(cifar_rows)
    write_cifar_batch = staticmethod(write_cifar_batch)


@pytest.fixture
def writers() -> type[Writers]:
    return Writers
