r"""Huffman coding: optimal prefix codes, canonical form, and an exact encoder/decoder.

The code is *canonical* (Deflate and JPEG store theirs this way): only the code length of each
symbol is needed to rebuild it, since codes of equal length are consecutive integers in symbol
order and each length starts where the shorter ones stopped. Ties in the Huffman merge are broken
deterministically (smaller weight first, then the node created first; leaves in symbol order), so
a frequency table always yields the same code.

A :class:`HuffmanStream` serialises to bytes with :meth:`HuffmanStream.to_bytes` (layout, all
little-endian): ``b"PXHF"``, version ``u8``, kind ``u8`` (0 bytes, 1 NumPy, 2 torch), dtype name
length ``u8`` and ASCII name, ``ndim u8`` and ``ndim x u64`` shape, ``num_symbols u64``,
``num_bits u64``, table size ``n u32``, ``n x i64`` symbols and ``n x u8`` code lengths (canonical
order), then the payload (the codes, MSB first, zero-padded to a byte).
"""

from __future__ import annotations

import heapq
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import describe
from pixlearn._core.errors import DataFormatError, ValueRangeError, WrongTypeError
from pixlearn.compression._bits import pack_bits, read_bits

__all__ = ["HuffmanStream", "huffman_code", "huffman_decode", "huffman_encode"]

_MAGIC = b"PXHF"
_KINDS = ("bytes", "numpy", "torch")
_DECODE_CHUNK = 1 << 21  # bit positions parsed per vectorised step


def _code_lengths(weights: list[float]) -> list[int]:
    """Huffman code length of each leaf, ties broken by creation order (deterministic)."""
    n = len(weights)
    if n == 1:
        return [1]  # a lone symbol still needs one bit to be counted
    heap = [(w, i) for i, w in enumerate(weights)]
    heapq.heapify(heap)
    members: list[list[int]] = [[i] for i in range(n)]  # leaves under each node
    depth = [0] * n
    while len(heap) > 1:
        w1, a = heapq.heappop(heap)
        w2, b = heapq.heappop(heap)
        # merging two subtrees pushes every leaf under them one level deeper
        for leaf in members[a] + members[b]:
            depth[leaf] += 1
        members.append(members[a] + members[b])
        heapq.heappush(heap, (w1 + w2, len(members) - 1))
    return depth


def _canonical(symbols: list[int], lengths: list[int]) -> tuple[list[int], list[int], list[int]]:
    """Sort by (length, symbol) and number the codes: returns symbols, lengths, codes."""
    order = sorted(range(len(symbols)), key=lambda i: (lengths[i], symbols[i]))
    syms = [symbols[i] for i in order]
    lens = [lengths[i] for i in order]
    codes, code, prev = [], 0, lens[0] if lens else 0
    for length in lens:
        # code_{k+1} = (code_k + 1) << (len_{k+1} - len_k): the next free node, one level deeper
        code <<= length - prev
        codes.append(code)
        code, prev = code + 1, length
    return syms, lens, codes


