"""Conversion between NumPy/PIL images (HWC, uint8/uint16) and pixlearn tensors (CHW, float).

This is the only place where pixlearn crosses the boundary between the array world
(``(H, W, C)``, integers 0..255 or 0..65535) and the tensor world (``(C, H, W)``, floats in
[0, 1]). The scaling rules are those of scikit-image's ``img_as_float`` / ``img_as_ubyte``:

=============================  ===============================  ============================
array dtype                    float tensor                     integer tensor (labels)
=============================  ===============================  ============================
``uint8``                      :math:`x / 255`                  :math:`x` (unscaled)
``uint16``                     :math:`x / 65535`                :math:`x` (unscaled)
``bool``                       0.0 / 1.0                        0 / 1
other integers (int16, ...)    :math:`x` (unscaled: counts)     :math:`x` (unscaled)
floats                         :math:`x` (kept as is)           refused
=============================  ===============================  ============================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from pixlearn._core.check import check_choice, check_finite, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["to_numpy", "to_tensor"]

# ITU-R BT.601 luma weights: Y = 0.299 R + 0.587 G + 0.114 B
_LUMA_601 = (0.299, 0.587, 0.114)

# the integer range each intensity dtype spans; 0 maps to 0.0 and the maximum to 1.0
_FULL_SCALE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """The pixels of a PIL image as an ``(H, W)`` or ``(H, W, C)`` array in its natural dtype.

    Bilevel ``"1"`` becomes bool, 16-bit gray ``"I;16"`` uint16, palette images RGB (RGBA if
    the palette has transparency), CMYK/YCbCr/HSV/LAB RGB; ``"I"`` stays int32 and ``"F"``
    float32.
    """
    mode = image.mode
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("CMYK", "YCbCr", "HSV", "LAB"):
        image = image.convert("RGB")
    elif mode in ("La", "RGBa"):  # premultiplied alpha: undo the premultiplication
        image = image.convert("LA" if mode == "La" else "RGBA")
    elif mode.startswith("I;16"):
        # byte order is Pillow's business; the values are 0..65535
        return np.asarray(image).astype(np.uint16)
    return np.array(image)


def to_tensor(array: Any, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Turn an image array (HW or HWC) or a PIL image into a ``(C, H, W)`` tensor.

    ``uint8`` values are divided by 255 and ``uint16`` by 65535, so a full-scale white becomes
    1.0; ``bool`` becomes 0/1; floating arrays are kept as they are (neither scaled nor clipped,
    NaN included); other integer dtypes (int16 CT numbers, int32 counts or labels) are taken as
    values, unscaled. With an integer ``dtype`` nothing is scaled at all: the raw values come out
    (label masks); a floating array cannot be read as integers.

    The last axis of a 3-D array is always the channel axis (``(H, W, C)``, ``C`` in 1..4); a
    4-D array is a stack ``(N, H, W, C)`` and becomes ``(N, C, H, W)``. The result is contiguous
    and never shares memory with ``array``.

    Args:
        array: a NumPy array ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)``, or a PIL image.
        dtype: a floating dtype (scaled intensities) or an integer dtype (raw values).

    Returns:
        The image as a tensor of ``dtype`` on the CPU.

    Shape:
        - array: ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)`` with ``1 <= C <= 4``.
        - output: ``(1, H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.

    Example:
        >>> a = np.array([[0, 255], [51, 102]], dtype=np.uint8)
        >>> to_tensor(a)
        tensor([[[0.0000, 1.0000],
                 [0.2000, 0.4000]]])
        >>> to_tensor(np.zeros((4, 5, 3), dtype=np.uint16)).shape
        torch.Size([3, 4, 5])
    """
    if isinstance(array, Image.Image):
        array = _pil_to_array(array)
    if isinstance(array, Tensor) or not isinstance(array, np.ndarray):
        raise WrongTypeError(
            f"array must be a numpy array or a PIL image, got {describe(array)}"
            + (" (it is already a tensor)" if isinstance(array, Tensor) else "")
        )
    if not isinstance(dtype, torch.dtype) or dtype in (
        torch.bool,
        torch.complex64,
        torch.complex128,
    ):
        raise WrongTypeError(f"dtype must be a floating or integer torch.dtype, got {dtype!r}")
    kind = array.dtype.kind  # b bool, u unsigned, i signed, f float
    if kind not in "buif":
        raise WrongTypeError(f"array must hold bool, integer or float values, got {array.dtype}")
    if array.ndim not in (2, 3, 4):
        raise ShapeError(f"array must be (H, W), (H, W, C) or (N, H, W, C), got {describe(array)}")
    if array.ndim >= 3 and not 1 <= array.shape[-1] <= 4:
        raise ShapeError(
            f"array must have its 1..4 channels last (H, W, C), got {describe(array)}; "
            "for a channels-first array use np.moveaxis(array, 0, -1)"
        )
    if array.ndim == 2:
        array = array[:, :, None]  # (H, W, 1)

    if dtype.is_floating_point:
        scale = _FULL_SCALE.get(array.dtype)
        # x / 255 (or x / 65535) computed in float64, where it is correctly rounded
        if scale:
            values = array.astype(np.float64) / scale
        else:
            values = array if kind == "f" else array.astype(np.float64)
    else:
        if kind == "f":
            raise WrongTypeError(
                f"a floating array ({array.dtype}) cannot be read as integers: dtype={dtype}"
            )
        info = torch.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueRangeError(
                f"dtype {dtype} cannot hold the values of array, "
                f"which span [{array.min()}, {array.max()}]"
            )
        values = array.astype(np.int64)
    # torch.tensor copies, so the result never shares memory with the input
    out = torch.tensor(np.ascontiguousarray(values)).to(dtype)  # (..., H, W, C)
    return out.movedim(-1, -3).contiguous()  # (..., C, H, W)


