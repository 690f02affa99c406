"""JPEG's tables and its entropy-coding symbols: quantisation tables (Annex K) scaled by the IJG
quality formula, the zig-zag order, DC differences and AC (run, size) symbols, and the packed
Huffman sections of the pixlearn JPEG-style stream. Vectorised over all blocks with NumPy."""

from __future__ import annotations

import struct

import numpy as np

from pixlearn._core.errors import DataFormatError
from pixlearn.compression._bits import pack_bits, read_bits
from pixlearn.compression.huffman import _canonical, _parse, huffman_code

__all__ = [
    "CHROMINANCE_TABLE",
    "LUMINANCE_TABLE",
    "ZIGZAG",
    "ac_coefficients",
    "ac_symbols",
    "amplitudes",
    "dc_symbols",
    "quality_table",
    "read_amplitudes",
    "read_huffman_section",
    "write_huffman_section",
]

# ITU-T T.81 Annex K, tables K.1 and K.2 (row-major, 8x8), for quality 50
LUMINANCE_TABLE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    np.int64,
).reshape(8, 8)  # fmt: skip
CHROMINANCE_TABLE = np.full((8, 8), 99, np.int64)
CHROMINANCE_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

# zig-zag: anti-diagonals s = i + j in turn, downwards (i rising) on odd s, upwards on even s
_CELLS = sorted(
    ((i, j) for i in range(8) for j in range(8)), key=lambda c: (sum(c), c[sum(c) % 2 == 0])
)
ZIGZAG = np.array([8 * i + j for i, j in _CELLS], np.int64)  # zig-zag index -> raster index


def quality_table(base: np.ndarray, quality: int) -> np.ndarray:
    """IJG scaling: ``s = 5000 / q`` below 50 else ``200 - 2 q``; ``Q = (base s + 50) // 100``."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


def _size(v: np.ndarray) -> np.ndarray:
    """Magnitude category: the bit length of ``|v|`` (0 for 0)."""
    a = np.abs(v)
    return np.where(a > 0, np.floor(np.log2(np.maximum(a, 1))).astype(np.int64) + 1, 0)


def _amplitude_bits(v: np.ndarray, size: np.ndarray) -> np.ndarray:
    """JPEG's amplitude code: ``v`` if positive, else ``v + 2**size - 1`` (ones' complement)."""
    return np.where(v >= 0, v, v + (1 << size) - 1)


def dc_symbols(dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symbols (sizes), sizes and amplitude bits of the DC differences of one component."""
    diff = np.diff(dc, prepend=0)  # first block predicted from 0
    size = _size(diff)
    return size, size, _amplitude_bits(diff, size)


