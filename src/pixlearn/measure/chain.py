r"""Freeman chain codes of an object's outer boundary, their first difference and shape number.

Direction convention (rows point down, so "north" is row - 1); codes grow counter-clockwise:

======  =====  =====  =====  =====  =====  =====  =====  =====
code    0      1      2      3      4      5      6      7
8-conn  E      NE     N      NW     W      SW     S      SE
4-conn  E      N      W      S
======  =====  =====  =====  =====  =====  =====  =====  =====

The boundary is traced by Moore-neighbour tracing, clockwise on screen (the object on the
right-hand side), from the top-left-most object pixel (smallest row, then smallest column).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["chain_code", "chain_code_difference", "shape_number", "trace_boundary"]

# (d_row, d_col) of each code, counter-clockwise from east
_STEPS = {
    8: ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)),
    4: ((0, 1), (-1, 0), (0, -1), (1, 0)),
}


def _check_connectivity(connectivity: int) -> int:
    if isinstance(connectivity, bool) or connectivity not in (4, 8):
        raise ValueRangeError(f"connectivity must be 4 or 8, got {describe(connectivity)}")
    return int(connectivity)


def _check_mask(mask: Tensor, name: str) -> Tensor:
    check_image(mask, name, finite=False)
    if mask.dim() != 2:
        raise ShapeError(f"{name} must be a 2-D mask (H, W), got {describe(mask)}")
    if mask.dtype != torch.bool:
        raise WrongTypeError(f"{name} must be a bool mask, got {mask.dtype}")
    if not bool(mask.any()):
        raise ValueRangeError(f"{name} must contain at least one True pixel, got an empty mask")
    return mask


def trace_boundary(mask: Tensor, *, connectivity: int = 8) -> Tensor:
    r"""Trace the outer boundary of the object holding the top-left-most ``True`` pixel.

    Args:
        mask: a bool mask ``(H, W)`` with at least one ``True`` pixel. Only the component
            (at ``connectivity``) of the top-left-most pixel is traced; holes are ignored.
        connectivity: 8: the object is 8-connected and consecutive boundary pixels are
            8-neighbours; 4: both are 4-connected.

    Returns:
        int64 ``(K, 2)`` (row, col) boundary pixels in tracing order (clockwise on screen),
        starting at the top-left-most pixel, the start not repeated at the end. A pixel met
        twice (on a one-pixel-wide part) appears twice. A single pixel gives ``(1, 2)``.

    Notes:
        Moore-neighbour tracing: having arrived at pixel :math:`p` by the move :math:`d`,
        the neighbours of :math:`p` are scanned clockwise (decreasing code) starting just
        after the background pixel examined before :math:`p` was found: from :math:`d + 1`
        (even :math:`d`) or :math:`d + 2` (odd :math:`d`) with 8 directions, from
        :math:`d + 1` with 4. The first object pixel is the next boundary pixel. Tracing
        stops when the start pixel is about to be left by its first move again (Jacob's
        criterion), so thin parts walked in both directions are complete.

    Example:
        >>> m = torch.zeros(4, 4, dtype=torch.bool)
        >>> m[1:3, 1:3] = True
        >>> trace_boundary(m).tolist()
        [[1, 1], [1, 2], [2, 2], [2, 1]]

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., section 11.2
        (boundary following). Pavlidis, T. "Algorithms for Graphics and Image Processing", 1982.
    """
    _check_mask(mask, "mask")
    n = _check_connectivity(connectivity)
    steps = _STEPS[n]
    m = mask.cpu()
    w = m.shape[1]
    start = int(torch.nonzero(m.reshape(-1))[0, 0])
    r0, c0 = divmod(start, w)
    grid = np.pad(m.numpy(), 1)  # a frame of background: no bounds checks in the loop

    def next_move(r: int, c: int, scan_from: int) -> int:
        for k in range(n):
            d = (scan_from - k) % n
            if grid[r + 1 + steps[d][0], c + 1 + steps[d][1]]:
                return d
        return -1  # an isolated pixel

    # the pixels above and to the left of the start are background: scan from north-west
    # (8) or north (4), clockwise, as if the start had been entered moving east
    first = next_move(r0, c0, 3 if n == 8 else 1)
    path = [(r0, c0)]
    if first < 0:
        return torch.tensor(path, dtype=torch.int64, device=mask.device)
    r, c, d = r0 + steps[first][0], c0 + steps[first][1], first
    while True:
        scan = d + 1 if n == 4 or d % 2 == 0 else d + 2
        move = next_move(r, c, scan % n)
        if (r, c) == (r0, c0) and move == first:
            break
        path.append((r, c))
        r, c, d = r + steps[move][0], c + steps[move][1], move
    return torch.tensor(path, dtype=torch.int64, device=mask.device)


def chain_code(binary_or_boundary: Tensor, *, connectivity: int = 8) -> Tensor:
    r"""Freeman chain code of a closed boundary.

    Args:
        binary_or_boundary: either a bool mask ``(H, W)``, whose outer boundary is traced by
            :func:`trace_boundary` (start: the top-left-most pixel), or an integer tensor
            ``(K, 2)`` of (row, col) pixels of a closed boundary in order (the start not
            repeated), consecutive pixels (and the last and first) being neighbours at
            ``connectivity``.
        connectivity: 8 (codes 0..7) or 4 (codes 0..3); see the module docstring for the
            directions (0 = east, counter-clockwise).

    Returns:
        int64 ``(K,)`` codes; code ``i`` is the move from pixel ``i`` to pixel ``i + 1``
        (the last one closes the boundary). A single pixel gives an empty code.

    Raises:
        WrongTypeError: not a bool mask nor an integer coordinate tensor.
        ValueRangeError: an empty mask, consecutive pixels that are not neighbours.

    Notes:
        With :math:`\Delta_i = p_{i+1} - p_i` (indices mod :math:`K`), :math:`c_i` is the code
        whose step equals :math:`\Delta_i`.

    Example:
        >>> m = torch.zeros(5, 5, dtype=torch.bool)
        >>> m[1:4, 1:4] = True
        >>> chain_code(m).tolist()
        [0, 0, 6, 6, 4, 4, 2, 2]
        >>> chain_code(m, connectivity=4).tolist()
        [0, 0, 3, 3, 2, 2, 1, 1]

    References:
        Freeman, H. "On the encoding of arbitrary geometric configurations." IRE Trans.
        Electronic Computers EC-10(2), 1961.
    """
    check_tensor(binary_or_boundary, "binary_or_boundary")
    n = _check_connectivity(connectivity)
    x = binary_or_boundary
    if x.dtype == torch.bool:
        pts = trace_boundary(x, connectivity=n)
    elif not x.is_floating_point() and not x.is_complex() and x.dim() == 2 and x.shape[1] == 2:
        if x.shape[0] == 0:
            raise ValueRangeError("binary_or_boundary must hold at least one point, got none")
        pts = x.long()
    else:
        raise WrongTypeError(
            "binary_or_boundary must be a bool mask (H, W) or an integer tensor (K, 2) of "
            f"boundary pixels, got {describe(x)}"
        )
    if pts.shape[0] == 1:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    delta = torch.roll(pts, -1, 0) - pts  # (K, 2) step from each pixel to the next
    table = torch.full((3, 3), -1, dtype=torch.int64, device=x.device)  # (d_row+1, d_col+1)
    for code, (dr, dc) in enumerate(_STEPS[n]):
        table[dr + 1, dc + 1] = code
    ok = (delta.abs() <= 1).all(1)
    codes = table[(delta[:, 0] + 1).clamp(0, 2), (delta[:, 1] + 1).clamp(0, 2)]  # (K,)
    bad = ~ok | (codes < 0)
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0, 0])
        raise ValueRangeError(
            f"binary_or_boundary: consecutive boundary pixels must be {n}-neighbours, got "
            f"{pts[i].tolist()} followed by {pts[(i + 1) % len(pts)].tolist()}"
        )
    return codes


def chain_code_difference(code: Tensor, connectivity: int = 8) -> Tensor:
    r"""First difference of a closed chain code: the turn between consecutive moves.

    Args:
        code: int ``(K,)`` chain code with values in ``0..connectivity-1``.
        connectivity: 8 or 4, the number of directions.

    Returns:
        int64 ``(K,)``: element ``i`` is the number of counter-clockwise direction steps
        from code ``i - 1`` to code ``i``; element 0 compares with the last code (the
        boundary is closed). Invariant to rotations of the shape by multiples of 90 degrees
        (45 degrees with 8 directions), but it depends on the start pixel.

    Notes:
        :math:`d_i = (c_i - c_{i-1}) \bmod n`, with :math:`c_{-1} = c_{K-1}`.

    Example:
        >>> chain_code_difference(torch.tensor([1, 0, 1, 0, 3, 3, 2, 2]), 4).tolist()
        [3, 3, 1, 3, 3, 0, 3, 0]

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., section 11.2.
    """
    n = _check_connectivity(connectivity)
    c = _check_code(code, n)
    return torch.remainder(c - torch.roll(c, 1), n)


def _check_code(code: Tensor, n: int) -> Tensor:
    check_tensor(code, "code")
    if code.dim() != 1 or code.is_floating_point() or code.is_complex() or code.dtype == torch.bool:
        raise WrongTypeError(f"code must be a 1-D integer tensor, got {describe(code)}")
    if code.numel() and (int(code.min()) < 0 or int(code.max()) >= n):
        raise ValueRangeError(
            f"code values must be in 0..{n - 1} for connectivity {n}, got values in "
            f"{int(code.min())}..{int(code.max())}"
        )
    return code.long()


def _least_rotation(seq: list[int]) -> int:
    """Start of the lexicographically least rotation of ``seq`` (Booth's algorithm, O(K))."""
    k = len(seq)
    s = seq + seq
    fail = [-1] * (2 * k)  # failure function of the best rotation found so far
    best = 0
    for j in range(1, 2 * k):
        v = s[j]
        i = fail[j - best - 1]
        while i != -1 and v != s[best + i + 1]:
            if v < s[best + i + 1]:
                best = j - i - 1
            i = fail[i]
        if v != s[best + i + 1]:  # here i == -1
            if v < s[best]:
                best = j
            fail[j - best] = -1
        else:
            fail[j - best] = i + 1
    return best


def shape_number(code: Tensor, connectivity: int = 8) -> Tensor:
    r"""Shape number of a closed chain code: the smallest circular rotation of its first
    difference.

    Args:
        code: int ``(K,)`` chain code (values ``0..connectivity-1``).
        connectivity: 8 or 4.

    Returns:
        int64 ``(K,)``, the rotation of :func:`chain_code_difference` that, read as a
        number of ``K`` digits (base ``connectivity``), is the smallest. It does not depend
        on the start pixel and is unchanged when the shape is rotated by 90 degrees.

    Notes:
        :math:`\mathrm{SN} = \min_s (d_s, d_{s+1}, \dots, d_{s+K-1})` in lexicographic order
        (indices mod :math:`K`), found in :math:`O(K)` with Booth's least-rotation algorithm.
        The order of a shape number is its length :math:`K`.

    Example:
        >>> shape_number(torch.tensor([1, 0, 1, 0, 3, 3, 2, 2]), 4).tolist()
        [0, 3, 0, 3, 3, 1, 3, 3]

    References:
        Bribiesca, E., Guzman, A. "How to describe pure form and how to measure differences
        in shapes using shape numbers." Pattern Recognition 12(2), 1980. Booth, K. S.
        "Lexicographically least circular substrings." Inf. Process. Lett. 10(4), 1980.
    """
    diff = chain_code_difference(code, connectivity)
    if diff.numel() == 0:
        return diff
    s = _least_rotation(diff.tolist())
    return torch.roll(diff, -s)
