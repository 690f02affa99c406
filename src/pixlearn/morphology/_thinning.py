"""The CPU engine of Zhang-Suen thinning (NumPy): an active set of pixels that may be
deleted, neighbourhood codes updated around the deleted pixels only, no sorting.

Private helper of :mod:`pixlearn.morphology.skeleton`, which holds the deletion table and the
same algorithm on torch for other devices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Thinner"]

# the 8 neighbours P2..P9 of Zhang & Suen, clockwise from north (the order of the table)
_RING = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
# a code holds the 3x3 window row by row: bit 3 (dy + 1) + (dx + 1) is the pixel at (dy, dx)
_BIT = [3 * (dy + 1) + (dx + 1) for dy, dx in _RING]  # bit of the neighbour _RING[k]
_ON = 1 << 4  # the pixel itself is on the shape
# deleting a pixel clears, in its neighbour in direction k, the bit of the opposite direction
_CLEAR = [np.uint16(0x1FF ^ (1 << _BIT[(k + 4) % 8])) for k in range(8)]
_BLOCK = 1 << 16  # pixels per block of the whole-image passes (a block's codes fit in L2)


class Thinner:
    """Zhang-Suen thinning of a stack of binary images, flat and zero-padded, in place.

    Each pixel has a 9-bit code (uint16) holding its 3x3 window row by row: bit
    ``3 (dy + 1) + (dx + 1)`` is set iff the pixel at offset ``(dy, dx)`` is on the shape
    (bit 4: the pixel itself). The codes are the whole state; they and the buffers the
    thinning reuses are allocated once.

    Args:
        images: bool array ``(B, H, W)``.
        table: uint8 ``(256,)`` indexed by the ring code (bit k: the neighbour ``_RING[k]``);
            bit 0 (bit 1) of ``table[ring]``: a pixel with this neighbourhood is deleted in
            the first (second) sub-iteration.
    """

    def __init__(self, images: np.ndarray, table: np.ndarray) -> None:
        B, H, W = images.shape
        self.shape = (B, H + 2, W + 2)
        x = np.zeros(self.shape, np.uint16)  # (B, H + 2, W + 2)
        x[:, 1:-1, 1:-1] = images
        x = x.reshape(-1)  # flat: the neighbour at (dy, dx) is at + dy * (W + 2) + dx
        self.offsets = np.array([dy * (W + 2) + dx for dy, dx in _RING], np.intp)  # (8,)
        # the table over the 512 window codes (only pixels on the shape may go)
        window = np.arange(512)  # (512,)
        ring = sum(((window >> bit) & 1) << k for k, bit in enumerate(_BIT))  # (512,)
        full = np.where((window & _ON) != 0, table[ring], 0)  # (512,)
        # per sub-iteration p: may a pixel with this code go?
        self.deletable = [(full & 1) != 0, (full & 2) != 0]
        self.live = full != 0  # deletable in one of the two sub-iterations
        # per p: deletable in the other sub-iteration but not in this one
        self.stays = [self.live & ~d for d in self.deletable]
        n = x.size
        self.code, self.first = self._codes(x)  # (n,) uint16, the first candidates
        # a deduplication stamp per pixel, and the positions 0, 1, ... written into it
        dtype = np.int32 if 8 * n < 2**31 else np.int64
        self.stamp = np.full(n, -1, dtype)
        self.positions = np.arange(n, dtype=dtype)  # grows on demand
        self.next = self.base = 0
        self.near = np.empty(0, np.intp)  # the neighbours of the deleted pixels, reused

    def _codes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every pixel's code and the pixels one of the sub-iterations would delete, in
        blocks. Separably: the row triple h[p] = x[p - 1] + 2 x[p] + 4 x[p + 1], then
        code[p] = h[p - W'] + 8 h[p] + 64 h[p + W'] (W' = W + 2)."""
        Wp = self.shape[2]
        code = np.zeros(x.size, np.uint16)
        found = [np.empty(0, np.intp)]  # none in an empty stack
        lo, hi = Wp + 1, x.size - Wp - 1  # the first and last rows are padding
        h = np.empty(_BLOCK + 2 * Wp, np.uint16)  # the row triples of a block and its halo
        t = np.empty(_BLOCK + 2 * Wp, np.uint16)
        for a in range(lo, hi, _BLOCK):
            b = min(a + _BLOCK, hi)
            m = b - a
            # h over [a - W', b + W'), from x over [a - W' - 1, b + W' + 1)
            hb, tb = h[: m + 2 * Wp], t[: m + 2 * Wp]
            np.left_shift(x[a - Wp : b + Wp], 1, out=hb)
            hb |= x[a - Wp - 1 : b + Wp - 1]
            np.left_shift(x[a - Wp + 1 : b + Wp + 1], 2, out=tb)
            hb |= tb
            out, tb = code[a:b], t[:m]
            np.left_shift(hb[Wp : Wp + m], 3, out=out)
            out |= hb[:m]
            np.left_shift(hb[2 * Wp :], 6, out=tb)
            out |= tb
            # only a pixel on the shape with a background neighbour may go
            edge = np.flatnonzero(((out & np.uint16(_ON)) != 0) & (out != np.uint16(0x1FF)))
            edge = np.compress(np.take(self.live, np.take(out, edge)), edge)
            found.append(edge + a)
        return code, np.concatenate(found)

    def candidates(self) -> np.ndarray:
        """Flat indices of the pixels that one of the sub-iterations would delete at first
        (on the shape, with a background neighbour among other conditions)."""
        return self.first

    def _distinct(self, idx: np.ndarray) -> np.ndarray:
        """The distinct values of ``idx`` without sorting: each index stamps its position
        (counted on from the previous call) and is kept only if no later copy overwrote it,
        so ``stamp[p] >= self.base`` afterwards iff ``p`` was in this call's ``idx``."""
        if self.next + idx.size > self.positions.size:  # start the count again
            self.stamp.fill(-1)
            self.next = 0
            if idx.size > self.positions.size:
                self.positions = np.arange(idx.size, dtype=self.stamp.dtype)
        self.base, self.next = self.next, self.next + idx.size
        pos = self.positions[self.base : self.next]
        self.stamp[idx] = pos
        return np.compress(np.take(self.stamp, idx) == pos, idx)

    def _delete(self, gone: np.ndarray) -> np.ndarray:
        """Deletes the pixels ``gone`` (distinct); returns the distinct pixels whose code
        has changed and that one of the sub-iterations would delete now."""
        n = gone.size
        if 8 * n > self.near.size:
            self.near = np.empty(8 * n, np.intp)
        code = self.code
        cg = np.take(code, gone)  # (n,) the codes before the deletion
        code[gone] = cg & np.uint16(0x1FF ^ _ON)  # off the shape
        found, m = self.near, 0
        for k in range(8):
            # only the neighbours on the shape (bit k of the code) can matter later: the
            # code of a background pixel is never read again
            on = np.compress((cg & np.uint16(1 << _BIT[k])) != 0, gone)
            nk = on + self.offsets[k]  # distinct, so the in-place update is exact
            bk = np.take(code, nk)
            bk &= _CLEAR[k]
            code[nk] = bk
            keep = np.take(self.live, bk)
            c = np.count_nonzero(keep)
            np.compress(keep, nk, out=found[m : m + c])
            m += c
        # a pixel changed twice has its final code in both copies
        return self._distinct(found[:m])

    def thin(self, cand: np.ndarray) -> None:
        """Alternates the two sub-iterations from the candidates ``cand`` (distinct) until
        neither deletes anything.

        A pixel's fate depends only on its code, so a sub-iteration needs to examine only
        the pixels whose code changed since it last ran: those changed by the previous two
        sub-iterations (and deletable by one of the two). All decisions of a sub-iteration
        read the codes before its deletions.
        """
        before = cand  # the pixels changed by the previous sub-iteration (at first: all)
        idle, p = 0, 0
        while idle < 2:
            codes = np.take(self.code, cand)  # (c,): ``before`` last
            gone = np.compress(np.take(self.deletable[p], codes), cand)
            if gone.size:
                changed = self._delete(gone)
                # the next sub-iteration last ran before ``before`` changed: it examines
                # those still deletable and not changed again (those are in ``changed``);
                # the codes of the others are those read above
                keep = np.take(self.stays[p], codes[codes.size - before.size :])
                keep &= np.take(self.stamp, before) < self.base
                before = np.compress(keep, before)
                idle = 0
            else:
                changed = gone
                idle += 1
            cand = np.concatenate([before, changed])
            before = changed
            p = 1 - p  # alternate the two sub-iterations

    def images(self) -> np.ndarray:
        """The thinned images, bool ``(B, H, W)``."""
        return (self.code.reshape(self.shape)[:, 1:-1, 1:-1] & _ON) != 0
