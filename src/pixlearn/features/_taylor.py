"""Gradient and Hessian of a sampled 3-D function by central differences (SIFT and SURF).

Both detectors refine a discrete extremum of a (layer, row, column) stack by fitting the
quadratic Taylor expansion :math:`f(p + d) \\approx f + g^T d + \\tfrac12 d^T H d` at the
sample, with :math:`g` and :math:`H` from the 3x3x3 neighbourhood.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["central_differences"]


def central_differences(at: Callable[[int, int, int], Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient ``(M, 3)`` as (d/dx, d/dy, d/dlayer), Hessian ``(M, 3, 3)`` and value ``(M,)``.

    ``at(dl, dy, dx)`` returns the ``(M,)`` samples at the offset ``(dl, dy, dx)`` from each
    point. First derivatives ``(f(+1) - f(-1)) / 2``, second ones ``f(+1) + f(-1) - 2 f(0)``,
    mixed ones from the four diagonal samples.
    """
    v = at(0, 0, 0)
    gx = 0.5 * (at(0, 0, 1) - at(0, 0, -1))
    gy = 0.5 * (at(0, 1, 0) - at(0, -1, 0))
    gl = 0.5 * (at(1, 0, 0) - at(-1, 0, 0))
    dxx = at(0, 0, 1) + at(0, 0, -1) - 2 * v
    dyy = at(0, 1, 0) + at(0, -1, 0) - 2 * v
    dll = at(1, 0, 0) + at(-1, 0, 0) - 2 * v
    dxy = 0.25 * (at(0, 1, 1) - at(0, 1, -1) - at(0, -1, 1) + at(0, -1, -1))
    dxl = 0.25 * (at(1, 0, 1) - at(1, 0, -1) - at(-1, 0, 1) + at(-1, 0, -1))
    dyl = 0.25 * (at(1, 1, 0) - at(1, -1, 0) - at(-1, 1, 0) + at(-1, -1, 0))
    g = torch.stack([gx, gy, gl], 1)  # (M, 3)
    hess = torch.stack(
        [
            torch.stack([dxx, dxy, dxl], 1),
            torch.stack([dxy, dyy, dyl], 1),
            torch.stack([dxl, dyl, dll], 1),
        ],
        1,
    )  # (M, 3, 3)
    return g, hess, v
