"""pixlearn.io: image files and the NumPy/PIL <-> tensor boundary.

``read_image`` / ``write_image`` handle PNG, JPEG and TIFF files; ``to_tensor`` / ``to_numpy``
convert between HWC arrays (uint8/uint16/float) and ``(C, H, W)`` float tensors.
"""

from __future__ import annotations

from pixlearn.io.convert import to_numpy, to_tensor
from pixlearn.io.image import read_image, write_image

__all__ = ["read_image", "to_numpy", "to_tensor", "write_image"]
