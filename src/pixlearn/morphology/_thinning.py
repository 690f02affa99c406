"""The CPU engine of Zhang-Suen thinning (NumPy): an active set of pixels that may be
deleted, neighbourhood codes updated around the deleted pixels only, no sorting.

Private helper of :mod:`pixlearn.morphology.skeleton`, which holds the deletion table and the
same algorithm on torch for other devices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Thinner"]

# the 8 neighbours P2..P9 of Zhang & Suen, clockwise from north; bit k of a code: _RING[k]
_RING = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
_ON = 1 << 8  # bit 8 of a code: the pixel itself is on the shape
# deleting a pixel clears, in its neighbour in direction k, the bit of the opposite direction
_CLEAR = [np.uint16(0x1FF ^ (1 << ((k + 4) % 8))) for k in range(8)]
_BLOCK = 1 << 16  # pixels per block of the whole-image passes (a block's codes fit in L2)


class Thinner:
    """Zhang-Suen thinning of a stack of binary images, flat and zero-padded, in place.

    Each pixel has a 9-bit code (uint16): bit k is set iff its neighbour ``_RING[k]`` is on
    the shape, bit 8 iff the pixel itself is. The codes are the whole state; they and the
    buffers the thinning reuses are allocated once.

    Args:
        images: bool array ``(B, H, W)``.
        table: uint8 ``(256,)``; bit 0 (bit 1) of ``table[code]``: a pixel with this
            neighbourhood is deleted in the first (second) sub-iteration.
    """

    def __init__(self, images: np.ndarray, table: np.ndarray) -> None:
        B, H, W = images.shape
        self.shape = (B, H + 2, W + 2)
        x = np.zeros(self.shape, np.uint16)  # (B, H + 2, W + 2)
        x[:, 1:-1, 1:-1] = images
        x = x.reshape(-1)  # flat: the neighbour at (dy, dx) is at + dy * (W + 2) + dx
        self.offsets = np.array([dy * (W + 2) + dx for dy, dx in _RING], np.intp)  # (8,)
        # per sub-iteration p: may a pixel with this code go? (only if it is on the shape)
        on = (np.arange(512) & _ON) != 0  # (512,)
        full = np.where(on, np.tile(table, 2), 0)  # (512,)
        self.deletable = [(full & 1) != 0, (full & 2) != 0]
        self.live = full != 0  # deletable in one of the two sub-iterations
        n = x.size
        self.code = self._codes(x)  # (n,) uint16
        # a deduplication stamp per pixel, and the positions 0, 1, ... written into it
        dtype = np.int32 if 8 * n < 2**31 else np.int64
        self.stamp = np.full(n, -1, dtype)
        self.positions = np.arange(n, dtype=dtype)  # grows on demand
        self.next = self.base = 0
        self.near = np.empty(0, np.intp)  # the neighbours of the deleted pixels, reused
        self.bits = np.empty(0, np.uint16)  # their codes, reused

    def _codes(self, x: np.ndarray) -> np.ndarray:
        """Every pixel's code, in blocks: code = x << 8 + sum_k x[p + off_k] << k."""
        Wp = self.shape[2]
        code = x << 8
        lo, hi = Wp + 1, x.size - Wp - 1  # the first and last rows are padding
        tmp = np.empty(_BLOCK, np.uint16)
        for a in range(lo, hi, _BLOCK):
            b = min(a + _BLOCK, hi)
            out, t = code[a:b], tmp[: b - a]
            for k, off in enumerate(self.offsets.tolist()):
                np.left_shift(x[a + off : b + off], k, out=t)
                out |= t
        return code

    def candidates(self) -> np.ndarray:
        """Flat indices of the pixels that one of the sub-iterations would delete now (on
        the shape, with a background neighbour among other conditions)."""
        found = [np.empty(0, np.intp)]  # none in an empty stack
        for a in range(0, self.code.size, _BLOCK):
            found.append(np.flatnonzero(np.take(self.live, self.code[a : a + _BLOCK])) + a)
        return np.concatenate(found)

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
        return idx[np.take(self.stamp, idx) == pos]

    def _delete(self, gone: np.ndarray) -> np.ndarray:
        """Deletes the pixels ``gone`` (distinct); returns the distinct pixels whose code
        has changed and that one of the sub-iterations would delete now."""
        n = gone.size
        if 8 * n > self.near.size:
            self.near = np.empty(8 * n, np.intp)
            self.bits = np.empty(8 * n, np.uint16)
        near, bits = self.near[: 8 * n], self.bits[: 8 * n]  # (8 n,): neighbours by direction
        self.code[gone] &= np.uint16(0xFF)  # off the shape
        for k in range(8):
            nk, bk = near[k * n : (k + 1) * n], bits[k * n : (k + 1) * n]
            np.add(gone, self.offsets[k], out=nk)
            # gone + off_k holds no duplicates, so the in-place update is exact
            np.take(self.code, nk, out=bk)
            np.bitwise_and(bk, _CLEAR[k], out=bk)
            self.code[nk] = bk
        # a pixel changed twice has its final code in both copies
        return self._distinct(near[np.take(self.live, bits)])

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
            gone = cand[np.take(self.deletable[p], np.take(self.code, cand))]
            if gone.size:
                changed = self._delete(gone)
                # the next sub-iteration last ran before ``before`` changed: it examines
                # those still deletable and not changed again (those are in ``changed``)
                keep = np.take(self.live, np.take(self.code, before))
                keep &= np.take(self.stamp, before) < self.base
                before = before[keep]
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
