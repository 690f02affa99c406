"""Bit packing shared by the entropy coders: variable-length codes in, bytes out, and back.

Bits are written most-significant first (as JPEG and LZW/GIF-in-TIFF order them): the first
code's first bit is the top bit of byte 0. Both directions are vectorised with NumPy; only the
inherently sequential walks (Huffman parsing, the LZW dictionary) loop in Python.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_bits", "read_bits"]

_CHUNK = 1 << 20  # codes per packing chunk: bounds the (chunk, max_len) bit matrix


def pack_bits(values: np.ndarray, lengths: np.ndarray) -> tuple[bytes, int]:
    """Concatenate ``values[i]`` written on ``lengths[i]`` bits (MSB first) into bytes.

    Args:
        values: non-negative integers, shape ``(n,)``; ``values[i] < 2**lengths[i]``.
        lengths: bit widths in ``[0, 64]``, shape ``(n,)``.

    Returns:
        ``(payload, num_bits)``: the bits padded with zeros to whole bytes, and their count.

    Example:
        >>> pack_bits(np.array([1, 0, 3]), np.array([1, 2, 2]))
        (b'\\x98', 5)
    """
    values = np.asarray(values).astype(np.uint64, copy=False).ravel()
    lengths = np.asarray(lengths).astype(np.int64, copy=False).ravel()
    num_bits = int(lengths.sum())
    if num_bits == 0:
        return b"", 0
    parts = []
    for start in range(0, values.size, _CHUNK):
        v, n = values[start : start + _CHUNK], lengths[start : start + _CHUNK]
        owner = np.repeat(np.arange(v.size), n)  # (bits,) which code each output bit is from
        first = np.cumsum(n) - n  # (chunk,) where each code starts
        # bit j of code i (MSB first) is (v_i >> (n_i - 1 - j)) & 1
        shift = (n[owner] - 1 - (np.arange(owner.size) - first[owner])).astype(np.uint64)
        parts.append(((v[owner] >> shift) & np.uint64(1)).astype(np.uint8))
    return np.packbits(np.concatenate(parts)).tobytes(), num_bits


def read_bits(buffer: np.ndarray, positions: np.ndarray, width: int | np.ndarray) -> np.ndarray:
    """Read the ``width``-bit big-endian integers that start at bit ``positions``.

    Args:
        buffer: the payload as ``uint8``, padded with at least 8 zero bytes past its end.
        positions: bit offsets, shape ``(n,)``.
        width: bits per read, 0 to 57 (one number or one per position).

    Returns:
        The integers as ``uint64``, shape ``(n,)``; bits past the payload read as 0.

    Example:
        >>> buf = np.frombuffer(b"\\x8c" + bytes(8), np.uint8)
        >>> read_bits(buf, np.array([0, 1, 3]), 2).tolist()
        [2, 0, 1]
    """
    positions = np.asarray(positions, dtype=np.int64)
    width_arr = np.broadcast_to(np.asarray(width, dtype=np.int64), positions.shape)
    byte = positions >> 3
    # the 8 bytes starting at each byte offset, as one big-endian 64-bit word
    windows = np.lib.stride_tricks.sliding_window_view(buffer, 8)[byte]  # (n, 8)
    word = np.ascontiguousarray(windows).view(">u8").ravel().astype(np.uint64)
    # drop the (pos % 8) bits already consumed, then keep the top `width` bits
    word = word << (positions & 7).astype(np.uint64)
    out = word >> (64 - np.maximum(width_arr, 1)).astype(np.uint64)
    return np.where(width_arr > 0, out, np.uint64(0))
