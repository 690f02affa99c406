"""The exceptions pixlearn raises for bad input.

Each is a subclass of the built-in exception a user would catch anyway (``ValueError`` or
``TypeError``), so ``except ValueError`` keeps working, while ``except PixlearnError`` catches
everything the library itself refused.
"""

from __future__ import annotations

__all__ = [
    "DataFormatError",
    "ImageFileError",
    "NotFittedError",
    "PixlearnError",
    "ShapeError",
    "ValueRangeError",
    "WrongTypeError",
]


class PixlearnError(Exception):
    """Base class of every error pixlearn raises on purpose."""


class ShapeError(PixlearnError, ValueError):
    """A tensor has the wrong number of dimensions or the wrong size along one."""


class WrongTypeError(PixlearnError, TypeError):
    """An argument has the wrong Python type or tensor dtype."""


class ValueRangeError(PixlearnError, ValueError):
    """A value is outside the allowed range, or is NaN/Inf where a finite number is needed."""


class ImageFileError(PixlearnError, ValueError):
    """An image file cannot be read or written; the message names the file."""


class DataFormatError(PixlearnError, ValueError):
    """An annotation file (COCO JSON, VOC XML, YOLO txt/yaml) is malformed; names file and entry."""


class NotFittedError(PixlearnError, ValueError, AttributeError):
    """A learned encoder or detector was used before ``fit`` (a ``ValueError``, as in sklearn)."""
