"""Classification data sets: built-in (digits, textures, faces), image folders, MNIST, CIFAR.

Every set is an :class:`ImageDataset` (item: float32 ``(C, H, W)`` image in [0, 1] and an int
label; ``classes``, ``num_classes``, ``targets``, ``paths``). :func:`load_dataset` resolves the
spec strings a user types (``digits``, ``folder:/path``, ``cifar10:/root``, ...) and
:func:`check_dataset` counts a set, lists its problems and draws a labelled mosaic.
"""

from __future__ import annotations

from pixlearn.data.datasets.base import (
    DatasetSubset,
    ImageDataset,
    TensorDataset,
    split_indices,
    stratified_split,
)
from pixlearn.data.datasets.check import DatasetReport, check_dataset
from pixlearn.data.datasets.cifar import CIFAR10, CIFAR100, read_cifar_batch
from pixlearn.data.datasets.digits import digits
from pixlearn.data.datasets.download import ChecksumError, DownloadError, download_file
from pixlearn.data.datasets.faces import faces
from pixlearn.data.datasets.folder import IMAGE_EXTENSIONS, ImageFolder, folder_split
from pixlearn.data.datasets.idx import MNIST, FashionMNIST, read_idx
from pixlearn.data.datasets.load import DATASET_SPECS, load_dataset
from pixlearn.data.datasets.textures import textures

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "DATASET_SPECS",
    "IMAGE_EXTENSIONS",
    "MNIST",
    "ChecksumError",
    "DatasetReport",
    "DatasetSubset",
    "DownloadError",
    "FashionMNIST",
    "ImageDataset",
    "ImageFolder",
    "TensorDataset",
    "check_dataset",
    "digits",
    "download_file",
    "faces",
    "folder_split",
    "load_dataset",
    "read_cifar_batch",
    "read_idx",
    "split_indices",
    "stratified_split",
    "textures",
]