def ac_symbols(ac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(run, size) symbols of the AC coefficients ``(blocks, 63)`` in zig-zag order.

    Each nonzero gets ``(run % 16) << 4 | size`` after ``run // 16`` ZRL symbols (0xF0); a block
    whose last coefficient is zero ends with EOB (0x00). Returns symbols, sizes and amplitude
    bits, in block then coefficient order.
    """
    blk, idx = np.nonzero(ac)  # row-major: block after block, rising index
    same = np.r_[False, blk[1:] == blk[:-1]]
    prev = np.where(same, np.r_[-1, idx[:-1]], -1)
    run = idx - prev - 1  # zeros since the previous nonzero of the block
    vals = ac[blk, idx]
    size = _size(vals)
    n_zrl = run // 16
    # sort keys: block * 256 + 2 * index (+1 for the coefficient, after its ZRLs); EOB last
    keys = np.concatenate(
        [
            np.repeat(blk * 256 + 2 * idx, n_zrl),
            blk * 256 + 2 * idx + 1,
            np.flatnonzero(ac[:, -1] == 0) * 256 + 255,
        ]
    )
    n_eob = keys.size - n_zrl.sum() - blk.size
    sym = np.concatenate([np.full(n_zrl.sum(), 0xF0), (run % 16) << 4 | size, np.zeros(n_eob)])
    sizes = np.concatenate([np.zeros(n_zrl.sum()), size, np.zeros(n_eob)]).astype(np.int64)
    amp = np.concatenate([np.zeros(n_zrl.sum()), _amplitude_bits(vals, size), np.zeros(n_eob)])
    order = np.argsort(keys, kind="stable")
    return sym[order].astype(np.int64), sizes[order], amp[order].astype(np.int64)


def amplitudes(bits: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Invert :func:`_amplitude_bits`: values below ``2**(size-1)`` are negative."""
    neg = (size > 0) & (bits < (1 << np.maximum(size - 1, 0)))
    return np.where(neg, bits - (1 << size) + 1, bits)


def ac_coefficients(sym: np.ndarray, values: np.ndarray, n_blocks: int) -> np.ndarray:
    """Rebuild the ``(n_blocks, 63)`` AC coefficients from symbols and amplitude values.

    Symbols between two EOBs form a segment: blocks in it that end without EOB use exactly 63
    positions, so position ``p`` of a segment lies in its block ``p // 63`` at ``p % 63``.
    """
    out = np.zeros((n_blocks, 63), np.int64)
    if sym.size == 0:
        if n_blocks:
            raise DataFormatError("stream is corrupted: AC symbols missing")
        return out
    run, size = sym >> 4, sym & 15
    eob = sym == 0
    adv = np.where(eob, 0, np.where(sym == 0xF0, 16, run + 1))
    excl = np.cumsum(adv) - adv  # (m,) advance before each symbol
    seg = np.cumsum(eob) - eob  # (m,) segment of each symbol
    eob_at = np.flatnonzero(eob)
    starts = np.r_[0, eob_at + 1]  # first symbol of each segment (last may be past the end)
    base = np.r_[excl, adv.sum()][starts]  # advance at each segment start
    offset = excl - base[seg]
    # blocks per segment: EOB's block + 1; a trailing segment without EOB has whole blocks
    per_seg = np.r_[offset[eob_at] // 63 + 1, 0]
    tail = adv.sum() - base[-1]
    if tail % 63:
        raise DataFormatError("stream is corrupted: AC run lengths do not fill the last block")
    per_seg[-1] = tail // 63
    first_block = np.cumsum(per_seg) - per_seg
    if per_seg.sum() != n_blocks:
        raise DataFormatError(
            f"stream is corrupted: AC data for {per_seg.sum()} of {n_blocks} blocks"
        )
    coef = size > 0
    pos = offset[coef] + run[coef]
    out[first_block[seg[coef]] + pos // 63, pos % 63] = values[coef]
    return out


def write_huffman_section(symbols: np.ndarray) -> tuple[bytes, int]:
    """``count u32, bits u32, n u16, n x (symbol u8, length u8)``, payload; returns it and bits."""
    values, inverse, counts = np.unique(symbols, return_inverse=True, return_counts=True)
    code = huffman_code(dict(zip(values.tolist(), counts.tolist(), strict=True)))
    words = np.array([int(code[v], 2) for v in values.tolist()], np.uint64)
    lens = np.array([len(code[v]) for v in values.tolist()], np.int64)
    payload, bits = pack_bits(words[inverse], lens[inverse])
    table = b"".join(struct.pack("<BB", s, len(c)) for s, c in code.items())
    return struct.pack("<IIH", symbols.size, bits, len(code)) + table + payload, bits


def read_huffman_section(raw: bytes, at: int) -> tuple[np.ndarray, int]:
    """Parse one :func:`write_huffman_section`; returns the symbols and the next offset."""
    try:
        count, bits, n = struct.unpack_from("<IIH", raw, at)
        pairs = struct.unpack_from(f"<{2 * n}B", raw, at + 10)
    except struct.error as err:
        raise DataFormatError(f"stream is truncated in a Huffman section: {err}") from err
    lengths = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if len(lengths) != n or 0 in lengths.values():
        raise DataFormatError("stream has a corrupted Huffman table")
    s, ln, c = _canonical(list(lengths), list(lengths.values())) if n else ([], [], [])
    code = {a: format(b, f"0{m}b") for a, m, b in zip(s, ln, c, strict=True)}
    start = at + 10 + 2 * n
    end = start + (bits + 7) // 8
    if end > len(raw):
        raise DataFormatError("stream is truncated inside a Huffman section")
    return _parse(raw[start:end], code, count, bits), end


def read_amplitudes(raw: bytes, at: int, sizes: np.ndarray) -> np.ndarray:
    """Read the amplitude section (``bits u32`` then payload) for the given sizes."""
    try:
        (bits,) = struct.unpack_from("<I", raw, at)
    except struct.error as err:
        raise DataFormatError(f"stream is truncated before its amplitude bits: {err}") from err
    if bits != int(sizes.sum()) or at + 4 + (bits + 7) // 8 > len(raw):
        raise DataFormatError("stream is truncated or corrupted in its amplitude bits")
    buf = np.frombuffer(raw[at + 4 : at + 4 + (bits + 7) // 8] + bytes(16), np.uint8)
    pos = np.cumsum(sizes) - sizes
    return amplitudes(read_bits(buf, pos, sizes).astype(np.int64), sizes)
