r"""A JPEG-style lossy codec: YCbCr, 8x8 DCT, quality-scaled quantisation, zig-zag, run-length
and Huffman coding, written as pixlearn's own documented byte stream (not a JFIF file).

Stream layout (little-endian): ``b"PXJP"``, ``height u32``, ``width u32``, ``layout u8`` (2 for
an ``(H, W)`` input, 3 for ``(C, H, W)``), ``channels u8`` (1 or 3), ``subsampling u8`` (0 for
4:4:4, 1 for 4:2:0), ``quality u8``, the luminance and (colour only) chrominance quantisation
tables as 64 ``u8`` each in zig-zag order, then per component group (luma; then chroma, Cb blocks
before Cr blocks) a DC and an AC Huffman section (``count u32``, ``bits u32``, table size
``n u16``, ``n x (symbol u8, code length u8)`` of the canonical code, payload), and last the
amplitude bits of all coefficients (``bits u32``, payload) in the same order. Baseline JPEG
interleaves these bits block by block; grouping them costs the same number of bits and lets both
directions run vectorised. The Huffman codes are optimised per image (as libjpeg's
``optimize_coding``), from :mod:`pixlearn.compression.huffman`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, describe
from pixlearn._core.errors import DataFormatError, ShapeError, ValueRangeError, WrongTypeError
from pixlearn.color import rgb_to_ycbcr, ycbcr_to_rgb
from pixlearn.compression import _jpeg_symbols as sy
from pixlearn.compression._bits import pack_bits
from pixlearn.compression.dct import blockwise_dct, blockwise_idct

__all__ = ["JPEGStream", "jpeg_decode", "jpeg_encode"]

_MAGIC = b"PXJP"
_HEAD = "<4sIIBBBB"
_SUBSAMPLING = ("4:4:4", "4:2:0")


@dataclass(frozen=True)
class JPEGStream:
    """A compressed image: the byte stream plus a readable copy of its header.

    Attributes:
        data: the whole stream (header, tables, entropy-coded data), as laid out in the
            module docstring; :func:`jpeg_decode` needs nothing else.
        height, width, channels: the image size (channels 1 or 3).
        quality: the IJG quality factor, 1 to 100.
        subsampling: ``"4:2:0"`` or ``"4:4:4"`` (``"4:4:4"`` for gray).
    """

    data: bytes
    height: int
    width: int
    channels: int
    quality: int
    subsampling: str

    @property
    def num_bits(self) -> int:
        """Size of the stream in bits, everything included."""
        return 8 * len(self.data)

    @property
    def bits_per_pixel(self) -> float:
        """``num_bits / (height * width)``: the compression rate (24 for raw RGB, 8 for gray)."""
        return self.num_bits / (self.height * self.width)


def _pad_to(plane: Tensor, multiple: int) -> Tensor:
    """Replicate the last row/column until both sides are multiples of ``multiple``."""
    h, w = plane.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return plane
    return F.pad(plane[None, None], (0, pw, 0, ph), mode="replicate")[0, 0]


def _quantise(plane: Tensor, table: np.ndarray) -> np.ndarray:
    """Level shift, blockwise DCT and quantisation; returns ``(blocks, 64)`` in zig-zag order."""
    p = _pad_to(plane, 8)
    coef = blockwise_dct(p - 128.0)  # (H8, W8)
    nh, nw = p.shape[0] // 8, p.shape[1] // 8
    blocks = coef.reshape(nh, 8, nw, 8).transpose(1, 2).reshape(nh * nw, 64)  # raster blocks
    q = torch.as_tensor(table.reshape(-1), dtype=blocks.dtype, device=blocks.device)
    # Sq(u, v) = round(S(u, v) / Q(u, v))
    return torch.round(blocks / q).cpu().numpy().astype(np.int64)[:, sy.ZIGZAG]


def _dequantise(zz: np.ndarray, table: np.ndarray, h: int, w: int) -> Tensor:
    """Inverse of :func:`_quantise`: back to an ``(h, w)`` plane of samples (float32)."""
    nh, nw = -(-h // 8), -(-w // 8)
    raster = np.empty_like(zz)
    raster[:, sy.ZIGZAG] = zz * table.reshape(-1)[sy.ZIGZAG]  # R(u, v) = Sq(u, v) Q(u, v)
    coef = torch.from_numpy(raster.astype(np.float32)).reshape(nh, nw, 8, 8)
    plane = blockwise_idct(coef.transpose(1, 2).reshape(nh * 8, nw * 8)) + 128.0
    return plane[:h, :w]


def _group_symbols(
    blocks: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """DC and AC symbols, sizes and amplitude bits of the components sharing one table pair."""
    dc = [sy.dc_symbols(b[:, 0]) for b in blocks]
    ac = [sy.ac_symbols(b[:, 1:]) for b in blocks]
    return tuple(
        np.concatenate([part[i] for part in parts]) for parts in (dc, ac) for i in range(3)
    )  # type: ignore[return-value]


def jpeg_encode(image: Tensor, quality: int = 75, *, subsampling: str = "4:2:0") -> JPEGStream:
    r"""Compress an image with the JPEG baseline pipeline into pixlearn's byte stream.

    Args:
        image: gray ``(H, W)`` or ``(1, H, W)``, or RGB ``(3, H, W)``; float in [0, 1] (values
            outside are clipped), finite. It is rounded to 8 bits first, as JPEG codes 8-bit
            samples.
        quality: the IJG quality factor, an integer in [1, 100] (Pillow's and libjpeg's scale).
        subsampling: chroma resolution for RGB: ``"4:2:0"`` (half in both directions, the
            default of libjpeg and Pillow) or ``"4:4:4"`` (full).

    Returns:
        A :class:`JPEGStream`; ``stream.bits_per_pixel`` is the compression rate, counting the
        whole stream (header and Huffman tables included).

    Raises:
        WrongTypeError: ``image`` is not a floating tensor; ``quality`` not an integer.
        ShapeError: not 2-D or 3-D, or not 1 or 3 channels, or empty.
        ValueRangeError: ``quality`` outside [1, 100], an unknown ``subsampling``, NaN/Inf.

    Notes:
        RGB goes to full-range YCbCr (:func:`pixlearn.color.rgb_to_ycbcr`); the chroma planes
        of 4:2:0 are 2x2 means. Every 8x8 block :math:`f`, level-shifted by 128, is
        transformed by the orthonormal DCT-II :math:`F = D (f - 128) D^T`
        (:func:`blockwise_dct`) and quantised, :math:`F_q(u, v) = \mathrm{round}(F(u, v) /
        Q(u, v))`, where :math:`Q` is the Annex K table scaled by the IJG rule
        (:math:`s = 5000/q` for :math:`q < 50`, else :math:`200 - 2q`;
        :math:`Q = \lfloor (Q_{50} s + 50) / 100 \rfloor` clipped to [1, 255]). The zig-zag
        scan orders the 63 AC coefficients by frequency; DC is coded as the difference from
        the previous block, AC as (zero run, size) symbols (ZRL for 16 zeros, EOB after the
        last nonzero), and both symbol streams are Huffman-coded with amplitudes appended.

    Example:
        >>> img = torch.linspace(0, 1, 64 * 64).reshape(64, 64)
        >>> s = jpeg_encode(img, 90)
        >>> s.bits_per_pixel < 2, float((jpeg_decode(s) - img).abs().max()) < 0.05
        (True, True)

    References:
        Wallace, G. K. "The JPEG still picture compression standard." Comm. ACM 34(4), 1991;
        ITU-T T.81 (1992), Annex K; Independent JPEG Group, libjpeg ``jpeg_set_quality``.
    """
    check_image(image, "image", max_dims=3, floating=True)
    layout = image.dim()
    img = image[None] if layout == 2 else image
    if img.shape[0] not in (1, 3):
        raise ShapeError(f"image must have 1 or 3 channels, shape (C, H, W), got {describe(image)}")
    quality = check_int(quality, "quality", min_value=1)
    if quality > 100:
        raise ValueRangeError(f"quality must be in [1, 100], got {quality}")
    check_choice(subsampling, "subsampling", _SUBSAMPLING)
    channels, h, w = img.shape
    sub = subsampling if channels == 3 else "4:4:4"
    x = img.float().clamp(0.0, 1.0)
    x = torch.round(x * 255.0) / 255.0  # 8-bit samples, as a JPEG encoder receives them
    ycc = rgb_to_ycbcr(x) if channels == 3 else x
    planes = list(torch.round(ycc * 255.0).unbind(0))  # each (H, W) in [0, 255]
    if sub == "4:2:0":  # 2x2 chroma means (odd sides replicate their last row/column)
        planes[1:] = [F.avg_pool2d(_pad_to(p, 2)[None, None], 2)[0, 0] for p in planes[1:]]
    luma_q = sy.quality_table(sy.LUMINANCE_TABLE, quality)
    chroma_q = sy.quality_table(sy.CHROMINANCE_TABLE, quality)
    blocks = [_quantise(p, luma_q if i == 0 else chroma_q) for i, p in enumerate(planes)]
    head = struct.pack(_HEAD, _MAGIC, h, w, layout, channels, _SUBSAMPLING.index(sub), quality)
    head += luma_q.reshape(-1)[sy.ZIGZAG].astype(np.uint8).tobytes()
    groups = [blocks[:1]] + ([blocks[1:]] if channels == 3 else [])
    if channels == 3:
        head += chroma_q.reshape(-1)[sy.ZIGZAG].astype(np.uint8).tobytes()
    body, sizes, amps = [], [], []
    for group in groups:
        dc_sym, dc_size, dc_amp, ac_sym, ac_size, ac_amp = _group_symbols(group)
        body += [sy.write_huffman_section(dc_sym)[0], sy.write_huffman_section(ac_sym)[0]]
        sizes += [dc_size, ac_size]
        amps += [dc_amp, ac_amp]
    payload, bits = pack_bits(np.concatenate(amps), np.concatenate(sizes))
    data = head + b"".join(body) + struct.pack("<I", bits) + payload
    return JPEGStream(data, h, w, channels, quality, sub)


def jpeg_decode(stream: JPEGStream | bytes, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Decode a :class:`JPEGStream` (or its ``data`` bytes) back to an image.

    Args:
        stream: what :func:`jpeg_encode` returned, or its ``data``.
        dtype: floating dtype of the result (a factory option; the result is on the CPU).

    Returns:
        The decoded image in [0, 1], rounded to 8-bit levels (``k / 255``), in the layout that
        was encoded: ``(H, W)`` or ``(C, H, W)``. 4:2:0 chroma is upsampled by the triangle
        ("fancy") filter, bilinear at half-pixel offsets, as libjpeg does by default.

    Raises:
        DataFormatError: the stream is truncated, corrupted or not a pixlearn JPEG stream.
        WrongTypeError: ``stream`` is neither a JPEGStream nor bytes.

    Example:
        >>> img = torch.rand(3, 20, 30)
        >>> jpeg_decode(jpeg_encode(img)).shape
        torch.Size([3, 20, 30])

    References:
        Wallace, G. K. Comm. ACM 34(4), 1991.
    """
    raw = stream.data if isinstance(stream, JPEGStream) else stream
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise WrongTypeError(f"stream must be a JPEGStream or bytes, got {describe(stream)}")
    raw = bytes(raw)
    try:
        magic, h, w, layout, channels, sub, _quality = struct.unpack_from(_HEAD, raw, 0)
    except struct.error as err:
        raise DataFormatError(f"stream is truncated in its header: {err}") from err
    if magic != _MAGIC or channels not in (1, 3) or layout not in (2, 3) or sub > 1 or h * w == 0:
        raise DataFormatError("stream is not a pixlearn JPEG stream (bad header)")
    at = struct.calcsize(_HEAD)
    n_tables = 1 + (channels == 3)
    if len(raw) < at + 64 * n_tables:
        raise DataFormatError("stream is truncated in its quantisation tables")
    tables = []
    for _ in range(n_tables):
        t = np.empty(64, np.int64)
        t[sy.ZIGZAG] = np.frombuffer(raw, np.uint8, 64, at)
        tables.append(t.reshape(8, 8))
        at += 64
    ch, cw = ((h + 1) // 2, (w + 1) // 2) if sub == 1 else (h, w)
    dims = [(h, w)] + [(ch, cw)] * (channels - 1)
    nblocks = [-(-a // 8) * -(-b // 8) for a, b in dims]
    group_sizes = [nblocks[:1]] + ([nblocks[1:]] if channels == 3 else [])
    syms = []
    for _ in group_sizes:
        dc, at = sy.read_huffman_section(raw, at)
        ac, at = sy.read_huffman_section(raw, at)
        syms.append((dc, ac))
    sizes = np.concatenate(
        [np.concatenate([dc, np.where(ac == 0xF0, 0, ac & 15)]) for dc, ac in syms]
    )
    values = sy.read_amplitudes(raw, at, sizes)
    planes, used, k = [], 0, 0
    for (dc, ac), counts in zip(syms, group_sizes, strict=True):
        if dc.size != sum(counts) or dc.max(initial=0) > 15:
            raise DataFormatError("stream is corrupted: DC symbols do not match the block count")
        dc_val = values[used : used + dc.size]
        ac_val = values[used + dc.size : used + dc.size + ac.size]
        used += dc.size + ac.size
        ac_coef = sy.ac_coefficients(ac, ac_val, sum(counts))
        start = 0
        for n in counts:
            zz = np.empty((n, 64), np.int64)
            zz[:, 0] = np.cumsum(dc_val[start : start + n])  # undo the DC differences
            zz[:, 1:] = ac_coef[start : start + n]
            planes.append(_dequantise(zz, tables[min(k, 1)], *dims[k]))
            start, k = start + n, k + 1
    if sub == 1:  # triangle-filter upsampling of the chroma planes, cropped to the image
        planes[1:] = [
            F.interpolate(p[None, None], scale_factor=2, mode="bilinear")[0, 0, :h, :w]
            for p in planes[1:]
        ]
    out = torch.stack(planes) / 255.0  # (C, H, W)
    if channels == 3:
        out = ycbcr_to_rgb(out)
    levels = torch.round(out.clamp(0.0, 1.0) * 255.0)  # 8-bit output, as a JPEG decoder's
    return (levels[0] if layout == 2 else levels).to(dtype) / 255.0
