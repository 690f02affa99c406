"""Skeletons of binary shapes: Zhang-Suen thinning and the medial axis (ridge of the distance
transform)."""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.morphology._thinning import Thinner
from pixlearn.morphology.distance import distance_transform_edt

__all__ = ["medial_axis", "skeletonize"]

# the 8 neighbours P2..P9 of Zhang & Suen, clockwise from north; bit k of a neighbourhood
# code is the neighbour _RING[k]
_RING = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _zhang_suen_rule(code: int) -> int:
    """Which sub-iterations may delete a pixel with this neighbourhood: bit 0 the first,
    bit 1 the second (the conditions of the paper)."""
    p2, p3, p4, p5, p6, p7, p8, p9 = ((code >> k) & 1 for k in range(8))
    ring = [p2, p3, p4, p5, p6, p7, p8, p9]
    # B(P): the number of foreground neighbours; A(P): the 0 -> 1 transitions around P
    b = sum(ring)
    a = sum(1 for k in range(8) if ring[k] == 0 and ring[(k + 1) % 8] == 1)
    if not (2 <= b <= 6 and a == 1):
        return 0
    # first pass: the south-east boundary or a north-west corner; second pass: the dual
    first = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
    second = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return int(first) | (int(second) << 1)


# Neighbourhoods where the table of scikit-image (inherited from CellProfiler) departs from
# the paper's conditions, written as rows "NW N NE / W . E / SW S SE" -> allowed passes.
# (a) a "staircase" pixel (two 4-neighbours at a right angle, the corner between them
#     empty) is deletable, so diagonal strokes thin down to 8-connected one-pixel lines;
# (b) the last pixels of a line end are deleted in one pass only, or kept.
_AMENDMENTS = {
    # (a) bare staircase: both passes; with one more neighbour: one pass
    "010/0.1/000": 3, "000/0.1/010": 3, "010/1.0/000": 3, "000/1.0/010": 3,
    "110/0.1/000": 1, "011/1.0/000": 1, "100/1.0/010": 1, "010/1.0/100": 1,
    "011/1.0/100": 1, "010/0.1/001": 2, "000/0.1/110": 2, "000/1.0/011": 2,
    "001/0.1/110": 2,
    # (b) line ends
    "110/0.0/000": 1, "011/0.0/000": 1, "001/0.1/000": 1, "011/0.1/000": 1,
    "110/1.0/000": 1, "000/0.1/001": 2, "000/0.1/011": 2, "000/0.0/110": 2,
    "000/1.0/100": 2, "000/1.0/110": 2, "000/0.0/011": 0, "100/1.0/000": 0,
}  # fmt: skip


def _code_of(pattern: str) -> int:
    cells = pattern.replace("/", "")
    grid = {(r - 1, c - 1): cells[3 * r + c] == "1" for r in range(3) for c in range(3)}
    return sum(1 << k for k, off in enumerate(_RING) if grid[off])


def _table() -> Tensor:
    table = [_zhang_suen_rule(code) for code in range(256)]
    for pattern, passes in _AMENDMENTS.items():
        table[_code_of(pattern)] = passes
    return torch.tensor(table, dtype=torch.uint8)


_TABLE = _table()  # (256,), bit 0: deletable in the first pass, bit 1: in the second
_TABLE_NP = _TABLE.numpy()


def _binary(x: Tensor, name: str) -> Tensor:
    check_image(x, name)
    if x.is_complex():
        raise WrongTypeError(f"{name} must be bool or real, got {x.dtype}")
    if x.dtype == torch.bool:
        return x  # read only, never written to: no copy
    if bool(((x != 0) & (x != 1)).any()):
        raise ValueRangeError(f"{name} must be binary (bool or 0/1), got {describe(x)}")
    return x != 0


def _offsets(W: int, device: torch.device) -> Tensor:
    """Flat offsets of the 8 neighbours in an image padded to width ``W + 2``."""
    return torch.tensor([dy * (W + 2) + dx for dy, dx in _RING], device=device)  # (8,)


def _unique(idx: Tensor, size: int) -> Tensor:
    """Sorted distinct values of ``idx`` (flat indices below ``size``)."""
    if idx.numel() * 32 < size:
        return torch.unique(idx)
    flag = torch.zeros(size, dtype=torch.bool, device=idx.device)  # many: no sorting
    flag[idx] = True
    return flag.nonzero().squeeze(1)


