"""Detection data formats: COCO JSON, Pascal VOC XML and YOLO txt readers and writers.

All three read into, and write from, one COCO-style dict (see :mod:`pixlearn.data.formats.coco`);
:func:`convert` goes from one format to another through it.
"""

from __future__ import annotations

from pixlearn.data.formats.coco import BOX_TOLERANCE, read_coco, validate_coco, write_coco
from pixlearn.data.formats.convert import FORMATS, convert
from pixlearn.data.formats.voc import read_voc, write_voc
from pixlearn.data.formats.yolo import IMAGE_EXTENSIONS, read_yolo, write_yolo

__all__ = [
    "BOX_TOLERANCE",
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "convert",
    "read_coco",
    "read_voc",
    "read_yolo",
    "validate_coco",
    "write_coco",
    "write_voc",
    "write_yolo",
]
