"""Internal helpers: argument checks, errors, and the image layout conventions."""

from pixlearn._core.errors import (
    DataFormatError,
    ImageFileError,
    PixlearnError,
    ShapeError,
    ValueRangeError,
    WrongTypeError,
)

__all__ = [
    "DataFormatError",
    "ImageFileError",
    "PixlearnError",
    "ShapeError",
    "ValueRangeError",
    "WrongTypeError",
]
