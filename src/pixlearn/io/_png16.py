"""A small PNG codec for 16-bit images, the ones Pillow cannot keep at 16 bits per channel.

Pillow reads and writes 16-bit gray PNGs, but reduces 16-bit gray+alpha, RGB and RGBA to
8 bits. This module writes any 16-bit PNG (colour types 0, 2, 4, 6) and reads the colour ones,
following the PNG specification: a signature, then chunks ``length | type | data | CRC-32``,
the pixel rows zlib-compressed in ``IDAT`` after a per-row filter byte.

References:
    W3C, "Portable Network Graphics (PNG) Specification (Third Edition)", 2025.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

__all__ = ["is_png16_color", "read_png16", "write_png16"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type by channel count: gray, gray+alpha, RGB, RGBA
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_CHANNELS = {v: k for k, v in _COLOR_TYPE.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    # length | type | data | CRC-32 over type and data
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(file: BinaryIO, array: np.ndarray) -> None:
    """Write a uint16 ``(H, W, C)`` array (C in 1..4) as a 16-bit PNG, every row Up-filtered."""
    h, w, c = array.shape
    header = struct.pack(">IIBBBBB", w, h, 16, _COLOR_TYPE[c], 0, 0, 0)
    rows = array.astype(">u2").reshape(h, w * c).view(np.uint8)  # (H, 2 W C) big-endian bytes
    # Up filter: f(x) = raw(x) - raw(x above) mod 256; the row above the first is zero
    up = np.zeros_like(rows)
    up[1:] = rows[:-1]
    filtered = rows - up  # uint8 arithmetic wraps mod 256
    data = np.concatenate([np.full((h, 1), 2, np.uint8), filtered], axis=1)  # (H, 1 + 2 W C)
    file.write(SIGNATURE)
    file.write(_chunk(b"IHDR", header))
    file.write(_chunk(b"IDAT", zlib.compress(data.tobytes(), 6)))
    file.write(_chunk(b"IEND", b""))


def is_png16_color(head: bytes) -> bool:
    """Whether the first 26 bytes of a file announce a 16-bit PNG with more than one channel."""
    if len(head) < 26 or not head.startswith(SIGNATURE) or head[12:16] != b"IHDR":
        return False
    depth, color = head[24], head[25]
    return depth == 16 and color in (2, 4, 6)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG file into ``(type, data)`` chunks, checking every CRC, up to ``IEND``."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    pos, out = len(SIGNATURE), []
    while True:
        if pos + 8 > len(data):
            raise ValueError("truncated PNG: no IEND chunk")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) < length or len(crc) < 4:
            raise ValueError(f"truncated PNG: chunk {kind!r} is cut short")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
            raise ValueError(f"corrupt PNG: CRC mismatch in chunk {kind!r}")
        out.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            return out


def _paeth(a: int, b: int, c: int) -> int:
    # predict with whichever of left, up, up-left is closest to p = a + b - c
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: np.ndarray, bpp: int) -> np.ndarray:
    """Undo the per-row PNG filters of ``raw`` ``(H, 1 + stride)``; returns ``(H, stride)``."""
    h, stride = raw.shape[0], raw.shape[1] - 1
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(h):
        kind, cur = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:  # None
            row = cur.copy()
        elif kind == 1:  # Sub: x = f + x(left); a running sum per byte of the pixel
            row = np.cumsum(cur.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up: x = f + x(above)
            row = cur + prev
        elif kind in (3, 4):  # Average and Paeth depend on the left neighbour: a byte loop
            f, b = cur.tolist(), prev.tolist()
            x = [0] * stride
            for i in range(stride):
                a = x[i - bpp] if i >= bpp else 0
                if kind == 3:  # x = f + floor((left + above) / 2)
                    x[i] = (f[i] + ((a + b[i]) >> 1)) & 0xFF
                else:
                    c = b[i - bpp] if i >= bpp else 0
                    x[i] = (f[i] + _paeth(a, b[i], c)) & 0xFF
            row = np.array(x, np.uint8)
        else:
            raise ValueError(f"corrupt PNG: unknown filter type {kind} in row {y}")
        out[y] = row
        prev = row
    return out


def read_png16(data: bytes) -> np.ndarray:
    """Decode a 16-bit PNG from its bytes into a uint16 ``(H, W, C)`` array."""
    chunks = _chunks(data)
    if chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise ValueError("corrupt PNG: the first chunk is not a valid IHDR")
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 16 or color not in _CHANNELS:
        raise ValueError(f"not a 16-bit PNG (bit depth {depth}, colour type {color})")
    if interlace:
        raise ValueError("interlaced (Adam7) 16-bit PNGs are not supported")
    c = _CHANNELS[color]
    stream = zlib.decompressobj()
    raw = stream.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = w * c * 2
    if not stream.eof or len(raw) != h * (1 + stride):
        raise ValueError("truncated PNG: the pixel data is incomplete")
    rows = _unfilter(np.frombuffer(raw, np.uint8).reshape(h, 1 + stride), bpp=2 * c)
    return rows.view(">u2").reshape(h, w, c).astype(np.uint16)