_NUMPY_OUT = ("uint8", "uint16", "float16", "float32", "float64")


def to_numpy(tensor: Tensor, *, dtype: Any = None) -> np.ndarray:
    """Turn a ``(C, H, W)`` tensor into an ``(H, W, C)`` array (``(H, W)`` when ``C == 1``).

    For a floating tensor and an integer ``dtype``, values are clipped to [0, 1], multiplied by
    the full scale (255 or 65535) and rounded to nearest (half to even); NaN is refused. A
    floating ``dtype`` keeps the values as they are. Integer and bool tensors (label masks) are
    converted without scaling; values that do not fit ``dtype`` are refused. The tensor is
    detached and moved to the CPU; the result is a new array.

    Args:
        tensor: an image ``(H, W)``, ``(C, H, W)`` or a stack ``(N, C, H, W)``.
        dtype: ``np.uint8``, ``np.uint16``, ``np.float16/32/64``, or ``None`` for the NumPy
            twin of the tensor's dtype (bfloat16 becomes float32).

    Returns:
        The array: ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)`` (a stack keeps ``C == 1``).

    Shape:
        - tensor: ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
        - output: ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)``.

    Example:
        >>> to_numpy(torch.tensor([[[0.0, 0.5, 1.0, 2.0]]]), dtype=np.uint8)
        array([[  0, 128, 255, 255]], dtype=uint8)
    """
    check_tensor(tensor, "tensor")
    if tensor.dim() not in (2, 3, 4):
        raise ShapeError(
            f"tensor must be (H, W), (C, H, W) or (N, C, H, W), got {describe(tensor)}"
        )
    if tensor.is_complex():
        raise WrongTypeError(f"tensor must be real, got {tensor.dtype}")
    t = tensor.detach().cpu()
    if tensor.dim() >= 3:
        t = t.movedim(-3, -1)  # (..., H, W, C)
        if tensor.dim() == 3 and t.shape[-1] == 1:
            t = t[..., 0]  # (H, W)
    if dtype is None:
        if t.dtype in (torch.bfloat16,):
            t = t.float()
        return t.contiguous().numpy().copy()
    try:
        out_dtype = np.dtype(dtype)
    except TypeError as err:
        raise WrongTypeError(f"dtype must be one of {_NUMPY_OUT}, got {dtype!r}") from err
    check_choice(out_dtype.name, "dtype", _NUMPY_OUT)
    scale = _FULL_SCALE.get(out_dtype)
    if t.is_floating_point() and scale is not None:
        check_finite(t, "tensor")
        # q = round(255 * clip(x, 0, 1))
        t = torch.round(t.double().clamp(0.0, 1.0) * scale)
    elif not t.is_floating_point() and scale is not None and t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi > scale:
            raise ValueRangeError(
                f"tensor values [{lo}, {hi}] do not fit dtype {out_dtype.name} "
                f"(0..{scale}); integer tensors are converted unscaled"
            )
    if out_dtype == np.uint16:  # torch has no full uint16 support on every version
        return t.to(torch.int32).contiguous().numpy().astype(np.uint16)
    return t.contiguous().numpy().astype(out_dtype)


def _convert_mode(image: Tensor, mode: str) -> Tensor:
    """Convert a floating ``(..., C, H, W)`` image between gray, RGB and RGBA.

    ``"gray"`` takes ITU-R BT.601 luma of the colour channels (alpha is dropped, not
    composited); ``"rgb"`` repeats a gray channel and drops alpha; ``"rgba"`` also appends an
    opaque (1.0) alpha unless one is there.

    Notes:
        :math:`Y = 0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601).

    Example:
        >>> _convert_mode(torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1), "gray").flatten()
        tensor([0.2990])
    """
    c = image.shape[-3]
    color = (
        image[..., :3, :, :]
        if c >= 3
        else image[..., :1, :, :].expand(*image.shape[:-3], 3, *image.shape[-2:])
    )  # (..., 3, H, W)
    if mode == "gray":
        if c < 3:
            return image[..., :1, :, :].clone()
        w = torch.tensor(_LUMA_601, dtype=image.dtype, device=image.device).view(3, 1, 1)
        # Y = 0.299 R + 0.587 G + 0.114 B
        return (color * w).sum(dim=-3, keepdim=True)  # (..., 1, H, W)
    if mode == "rgb":
        return color.clone()
    # keep the alpha that is there (gray+alpha, RGBA), else add an opaque one
    alpha = image[..., -1:, :, :] if c in (2, 4) else torch.ones_like(image[..., :1, :, :])
    return torch.cat([color, alpha], dim=-3)  # (..., 4, H, W)