def huffman_code(frequencies: Mapping[int, float]) -> dict[int, str]:
    r"""The canonical Huffman code of a frequency table.

    Args:
        frequencies: ``{symbol: count or probability}``; integer symbols, non-negative finite
            weights. Symbols of weight 0 get no code.

    Returns:
        ``{symbol: code}`` with codes as strings of ``"0"``/``"1"``, prefix-free; a table with a
        single symbol gets the one-bit code ``"0"``; an empty table gives ``{}``.

    Raises:
        WrongTypeError: ``frequencies`` is not a mapping, or a symbol is not an integer.
        ValueRangeError: a weight is negative, NaN or infinite.

    Notes:
        Huffman's algorithm merges the two lightest subtrees until one is left; the code length
        :math:`\ell_s` of each symbol is its depth. The code is optimal among prefix codes, and
        its mean length :math:`\bar L = \sum_s p_s \ell_s` satisfies
        :math:`H \le \bar L < H + 1` with :math:`H = -\sum_s p_s \log_2 p_s` (Shannon).

    Example:
        >>> huffman_code({ord("a"): 5, ord("b"): 2, ord("c"): 1, ord("d"): 1})
        {97: '0', 98: '10', 99: '110', 100: '111'}

    References:
        Huffman, D. A. "A method for the construction of minimum-redundancy codes."
        Proc. IRE 40(9), 1952. Schwartz, E. S., Kallick, B. "Generating a canonical prefix
        encoding." Comm. ACM 7(3), 1964.
    """
    if not isinstance(frequencies, Mapping):
        raise WrongTypeError(
            f"frequencies must be a mapping symbol -> weight, got {describe(frequencies)}"
        )
    symbols, weights = [], []
    for s, w in frequencies.items():
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            raise WrongTypeError(f"frequencies must have integer symbols, got key {s!r}")
        if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)):
            raise WrongTypeError(f"frequencies must have numeric weights, got {w!r} for {s!r}")
        if not math.isfinite(float(w)) or w < 0:
            raise ValueRangeError(f"frequencies must be finite and >= 0, got {w!r} for {s!r}")
        if w > 0:
            symbols.append(int(s))
            weights.append(w)
    if not symbols:
        return {}
    order = sorted(range(len(symbols)), key=symbols.__getitem__)  # leaves in symbol order
    symbols, weights = [symbols[i] for i in order], [weights[i] for i in order]
    syms, lens, codes = _canonical(symbols, _code_lengths(weights))
    return {s: format(c, f"0{n}b") for s, n, c in sorted(zip(syms, lens, codes, strict=True))}


@dataclass(frozen=True)
class HuffmanStream:
    """A Huffman-coded sequence: payload bits, code table and what is needed to restore it.

    Attributes:
        payload: the concatenated codes, MSB first, zero-padded to whole bytes.
        code: ``{symbol: code string}``, canonical (:func:`huffman_code`).
        num_symbols: how many symbols were coded.
        num_bits: how many payload bits are used (the compressed size without the table).
        kind: ``"bytes"``, ``"numpy"`` or ``"torch"``: the type :func:`huffman_decode` returns.
        dtype: element dtype name of the input (``"uint8"`` for bytes).
        shape: shape of the input array (``(n,)`` for bytes).
    """

    payload: bytes
    code: dict[int, str]
    num_symbols: int
    num_bits: int
    kind: str = "bytes"
    dtype: str = "uint8"
    shape: tuple[int, ...] = ()

    @property
    def bits_per_symbol(self) -> float:
        """Mean code length in bits (0 for an empty stream); the table is not counted."""
        return self.num_bits / self.num_symbols if self.num_symbols else 0.0

    def to_bytes(self) -> bytes:
        """Serialise the stream (table included) as the module docstring lays out."""
        syms, lens, _ = _canonical(list(self.code), [len(c) for c in self.code.values()])
        name = self.dtype.encode("ascii")
        head = struct.pack("<4sBBB", _MAGIC, 1, _KINDS.index(self.kind), len(name)) + name
        head += struct.pack(f"<B{len(self.shape)}Q", len(self.shape), *self.shape)
        head += struct.pack("<QQI", self.num_symbols, self.num_bits, len(syms))
        table = np.asarray(syms, "<i8").tobytes() + np.asarray(lens, np.uint8).tobytes()
        return head + table + self.payload

    @classmethod
    def from_bytes(cls, raw: bytes) -> HuffmanStream:
        """Parse :meth:`to_bytes` output; raises DataFormatError if it is truncated or foreign."""
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise WrongTypeError(f"stream must be a HuffmanStream or bytes, got {describe(raw)}")
        raw = bytes(raw)
        try:
            magic, _, kind, nlen = struct.unpack_from("<4sBBB", raw, 0)
            if magic != _MAGIC or kind >= len(_KINDS):
                raise DataFormatError("stream is not a pixlearn Huffman stream (bad header)")
            at = 7 + nlen
            dtype = raw[7:at].decode("ascii")
            (ndim,) = struct.unpack_from("<B", raw, at)
            shape = struct.unpack_from(f"<{ndim}Q", raw, at + 1)
            at += 1 + 8 * ndim
            num_symbols, num_bits, n = struct.unpack_from("<QQI", raw, at)
            at += 20
            syms = np.frombuffer(raw, "<i8", n, at).tolist()
            lens = np.frombuffer(raw, np.uint8, n, at + 8 * n).tolist()
        except (struct.error, ValueError, UnicodeDecodeError) as err:
            raise DataFormatError(f"stream is truncated or corrupted in its header: {err}") from err
        if len(set(syms)) != n or (n and min(lens) == 0):
            raise DataFormatError("stream has a corrupted code table (repeated symbol or length 0)")
        code = {}
        if n:
            s2, l2, c2 = _canonical(syms, lens)
            code = {s: format(c, f"0{m}b") for s, m, c in zip(s2, l2, c2, strict=True)}
        payload = raw[at + 9 * n :]
        return cls(payload, code, num_symbols, num_bits, _KINDS[kind], dtype, tuple(shape))