def _codes(x: Tensor, offsets: Tensor) -> Tensor:
    """The neighbourhood code of every pixel of the flat zero-padded image ``x`` (int32).

    ``roll`` wraps around the ends of the flat array, which only the zero padding sees.
    """
    code = torch.zeros(x.shape, dtype=torch.int32, device=x.device)
    for k, off in enumerate(offsets.tolist()):
        code += torch.roll(x, -off).to(torch.int32) << k  # bit k: the neighbour at off
    return code


def _thin_flat(
    x: Tensor,
    code: Tensor,
    cand: Tensor,
    offsets: Tensor,
    level: Tensor | None = None,
    at: float = 0.0,
) -> None:
    """Zhang-Suen thinning, in place, of the flat zero-padded uint8 image ``x``.

    ``code`` holds every pixel's neighbourhood code and is kept up to date: deleting a
    pixel clears one bit in each of its 8 neighbours. A pixel's fate in a sub-iteration
    depends only on its code, so each sub-iteration examines only the pixels whose code
    changed since that sub-iteration last looked at them (at first: ``cand``). With
    ``level``, only pixels whose ``level`` equals ``at`` may be deleted. Stops when both
    sub-iterations have nothing left to examine or delete.
    """
    table = _TABLE.to(x.device)
    # deleting g clears, in its neighbour g + off_k, the bit of the opposite direction
    clear = torch.tensor([-(1 << ((k + 4) % 8)) for k in range(8)], dtype=torch.int32)
    clear = clear.to(x.device)
    dirty = [cand, cand]  # per sub-iteration: the pixels to examine
    idle, p = 0, 0
    while idle < 2:
        cand = dirty[p]
        deletable = (table[code[cand].long()] & (p + 1)).bool() & (x[cand] == 1)
        gone = cand[deletable]
        if gone.numel():
            # all decisions above read the image before any deletion
            x[gone] = 0
            near = (gone[:, None] + offsets).flatten()  # (8 n,)
            code.index_add_(0, near, clear.repeat(gone.numel()))
            # the foreground neighbours of deleted pixels are to be examined again
            near = near[x[near] == 1]
            if level is not None:
                near = near[level[near] == at]
            near = _unique(near, x.numel())
            dirty[p] = near
            dirty[1 - p] = _unique(torch.cat([dirty[1 - p], near]), x.numel())
            idle = 0
        else:
            dirty[p] = cand[:0]
            idle += 1
        p = 1 - p  # alternate the two sub-iterations


def _padded(img: Tensor) -> Tensor:
    return torch.nn.functional.pad(img.to(torch.uint8), (1, 1, 1, 1)).flatten()


def skeletonize(binary: Tensor) -> Tensor:
    r"""Thin every shape of a binary image to a one-pixel-wide, 8-connected skeleton.

    Args:
        binary: shape ``(..., H, W)``, bool or 0/1 numbers; leading dimensions are
            independent images.

    Returns:
        A bool tensor of the same shape, True on the skeleton.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: values other than 0/1, NaN/Inf.
        ShapeError: an empty image.

    Notes:
        Zhang & Suen's parallel thinning. With :math:`P_2..P_9` the neighbours clockwise
        from north, :math:`B(P) = \sum_k P_k` and :math:`A(P)` the number of
        :math:`0 \to 1` transitions in the cyclic sequence :math:`P_2 P_3 \dots P_9 P_2`,
        a pixel is deleted in the first sub-iteration iff :math:`2 \le B(P) \le 6`,
        :math:`A(P) = 1`, :math:`P_2 P_4 P_6 = 0` and :math:`P_4 P_6 P_8 = 0`; in the
        second, the last two become :math:`P_2 P_4 P_8 = 0` and :math:`P_2 P_6 P_8 = 0`.
        All decisions of a sub-iteration read the image before it; the two alternate
        until nothing changes. The conditions are tabulated over the 256 neighbourhoods,
        with the amendments of scikit-image's table (staircase pixels of diagonal strokes
        deletable, some line-end pixels kept), so the result equals
        ``skimage.morphology.skeletonize`` (2-D).

    Example:
        >>> bar = torch.zeros(5, 9, dtype=torch.bool)
        >>> bar[1:4, 1:8] = True
        >>> skeletonize(bar).int()
        tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 1, 0, 0],
                [0, 1, 1, 1, 1, 1, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=torch.int32)

    References:
        Zhang, T. Y. and Suen, C. Y. "A fast parallel algorithm for thinning digital
        patterns." Communications of the ACM 27(3), 1984.
    """
    b = _binary(binary, "binary")
    H, W = b.shape[-2:]
    if b.device.type != "cpu":
        return _skeletonize_torch(b)
    thinner = Thinner(b.reshape(-1, H, W).numpy(), _TABLE_NP)
    thinner.thin(thinner.candidates())
    return torch.from_numpy(thinner.images()).reshape(b.shape)


