"""Internal helpers: argument checks, errors, and the image layout conventions."""

from pixlearn._core.errors import (
    DataFormatError,
    ImageFileError,
    NotFittedError,
    PixlearnError,
    ShapeError,
    ValueRangeError,
    WrongTypeError,
)

__all__ = [
    "DataFormatError",
    "ImageFileError",
    "NotFittedError",
    "PixlearnError",
    "ShapeError",
    "ValueRangeError",
    "WrongTypeError",
]
