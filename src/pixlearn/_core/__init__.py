"""Internal helpers: argument checks, errors, and the image layout conventions."""

from pixlearn._core.errors import (
    ImageFileError,
    PixlearnError,
    ShapeError,
    ValueRangeError,
    WrongTypeError,
)

__all__ = ["ImageFileError", "PixlearnError", "ShapeError", "ValueRangeError", "WrongTypeError"]