def _skeletonize_torch(b: Tensor) -> Tensor:
    """:func:`skeletonize` of the bool tensor ``b`` on its own device (torch ops only)."""
    H, W = b.shape[-2:]
    x = _padded(b.reshape(-1, H, W))  # (B * (H + 2) * (W + 2),)
    offsets = _offsets(W, b.device)
    # only foreground pixels with a background neighbour can be deleted at first
    fg = x.nonzero().squeeze(1)
    code = _codes(x, offsets)
    border = fg[code[fg] != 255]
    _thin_flat(x, code, border, offsets)
    return x.view(-1, H + 2, W + 2)[:, 1:-1, 1:-1].bool().reshape(b.shape)


def medial_axis(binary: Tensor, *, return_distance: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    r"""The medial axis: centres of the maximal disks inside each shape, joined by thinning.

    Args:
        binary: shape ``(..., H, W)``, bool or 0/1 numbers.
        return_distance: also return the Euclidean distance transform of ``binary``.

    Returns:
        A bool tensor, True on the medial axis; with ``return_distance`` also the distance
        transform (float64, same shape). The axis is a subset of the shape, has the same
        8-connected components, and the union of the disks of radius ``distance`` centred on
        its pixels covers the whole shape.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: values other than 0/1.
        ShapeError: an empty image.

    Notes:
        With :math:`D` the distance to the background, the open disk of radius
        :math:`D(p)` at :math:`p` lies inside the disk at a neighbour :math:`q` iff
        :math:`D(q) \ge D(p) + \lVert p - q \rVert`. Pixels whose disk is in no
        neighbour's disk are ridge points of :math:`D` (centres of maximal disks); following
        inclusions upwards from any pixel ends at one of them, so their disks cover the
        shape. The axis keeps all ridge points and thins the rest of the shape with the
        Zhang-Suen sub-iterations of :func:`skeletonize`, which keeps it connected.
        scikit-image's ``medial_axis`` removes pixels one at a time in a (random) order
        of distance, so the two agree in shape but not pixel for pixel.

    Example:
        >>> bar = torch.zeros(5, 9, dtype=torch.bool)
        >>> bar[1:4, 1:8] = True
        >>> medial_axis(bar)[2].int()
        tensor([0, 1, 1, 1, 1, 1, 1, 0, 0], dtype=torch.int32)

    References:
        Blum, H. "A transformation for extracting new descriptors of shape." In *Models for
        the Perception of Speech and Visual Form*, MIT Press 1967.
    """
    b = _binary(binary, "binary")
    H, W = b.shape[-2:]
    flat = b.reshape(-1, H, W)
    dist = distance_transform_edt(flat, dtype=torch.float64)  # (B, H, W)
    # thin by increasing distance: a pixel may go only while its level is being thinned,
    # so the pixels kept at one level (line ends, bridges) stay for good
    x = _padded(flat)
    Wp = W + 2
    level = _padded(torch.zeros_like(flat)).to(torch.float64)
    level.view(-1, H + 2, W + 2)[:, 1:-1, 1:-1] = dist
    offsets = _offsets(W, b.device)
    # the peaks of D (strictly above their 8 neighbours) are centres of maximal disks: kept
    peak = torch.ones_like(x, dtype=torch.bool)
    for off in offsets.tolist():
        peak[1 + Wp : -1 - Wp] &= (
            level[1 + Wp : -1 - Wp] > level[1 + Wp + off : len(x) - 1 - Wp + off]
        )
    level = torch.where(peak, -1.0, level)  # a level never thinned
    fg = (x.bool() & ~peak).nonzero().squeeze(1)
    code = _codes(x, offsets)
    values, order = torch.sort(level[fg])
    levels, counts = torch.unique_consecutive(values, return_counts=True)
    for value, group in zip(levels.tolist(), torch.split(fg[order], counts.tolist()), strict=True):
        _thin_flat(x, code, group, offsets, level, value)
    axis = x.view(-1, H + 2, W + 2)[:, 1:-1, 1:-1].bool().reshape(b.shape)
    if return_distance:
        return axis, dist.reshape(b.shape)
    return axis
