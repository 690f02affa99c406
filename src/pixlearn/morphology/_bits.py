"""Bool images packed 64 pixels to a word, and geodesic dilation steps on the bits (NumPy).

A ``(rows, S)`` bool array becomes a ``(rows, D)`` array of little-endian ``uint64`` words,
``D = ceil(S / 64)``: bit ``j`` of word ``k`` of a row is column ``64 k + j``, and the bits
past column ``S - 1`` are 0. One operation on a word treats 64 pixels, so a dilation step is a
dozen ufunc calls over ``rows * D`` words (an eighth of the bytes of the bool array, and
SIMD-friendly), several times faster than the same step on bools.

Seen flat, the neighbours of a bit are one bit to either side (the bit crossing into the
neighbouring word, carried by a shift of 63) and the same bit ``D`` words before or after
(the rows above and below). A shift by one bit may carry a bit from the end of one row into
the start of the next, or back: in the padded layout of
:mod:`pixlearn.morphology._candidates` those are pad columns (or bits past them), False in
every mask, so the carried bit is always cleared by the geodesic ``& mask``.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []  # private: used by morphology._plateaus

_CHECK_EVERY = 4  # geodesic steps between two checks for a fixed point
_WORD = np.dtype("<u8")  # little-endian words, so that bit j of a word is byte j // 8's bit


def _words(width: int) -> int:
    """Words per packed row of ``width`` bits."""
    return -(-width // 64)


def _pack(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x (rows, S)`` bool as ``(rows, ceil(S / 64))`` words (0 past column ``S - 1``),
    written to ``out`` (such an array of words) when given."""
    rows, width = x.shape
    if out is None:
        out = np.empty((rows, _words(width)), dtype=_WORD)
    nbytes = -(-width // 8)
    raw = out.view(np.uint8)  # (rows, 8 D) bytes
    raw[:, nbytes:] = 0
    # bit j of byte i: column 8 i + j (little bit order)
    raw[:, :nbytes] = np.packbits(x, axis=1, bitorder="little")
    return out


def _unpack(words: np.ndarray, width: int) -> np.ndarray:
    """The ``(rows, width)`` bool array held by ``words (rows, D)``."""
    bits = np.unpackbits(words.view(np.uint8), axis=1, count=width, bitorder="little")
    return bits.view(np.bool_)  # (rows, width) 0/1 bytes


def _positions(words: np.ndarray, width: int) -> np.ndarray:
    """Flat indices in a ``(rows, width)`` array of the set bits of ``words (rows, D)``,
    sorted; only the non-zero words are unpacked (fast for sparse bits)."""
    d = words.shape[1]
    flat = words.reshape(-1)
    nz = np.flatnonzero(flat)  # (K,) words holding a set bit
    bits = np.unpackbits(flat[nz].view(np.uint8), bitorder="little")  # (64 K,)
    i = np.flatnonzero(bits.view(np.bool_))  # (P,) 64 * (index in nz) + bit
    word = nz[i >> 6]  # (P,) flat word of each set bit
    # row * width + column, with column = 64 * (word in the row) + bit
    return (word // d) * width + (word % d) * 64 + (i & 63)


def _dilate(x: np.ndarray, out: np.ndarray, tmp: np.ndarray, connectivity: int) -> None:
    """``out``: the dilation of the packed ``x (rows, D)`` by the cross (connectivity 1) or
    the 3x3 square (2); ``tmp`` is scratch of the same shape. The first and last rows get
    no neighbour outside the array. ``x``, ``out``, ``tmp`` must be distinct."""
    d = x.shape[1]
    s, o, t = x.reshape(-1), out.reshape(-1), tmp.reshape(-1)
    # along rows: o[c] = s[c - 1] | s[c] | s[c + 1], carrying bits across words
    np.left_shift(s, 1, out=o)  # column c - 1 moved to c
    np.right_shift(s[:-1], 63, out=t[1:])  # the top bit of the word before
    o[1:] |= t[1:]
    np.right_shift(s, 1, out=t)  # column c + 1 moved to c
    o |= t
    np.left_shift(s[1:], 63, out=t[:-1])  # the low bit of the word after
    o[:-1] |= t[:-1]
    o |= s
    # along columns: the rows above and below of the row result (square) or of x (cross)
    v = s if connectivity == 1 else t
    if connectivity == 2:
        t[...] = o
    o[d:] |= v[:-d]
    o[:-d] |= v[d:]


def _geodesic(
    reached: np.ndarray, mask: np.ndarray, steps: int, connectivity: int, tmp: np.ndarray
) -> np.ndarray:
    """At most ``steps`` geodesic dilations of the packed ``reached`` inside the packed
    ``mask``, in place, stopping early at a fixed point (every ``_CHECK_EVERY``-th step is
    checked for adding nothing); ``tmp``: ``(3, rows, D)`` scratch words. Returns
    ``reached``."""
    grown, row, before = tmp[0], tmp[1], tmp[2]
    for i in range(steps):
        check = i % _CHECK_EVERY == _CHECK_EVERY - 1
        if check:
            np.copyto(before, reached)
        _dilate(reached, grown, row, connectivity)
        np.bitwise_and(grown, mask, out=reached)
        if check and np.array_equal(before, reached):
            break  # the flags fill their components: further steps change nothing
    return reached