def _as_symbols(data: Any) -> tuple[np.ndarray, str, str, tuple[int, ...]]:
    """Flatten bytes / integer arrays / integer tensors to an int64 array, remembering the type."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(data), np.uint8)
        return arr.astype(np.int64), "bytes", "uint8", (arr.size,)
    if isinstance(data, Tensor):
        if data.is_floating_point() or data.is_complex():
            raise WrongTypeError(f"data must hold integer symbols, got {describe(data)}")
        arr, kind = data.detach().cpu().numpy(), "torch"
    elif isinstance(data, np.ndarray):
        if data.dtype.kind not in "iub":
            raise WrongTypeError(f"data must hold integer symbols, got {describe(data)}")
        arr, kind = data, "numpy"
    else:
        raise WrongTypeError(
            f"data must be bytes, an integer ndarray or tensor, got {describe(data)}"
        )
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueRangeError("data must hold values below 2**63, got a larger uint64")
    return arr.reshape(-1).astype(np.int64), kind, str(arr.dtype), tuple(arr.shape)


def huffman_encode(data: bytes | np.ndarray | Tensor) -> HuffmanStream:
    r"""Huffman-code a byte string or an integer array with the code optimal for its histogram.

    Args:
        data: ``bytes`` (symbols 0..255), or an integer/bool NumPy array or tensor of any shape
            (symbols are the values, read in row-major order).

    Returns:
        A :class:`HuffmanStream`: payload, canonical code table, symbol count and bit count.
        :func:`huffman_decode` restores ``data`` exactly (same type, dtype and shape).

    Raises:
        WrongTypeError: ``data`` is not bytes nor an integer array/tensor.

    Notes:
        The code comes from :func:`huffman_code` on the symbol counts, so the payload holds
        :math:`\sum_s n_s \ell_s` bits, within one bit per symbol of :math:`N H`, with
        :math:`H` the empirical entropy (:func:`pixlearn.compression.entropy`).

    Example:
        >>> s = huffman_encode(b"abracadabra")
        >>> s.num_symbols, s.num_bits, huffman_decode(s)
        (11, 23, b'abracadabra')

    References:
        Huffman, D. A. "A method for the construction of minimum-redundancy codes."
        Proc. IRE 40(9), 1952.
    """
    symbols, kind, dtype, shape = _as_symbols(data)
    values, inverse, counts = np.unique(symbols, return_inverse=True, return_counts=True)
    code = huffman_code(dict(zip(values.tolist(), counts.tolist(), strict=True)))
    lens = np.array([len(code[v]) for v in values.tolist()], np.int64)  # (n_unique,)
    words = np.array([int(code[v], 2) for v in values.tolist()], np.uint64)
    payload, num_bits = pack_bits(words[inverse], lens[inverse])
    return HuffmanStream(payload, code, int(symbols.size), num_bits, kind, dtype, shape)


def _parse(payload: bytes, code: dict[int, str], num_symbols: int, num_bits: int) -> np.ndarray:
    """Split ``num_bits`` payload bits into ``num_symbols`` codewords; returns the symbols."""
    if len(payload) * 8 < num_bits:
        raise DataFormatError(
            f"stream is truncated: {num_bits} payload bits announced, {8 * len(payload)} present"
        )
    if num_symbols == 0:
        if num_bits:
            raise DataFormatError(f"stream is corrupted: 0 symbols but {num_bits} bits")
        return np.zeros(0, np.int64)
    if not code:
        raise DataFormatError(f"stream is corrupted: {num_symbols} symbols but no code table")
    syms, lens, codes = _canonical(list(code), [len(c) for c in code.values()])
    if sum(2.0**-n for n in lens) > 1.0 + 1e-12 or max(lens) > 57:
        raise DataFormatError("stream has a corrupted code table (not a prefix code)")
    top = max(lens)
    # left-justified codewords increase in canonical order: the codeword under a window of
    # `top` bits is the last one whose left-justified value is <= the window
    lj = np.array([c << (top - n) for c, n in zip(codes, lens, strict=True)], np.uint64)
    span = np.array([1 << (top - n) for n in lens], np.uint64)
    lens_arr, syms_arr = np.array(lens, np.int64), np.array(syms, np.int64)
    buf = np.frombuffer(payload + bytes(16), np.uint8)
    out, p = [], 0
    for start in range(0, num_bits, _DECODE_CHUNK):
        stop = min(start + _DECODE_CHUNK, num_bits)
        if p >= stop:
            continue
        window = read_bits(buf, np.arange(start, stop), top)  # (chunk,)
        idx = np.searchsorted(lj, window, side="right") - 1
        ok = (idx >= 0) & (window - lj[np.maximum(idx, 0)] < span[np.maximum(idx, 0)])
        step = np.where(ok, lens_arr[np.maximum(idx, 0)], 0).tolist()
        while p < stop:  # the one sequential part: hop from codeword to codeword
            d = step[p - start]
            if d == 0:
                raise DataFormatError(f"stream is corrupted: no codeword at bit {p}")
            out.append(p)
            p += d
        if len(out) > num_symbols:
            break
    if p != num_bits or len(out) != num_symbols:
        raise DataFormatError(
            f"stream is corrupted: {num_symbols} symbols in {num_bits} bits announced, "
            f"parsed {len(out)} ending at bit {p}"
        )
    pos = np.array(out, np.int64)
    window = read_bits(buf, pos, top)
    return syms_arr[np.searchsorted(lj, window, side="right") - 1]


def huffman_decode(stream: HuffmanStream | bytes) -> bytes | np.ndarray | Tensor:
    """Decode a :class:`HuffmanStream` (or its :meth:`~HuffmanStream.to_bytes` form) exactly.

    Args:
        stream: what :func:`huffman_encode` returned, or its serialised bytes.

    Returns:
        The original data: ``bytes``, or an array/tensor of the original dtype and shape.

    Raises:
        DataFormatError: the stream is truncated or corrupted (the message says where).
        WrongTypeError: ``stream`` is neither a HuffmanStream nor bytes.

    Example:
        >>> raw = huffman_encode(np.array([[3, 3], [7, 3]])).to_bytes()
        >>> huffman_decode(raw)
        array([[3, 3],
               [7, 3]])

    References:
        Huffman, D. A. Proc. IRE 40(9), 1952.
    """
    if not isinstance(stream, HuffmanStream):
        stream = HuffmanStream.from_bytes(stream)
    symbols = _parse(stream.payload, stream.code, stream.num_symbols, stream.num_bits)
    if math.prod(stream.shape) != stream.num_symbols:
        raise DataFormatError(
            f"stream is corrupted: shape {stream.shape} does not hold {stream.num_symbols} symbols"
        )
    if stream.kind == "bytes":
        return symbols.astype(np.uint8).tobytes()
    arr = symbols.astype(stream.dtype).reshape(stream.shape)
    return torch.from_numpy(arr) if stream.kind == "torch" else arr
