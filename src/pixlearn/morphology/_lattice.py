"""The engine of the lattice operators: argument checks and the running min/max over a flat
footprint split into horizontal runs.

One running min/max per distinct run length along rows (log-time doubling: windows of 1, 2, 4,
... combined), then a running min/max down the columns for runs shared by consecutive rows, so a
rectangle is separable and a disk of radius r costs O(r) whole-image operations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__: list[str] = []  # private: used by the operator modules

_DTYPES = (
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
)
_Op = Callable[[Tensor, Tensor], Tensor]


# ---------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------
def _image(image: Tensor, name: str = "image") -> Tensor:
    check_tensor(image, name)
    if image.dtype not in _DTYPES:
        raise WrongTypeError(f"{name} must be a bool, integer or float tensor, got {image.dtype}")
    return check_image(image, name, min_dims=2)


def _footprint(footprint: Tensor | None, name: str, *, odd: bool = False) -> Tensor:
    """Check ``footprint`` and return it padded to odd sizes (centre in the middle)."""
    if footprint is None:
        # the 3x3 cross: scipy.ndimage.generate_binary_structure(2, 1)
        return torch.tensor([[False, True, False], [True, True, True], [False, True, False]])
    check_tensor(footprint, name)
    if footprint.dim() != 2:
        raise ShapeError(f"{name} must be a 2-D tensor (h, w), got {describe(footprint)}")
    if footprint.dtype != torch.bool:
        raise WrongTypeError(
            f"{name} must be a bool tensor, got {footprint.dtype} (convert with footprint.bool())"
        )
    h, w = footprint.shape
    if odd and (h % 2 == 0 or w % 2 == 0):
        raise ValueRangeError(
            f"{name} must have odd sizes (a centre pixel is needed), got shape {(h, w)}"
        )
    if h == 0 or w == 0 or not bool(footprint.any()):
        raise ValueRangeError(f"{name} must hold at least one True element, got {(h, w)}")
    # even sizes: one False row/column at the start, as skimage's pad_footprint(pad_end=False)
    return torch.nn.functional.pad(footprint.cpu(), (1 - w % 2, 0, 1 - h % 2, 0))


def _extreme(dtype: torch.dtype, largest: bool) -> float | int | bool:
    if dtype.is_floating_point:
        return float("inf") if largest else float("-inf")
    info = torch.iinfo(dtype)
    return info.max if largest else info.min


# ---------------------------------------------------------------------------------------------
# the engine: min/max over x + B by horizontal runs and running windows
# ---------------------------------------------------------------------------------------------
def _running(x: Tensor, length: int, dim: int, op: _Op, tables: dict[int, Tensor]) -> Tensor:
    """``op`` over every window of ``length`` consecutive entries along ``dim``.

    ``tables[p]`` holds the windows of length ``p`` (powers of two), shared between calls;
    a window of length L is the op of two overlapping windows of the largest p <= L.
    """
    p = 1
    while 2 * p <= length:
        if 2 * p not in tables:
            t = tables[p]
            n = t.shape[dim]
            # T_2p[k] = op(T_p[k], T_p[k + p])
            tables[2 * p] = op(t.narrow(dim, 0, n - p), t.narrow(dim, p, n - p))
        p *= 2
    t = tables[p]
    m = x.shape[dim] - length + 1
    if p == length:
        return t.narrow(dim, 0, m)
    # W_L[k] = op(T_p[k], T_p[k + L - p])
    return op(t.narrow(dim, 0, m), t.narrow(dim, length - p, m))


def _neighbourhood(x: Tensor, fp: Tensor, op: _Op, fill: float | int | bool) -> Tensor:
    """``op`` over ``x(y + i - ch, x + j - cw)`` for every ``B[i, j]``; ``x`` is ``(B, H, W)``."""
    h, w = fp.shape
    ch, cw = (h - 1) // 2, (w - 1) // 2
    B, H, W = x.shape
    # P[y + i, x + j] = f(y + i - ch, x + j - cw); outside the image: the neutral ``fill``
    pad = x.new_full((B, H + h - 1, W + w - 1), fill)  # (B, H + h - 1, W + w - 1)
    pad[:, ch : ch + H, cw : cw + W] = x
    # horizontal runs of the footprint: run (j0, L) -> the rows i holding it
    runs: dict[tuple[int, int], list[int]] = {}
    rows = fp.tolist()
    for i, row in enumerate(rows):
        j = 0
        while j < w:
            if row[j]:
                j0 = j
                while j < w and row[j]:
                    j += 1
                runs.setdefault((j0, j - j0), []).append(i)
            j += 1
    htables: dict[int, Tensor] = {1: pad}
    out: Tensor | None = None
    for (j0, length), idx in runs.items():
        # R[y', x] = op_{k < L} P[y', x + j0 + k]
        rowwise = _running(pad, length, 2, op, htables).narrow(2, j0, W)  # (B, Hp, W)
        vtables: dict[int, Tensor] = {1: rowwise}
        a = 0
        while a < len(idx):  # maximal ranges of consecutive rows sharing this run
            b = a
            while b + 1 < len(idx) and idx[b + 1] == idx[b] + 1:
                b += 1
            # op over rows idx[a]..idx[b]: a running window of b - a + 1 down the columns
            part = _running(rowwise, b - a + 1, 1, op, vtables).narrow(1, idx[a], H)  # (B,H,W)
            out = part if out is None else op(out, part)
            a = b + 1
    assert out is not None  # the footprint holds at least one True element
    return out.contiguous()  # ``pad`` is new memory: the result never aliases the input


def _apply(
    image: Tensor, fp: Tensor, op_name: str, *, fill: float | int | bool | None = None
) -> Tensor:
    """Run the min (``"min"``) or max (``"max"``) filter on an image of any layout and dtype."""
    shape = image.shape
    x = image.reshape(-1, shape[-2], shape[-1])  # (B, H, W)
    is_bool = x.dtype == torch.bool
    if is_bool:
        x = x.to(torch.uint8)
    op = torch.minimum if op_name == "min" else torch.maximum
    if fill is None:
        fill = _extreme(x.dtype, largest=op_name == "min")
    out = x.clone() if x.shape[0] == 0 else _neighbourhood(x, fp, op, fill)
    if is_bool:
        out = out.bool()
    return out.reshape(shape)


def _mirror(fp: Tensor) -> Tensor:
    return fp.flip(0, 1)
