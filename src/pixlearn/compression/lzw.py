r"""Lempel-Ziv-Welch coding: a dictionary of phrases learnt while coding, nothing stored.

Format (documented, not GIF's nor TIFF's): codes 0-255 are the single bytes, 256 is CLEAR, new
phrases take 257, 258, ... Codes have a **variable width of 9 to 16 bits**: the ``k``-th code after
a reset is written on ``min(16, bit_length(256 + k))`` bits, the least that holds any code the
decoder can know at that point, so encoder and decoder agree without signalling width changes.
When all 65536 codes are taken the encoder writes CLEAR and both sides start a fresh dictionary.
Bits are MSB first. :meth:`LZWStream.to_bytes` gives ``b"PXLZ"``, ``num_codes u64``, ``num_bits
u64``, ``length u64`` (decoded bytes), then the payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from pixlearn._core.check import describe
from pixlearn._core.errors import DataFormatError, WrongTypeError
from pixlearn.compression._bits import pack_bits, read_bits

__all__ = ["LZWStream", "lzw_decode", "lzw_encode"]

CLEAR = 256
_FIRST = 257  # first phrase code
_LIMIT = 1 << 16  # codes are < 2**16
_MAGIC = b"PXLZ"


@dataclass(frozen=True)
class LZWStream:
    """LZW codes packed MSB first.

    Attributes:
        payload: the codes (9 to 16 bits each), zero-padded to whole bytes.
        num_codes: how many codes (CLEAR included) the payload holds.
        num_bits: how many payload bits are used: the compressed size.
        length: number of bytes the stream decodes to.
    """

    payload: bytes
    num_codes: int
    num_bits: int
    length: int

    @property
    def bits_per_byte(self) -> float:
        """Compressed bits per input byte (8 means no gain; 0 for empty input)."""
        return self.num_bits / self.length if self.length else 0.0

    def to_bytes(self) -> bytes:
        """Serialise as the module docstring lays out."""
        return struct.pack("<4sQQQ", _MAGIC, self.num_codes, self.num_bits, self.length) + (
            self.payload
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> LZWStream:
        """Parse :meth:`to_bytes` output; raises DataFormatError on a foreign or short header."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise WrongTypeError(f"stream must be an LZWStream or bytes, got {describe(raw)}")
        raw = bytes(raw)
        if len(raw) < 28 or raw[:4] != _MAGIC:
            raise DataFormatError("stream is not a pixlearn LZW stream (bad or short header)")
        num_codes, num_bits, length = struct.unpack_from("<QQQ", raw, 4)
        return cls(raw[28:], num_codes, num_bits, length)


def _widths(codes: np.ndarray) -> np.ndarray:
    """Bit width of each code: min(16, bit_length(256 + k)), k = codes since the last CLEAR."""
    idx = np.arange(codes.size)
    # index of the code just after the most recent CLEAR (0 before any)
    reset = np.maximum.accumulate(np.where(codes == CLEAR, idx + 1, 0)) if codes.size else idx
    k = np.where(codes == CLEAR, idx - np.r_[0, reset[:-1]] if codes.size else idx, idx - reset)
    return np.minimum(16, np.floor(np.log2(256 + k)).astype(np.int64) + 1)


