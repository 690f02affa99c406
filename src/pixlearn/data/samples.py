"""The built-in sample photographs: scikit-image's bundled images, as ``(C, H, W)`` tensors.

Only the images that ship inside the scikit-image wheel are listed, so every sample loads with
no network. scikit-image is used only to locate its files; pixlearn reads them itself with
:func:`pixlearn.io.read_image`'s decoders. Each sample equals the matching ``skimage.data``
function's array scaled to [0, 1] (uint8 / 255; ``horse`` is its bool mask as 0/1).
"""

from __future__ import annotations

import difflib
import functools
from importlib import resources

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.io.convert import _convert_mode, to_tensor
from pixlearn.io.image import _read_array

__all__ = ["list_samples", "sample"]

# name -> (file inside skimage/data, how to turn the stored pixels into the sample):
# "as_is" keeps the file's channels, "gray" takes BT.601 luma of an RGB(A) file whose channels
# are equal, "mask" thresholds that luma at 0.5 (scikit-image's img_as_bool)
_SAMPLES: dict[str, tuple[str, str]] = {
    "astronaut": ("astronaut.png", "as_is"),  # (3, 512, 512) Eileen Collins, NASA
    "brick": ("brick.png", "as_is"),  # (1, 512, 512) texture
    "camera": ("camera.png", "as_is"),  # (1, 512, 512) the cameraman
    "cell": ("cell.png", "as_is"),  # (1, 660, 550) microscopy
    "checkerboard": ("chessboard_GRAY.png", "as_is"),  # (1, 200, 200)
    "chelsea": ("chelsea.png", "as_is"),  # (3, 300, 451) a cat
    "clock": ("clock_motion.png", "as_is"),  # (1, 300, 400) motion blur
    "coffee": ("coffee.png", "as_is"),  # (3, 400, 600)
    "coins": ("coins.png", "as_is"),  # (1, 303, 384) Greek coins
    "colorwheel": ("color.png", "as_is"),  # (3, 370, 371)
    "grass": ("grass.png", "as_is"),  # (1, 512, 512) texture
    "gravel": ("gravel.png", "as_is"),  # (1, 512, 512) texture
    "horse": ("horse.png", "mask"),  # (1, 328, 400) binary silhouette
    "hubble_deep_field": ("hubble_deep_field.jpg", "as_is"),  # (3, 872, 1000)
    "immunohistochemistry": ("ihc.png", "as_is"),  # (3, 512, 512) stained tissue
    "logo": ("logo.png", "as_is"),  # (4, 500, 500) RGBA, keeps its alpha
    "microaneurysms": ("microaneurysms.png", "as_is"),  # (1, 102, 102) retina detail
    "moon": ("moon.png", "as_is"),  # (1, 512, 512) low contrast
    "motorcycle_left": ("motorcycle_left.png", "as_is"),  # (3, 500, 741) stereo pair, left
    "motorcycle_right": ("motorcycle_right.png", "as_is"),  # (3, 500, 741) stereo pair, right
    "page": ("page.png", "as_is"),  # (1, 191, 384) uneven illumination
    "retina": ("retina.jpg", "as_is"),  # (3, 1411, 1411) fundus photograph
    "rocket": ("rocket.jpg", "as_is"),  # (3, 427, 640)
    "shepp_logan_phantom": ("phantom.png", "gray"),  # (1, 400, 400) CT phantom
    "text": ("text.png", "as_is"),  # (1, 172, 448)
}


def list_samples() -> list[str]:
    """The names :func:`sample` accepts, sorted.

    Example:
        >>> "camera" in list_samples(), "astronaut" in list_samples()
        (True, True)
    """
    return sorted(_SAMPLES)


@functools.lru_cache(maxsize=8)
def _load(name: str) -> np.ndarray:
    """The stored pixels of one sample (HW or HWC, uint8), read once and kept read-only."""
    ref = resources.files("skimage.data") / _SAMPLES[name][0]
    with resources.as_file(ref) as path:
        array = _read_array(path)
    array.flags.writeable = False  # the cache is shared by every call
    return array


def sample(name: str, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """A built-in photograph as a ``(C, H, W)`` tensor with values in [0, 1].

    Gray images come as ``(1, H, W)``, colour as ``(3, H, W)``; ``logo`` keeps its alpha
    ``(4, H, W)`` and ``horse`` is a binary mask of 0.0 and 1.0. The file is decoded once and
    cached; every call returns a new tensor, free to modify.

    Args:
        name: one of :func:`list_samples` (the ``skimage.data`` function names).
        dtype: a floating dtype; values are computed in float64 and rounded once to ``dtype``.

    Returns:
        The image, equal to ``skimage.data.<name>()`` divided by 255 (a mask as 0/1).

    Raises:
        ValueError: ``name`` is unknown; the message lists the valid names.

    Shape:
        - output: ``(C, H, W)``, ``C`` in {1, 3, 4}.

    Example:
        >>> img = sample("camera")
        >>> img.shape, img.dtype, bool(img.min() >= 0 and img.max() <= 1)
        (torch.Size([1, 512, 512]), torch.float32, True)

    References:
        van der Walt, S. et al. "scikit-image: image processing in Python." PeerJ 2014
        (the ``skimage.data`` collection and its sources).
    """
    if not isinstance(name, str) or name not in _SAMPLES:
        close = difflib.get_close_matches(str(name), _SAMPLES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueRangeError(
            f"name must be one of {', '.join(list_samples())}; got {name!r}.{hint}"
        )
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise WrongTypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    kind = _SAMPLES[name][1]
    image = to_tensor(_load(name), dtype=torch.float64)  # (C, H, W), x / 255, a fresh copy
    if kind in ("gray", "mask"):
        # Y = 0.299 R + 0.587 G + 0.114 B; the channels are equal, so Y is their common value
        image = _convert_mode(image, "gray")  # (1, H, W)
    if kind == "mask":
        image = (image > 0.5).to(torch.float64)  # scikit-image's img_as_bool threshold
    return image.to(dtype)
