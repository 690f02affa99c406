"""Read and write image files: PNG, JPEG and TIFF, 8/16-bit and float, gray/RGB/RGBA.

Pillow decodes PNG and JPEG (and whatever else it knows: GIF, BMP, WebP, ...), tifffile
decodes TIFF, and a small codec of pixlearn's own (:mod:`pixlearn.io._png16`) handles the
16-bit colour PNGs that Pillow would reduce to 8 bits. The format is recognised from the file's
first bytes when reading and from the extension when writing. Files are written to a temporary
name in the same folder and renamed, so a failed write never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import tifffile
import torch
from PIL import Image
from torch import Tensor

from pixlearn._core.check import check_choice, check_finite, check_image, check_int, describe
from pixlearn._core.errors import ImageFileError, ShapeError, ValueRangeError, WrongTypeError
from pixlearn.io._png16 import is_png16_color, read_png16, write_png16
from pixlearn.io.convert import _convert_mode, _pil_to_array, to_numpy, to_tensor

__all__ = ["read_image", "write_image"]

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _read_array(path: Path) -> np.ndarray:
    """The pixels of an image file as stored: ``(H, W)`` or ``(H, W, C)`` in the file's dtype."""
    if not path.exists():
        raise FileNotFoundError(f"image file not found: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"expected an image file, got the folder {str(path)!r}")
    data = path.read_bytes()
    if not data:
        raise ImageFileError(f"cannot read image file {str(path)!r}: the file is empty")
    try:
        if data[:4] in _TIFF_MAGIC:
            return _read_tiff(data)
        if is_png16_color(data[:26]):
            return read_png16(data)
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # decode now, so truncated data fails here
            array = _pil_to_array(im)
        # old Pillow opens 16-bit gray PNGs as 32-bit "I"; the values are 0..65535
        if data.startswith(b"\x89PNG") and data[24] == 16 and array.dtype == np.int32:
            array = array.astype(np.uint16)
        return array
    except Exception as err:  # every decoder has its own errors; name the file, keep the cause
        raise ImageFileError(
            f"cannot read image file {str(path)!r} (corrupt, truncated or not an image): {err}"
        ) from err


def _read_tiff(data: bytes) -> np.ndarray:
    """Decode a single-page TIFF; the samples axis is where the file's tags put it."""
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        if len(tif.pages) != 1:
            raise ValueError(
                f"the TIFF has {len(tif.pages)} pages; read_image reads single images "
                "(use tifffile.imread for stacks)"
            )
        page = tif.pages[0]
        array, axes = page.asarray(), page.axes
    # PlanarConfiguration decides the layout: contig is YXS (H, W, C), separate is SYX (C, H, W)
    if axes == "SYX":
        array = np.moveaxis(array, 0, -1)
    elif axes not in ("YX", "YXS"):
        raise ValueError(f"unsupported TIFF layout {axes!r} (expected YX, YXS or SYX)")
    return array


def read_image(
    path: str | os.PathLike[str],
    *,
    mode: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Read an image file into a ``(C, H, W)`` tensor.

    PNG (1/8/16-bit, gray, gray+alpha, RGB, RGBA, palette), JPEG and single-page TIFF
    (uint8/uint16/float32/bool; interleaved ``YXS`` or planar ``SYX`` as the file's
    PlanarConfiguration tag says) are read; other formats Pillow knows also work. The format is
    recognised from the file's content, not its name. Pixels are taken as stored: JPEG EXIF
    orientation is not applied and ICC profiles are ignored.

    With a floating ``dtype`` the values are scaled as :func:`~pixlearn.io.to_tensor` does
    (uint8 / 255, uint16 / 65535, float kept). With an integer ``dtype`` (``torch.int64``) the
    stored values come out unscaled: that is how to read a label mask.

    Args:
        path: the file.
        mode: ``None`` keeps the file's channels; ``"gray"`` converts to one channel with
            ITU-R BT.601 luma (alpha dropped), ``"rgb"`` to three (gray repeated, alpha dropped),
            ``"rgba"`` to four (an opaque alpha of 1.0 added). Only for a floating ``dtype``.
        dtype: floating (scaled intensities) or integer (raw stored values).

    Returns:
        The image, ``(C, H, W)`` with ``C`` in 1..4 (a gray file gives ``(1, H, W)``).

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        pixlearn._core.errors.ImageFileError: the file is empty, corrupt, truncated or of an
            unsupported kind; the message names the file and the decoder's error is chained.

    Shape:
        - output: ``(C, H, W)``.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "ramp.png"
        >>> write_image(f, torch.linspace(0, 1, 6).view(1, 2, 3))
        >>> read_image(f)
        tensor([[[0.0000, 0.2000, 0.4000],
                 [0.6000, 0.8000, 1.0000]]])
        >>> read_image(f, mode="rgb").shape, read_image(f, dtype=torch.int64)[0, 1].tolist()
        (torch.Size([3, 2, 3]), [153, 204, 255])

    Notes:
        Gray conversion: :math:`Y = 0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601).
    """
    if mode is not None:
        check_choice(mode, "mode", ("gray", "rgb", "rgba"))
        if isinstance(dtype, torch.dtype) and not dtype.is_floating_point:
            raise ValueRangeError(
                f"mode={mode!r} converts intensities and needs a floating dtype, got {dtype}; "
                "read labels with mode=None"
            )
    path = Path(path)
    array = _read_array(path)
    try:
        image = to_tensor(array, dtype=dtype)
    except ShapeError as err:
        raise ImageFileError(f"cannot use image file {str(path)!r}: {err}") from err
    return image if mode is None else _convert_mode(image, mode)


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageFileError(
            f"cannot tell the image format of {str(path)!r} from its extension "
            f"{path.suffix!r}; use one of {', '.join(sorted(_FORMATS))}"
        )
    return fmt


def _to_array(image: Tensor, fmt: str, bit_depth: int | None) -> np.ndarray:
    """The array to store: HWC (HW for one channel) in the dtype the file will hold."""
    if image.dtype == torch.bool:
        if fmt == "jpeg":
            raise WrongTypeError("image is a bool mask; JPEG is lossy, write masks as PNG or TIFF")
        if bit_depth is not None:
            raise ValueRangeError(f"bit_depth must be None for a bool image, got {bit_depth}")
        if image.dim() == 3 and image.shape[0] != 1:
            raise ShapeError(f"image as a bool mask must have one channel, got {describe(image)}")
        return to_numpy(image)  # bool, stored 1-bit
    if image.is_floating_point():
        check_finite(image, "image")
        depth = bit_depth or (32 if fmt == "tiff" else 8)
        if depth == 32:
            return to_numpy(image, dtype=np.float32)  # written as is, no clipping
        # clip to [0, 1], then q = round((2^depth - 1) x)
        return to_numpy(image, dtype=np.uint8 if depth == 8 else np.uint16)
    if image.is_complex():
        raise WrongTypeError(f"image must be real, got {image.dtype}")
    # integer tensors are label masks or raw counts: stored unscaled
    lo, hi = (int(image.min()), int(image.max())) if image.numel() else (0, 0)
    depth = bit_depth or (8 if hi <= 255 else 16)
    limit = 255 if depth == 8 else 65535
    if lo < 0 or hi > limit:
        raise ValueRangeError(
            f"image holds integers in [{lo}, {hi}], which do not fit {depth}-bit unsigned "
            f"(0..{limit}); integer images are written unscaled"
        )
    return to_numpy(image, dtype=np.uint8 if depth == 8 else np.uint16)


def write_image(
    path: str | os.PathLike[str],
    image: Tensor,
    *,
    bit_depth: int | None = None,
    quality: int = 95,
) -> None:
    r"""Write a ``(C, H, W)`` or ``(H, W)`` tensor to an image file; the extension picks the format.

    Floating images are clipped to [0, 1] and quantised to ``bit_depth`` bits,
    :math:`q = \mathrm{round}((2^b - 1)\,\mathrm{clip}(x, 0, 1))`; by default 8 bits for PNG and
    JPEG and float32 (``bit_depth=32``, written unclipped) for TIFF. NaN and Inf are refused.
    Integer images (label masks) are written unscaled, 8-bit when every value fits 0..255, else
    16-bit; negative values or values beyond 65535 are refused. Bool masks become 1-bit
    PNG/TIFF. Parent folders are created; the file is written under a temporary name and renamed.

    Args:
        path: ``.png``, ``.jpg``/``.jpeg`` or ``.tif``/``.tiff``.
        image: ``(H, W)`` or ``(C, H, W)``, ``C`` in 1..4 (JPEG: 1 or 3), float, integer or bool.
        bit_depth: 8 or 16 (PNG, TIFF), 32 (TIFF float32); JPEG is always 8-bit.
        quality: JPEG quality, 1..100 (95 by default; ignored by the other formats).

    Raises:
        pixlearn._core.errors.ImageFileError: the extension is unknown (the message names
            ``path``) or the file cannot be written.
        ValueError, TypeError: a bad ``image``, ``bit_depth`` or ``quality`` (named).

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.tif"
        >>> img = torch.rand(3, 4, 5)
        >>> write_image(f, img, bit_depth=16)
        >>> bool((read_image(f) - img).abs().max() <= 0.5 / 65535)
        True
    """
    path = Path(path)
    fmt = _format_of(path)
    check_image(image, "image", min_dims=2, max_dims=3, finite=False)
    if image.dim() == 3 and not 1 <= image.shape[0] <= 4:
        raise ShapeError(f"image must have 1..4 channels (C, H, W), got {describe(image)}")
    if bit_depth is not None:
        bit_depth = check_int(bit_depth, "bit_depth")
        allowed = {"png": (8, 16), "jpeg": (8,), "tiff": (8, 16, 32)}[fmt]
        if bit_depth not in allowed:
            raise ValueRangeError(
                f"bit_depth for {fmt.upper()} must be one of {allowed}, got {bit_depth}"
            )
    quality = check_int(quality, "quality", min_value=1)
    if quality > 100:
        raise ValueRangeError(f"quality must be in 1..100, got {quality}")
    channels = 1 if image.dim() == 2 else image.shape[0]
    if fmt == "jpeg" and channels not in (1, 3):
        raise ShapeError(f"image for JPEG must have 1 or 3 channels, got {describe(image)}")

    array = _to_array(image, fmt, bit_depth)  # (H, W) or (H, W, C)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            buffer = io.BytesIO()
            _encode(buffer, array, fmt, quality)
            file.write(buffer.getvalue())
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)  # never leave a half-written file behind
        if isinstance(err, Exception):
            raise ImageFileError(f"cannot write image file {str(path)!r}: {err}") from err
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _encode(file: io.BytesIO, array: np.ndarray, fmt: str, quality: int) -> None:
    """Encode ``array`` (HW or HWC, bool/uint8/uint16/float32) into ``file``."""
    if fmt == "tiff":
        color = array.ndim == 3 and array.shape[2] >= 3
        extra = ["unassalpha"] if array.ndim == 3 and array.shape[2] in (2, 4) else None
        tifffile.imwrite(
            file,
            array,
            photometric="rgb" if color else "minisblack",
            planarconfig="contig" if array.ndim == 3 else None,
            extrasamples=extra,
        )
        return
    if fmt == "png" and array.dtype == np.uint16 and array.ndim == 3:
        write_png16(file, array)  # Pillow cannot hold 16-bit colour
        return
    if array.dtype == np.uint16:
        pil = Image.fromarray(array)  # 16-bit gray, "I;16"
    elif array.dtype == np.bool_:
        pil = Image.fromarray(array)  # bilevel, "1"
    else:
        pil = Image.fromarray(array if array.ndim == 2 or array.shape[2] > 1 else array[..., 0])
    if fmt == "jpeg":
        pil.save(file, format="JPEG", quality=quality)
    else:
        pil.save(file, format="PNG")