def lzw_encode(data: bytes) -> LZWStream:
    r"""LZW-compress a byte string.

    Args:
        data: the bytes to compress (``bytes``, ``bytearray`` or ``memoryview``).

    Returns:
        An :class:`LZWStream`; :func:`lzw_decode` gives ``data`` back exactly.

    Raises:
        WrongTypeError: ``data`` is not a bytes-like object.

    Notes:
        Greedy parsing: the encoder extends the current phrase :math:`w` by the next byte
        :math:`c` while :math:`wc` is in the dictionary; otherwise it emits
        :math:`\mathrm{code}(w)`, adds :math:`wc` as a new phrase and restarts from
        :math:`c`. The decoder rebuilds the same dictionary one step behind.

    Example:
        >>> s = lzw_encode(b"TOBEORNOTTOBEORTOBEORNOT")
        >>> s.num_codes, s.num_bits, lzw_decode(s)
        (16, 144, b'TOBEORNOTTOBEORTOBEORNOT')

    References:
        Welch, T. A. "A technique for high-performance data compression." Computer 17(6), 1984;
        Ziv, J., Lempel, A. "Compression of individual sequences via variable-rate coding."
        IEEE Trans. Inf. Theory 24(5), 1978.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WrongTypeError(f"data must be bytes, got {describe(data)}")
    data = bytes(data)
    out: list[int] = []
    if data:
        table: dict[int, int] = {}  # (phrase code << 8 | next byte) -> phrase code
        nxt, w = _FIRST, data[0]
        for c in data[1:]:
            key = (w << 8) | c
            code = table.get(key)
            if code is not None:
                w = code
                continue
            out.append(w)
            if nxt < _LIMIT:
                table[key] = nxt
                nxt += 1
            else:  # dictionary full: tell the decoder, start afresh
                out.append(CLEAR)
                table.clear()
                nxt = _FIRST
            w = c
        out.append(w)
    codes = np.array(out, np.int64)
    payload, num_bits = pack_bits(codes, _widths(codes))
    return LZWStream(payload, len(out), num_bits, len(data))


def lzw_decode(stream: LZWStream | bytes) -> bytes:
    """Decode an :class:`LZWStream` (or its serialised bytes) exactly.

    Args:
        stream: what :func:`lzw_encode` returned, or its :meth:`~LZWStream.to_bytes` form.

    Returns:
        The original bytes.

    Raises:
        DataFormatError: the stream is truncated, or holds a code the dictionary cannot know
            yet (corrupted); the message gives the code's index.
        WrongTypeError: ``stream`` is neither an LZWStream nor bytes.

    Notes:
        The one subtle case is a code equal to the phrase being defined (the *KwKwK* pattern,
        e.g. ``b"aaa"``): that phrase must be the previous one plus its own first byte.

    Example:
        >>> lzw_decode(lzw_encode(b"aaaaaaa").to_bytes())
        b'aaaaaaa'

    References:
        Welch, T. A. Computer 17(6), 1984.
    """
    if not isinstance(stream, LZWStream):
        stream = LZWStream.from_bytes(stream)
    n, num_bits = stream.num_codes, stream.num_bits
    if len(stream.payload) * 8 < num_bits:
        raise DataFormatError(
            f"stream is truncated: {num_bits} payload bits announced, "
            f"{8 * len(stream.payload)} present"
        )
    buf = np.frombuffer(stream.payload + bytes(16), np.uint8)
    # every width is known once the CLEAR positions are: read codes in stretches between them
    codes_list: list[int] = []
    pos, k = 0, 0
    while len(codes_list) < n:
        count = min(n - len(codes_list), _LIMIT)  # a stretch never exceeds 65280 + 1 codes
        width = np.minimum(16, np.floor(np.log2(256 + k + np.arange(count))).astype(np.int64) + 1)
        start = pos + np.r_[0, np.cumsum(width)[:-1]]
        got = read_bits(buf, start, width).astype(np.int64)
        clear = np.flatnonzero(got == CLEAR)
        take = count if clear.size == 0 else int(clear[0]) + 1
        codes_list.extend(got[:take].tolist())
        pos += int(width[:take].sum())
        k = 0 if clear.size else k + take
    if pos != num_bits:
        raise DataFormatError(f"stream is corrupted: {n} codes span {pos} bits, not {num_bits}")
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b""]
    out: list[bytes] = []
    prev: bytes | None = None
    for i, code in enumerate(codes_list):
        if code == CLEAR:
            del table[_FIRST:]
            prev = None
            continue
        if code < len(table):
            entry = table[code]
        elif code == len(table) and prev is not None:
            entry = prev + prev[:1]  # KwKwK: the phrase being defined is prev + its first byte
        else:
            raise DataFormatError(
                f"stream is corrupted: code {code} at index {i} is not in the dictionary "
                f"({len(table)} phrases)"
            )
        if prev is not None and len(table) < _LIMIT:
            table.append(prev + entry[:1])
        out.append(entry)
        prev = entry
    result = b"".join(out)
    if len(result) != stream.length:
        raise DataFormatError(
            f"stream is corrupted: decodes to {len(result)} bytes, {stream.length} announced"
        )
    return result
