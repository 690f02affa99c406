"""Built-in data: sample photographs, classification sets, synthetic generators, data formats.

Nothing is downloaded at run time: the photographs are the ones bundled with scikit-image, and the
synthetic sets (``pixlearn.data.synthetic``: cells, digit scenes, shapes) are generated from a
seed. The built-in classification sets are functions too: ``digits()``, ``faces()`` (the LFW face
/ non-face patches) and ``textures()`` (brick, grass and gravel tiles). ``load_dataset`` resolves
the data-set specs a user types (``digits``, ``textures``, ``faces``, ``folder:/path``,
``mnist:/root``, ``cifar10:/root``, ...; see ``pixlearn.data.datasets``).
``pixlearn.data.formats`` reads and writes COCO JSON, Pascal VOC XML and YOLO txt.
"""

from pixlearn.data import formats, synthetic
from pixlearn.data.datasets import (
    ImageDataset,
    ImageFolder,
    check_dataset,
    digits,
    faces,
    load_dataset,
    textures,
)
from pixlearn.data.samples import list_samples, sample

__all__ = [
    "ImageDataset",
    "ImageFolder",
    "check_dataset",
    "digits",
    "faces",
    "formats",
    "list_samples",
    "load_dataset",
    "sample",
    "synthetic",
    "textures",
]
